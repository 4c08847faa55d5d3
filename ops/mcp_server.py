"""The MCP server at /mcp: Monid's /v1 API as eight tools a model can call, over MCP's Streamable HTTP transport.

Mounting. The MCP SDK's server is an ASGI app and Monid is served over WSGI (gunicorn; runserver under `make run`;
pytest-django's live_server). /mcp is an ordinary Django route, `McpApi`, that hands each request to the SDK's app
through a2wsgi, an ASGI-in-WSGI adapter. A route rather than a dispatcher in wsgi.py, because the live server of
the tests builds its own WSGIHandler and never reads wsgi.py: a route is served alike by all three, with no second
process, behind the same middleware (request id, ALLOWED_HOSTS) and DRF's key authentication, so a missing, bad or
revoked key is answered 401 `{code, message}`, as on /v1, before the MCP layer sees the request. That 401's
WWW-Authenticate names /mcp's protected resource metadata (RFC 9728, served here), which names this server as its
OAuth authorization server (billing/oauth.py): a host given no key gets one there, approved by a member.

The SDK runs stateless, answering JSON: each POST is a whole exchange answered with one JSON body. Nothing is kept
in a process's memory between requests (gunicorn's workers each have their own, and a session opened on one would
be unknown to the next), and no event stream is held open through WSGI. The SDK's session manager (its lifespan
and the task group in which it serves each request) runs in an event loop on a daemon thread of each process,
started by the first /mcp request, so never before gunicorn forks its workers; a2wsgi runs each request's ASGI
exchange on that loop while the request's own thread waits for the answer.

Tools. The SDK runs a plain (not async) tool function in a worker thread, where the ORM may be used as in a view.
Each tool calls, in process, the /v1 view that does the same thing, with the caller's own Authorization header: the
same authentication (the key's workspace, so another workspace's run is "not found"), rate limit, validation,
services, serializers and `{code, message}` errors as the HTTP API, and no rule of the API repeated here. A tool
answers that view's JSON; an error status comes back as a tool error whose text is the API's error body.

Monid's shapes. The tools of Monid's hosted MCP server (mcp.monid.ai) are not published, so their names, arguments
and behaviour follow its public traces: the tool list and workflow of the SKILL.md in Monid's agent plugin (monid_run
answers at once with the run's id or its ended run, to be polled with monid_get_run; the tools take an optional
workspaceId; monid_run's input is {body, queryParams, pathParams}, as monid_inspect's `input` lays it out), the
request bodies of Monid's CLI (discover's query, limit, minScore and includeUnavailable; runs listed by limit and
cursor), and clients of that server that pass `runId`. Arguments are camelCase, as the API's fields are.
"""

import asyncio
import contextlib
import functools
import io
import json
import math
import os
import threading
import time
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from a2wsgi import ASGIMiddleware
from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIRequest
from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.auth import ProtectedResourceMetadata
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from rest_framework.views import APIView

from billing.api import WalletBalanceApi, WorkspaceListApi
from billing.api_keys import api_key_authenticate
from billing.keys import looks_like_key
from billing.models import ApiKey, OAuthClient
from billing.oauth import issuer
from billing.ratelimit import requests_counted
from monid_site.errors import error_body
from monid_site.throttle import cache_incremented
from providers.api import EndpointDiscoverApi, EndpointInspectApi
from runs.api import RunCreateApi, RunDetailApi, RunListApi, RunStopApi
from runs.models import Run

PATH = "/mcp"
# monid_run's optional wait for an async run (waitSeconds): polled this often (an async run's first status check is
# half a second after its start, so sooner would see nothing new), for at most MAX_WAIT_SECONDS, as it holds a web
# server thread. Without waitSeconds monid_run answers at once, as Monid's does.
POLL_SECONDS = 0.5
SECOND_OF_POLLS = round(1 / POLL_SECONDS)
MAX_WAIT_SECONDS = 60
WAIT_SLOT_SECONDS = MAX_WAIT_SECONDS + 60  # a slot a crashed process never gave back frees itself within this
_sleep = time.sleep  # tests replace it: they run the workers instead of waiting for them

