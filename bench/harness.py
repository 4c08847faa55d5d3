"""A throwaway Monid deployment of real processes, for benchmarks and for the multi-process tests.

Web (gunicorn), qclusters, the dispatcher and the emulators each run in a session of their own, so one can be
SIGKILLed whole, as a machine that dies, and started again. Live keys reach the emulators, so runs cost real
(emulated) money. The database is SQLite or PostgreSQL as DATABASE_URL says; with REDIS_URL set, Redis is the
broker, on a database number of its own, with a queue name of its own.
"""

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]
HARNESS_REDIS_DB = 14  # never the one the suite's own broker uses


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, *, seconds=60.0, interval=0.1, what="a condition"):
    """Polls a condition of other processes; generous, since a slow machine is not a failure."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"gave up after {seconds:g} s waiting for {what}")


def database_url(settings_dict: dict) -> str:
    """The URL of a Django database entry (the suite's test database, say), for other processes to use."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    auth = settings_dict["USER"] + (f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else "")
    return f"postgres://{auth}@{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"


def fresh_database(template_url: str, workdir: Path) -> tuple[str, callable]:
    """A new, empty database of the kind `template_url` names, and the function that drops it."""
    if not template_url.startswith("postgres"):
        path = workdir / "monid.sqlite3"
        return f"sqlite:///{path}", lambda: None
    import psycopg

    parts = urlsplit(template_url)
    name = f"monid_bench_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def isolated_redis(redis_url: str) -> str:
    """REDIS_URL moved to a database number of its own, so the deployment's cache is not the suite's."""
    return urlunsplit(urlsplit(redis_url)._replace(path=f"/{HARNESS_REDIS_DB}")) if redis_url else ""


@contextlib.contextmanager
def bench_database(prefix: str):
    """For a bench script: a fresh database of DATABASE_URL's kind, Django set up on it, migrated and seeded;
    yields (its URL, a temporary folder) and drops both after."""
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        database, drop = fresh_database(os.environ.get("DATABASE_URL", ""), Path(workdir))
        os.environ.update(DATABASE_URL=database, DJANGO_SETTINGS_MODULE="monid_site.settings")
        # A bench that takes production settings (DJANGO_DEBUG=0) serves plain HTTP on loopback, with a key of its own.
        os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
        os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
        sys.path.insert(0, str(BASE_DIR))
        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        try:
            call_command("migrate", verbosity=0)
            call_command("seed_catalog", verbosity=0)
            yield database, Path(workdir)
        finally:
            connections.close_all()
            drop()


@contextlib.contextmanager
def bench_deployment(prefix: str, **env: str):
    """For a bench script: bench_database, a funded live key, and an empty Deployment using them; yields
    (deployment, key) and drops it all after."""
    redis_url = isolated_redis(os.environ.get("REDIS_URL", ""))
    os.environ.update(REDIS_URL=redis_url, MONID_QUEUE=f"monid-{uuid.uuid4().hex[:8]}")
    with bench_database(prefix) as (database, workdir):
        from billing.accounts import workspace_get_or_create
        from billing.api_keys import api_key_create
        from billing.services import wallet_credit

        workspace = workspace_get_or_create(slug="bench", name="Bench")
        wallet_credit(workspace=workspace, amount_micros=10**12, note="bench funds")  # $1,000,000: never the limit
        key = api_key_create(workspace=workspace, label="bench")[1]
        with Deployment(deployment_env(database_url=database, redis_url=redis_url, **env), workdir) as running:
            yield running, key


def setup_name() -> str:
    """What this deployment runs on, as the bench scripts print it."""
    database = "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite"
    return f"{database} + {'Redis' if os.environ.get('REDIS_URL') else 'the ORM broker'}"


def runs_bench_arguments(
    doc: str, *, runs: int, run_ms: int, rate: float, rate_help: str = "runs posted a second"
) -> argparse.ArgumentParser:
    """The options of a bench that posts emulated actor runs, with its own defaults, so that every such bench
    names them alike; it adds its own after them."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--run-ms", type=int, default=run_ms, help="how long each emulated actor run takes")
    parser.add_argument("--rate", type=float, default=rate, help=rate_help)
    return parser


def emulator_runs(emulators_url: str) -> list[dict]:
    """Every actor run the Apify emulator started, with its input (its non-Apify route for benchmarks)."""
    import requests

    return requests.get(
        f"{emulators_url}/apify/emulator/runs", timeout=60, headers={"Authorization": "Bearer sandbox-apify-token"}
    ).json()["data"]


def deployment_env(*, database_url: str, redis_url: str, **extra: str) -> dict:
    from django.conf import settings

    # One key posts everything here: the per-key rate limit would measure itself, not the runs.
    # A queue of its own, so no other deployment's workers (a straggler, a parallel run) take its tasks.
    # Production settings over plain HTTP on loopback, with this process's secret key, which hashed the API keys.
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "MONID_RATE_LIMIT_PER_MINUTE": "1000000",
        "MONID_QUEUE": os.environ.get("MONID_QUEUE") or f"monid-{uuid.uuid4().hex[:8]}",
        **extra,
    }


class Deployment:
    """Named processes of one deployment; leaving a `with` stops them all."""

    def __init__(self, env: dict, log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.commands: dict[str, list[str]] = {}
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        self.commands[name] = command
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            command, env=self.env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self.processes[name]

    def manage(self, name: str, *args: str) -> subprocess.Popen:
        return self.start(name, [*MANAGE, *args])

    def web(self, *, workers: int = 2, threads: int = 8) -> str:
        """gunicorn as docs/operations.md recommends for two cores; returns its base URL once it answers."""
        port = free_port()
        self.start(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "monid_site.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
        )
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{url}/v1/endpoints"), what="the web server")
        return url

    def emulators(self) -> str:
        """The emulators in a process of their own, and every provider of this deployment pointed at them."""
        port = free_port()
        self.manage("emulators", "run_emulators", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{url}/apify/v2/actor-runs/none"), what="the emulators")
        self.use_emulators(url)
        return url

    def emulator_gunicorn(self, *, threads: int) -> str:
        """The emulators under gunicorn with `threads` threads, for a provider that keeps up with many clients; returns
        their base URL once they answer. Unlike `emulators`, points no provider at them."""
        port = free_port()
        self.start(
            "emulator",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "providers.emulators.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
            ],
        )
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{url}/apify/v2/actor-runs/none"), what="the emulator")
        return url

    def use_emulators(self, url: str) -> None:
        """Live keys too reach the emulators, so runs cost real (emulated) money; start processes after this."""
        self.env.update(
            APIFY_API_BASE_URL=f"{url}/apify",
            APIFY_TOKEN="sandbox-apify-token",
            PDL_API_BASE_URL=f"{url}/pdl",
            PDL_API_KEY="sandbox-pdl-key",
        )

    def kill(self, name: str) -> None:
        """SIGKILL for the process and everything it started, as when its machine dies."""
        try:
            os.killpg(self.processes[name].pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.processes[name].wait()

    def restart(self, name: str) -> subprocess.Popen:
        return self.start(name, self.commands[name])

    def children(self, name: str) -> list[int]:
        """The pids a process started (a qcluster's workers, among others)."""
        return [pid for pid, parent in _parents().items() if parent == self.processes[name].pid]

    def descendants(self, name: str) -> list[int]:
        """Every pid a process started, and they started in turn (a qcluster's sentinel and its workers)."""
        parents = _parents()
        return [pid for pid in parents if pid != self.processes[name].pid and self.owner(pid, parents) == name]

    def owner(self, pid: int, parents: dict[int, int] | None = None) -> str | None:
        """The name of the process of ours that `pid` is, or descends from."""
        parents, ours = parents or _parents(), {process.pid: name for name, process in self.processes.items()}
        while pid and pid not in ours:
            pid = parents.get(pid, 0)
        return ours.get(pid)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(process.pid, signal.SIGKILL)  # whatever of its group outlived it, too
            except ProcessLookupError:
                pass
            process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc/<pid>/stat (the name in parentheses may hold spaces)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        parents[int(stat.parent.name)] = int(fields[1])
    return parents


def cpu_seconds(deployment: "Deployment") -> dict[str, float]:
    """CPU seconds used so far, by role: each process of the deployment with its descendants, this process,
    and the database and Redis servers (all of their processes, whoever they serve)."""
    ticks, parents, names = os.sysconf("SC_CLK_TCK"), _parents(), {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, IndexError):
            continue
        pid, fields = int(stat.parent.name), fields.split()
        # utime, stime, and those of its children that ended (a qcluster recycles its workers)
        used = sum(int(field) for field in fields[11:15]) / ticks
        role = deployment.owner(pid, parents) or ("bench client" if pid == os.getpid() else None)
        if role is None and name in ("postgres", "redis-server"):
            role = name
        if role:
            names[role] = names.get(role, 0.0) + used
    return names


def rss_peak_mb(pid: int) -> float:
    """The most resident memory the process has used so far (VmHWM), in MB."""
    return memory_kb(pid, "VmHWM") / 1024


def memory_kb(pid: int, field: str) -> int:
    """A memory figure of the process from /proc/<pid>/status: VmRSS (resident now), VmHWM (its peak), in kB.
    Not getrusage's ru_maxrss, which after exec is at least what the parent had resident when it forked."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"no {field} for pid {pid}")


def answers(url: str) -> bool:
    import requests

    try:
        requests.get(url, timeout=10)
        return True
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting up
        return False
