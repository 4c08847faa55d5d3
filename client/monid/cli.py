"""The `monid` command, with the flags of Monid's own CLI (@monid-ai/cli 0.1.7): the client's calls from a shell,
the API's JSON on stdout, messages on stderr."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from typing import Any

from . import __version__, credentials
from .client import MAX_PAGE_SIZE, Monid, default_api_key, discover_request, resources_query
from .errors import MonidError, RunTimeout
from .models import Run

EXIT_OK, EXIT_RUN_NOT_OK, EXIT_USAGE, EXIT_API = 0, 1, 2, 3
WAIT_DEFAULT = 300.0  # seconds that a bare -w waits, as in Monid's CLI

DESCRIPTION = (
    "Monid from the command line: find data endpoints, run them, follow your runs and wallet; keep your API keys."
)

EPILOG = """\
examples:
  monid keys add -k monid_test_… -l local
  monid discover -q "twitter posts" -l 3
  monid inspect -p pdl -e /person/enrich
  monid run -p pdl -e /person/enrich --query '{"email": "sean@example.com"}' | jq .output
  monid run -p apify -e /apidojo/tweet-scraper -i '{"searchTerms": ["AI"], "maxItems": 10}' -w -o tweets.json
  monid runs list -l 5
  monid runs get -r RUN_ID -w 60
  monid runs stop -r RUN_ID
  monid whoami --workspaces
  monid resources list

These are the flags of Monid's own CLI. The older forms still work: positional arguments (monid run pdl
/person/enrich, monid runs get RUN_ID, monid discover "twitter posts") and -f - to read the input from stdin.

output:
  stdout is the API's JSON answer, as Monid's CLI prints it with -j. -j is accepted by every command; with it an
  error is also printed on stdout, as {"error": {"code", "message"}}. Messages and progress go to stderr.

environment:
  MONID_API_KEY        the API key (monid_live_… or monid_test_…), unless --api-key is given; without either, the
                       active key of `monid keys`
  MONID_API_BASE_URL   the server, unless --base-url is given (default http://127.0.0.1:8000)
  XDG_CONFIG_HOME      `monid keys` keeps the keys in $XDG_CONFIG_HOME/monid (default ~/.config/monid), in
                       credentials.yaml and config.yaml: the files of Monid's CLI, so a key added with either works
                       with both

exit codes:
  0  success; for `run` and `runs get`: the run COMPLETED and the provider answered 2xx (or is still running)
  1  the run ended but not ok (a provider error, FAILED, TIME_OUT, BLOCKED, STOPPED), or waiting for it
     timed out (it goes on on the server; its JSON is still printed)
  2  usage error: bad arguments, input that is not JSON, no API key, an -o file that cannot be written, a key or
     label that `monid keys` refuses
  3  API error: the server refused the request (401, 402, 404, 409, 422, 429, other 4xx, 5xx) or did not answer
"""

# Monid's CLI names an API error by its HTTP status (the server's body has no code of that kind).
ERROR_CODES = {401: "AUTH_FAILED", 402: "INSUFFICIENT_BALANCE", 403: "FORBIDDEN", 404: "NOT_FOUND", 429: "RATE_LIMITED"}


class _UsageError(Exception):
    def __init__(self, message: str, code: str = "USAGE", *, prog: str = "monid"):
        super().__init__(message)
        self.code, self.prog = code, prog


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are raised, so that main() can also print them as JSON for -j."""

    def error(self, message):
        self.print_usage(sys.stderr)
        raise _UsageError(message, prog=self.prog)


def _common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before or after the command; a subcommand's parser must not reset what the top one read.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--api-key", default=default, help="API key (default: $MONID_API_KEY, else the active key of `monid keys`)"
    )
    parser.add_argument(
        "--base-url", default=default, help="server URL (default: $MONID_API_BASE_URL, else http://127.0.0.1:8000)"
    )
    parser.add_argument(
        "-j",
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="output as JSON (stdout is always JSON; with -j an error is printed there too)",
    )


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return seconds