INSTRUCTIONS = (
    "Monid is one gateway to many third-party data providers (people and company data, web scrapers, social "
    "media, maps). The usual way: monid_discover with what the data is for, monid_inspect on the endpoint you "
    "choose to learn its input, monid_run with that input, then, when monid_run answers an unfinished run, "
    "monid_get_run every few seconds until it has ended. Answers are the JSON of Monid's /v1 HTTP API; failures "
    "are tool errors carrying its {code, message}."
)

server = MCPServer("monid", title="Monid", instructions=INSTRUCTIONS)


def _field(serializer_class, name: str):
    """A field of an API input serializer: its bounds and default are the tool's, so the two never disagree."""
    return serializer_class().fields[name]


_DISCOVER_LIMIT = _field(EndpointDiscoverApi.InputSerializer, "limit")
_DISCOVER_MIN_SCORE = _field(EndpointDiscoverApi.InputSerializer, "minScore")
_DISCOVER_UNAVAILABLE = _field(EndpointDiscoverApi.InputSerializer, "includeUnavailable")
_RUNS_LIMIT = _field(RunListApi.FilterSerializer, "limit")

Provider = Annotated[
    str, Field(description='The provider\'s slug, as monid_discover answers it, e.g. "pdl" or "apify"')
]
EndpointPath = Annotated[
    str,
    Field(
        description='The endpoint\'s path, starting with "/", as monid_discover answers '
        'it, e.g. "/person/enrich" or "/apidojo/tweet-scraper"'
    ),
]
RunId = Annotated[str, Field(description="The run's runId, as monid_run or monid_list_runs answered it")]
WorkspaceId = Annotated[
    str | None,
    Field(
        description=(
            "The workspace to act in, its workspaceId as monid_list_workspaces answers it. Best left out: a key "
            "acts in its own workspace only, and naming another is an error (code 403)"
        )
    ),
]
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def _tool(title: str, annotations: ToolAnnotations = READ_ONLY):
    """Registers a tool; a call naming a workspaceId that is not the key's is refused before the tool runs, and the
    database connection its worker thread opened is closed after each call, as Django does after each request (the
    SDK's worker threads are not requests, so nothing else would close it). The SDK passes arguments by name."""

    def register(fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            try:
                return _other_workspace(kwargs["ctx"], kwargs.get("workspaceId")) or fn(*args, **kwargs)
            finally:
                connections.close_all()

        server.add_tool(call, title=title, annotations=annotations)
        return fn

    return register


@functools.cache
def _view(view_class: type[APIView]):
    return view_class.as_view()


def _api(
    ctx: Context,
    view_class: type[APIView],
    method: str,
    path: str,
    *,
    body: dict | None = None,
    query: dict | None = None,
    **kwargs,
) -> tuple[int, Any]:
    """Calls a /v1 view in process as the caller: their Authorization header and request id, the route's own path;
    returns its status and JSON body."""
    headers = ctx.headers or {}
    data = json.dumps(body).encode() if body is not None else b""
    request = WSGIRequest(
        {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": urlencode({name: value for name, value in (query or {}).items() if value is not None}),
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "http",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "HTTP_HOST": headers.get("host", "localhost"),
            "HTTP_AUTHORIZATION": headers.get("authorization", ""),
        }
    )
    request.request_id = headers.get("x-request-id", "unknown")  # McpApi passed on the one of the /mcp request
    response = _view(view_class)(request, **kwargs)
    response.render()
    return response.status_code, json.loads(response.content)


def _answer(status: int, body: Any) -> CallToolResult:
    """The view's JSON as the tool's answer; an error status makes it a tool error, its text the API's error body."""
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(body, ensure_ascii=False))], is_error=status >= 400
    )


