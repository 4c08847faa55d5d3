import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Run the web server, the django-q2 worker and the run dispatcher together (test-mode keys are answered "
            "from the connectors' fixtures inside them); Ctrl-C stops them all.")

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        manage = [sys.executable, sys.argv[0]]
        commands = {
            "web": [*manage, "runserver", "--noreload", addrport],
            "worker": [*manage, "qcluster"],
            "dispatcher": [*manage, "dispatch_runs"],
        }
        # Each child leads its own process group: Ctrl-C reaches only us, and each child is told to stop exactly
        # once (a second signal makes qcluster abandon its workers), then its whole group is killed if it lingers.
        children = {name: subprocess.Popen(cmd, start_new_session=True) for name, cmd in commands.items()}
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
            stopped = ", ".join(name for name, child in children.items() if child.poll() is not None)
            self.stderr.write(f"{stopped} stopped; stopping the rest.")
        except (KeyboardInterrupt, SystemExit):
            self.stderr.write("Stopping web server, worker and dispatcher…")
        finally:
            _stop(children.values())


def _stop(children):
    for child in children:
        if child.poll() is None:
            child.terminate()  # SIGTERM: qcluster stops gracefully on it, and a shell may have ignored SIGINT
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