def _wait_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-w",
        "--wait",
        nargs="?",
        type=_seconds,
        const=WAIT_DEFAULT,
        metavar="SECONDS",
        help=f"wait for the run to end, at most SECONDS (default {WAIT_DEFAULT:g}); {what}",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress on stderr while waiting (default: only when stderr is a terminal)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the run's output (the provider's error body, for a provider error) to FILE as "
        "JSON, once the run has ended",
    )


def _alias(parser: argparse.ArgumentParser, name: str) -> None:
    """A positional argument standing for an option, as this command took it before it spoke Monid's flags."""
    parser.add_argument(f"{name}_arg", nargs="?", help=argparse.SUPPRESS)


ENDPOINT_REQUIRED = [("provider", "-p/--provider"), ("endpoint", "-e/--endpoint")]


def _endpoint_options(parser: argparse.ArgumentParser, *, provider: str, endpoint: str) -> None:
    """-p/--provider and -e/--endpoint (or their positional aliases) of a command about one endpoint; `provider`
    and `endpoint` are the examples its help shows."""
    _alias(parser, "provider")
    _alias(parser, "endpoint")
    parser.add_argument("-p", "--provider", help=f'provider slug, e.g. "{provider}"')
    parser.add_argument("-e", "--endpoint", help=f'endpoint path, e.g. "{endpoint}"')


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="monid", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"monid {__version__}")
    _common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent, name, help_text, *, required=()):
        sub = parent.add_parser(name, help=help_text, description=help_text)
        _common_options(sub, top=False)
        # Each (option, flag) is required, given as the option or as its positional alias.
        sub.set_defaults(required=required, parser=sub)
        return sub

    discover = command(
        commands, "discover", "find the endpoints that fit a need, best first", required=[("query", "-q/--query")]
    )
    _alias(discover, "query")
    discover.add_argument("-q", "--query", help='what the data is for, in plain words, e.g. "twitter posts"')
    discover.add_argument("-l", "--limit", type=int, help="at most this many results (1 to 50; default 5)")
    discover.add_argument(
        "-s",
        "--min-score",
        type=float,
        metavar="SCORE",
        help="leave out the results scoring under SCORE (0 to 1; default 0)",
    )
    discover.add_argument(
        "-u",
        "--include-unavailable",
        action="store_true",
        help="include the endpoints in outage (left out by default), ranked last",
    )

    inspect = command(
        commands, "inspect", "show an endpoint's input JSON Schema, price and notes", required=ENDPOINT_REQUIRED
    )
    _endpoint_options(inspect, provider="pdl", endpoint="/person/enrich")

    run = command(
        commands,
        "run",
        "run an endpoint and print the run: at once, or once it has ended with -w",
        required=ENDPOINT_REQUIRED,
    )
    _endpoint_options(run, provider="apify", endpoint="/apidojo/tweet-scraper")
    source = run.add_mutually_exclusive_group()
    source.add_argument("-i", "--input", metavar="JSON", help="the body parameters, a JSON object")
    source.add_argument(
        "-f", "--input-file", metavar="FILE", help="read the body parameters from a JSON file ('-' for stdin)"
    )
    run.add_argument("--query", metavar="JSON", help="the query string's parameters, a JSON object")
    run.add_argument("--path", metavar="JSON", help="the URL path's parameters, a JSON object")
    _wait_options(run, "without -w (or with -w 0) an async run is printed as accepted, still RUNNING")
    run.add_argument("--no-wait", dest="wait", action="store_const", const=None, help=argparse.SUPPRESS)
    run.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="send this Idempotency-Key (default: a fresh one, reused by the client's own retries)",
    )

    runs = command(commands, "runs", "list, get and stop your workspace's runs")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")
    runs_list = command(runs_commands, "list", "the workspace's runs, newest first (without input and output)")
    runs_list.add_argument(
        "-l", "--limit", type=int, help="at most this many runs (default: the server's page, 10; 0 for all)"
    )
    runs_list.add_argument("--cursor", help="start after the runs of an earlier page (its `cursor`)")
    runs_list.add_argument("--status", help="only runs in this status (COMPLETED, FAILED, RUNNING, …)")
    runs_list.add_argument("--provider", help="only this provider's runs")
    runs_list.add_argument("--endpoint", help="only this endpoint's runs")
    runs_list.add_argument(
        "--format",
        choices=["page", "lines", "array"],
        default="page",
        help="the API's page {items, cursor} (default), one run a line, or one JSON array",
    )
    runs_get = command(
        runs_commands, "get", "one run, with its output once it has ended", required=[("run_id", "-r/--run-id")]
    )
    _alias(runs_get, "run_id")
    runs_get.add_argument("-r", "--run-id", help="the run's id")
    _wait_options(runs_get, "-w 0 looks once")
    runs_stop = command(
        runs_commands,
        "stop",
        "ask for an async run to be stopped (it ends STOPPED)",
        required=[("run_id", "-r/--run-id")],
    )
    _alias(runs_stop, "run_id")
    runs_stop.add_argument("-r", "--run-id", help="the run's id")

    command(commands, "balance", "the workspace's wallet: what it can still spend, and what is held")
    whoami = command(commands, "whoami", "who made the API key, and its workspace")
    whoami.add_argument("--workspaces", action="store_true", help="list the workspaces the key can act in instead")

    resources = command(commands, "resources", "list your workspace's provisioned resources (this server has none)")
    resources_commands = resources.add_subparsers(dest="resources_command", required=True, metavar="COMMAND")
    resources_list = command(resources_commands, "list", "the API's page of resources {items, cursor}")
    resources_list.add_argument("-p", "--provider", help="only this provider's resources")
    resources_list.add_argument("-t", "--resource-type", help="only resources of this type (with -p)")
    resources_list.add_argument("-s", "--state", help="only resources in this state (ACTIVE, RELEASED, …)")
    resources_list.add_argument("-l", "--limit", type=int, help="at most this many resources (1 to 100)")
    resources_list.add_argument("--cursor", help="start after the resources of an earlier page (its `cursor`)")

    keys = command(
        commands, "keys", "keep API keys in the files of Monid's CLI, and choose the one used when none is given"
    )
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    keys_add = command(keys_commands, "add", "store a key under a label; the first key stored becomes the active one")
    keys_add.add_argument("-k", "--key", required=True, help="the API key, monid_live_… or monid_test_…")
    keys_add.add_argument("-l", "--label", required=True, help='a name for it, e.g. "local"')
    command(keys_commands, "list", "the stored keys, obfuscated, the active one marked")
    keys_remove = command(keys_commands, "remove", "forget a stored key")
    keys_remove.add_argument("-l", "--label", required=True, help="the stored key's label")
    keys_remove.add_argument(
        "-f", "--force", action="store_true", help="required: this command never asks for confirmation"
    )
    keys_activate = command(
        keys_commands, "activate", "use a stored key when neither --api-key nor MONID_API_KEY is given"
    )
    keys_activate.add_argument("-l", "--label", required=True, help="the stored key's label")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns the exit code (see EPILOG)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _merge_aliases(args)
    except SystemExit as exc:  # argparse: --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except _UsageError as exc:  # as argparse words it: "monid run: error: …"
        return _error(
            str(exc), exc.code, EXIT_USAGE, json_too="-j" in argv or "--json" in argv, prefix=f"{exc.prog}: error: "
        )
    try:
        if args.command == "keys":
            return _keys(args)
        api_key = args.api_key or default_api_key()
        if not api_key:
            raise _UsageError(
                "no API key: pass --api-key, set MONID_API_KEY (monid_live_… or monid_test_…) or store one with "
                "`monid keys add -k KEY -l LABEL`",
                "AUTH_FAILED",
            )
        with Monid(api_key=api_key, base_url=args.base_url) as client:
            return COMMANDS[args.command](client, args)
    except _UsageError as exc:
        return _error(str(exc), exc.code, EXIT_USAGE, json_too=args.json)
    except credentials.CredentialError as exc:
        return _error(str(exc), "USAGE", EXIT_USAGE, json_too=args.json)
    except RunTimeout as exc:
        _print(exc.run.raw)  # the run's JSON, as with any run printed; the message goes to stderr only
        return _fail(
            f"{exc} Follow it with `monid runs get -r {exc.run_id} -w`, or stop it with "
            f"`monid runs stop -r {exc.run_id}`.",
            EXIT_RUN_NOT_OK,
        )
    except MonidError as exc:
        code = ERROR_CODES.get(exc.status, f"HTTP_{exc.status}") if exc.status else "NO_ANSWER"
        return _error(str(exc), code, EXIT_API, json_too=args.json, prefix="monid: error: ")


