"""The `monid` command: the client's calls from a shell, JSON on stdout, messages on stderr."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from typing import Any

from . import __version__
from .client import Monid
from .errors import MonidError, RunTimeout
from .models import Run

EXIT_OK, EXIT_RUN_NOT_OK, EXIT_USAGE, EXIT_API = 0, 1, 2, 3

DESCRIPTION = "Monid from the command line: find data endpoints, run them, follow your runs and wallet."

EPILOG = """\
examples:
  monid discover "twitter posts"
  monid inspect pdl /person/enrich
  monid run pdl /person/enrich --input '{"email": "sean@example.com"}' | jq .output
  echo '{"searchTerms": ["AI"], "maxItems": 10}' | monid run apify /apidojo/tweet-scraper
  monid runs list --status COMPLETED --limit 5

environment:
  MONID_API_KEY        the API key (monid_live_… or monid_test_…), unless --api-key is given
  MONID_API_BASE_URL   the server, unless --base-url is given (default http://127.0.0.1:8000)

exit codes:
  0  success; for `run` and `runs get`: the run COMPLETED and the provider answered 2xx (or is still running)
  1  the run ended but not ok (a provider error, FAILED, TIME_OUT, BLOCKED, STOPPED), or waiting for it
     timed out (it goes on on the server; its JSON is still printed)
  2  usage error: bad arguments, input that is not JSON, no API key
  3  API error: the server refused the request (401, 402, 404, 409, 422, 429, other 4xx, 5xx) or did not answer
"""


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before or after the command; a subcommand's parser must not reset what the top one read.
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--api-key", default=default, help="API key (default: $MONID_API_KEY)")
    parser.add_argument("--base-url", default=default,
                        help="server URL (default: $MONID_API_BASE_URL, else http://127.0.0.1:8000)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monid", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"monid {__version__}")
    _connection_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent, name, help_text):
        sub = parent.add_parser(name, help=help_text, description=help_text)
        _connection_options(sub, top=False)
        return sub

    discover = command(commands, "discover", "find the endpoints that fit a need, best first")
    discover.add_argument("query", help='what the data is for, in plain words, e.g. "twitter posts"')
    discover.add_argument("--limit", type=int, default=5, help="at most this many results (default 5)")

    inspect = command(commands, "inspect", "show an endpoint's input JSON Schema, price and notes")
    inspect.add_argument("provider", help='provider slug, e.g. "pdl"')
    inspect.add_argument("endpoint", help='endpoint path, e.g. "/person/enrich"')

    run = command(commands, "run", "run an endpoint and print the run (waiting for an async run to end)")
    run.add_argument("provider", help='provider slug, e.g. "apify"')
    run.add_argument("endpoint", help='endpoint path, e.g. "/apidojo/tweet-scraper"')
    source = run.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="JSON", help="the endpoint's input as a JSON object; without --input "
                                                        "or --input-file it is read from stdin when stdin is not a "
                                                        "terminal, else {}")
    source.add_argument("--input-file", metavar="PATH", help="read the input from a file ('-' for stdin)")
    run.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True,
                     help="wait for an async run to end (default), or print it as accepted (--no-wait)")
    run.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                     help="how long to wait before giving up (exit 1; the run goes on); default 600")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="show progress on stderr while waiting (default: only when stderr is a terminal)")
    run.add_argument("--idempotency-key", metavar="KEY",
                     help="send this Idempotency-Key (default: a fresh one, reused by the client's own retries)")

    runs = command(commands, "runs", "list, get and stop your workspace's runs")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")
    runs_list = command(runs_commands, "list", "the workspace's runs, newest first (without input and output)")
    runs_list.add_argument("--status", help="only runs in this status (COMPLETED, FAILED, RUNNING, …)")
    runs_list.add_argument("--provider", help="only this provider's runs")
    runs_list.add_argument("--endpoint", help="only this endpoint's runs")
    runs_list.add_argument("--limit", type=int, default=20, help="at most this many runs (default 20; 0 for all)")
    runs_list.add_argument("--format", choices=["lines", "array"], default="lines",
                           help="one JSON object a line (default) or one JSON array")
    runs_get = command(runs_commands, "get", "one run, with its output once it has ended")
    runs_get.add_argument("run_id", metavar="RUN_ID")
    runs_stop = command(runs_commands, "stop", "ask for an async run to be stopped (it ends STOPPED)")
    runs_stop.add_argument("run_id", metavar="RUN_ID")

    command(commands, "balance", "the workspace's wallet: what it can still spend, and what is held")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns the exit code (see EPILOG)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help and --version (0), or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    api_key = args.api_key or os.environ.get("MONID_API_KEY")
    if not api_key:
        return _fail("no API key: pass --api-key or set MONID_API_KEY (monid_live_… or monid_test_…)", EXIT_USAGE)
    try:
        with Monid(api_key=api_key, base_url=args.base_url) as client:
            return COMMANDS[args.command](client, args)
    except _UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except RunTimeout as exc:
        _print(exc.run.raw)
        return _fail(f"{exc} Follow it with `monid runs get {exc.run_id}`, or stop it with "
                     f"`monid runs stop {exc.run_id}`.", EXIT_RUN_NOT_OK)
    except MonidError as exc:
        return _fail(f"error: {exc}", EXIT_API)


class _UsageError(Exception):
    pass


def _discover(client: Monid, args) -> int:
    _print([match.raw for match in client.discover(args.query, limit=args.limit)])
    return EXIT_OK


def _inspect(client: Monid, args) -> int:
    _print(client.inspect(args.provider, args.endpoint).raw)
    return EXIT_OK


def _run(client: Monid, args) -> int:
    show = args.progress if args.progress is not None else _isatty(sys.stderr)
    progress = _Progress() if show else None
    try:
        run = client.run(args.provider, args.endpoint, _read_input(args), wait=args.wait, timeout=args.timeout,
                         idempotency_key=args.idempotency_key, on_poll=progress)
    except KeyboardInterrupt:
        if progress and progress.run_id:
            _fail(f"stopped waiting; run {progress.run_id} goes on: `monid runs get {progress.run_id}`", 0)
        return 130
    finally:
        if progress:
            progress.done()
    return _print_run(run)


def _runs(client: Monid, args) -> int:
    if args.runs_command == "get":
        return _print_run(client.get_run(args.run_id))
    if args.runs_command == "stop":
        _print(client.stop_run(args.run_id).raw)
        return EXIT_OK
    runs = client.list_runs(status=args.status, provider=args.provider, endpoint=args.endpoint,
                            limit=args.limit or None)
    if args.format == "array":
        _print([run.raw for run in runs])
    else:
        for run in runs:  # each line as soon as its page arrives
            sys.stdout.write(json.dumps(run.raw, ensure_ascii=False) + "\n")
    return EXIT_OK


def _balance(client: Monid, args) -> int:
    _print(client.balance().raw)
    return EXIT_OK


COMMANDS = {"discover": _discover, "inspect": _inspect, "run": _run, "runs": _runs, "balance": _balance}


def _read_input(args) -> Any:
    if args.input is not None:
        text, source = args.input, "--input"
    elif args.input_file == "-" or (args.input_file is None and sys.stdin is not None and not _isatty(sys.stdin)):
        text, source = sys.stdin.read(), "stdin"
    elif args.input_file is not None:
        try:
            with open(args.input_file, encoding="utf-8") as file:
                text, source = file.read(), args.input_file
        except OSError as exc:
            raise _UsageError(f"cannot read --input-file: {exc}")
    else:
        return {}
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _UsageError(f"the input from {source} is not JSON: {exc}")


def _print_run(run: Run) -> int:
    _print(run.raw)
    if run.failure:
        return _fail(f"run {run.id}: {run.failure}", EXIT_RUN_NOT_OK)
    return EXIT_OK


def _print(body: Any) -> None:
    sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"monid: {message}\n")
    return code


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """Shows the run's status on stderr as it is polled: one line rewritten in place on a terminal, else a line
    per poll."""

    def __init__(self):
        self.started, self.run_id = time.monotonic(), None
        self.tty, self.spinner = _isatty(sys.stderr), itertools.cycle("|/-\\")

    def __call__(self, run: Run) -> None:
        self.run_id = run.id
        text = f"run {run.id} {run.status} after {time.monotonic() - self.started:.0f} s"
        if self.tty:
            sys.stderr.write(f"\r\x1b[K{next(self.spinner)} {text}")
        else:
            sys.stderr.write(f"monid: {text}\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty and self.run_id:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
