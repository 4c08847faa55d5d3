import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the web server (gunicorn, reloading on code changes) and the django-q2 worker, which dispatches "
        "runs too, together (test-mode keys are answered from the connectors' fixtures inside them); Ctrl-C "
        "stops both."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        manage = [sys.executable, sys.argv[0]]
        # gunicorn as in production, not runserver, which sends an answer's headers and body in two packets
        # with Nagle's algorithm on: about 40 ms more for every request. WhiteNoise serves the static files
        # from their folders in DEBUG.
        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "monid_site.wsgi",
                "--chdir",
                str(settings.BASE_DIR),
                "--config",
                str(settings.BASE_DIR / "monid_site" / "gunicorn_conf.py"),
                "--bind",
                addrport,
                "--workers",
                "1",
                "--threads",
                "8",
                "--reload",
            ],
            "worker": [*manage, "qcluster"],
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
            self.stderr.write("Stopping web server and worker…")
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