def _other_workspace(ctx: Context, workspace_id: str | None) -> CallToolResult | None:
    """A 403 tool error when the call names a workspace that is not the key's, else None. Monid's server ignores a
    workspaceId next to a workspace-scoped credential; we refuse it rather than act, and maybe spend, in a workspace
    the caller did not name. The answer is the same whether that workspace exists or not."""
    api_key = _caller_key(ctx) if workspace_id is not None else None
    if api_key is None or workspace_id == api_key.workspace.slug:
        return None  # no workspace named, or no key (the view then answers why not)
    return _answer(
        403,
        error_body(
            403,
            (
                f"This key acts in its own workspace only, {api_key.workspace.slug!r} (see "
                f"monid_list_workspaces), not in {workspace_id!r}. Leave workspaceId out, or use a key of that "
                "workspace."
            ),
        ),
    )


@_tool("Find endpoints for a need")
def monid_discover(
    query: Annotated[
        str,
        Field(
            min_length=1,
            max_length=1000,
            description='What the data is for, in plain words, e.g. "enrich a person by email", '
            '"twitter posts", "google maps places", "company data"',
        ),
    ],
    ctx: Context,
    limit: Annotated[
        int, Field(ge=_DISCOVER_LIMIT.min_value, le=_DISCOVER_LIMIT.max_value, description="At most this many results")
    ] = _DISCOVER_LIMIT.default,
    minScore: Annotated[
        float,
        Field(
            ge=_DISCOVER_MIN_SCORE.min_value,
            le=_DISCOVER_MIN_SCORE.max_value,
            description="Leave out the results that score below this, from 0 to 1",
        ),
    ] = _DISCOVER_MIN_SCORE.default,
    includeUnavailable: Annotated[
        bool,
        Field(
            description=(
                "Also answer the endpoints in outage (metrics.status), ranked last; by default they are left out "
                "and the next matches take their places"
            )
        ),
    ] = _DISCOVER_UNAVAILABLE.default,
    workspaceId: WorkspaceId = None,
) -> CallToolResult:
    """Search Monid's catalog of data endpoints for the ones that fit a need described in plain words. Answers
    {results, query, count, hints}: the best matches first, each with its provider and endpoint (the two names
    every other tool takes), name, description, price, tags, a score from 0 to 1 and, when its recent runs tell,
    metrics: status (healthy or stable are good news; degraded; outage, left out unless includeUnavailable) and
    runTimeMs {p50, p95}. Use metrics to choose between endpoints that both fit, never to skip the only one that
    does. hints.next is the Monid CLI command that inspects the best match, for information. Call monid_inspect
    next on the endpoint you choose, to learn the input it takes."""
    return _answer(
        *_api(
            ctx,
            EndpointDiscoverApi,
            "POST",
            "/v1/discover",
            body={"query": query, "limit": limit, "minScore": minScore, "includeUnavailable": includeUnavailable},
        )
    )


@_tool("Learn an endpoint's input and price")
def monid_inspect(
    provider: Provider, endpoint: EndpointPath, ctx: Context, workspaceId: WorkspaceId = None
) -> CallToolResult:
    """Everything needed to run one endpoint: input (its parameters by where they go, each part a JSON Schema:
    pathParams, queryParams, body), inputSchema (the JSON Schema of them all as one flat object, which monid_run
    checks `input` against, with its required fields, limits and examples), price (PER_CALL, or PER_RESULT plus a
    flatFee, in US dollars, with notes on what it counts), notes on what to know before calling it, metrics
    (status and runTimeMs {p50, p95} of its recent runs, when known), tags, the provider's HTTP method and
    documentation URL, and hints.next (the Monid CLI command for a run of the first example, for information).
    Build monid_run's `input` as {body, queryParams, pathParams} from `input`, or flat from inputSchema."""
    return _answer(
        *_api(ctx, EndpointInspectApi, "POST", "/v1/inspect", body={"provider": provider, "endpoint": endpoint})
    )