def _merge_aliases(args) -> None:
    """Each required option, from its flag or its positional alias (the same value if both are given)."""
    for name, flag in args.required:
        option, positional = getattr(args, name), getattr(args, f"{name}_arg")
        if option is not None and positional is not None and option != positional:
            args.parser.error(f"{flag} given twice, as {option!r} and as {positional!r}")
        if option is None and positional is None:
            args.parser.error(f"the following arguments are required: {flag}")
        setattr(args, name, option if option is not None else positional)


def _discover(client: Monid, args) -> int:
    request = discover_request(
        args.query, limit=args.limit, min_score=args.min_score, include_unavailable=args.include_unavailable
    )
    _print(client._call("POST", "/v1/discover", json=request))  # the whole answer: its hints too
    return EXIT_OK


def _inspect(client: Monid, args) -> int:
    _print(client.inspect(args.provider, args.endpoint).raw)
    return EXIT_OK


def _run(client: Monid, args) -> int:
    run_input = _run_input(args)
    return _follow(
        args,
        lambda progress: client.run(
            args.provider,
            args.endpoint,
            run_input,
            wait=bool(args.wait),
            timeout=args.wait or 0.0,
            idempotency_key=args.idempotency_key,
            on_poll=progress,
        ),
    )


def _runs(client: Monid, args) -> int:
    if args.runs_command == "get":
        if args.wait is None:
            return _follow(args, lambda progress: client.get_run(args.run_id))
        return _follow(args, lambda progress: client.wait(args.run_id, timeout=args.wait, on_poll=progress))
    if args.runs_command == "stop":
        _print(client.stop_run(args.run_id).raw)
        return EXIT_OK
    return _runs_list(client, args)


