"""gunicorn's settings file (the Procfile's `web` passes it with --config); the command line gives the rest.

Before its first worker starts, the master clears out of PROMETHEUS_MULTIPROC_DIR the metrics files of processes
that no longer run, as prometheus-client asks of a start (see monid_site/metrics.py); not the others', since the
machine's qclusters write there too. No child_exit hook: it only removes "live" gauges' files, and
Monid's gauges are read from the database at scrape time, not counted in files.
"""

import os
from pathlib import Path


def on_starting(server):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_files_prune(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))


def metrics_files_prune(directory: Path) -> None:
    """Creates the directory, and removes the files (named <kind>_<pid>.db) of processes that no longer run."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _running(int(pid)):
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True