@_tool(
    "Run an endpoint",
    ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True),
)
def monid_run(
    provider: Provider,
    endpoint: EndpointPath,
    ctx: Context,
    input: Annotated[
        dict[str, Any] | None,
        Field(
            description=(
                "The endpoint's parameters, as monid_inspect describes them: {body, queryParams, pathParams} "
                "(each part only when its `input` has it), or flat, one object matching its inputSchema. Left out, {}"
            )
        ),
    ] = None,
    waitSeconds: Annotated[
        float,
        Field(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description=(
                "Wait up to this many seconds for an asynchronous run to end, and answer the run as monid_get_run "
                "does. 0, the default, answers at once"
            ),
        ),
    ] = 0,
    workspaceId: WorkspaceId = None,
) -> CallToolResult:
    """Run a data endpoint with `input`, answering at once. This spends money: a run with a live key (monid_live_…)
    is charged to the workspace's wallet at the endpoint's price (see monid_inspect; provider errors and FAILED,
    TIME_OUT, BLOCKED or STOPPED runs are not charged), and is refused when the wallet cannot cover it. A test key
    (monid_test_…) is answered from each endpoint's recorded fixtures and is never charged. A synchronous endpoint
    answers the ended run. An asynchronous one (a scraper, say) answers {runId, provider, endpoint, status:
    "RUNNING", price, createdAt}: call monid_get_run with that runId every few seconds until the run has ended (or
    monid_stop_run to give up on it), never monid_run again, which would be charged again. With waitSeconds, an
    asynchronous run is waited for that long and answered as monid_get_run answers it, RUNNING if it had not ended.
    A run that ended has status COMPLETED when the provider answered, whatever it answered
    (providerResponse.httpStatus says what: 200 with the data in output, 404 no match, ...), FAILED when our side
    could not get an answer, TIME_OUT when the run passed its deadline, and BLOCKED when a spend control refused
    it (reason and controls say which)."""
    api_key = _caller_key(ctx) if waitSeconds else None
    with _wait_slot(api_key) as free:
        if not free:
            return _answer(
                429,
                error_body(
                    429,
                    (
                        f"This key already has {settings.MONID_MCP_WAITS_PER_KEY} monid_run calls waiting for "
                        "their runs. Call monid_run without waitSeconds and follow the run with monid_get_run, or wait "
                        "for one of them to answer; no run was made."
                    ),
                ),
            )
        status, body = _api(
            ctx,
            RunCreateApi,
            "POST",
            "/v1/run",
            body={"provider": provider, "endpoint": endpoint, **({"input": input} if input is not None else {})},
        )
        if status != 202 or not waitSeconds:
            return _answer(status, body)
        run_id = body["runId"]
        for look in range(math.ceil(waitSeconds / POLL_SECONDS)):
            # The run this call just made, so no ownership to check: only whether it ended.
            if Run.objects.filter(pk=run_id, status__in=Run.TERMINAL).exists():
                break
            # Each second of waiting holds a web thread, so it counts as a request of the key's rate limit; past
            # the limit the run is answered as it stands.
            if (
                api_key is not None
                and look % SECOND_OF_POLLS == 0
                and requests_counted(api_key_id=api_key.pk, minute=int(time.time() // 60))
                > settings.MONID_RATE_LIMIT_PER_MINUTE
            ):
                break
            _sleep(POLL_SECONDS)
    return _answer(*_api(ctx, RunDetailApi, "GET", f"/v1/runs/{quote(run_id, safe='')}", run_id=run_id))


def _caller_key(ctx: Context) -> ApiKey | None:
    """The active key of the MCP request, or None (the /v1 view it calls then answers why not)."""
    scheme, _, key = (ctx.headers or {}).get("authorization", "").partition(" ")
    key = key.strip()
    return api_key_authenticate(key=key) if scheme.lower() == "bearer" and looks_like_key(key) else None


@contextlib.contextmanager
def _wait_slot(api_key: ApiKey | None):
    """One of the key's MONID_MCP_WAITS_PER_KEY slots for a waiting monid_run, counted in the shared cache so that
    every process and machine counts together; yields whether one was free, and gives it back at the end."""
    if api_key is None:
        yield True
        return
    name = f"monid:mcp-waits:{api_key.pk}"
    held = cache_incremented(name, timeout=WAIT_SLOT_SECONDS)
    try:
        yield held <= settings.MONID_MCP_WAITS_PER_KEY
    finally:
        try:
            cache.decr(name)
        except ValueError:
            pass  # expired meanwhile: nothing left to give back


@_tool("Get a run")
def monid_get_run(runId: RunId, ctx: Context, workspaceId: WorkspaceId = None) -> CallToolResult:
    """One run of this workspace: status (READY, RUNNING or STOPPING while it is in progress; COMPLETED, FAILED,
    BLOCKED, STOPPED or TIME_OUT once it ended, TIME_OUT meaning it passed its deadline), stoppable, input, output
    (the data, once it ended; null on a provider's error), resultCount, providerResponse (the provider's HTTP
    status and error), error, price, billing, cost and times. Call it every few seconds for a run that monid_run
    answered unfinished, until its status is one of an ended run."""
    return _answer(*_api(ctx, RunDetailApi, "GET", f"/v1/runs/{quote(runId, safe='')}", run_id=runId))


@_tool("List runs")
def monid_list_runs(
    ctx: Context,
    status: Annotated[Literal[tuple(Run.Status.values)] | None, Field(description="Only runs with this status")] = None,
    provider: Annotated[str | None, Field(description='Only runs of this provider, e.g. "apify"')] = None,
    endpoint: Annotated[str | None, Field(description='Only runs of this endpoint path, e.g. "/person/enrich"')] = None,
    limit: Annotated[
        int, Field(ge=_RUNS_LIMIT.min_value, le=_RUNS_LIMIT.max_value, description="At most this many runs")
    ] = _RUNS_LIMIT.default,
    cursor: Annotated[str | None, Field(description="The cursor of the previous page, for the next one")] = None,
    workspaceId: WorkspaceId = None,
) -> CallToolResult:
    """The workspace's runs, newest first, each without its input and output (monid_get_run has them). Answers
    {items, cursor}: pass cursor back, with the same filters, for the next page; it is null on the last page.
    An ended run's status is COMPLETED, FAILED, BLOCKED, STOPPED or TIME_OUT (past its deadline)."""
    return _answer(
        *_api(
            ctx,
            RunListApi,
            "GET",
            "/v1/runs",
            query={"status": status, "provider": provider, "endpoint": endpoint, "limit": limit, "cursor": cursor},
        )
    )


@_tool(
    "Stop a run",
    ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True),
)
def monid_stop_run(runId: RunId, ctx: Context, workspaceId: WorkspaceId = None) -> CallToolResult:
    """Stop an asynchronous run that is READY or RUNNING: it is aborted at the provider and ends STOPPED, and is
    not charged. Answers {runId, status: "STOPPING", message}; monid_get_run shows it STOPPED shortly after. A run
    that already ended, or a synchronous one, cannot be stopped (an error with code 409)."""
    return _answer(*_api(ctx, RunStopApi, "POST", f"/v1/runs/{quote(runId, safe='')}/stop", run_id=runId))


@_tool("Wallet balance")
def monid_balance(ctx: Context, workspaceId: WorkspaceId = None) -> CallToolResult:
    """The workspace's wallet in US dollars: balance (what is left for runs with live keys, after what is held for
    runs in flight) and held (set aside for runs in flight until they end). Runs with test keys never touch it."""
    return _answer(*_api(ctx, WalletBalanceApi, "GET", "/v1/wallet/balance"))


@_tool("List workspaces")
def monid_list_workspaces(ctx: Context) -> CallToolResult:
    """The workspaces this key can act in: {workspaces: [{workspaceId, name, slug}]}. A key belongs to one
    workspace, so the list holds that one alone; every other tool acts in it, and their optional workspaceId, when
    given, must be its workspaceId."""
    return _answer(*_api(ctx, WorkspaceListApi, "GET", "/v1/auth/workspaces"))


class _Bridge:
    """The SDK's ASGI app as a WSGI app, with its session manager running: one per process."""

    def __init__(self):
        self.lock, self.pid, self.app = threading.Lock(), None, None

    def __call__(self, environ, start_response):
        with self.lock:
            if self.pid != os.getpid():  # the first request of this process (a forked worker has no thread of ours)
                self.app, self.pid = self.start(), os.getpid()
        return self.app(environ, start_response)

    @staticmethod
    def start():
        asgi_app = server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            # Django has already checked the Host header against ALLOWED_HOSTS (a rebound DNS name is refused
            # there), and a browser cannot send a page's cross-origin request here with an Authorization header.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = server.session_manager
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="mcp", daemon=True).start()
        running = threading.Event()

        async def serve():
            async with manager.run():
                running.set()
                await asyncio.Event().wait()  # for the life of the process

        loop.call_soon_threadsafe(lambda: loop.create_task(serve()))
        if not running.wait(timeout=10):
            raise RuntimeError("The MCP session manager did not start.")
        # wait_time: once the answer is sent, how long the request's thread waits for the exchange to wind down.
        return ASGIMiddleware(asgi_app, wait_time=5, loop=loop)