def _runs_list(client: Monid, args) -> int:
    if args.limit is not None and args.limit < 0:
        raise _UsageError("-l/--limit must be 0 (all) or more")
    params = {
        name: value
        for name, value in (("status", args.status), ("provider", args.provider), ("endpoint", args.endpoint))
        if value
    }
    items, cursor = [], args.cursor
    while True:
        if args.limit is not None:
            params["limit"] = min(args.limit - len(items), MAX_PAGE_SIZE) if args.limit else MAX_PAGE_SIZE
        if cursor:
            params["cursor"] = cursor
        page = client._call("GET", "/v1/runs", params=params)
        items += page["items"]
        cursor = page.get("cursor")
        if args.format == "lines":
            for item in page["items"]:  # each line as soon as its page arrives
                sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        # Without -l, one page, as Monid's CLI asks; with it, the pages up to that many (its cursor then goes on
        # from the last run shown).
        if not cursor or args.limit is None or 0 < args.limit <= len(items):
            break
    if args.format == "page":
        _print({"items": items, "cursor": cursor})
    elif args.format == "array":
        _print(items)
    return EXIT_OK


def _balance(client: Monid, args) -> int:
    _print(client.balance().raw)
    return EXIT_OK


def _whoami(client: Monid, args) -> int:
    if args.workspaces:
        _print({"workspaces": [workspace.raw for workspace in client.workspaces()]})
    else:
        _print(client.whoami().raw)
    return EXIT_OK


def _resources(client: Monid, args) -> int:
    query = resources_query(
        provider=args.provider, resource_type=args.resource_type, state=args.state, limit=args.limit, cursor=args.cursor
    )
    _print(client._call("GET", "/v1/resources", params=query))  # the whole page: its cursor too
    return EXIT_OK