_bridge = _Bridge()


@extend_schema(exclude=True)  # MCP's own protocol, not a /v1 operation
class McpApi(APIView):
    """/mcp: the key is checked as on /v1, then the request is MCP's. POST only: a stateless server offers no event
    stream to GET (the SDK would hold one open for ever) and no session to DELETE, so both are 405, as MCP allows."""

    throttle_classes = []  # each tool call is counted as the /v1 request it makes
    scope = None  # any key: each tool call needs the scope of the /v1 request it makes

    def get_authenticate_header(self, request):
        """The 401's challenge names our protected resource metadata (RFC 9728), so that a host without a key
        learns where to get one with OAuth."""
        return f'Bearer realm="api", resource_metadata="{issuer(request)}{reverse("oauth-resource-metadata")}"'

    def perform_content_negotiation(self, request, force=False):
        # The MCP layer judges Accept (it asks for JSON and event streams); our own answers are JSON regardless.
        return super().perform_content_negotiation(request, force=True)

    def post(self, request):
        django_request = request._request
        environ = {
            **django_request.environ,
            "wsgi.input": django_request,
            "SCRIPT_NAME": "",
            "PATH_INFO": PATH,
            "HTTP_X_REQUEST_ID": django_request.request_id,
        }
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = int(status.split()[0]), headers

        # Answers are single JSON bodies (json_response=True), so the whole body is read before it is returned.
        body = b"".join(_bridge(environ, start_response))
        response = HttpResponse(body, status=answer["status"])
        for name, value in answer["headers"]:
            if name.lower() != "content-length":
                response[name] = value
        return response


@require_safe
def protected_resource_metadata(request):
    """RFC 9728: /mcp is a protected resource, and this server its authorization server (billing.oauth). Served
    at the path-aware address the 401 names and at the bare one, which hosts try next."""
    metadata = ProtectedResourceMetadata(
        resource=issuer(request) + PATH,
        authorization_servers=[issuer(request)],
        scopes_supported=list(OAuthClient.SCOPES),
        bearer_methods_supported=["header"],
        resource_name="Monid",
    )
    return JsonResponse(metadata.model_dump(mode="json", exclude_none=True))