COMMANDS = {
    "discover": _discover,
    "inspect": _inspect,
    "run": _run,
    "runs": _runs,
    "balance": _balance,
    "whoami": _whoami,
    "resources": _resources,
}


def _keys(args) -> int:
    """The local key store: no API key, no request. A change prints {} on stdout, as Monid's CLI does with --json,
    and says what it did on stderr."""
    if args.keys_command == "list":
        _print(credentials.keys_list())
        return EXIT_OK
    label = args.label
    if args.keys_command == "add":
        activated = credentials.key_add(key=args.key, label=label)
        message = f'key "{label}" added' + (" and activated: it is the only one stored" if activated else "")
    elif args.keys_command == "remove":
        # Monid's CLI asks first, and refuses to with --json; ours never asks, as its stdout is JSON.
        if not args.force:
            raise _UsageError(f'monid keys remove never asks for confirmation: add -f/--force to remove key "{label}"')
        credentials.key_remove(label=label)
        message = f'key "{label}" removed'
    else:
        credentials.key_activate(label=label)
        message = f'key "{label}" activated'
    _print({})
    return _fail(message, EXIT_OK)


def _run_input(args) -> dict:
    """The run's input as Monid's CLI sends it: {body, queryParams, pathParams}, each part left out when empty
    (the server merges them into the endpoint's parameters, so any parameter may go in any part)."""
    if args.input is not None:
        body = _json(args.input, "-i/--input")
    elif args.input_file == "-":
        body = _json(sys.stdin.read(), "stdin")
    elif args.input_file is not None:
        try:
            with open(args.input_file, encoding="utf-8") as file:
                body = _json(file.read(), args.input_file)
        except OSError as exc:
            raise _UsageError(f"cannot read -f/--input-file: {exc}") from None
    else:
        body = None
    parts = {"body": body, "queryParams": _json(args.query, "--query"), "pathParams": _json(args.path, "--path")}
    return {name: part for name, part in parts.items() if part is not None and part != {}}


def _json(text: str | None, source: str) -> Any:
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _UsageError(f"the input from {source} is not JSON: {exc}") from None


def _follow(args, fetch) -> int:
    """Prints the run that `fetch(on_poll)` brings, showing progress while it waits; writes -o; the exit code."""
    show = args.progress if args.progress is not None else _isatty(sys.stderr)
    progress = _Progress() if show else None
    try:
        run = fetch(progress)
    except KeyboardInterrupt:
        if progress and progress.run_id:
            _fail(f"stopped waiting; run {progress.run_id} goes on: `monid runs get -r {progress.run_id}`", 0)
        return 130
    finally:
        if progress:
            progress.done()
    _print(run.raw)
    if args.output:
        _write_output(run, args.output)
    if run.failure:
        return _fail(f"run {run.id}: {run.failure}", EXIT_RUN_NOT_OK)
    return EXIT_OK


def _write_output(run: Run, path: str) -> None:
    """What Monid's CLI writes for -o: the provider's data, else its error body, else the run's output."""
    if not run.terminal:
        _fail(
            f"run {run.id} is {run.status}: nothing written to {path}; `monid runs get -r {run.id} -w -o {path}` "
            f"writes its output once it has ended",
            0,
        )
        return
    answer = run.raw.get("providerResponse") or {}
    data = next(
        (value for value in (answer.get("data"), answer.get("error"), run.raw.get("output")) if value is not None), None
    )
    if data is None:
        _fail(f"run {run.id} has no output: nothing written to {path}", 0)
        return
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise _UsageError(f"cannot write -o/--output: {exc}") from None
    _fail(f"output written to {path}", 0)


def _print(body: Any) -> None:
    sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"monid: {message}\n")
    return code


def _error(message: str, code: str, exit_code: int, *, json_too: bool, prefix: str = "monid: ") -> int:
    """An error on stderr; with -j also on stdout, in the shape of Monid's CLI."""
    if json_too:
        _print({"error": {"code": code, "message": message}})
    sys.stderr.write(f"{prefix}{message}\n")
    return exit_code


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
