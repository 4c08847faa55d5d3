import datetime

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api import UsdAmountSerializer
from billing.costs import micros_to_usd
from monid_site.errors import ApplicationError, error_responses
from monid_site.pagination import PageQuerySerializer, cursor_page, page_serializer
from monid_site.serializers import JsonObjectField, StrictCharField, StrictSerializer, TimestampField, utc_text
from providers.queries import endpoint_get_enabled, endpoints_largest_input
from providers.serializers import HintsSerializer, PriceSerializer

from .inputs import size_text
from .models import Run
from .queries import run_get_for_key
from .services import idempotency_claim, idempotency_release, run_create, run_execute_sync, run_stop


class MoneySerializer(serializers.Serializer):
    value = serializers.IntegerField(help_text="Micro-dollars")
    unit = serializers.ChoiceField(choices=["MICRO_DOLLAR"])
    currency = serializers.ChoiceField(choices=["USD"])


class ProviderResponseSerializer(serializers.Serializer):
    httpStatus = serializers.IntegerField()
    error = serializers.JSONField(required=False, help_text="The provider's error body, passed through unchanged")


class RunErrorSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=["platform"])
    message = serializers.CharField()


class BillingSerializer(serializers.Serializer):
    calculatedCost = MoneySerializer(help_text="Our price x billed units")
    actualCost = MoneySerializer(help_text="What the provider charged us")
    reportedCost = MoneySerializer(help_text="What the customer is charged")


def money(micros):
    return {"value": micros, "unit": "MICRO_DOLLAR", "currency": "USD"}


class RunAcceptedSerializer(serializers.Serializer):
    """What every answer about a run begins with: the 202 answer to an async run adds its hints to it
    (RunStartedSerializer), the list item and the full run more.

    The fields are the schema (OpenAPI); each class's to_representation writes its answer as a plain dict, since
    DRF's field-by-field serializing was 8% of a sync run's time (bench/sync_profile.py). test_run_api holds the
    two to each other: the same names, in the same order, for runs in every state.
    """

    runId = serializers.CharField(source="id", help_text="ULID")
    provider = serializers.CharField(source="endpoint.provider.slug")
    endpoint = serializers.CharField(source="endpoint.path")
    status = serializers.ChoiceField(choices=Run.Status.choices)
    price = PriceSerializer(source="*")
    createdAt = TimestampField(source="created_at")

    def to_representation(self, run):
        return {
            "runId": run.id,
            "provider": run.endpoint.provider.slug,
            "endpoint": run.endpoint.path,
            "status": run.status,
            "price": PriceSerializer().to_representation(run),
            "createdAt": utc_text(run.created_at),
        }


def run_hints(run) -> dict | None:
    """While a run goes on, how to follow it (Monid's CLI prints a run's hints under its details)."""
    return None if run.is_terminal else {"next": f"monid runs get -r {run.id} -w"}


class RunStartedSerializer(RunAcceptedSerializer):
    hints = HintsSerializer(allow_null=True, help_text="While the run goes on: how to follow it")

    def to_representation(self, run):
        return {**super().to_representation(run), "hints": run_hints(run)}


class ControlSnapshotSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=["WORKSPACE_BUDGET", "WORKSPACE_RUN_CAP", "API_KEY_LIMIT"],
        help_text="(ours: API_KEY_LIMIT) the spend limit of the key that made the run",
    )
    apiKeyLabel = serializers.CharField(required=False, help_text="(ours) API_KEY_LIMIT only: the key's label then")
    period = serializers.ChoiceField(
        choices=["HOUR", "DAY", "WEEK", "MONTH"], required=False, help_text="Budgets and key limits only"
    )
    windowStart = serializers.CharField(required=False, help_text="Budgets and key limits only: when the window began")
    limitAmount = UsdAmountSerializer()
    availableAmount = UsdAmountSerializer(
        required=False, help_text="Budgets and key limits only: the limit less spent and held"
    )
    heldAmount = UsdAmountSerializer(
        required=False, help_text="Budgets and key limits only: held for runs in flight (for a key, its own)"
    )
    spentAmount = UsdAmountSerializer(
        required=False, help_text="Budgets and key limits only: charged in the window (for a key, to its runs)"
    )


class RunControlSerializer(serializers.Serializer):
    controlId = serializers.CharField(help_text="ULID of the budget or run cap; for API_KEY_LIMIT, the key's prefix")
    snapshot = ControlSnapshotSerializer(help_text="The control as it stood when the run was refused")
    requiredAmount = UsdAmountSerializer(help_text="(ours) The most the run could have cost")


# Stored snapshots (billing.controls) name a control's kind as billing does; the API names it as Monid does.
CONTROL_TYPES = {"BUDGET": "WORKSPACE_BUDGET", "RUN_CAP": "WORKSPACE_RUN_CAP", "KEY_LIMIT": "API_KEY_LIMIT"}


def dollars(micros: int) -> dict:
    """An amount as the API shows money to people: `{value, currency}` in dollars."""
    return {"value": micros_to_usd(micros), "currency": "USD"}


def control_shown(stored: dict) -> dict:
    """A stored snapshot (flat, integers, kept as it was for the run page) in Monid's shape: the control's state
    under `snapshot`, amounts in dollars; beside it, ours: what the run needed."""
    snapshot = {"type": CONTROL_TYPES[stored["controlType"]]}
    if "apiKeyLabel" in stored:
        snapshot["apiKeyLabel"] = stored["apiKeyLabel"]
    if "period" in stored:
        snapshot.update(
            period=stored["period"], windowStart=utc_text(datetime.datetime.fromisoformat(stored["windowStart"]))
        )
    snapshot["limitAmount"] = dollars(stored["limitMicros"])
    for amount in ("available", "held", "spent"):
        if f"{amount}Micros" in stored:
            snapshot[f"{amount}Amount"] = dollars(stored[f"{amount}Micros"])
    return {"controlId": stored["controlId"], "snapshot": snapshot, "requiredAmount": dollars(stored["requiredMicros"])}


class RunListItemSerializer(RunAcceptedSerializer):
    providerName = serializers.CharField(source="endpoint.provider.name")
    stoppable = serializers.BooleanField(source="is_stoppable")
    testMode = serializers.BooleanField(source="is_test")
    providerResponse = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    billing = serializers.SerializerMethodField()
    cost = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()
    controls = serializers.SerializerMethodField()
    resultCount = serializers.IntegerField(source="result_count", allow_null=True)
    startedAt = TimestampField(source="started_at", allow_null=True)
    completedAt = TimestampField(source="completed_at", allow_null=True)

    @extend_schema_field(ProviderResponseSerializer(allow_null=True))
    def get_providerResponse(self, run):
        if run.provider_http_status is None:
            return None
        body = {"httpStatus": run.provider_http_status}
        if run.provider_error is not None:
            body["error"] = run.provider_error
        return body

    @extend_schema_field(RunErrorSerializer(allow_null=True))
    def get_error(self, run):
        if run.status not in (Run.Status.FAILED, Run.Status.TIME_OUT, Run.Status.BLOCKED):
            return None
        return {"source": "platform", "message": run.error_message or run.status}

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="BLOCKED runs: why, and what to do"))
    def get_reason(self, run):
        return run.error_message if run.status == Run.Status.BLOCKED else None

    @extend_schema_field(
        RunControlSerializer(
            many=True, allow_null=True, help_text="BLOCKED runs: each spend control that refused the run, as it stood"
        )
    )
    def get_controls(self, run):
        if run.controls is None:
            return None
        # Monid lists the blocking controls (its CLI prints them so); the run page shows the others too.
        return [control_shown(stored) for stored in run.controls if stored["blocked"]]

    @extend_schema_field(BillingSerializer)
    def get_billing(self, run):
        return {
            "calculatedCost": money(run.calculated_cost_micros),
            "actualCost": money(run.actual_cost_micros),
            "reportedCost": money(run.reported_cost_micros),
        }

    @extend_schema_field(UsdAmountSerializer(allow_null=True))
    def get_cost(self, run):
        return dollars(run.reported_cost_micros) if run.is_terminal else None

    def to_representation(self, run):
        return {
            **super().to_representation(run),
            "providerName": run.endpoint.provider.name,
            "stoppable": run.is_stoppable,
            "testMode": run.is_test,
            "providerResponse": self.get_providerResponse(run),
            "error": self.get_error(run),
            "billing": self.get_billing(run),
            "cost": self.get_cost(run),
            "reason": self.get_reason(run),
            "controls": self.get_controls(run),
            "resultCount": run.result_count,
            "startedAt": utc_text(run.started_at),
            "completedAt": utc_text(run.completed_at),
        }


class RunSerializer(RunListItemSerializer):
    input = serializers.JSONField(help_text="As sent")
    output = serializers.JSONField(
        allow_null=True, help_text="Terminal runs only; null on a provider error, and once expired (outputExpiredAt)"
    )
    outputTruncated = serializers.BooleanField(
        source="output_truncated",
        help_text="(ours) The dataset was larger than this server keeps "
        "(MONID_OUTPUT_MAX_BYTES): output and resultCount hold the items kept",
    )
    outputExpiredAt = TimestampField(
        source="output_expired_at",
        allow_null=True,
        help_text="(ours) When the output was dropped, the run being "
        "older than this server keeps outputs; null until then",
    )
    hints = HintsSerializer(allow_null=True, help_text="While the run goes on: how to follow it")

    def to_representation(self, run):
        return {
            **super().to_representation(run),
            "input": run.input,
            "output": run.output,
            "outputTruncated": run.output_truncated,
            "outputExpiredAt": utc_text(run.output_expired_at),
            "hints": run_hints(run),
        }


# A run request's body holds its input and a little more: the provider, the endpoint, and the client's spacing. A
# body over twice the largest input any endpoint takes, plus 4 KiB, can hold no run's input, and is refused
# unread: parsing it alone would cost many times what admitting a run does (bench/validation.py).
BODY_SPACING_FACTOR, BODY_ENVELOPE_BYTES = 2, 4 * 1024


def _body_bound(request) -> None:
    """Refuses, before it is read, a body that is too large to be any endpoint's run; the endpoint's own bound
    is checked once the body names it (run_create)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return  # read as no body at all
    largest = endpoints_largest_input()
    most = BODY_SPACING_FACTOR * largest + BODY_ENVELOPE_BYTES
    if length > most:
        raise ApplicationError(
            413,
            f"The request body is {size_text(length)}; no endpoint takes an input over "
            f"{size_text(largest)} as compact JSON, so a body over {size_text(most)} is "
            "not read. Send a smaller input, without indentation.",
        )


class RunCreateApi(APIView):
    scope = "runs"

    class InputSerializer(StrictSerializer):
        provider = StrictCharField(max_length=50, help_text='Provider slug, e.g. "apify"')
        endpoint = StrictCharField(max_length=200, help_text='Endpoint path, e.g. "/apidojo/tweet-scraper"')
        # Monid's CLI leaves `input` out when it has none to send.
        input = JsonObjectField(
            default=dict,
            help_text="The endpoint's parameters, or {body, queryParams, pathParams}; "
            "{} when left out; at most the endpoint's bound as compact "
            "JSON (64 KiB unless it says otherwise)",
        )

    @extend_schema(
        tags=["Runs"],
        operation_id="run_create",
        summary="Execute a data endpoint",
        request=InputSerializer,
        description="400: the body or `input` is malformed, `input` nests arrays and objects more than 32 "
        "deep, or fails the endpoint's JSON Schema (`details` lists the first 20 failures). "
        "413: `input` is larger than the endpoint takes (`max_input_bytes` of compact JSON, "
        "64 KiB unless it says otherwise), or the body is too large for any endpoint's input "
        "(it is then not read). None of these makes a run or charges anything.",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Up to 255 characters, kept 24 hours for the API key that sent it: a retry with "
                "the same key and body gets the original run back instead of a new one",
            )
        ],
        responses={
            200: RunSerializer,
            202: RunStartedSerializer,
            **error_responses(400, 401, 402, 403, 404, 409, 413, 415, 422, 503),
        },
    )
    def post(self, request):
        _body_bound(request)
        idempotency_key = request.headers.get("Idempotency-Key")
        if idempotency_key is not None:
            earlier = idempotency_claim(api_key=request.auth, key=idempotency_key, body=request.data)
            if earlier is not None:
                return self.respond(earlier.run)
        try:
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            endpoint = endpoint_get_enabled(provider=data["provider"], path=data["endpoint"])
            run = run_create(
                api_key=request.auth, endpoint=endpoint, raw_input=data["input"], idempotency_key=idempotency_key
            )
        except Exception:
            if idempotency_key is not None:
                idempotency_release(api_key=request.auth, key=idempotency_key)
            raise
        return self.respond(run if endpoint.provider.is_async else run_execute_sync(run=run))

    @staticmethod
    def respond(run):
        if run.endpoint.provider.is_async and run.status != Run.Status.BLOCKED:
            return Response(RunStartedSerializer(run).data, status=202)
        return Response(RunSerializer(run).data, status=200)


class RunDetailApi(APIView):
    scope = "runs"

    @extend_schema(
        tags=["Runs"],
        operation_id="run_get",
        summary="Get a run",
        responses={200: RunSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, run_id):
        return Response(RunSerializer(run_get_for_key(api_key=request.auth, run_id=run_id)).data)


class RunListApi(APIView):
    scope = "runs"

    class FilterSerializer(PageQuerySerializer):
        status = serializers.ChoiceField(choices=Run.Status.choices, required=False, allow_blank=True)
        provider = serializers.CharField(required=False, allow_blank=True, max_length=50)
        endpoint = serializers.CharField(required=False, allow_blank=True, max_length=200)

    OutputSerializer = page_serializer(RunListItemSerializer(many=True), name="RunPage")

    @extend_schema(
        tags=["Runs"],
        operation_id="run_list",
        summary="List the workspace's runs, newest first",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        runs = Run.objects.filter(workspace=request.auth.workspace, is_test=request.auth.is_test).select_related(
            "endpoint__provider"
        )
        if params.get("status"):
            runs = runs.filter(status=params["status"])
        if params.get("provider"):
            runs = runs.filter(endpoint__provider__slug=params["provider"])
        if params.get("endpoint"):
            runs = runs.filter(endpoint__path=params["endpoint"])
        page, cursor = cursor_page(runs, order=("-id",), params=params, kind="runs")
        return Response({"items": RunListItemSerializer(page, many=True).data, "cursor": cursor})


class RunStopApi(APIView):
    scope = "runs"

    @extend_schema(
        tags=["Runs"],
        operation_id="run_stop",
        summary="Stop an async run",
        request=None,
        responses={
            202: inline_serializer(
                "RunStopping",
                {
                    "runId": serializers.CharField(),
                    "status": serializers.ChoiceField(choices=["STOPPING"]),
                    "message": serializers.CharField(),
                },
            ),
            **error_responses(401, 403, 404, 409),
        },
    )
    def post(self, request, run_id):
        run = run_stop(run=run_get_for_key(api_key=request.auth, run_id=run_id))
        return Response(
            {
                "runId": run.id,
                "status": run.status,
                "message": "The run is being stopped at the provider; poll it until it is STOPPED.",
            },
            status=202,
        )


# The lifecycle states of Monid's resources, which its CLI's `resources list --state` filters by.
RESOURCE_STATES = ["READY", "PROVISIONING", "ACTIVE", "EXPIRING", "SUSPENDED", "RELEASED", "PROVISION_FAILED"]


class ResourceListApi(APIView):
    """Monid's CLI lists resources (phone numbers and the like, kept by a provider between runs). This server
    provisions none, so the list is empty; the CLI's filters are still checked, as on every list."""

    scope = "runs"

    class FilterSerializer(PageQuerySerializer):
        provider = serializers.CharField(required=False, allow_blank=True, max_length=50)
        resourceType = serializers.CharField(
            required=False, allow_blank=True, max_length=100, help_text="Only with provider"
        )
        state = serializers.ChoiceField(choices=RESOURCE_STATES, required=False, allow_blank=True)

        def validate(self, attrs):
            if attrs.get("resourceType") and not attrs.get("provider"):
                raise serializers.ValidationError(
                    {"resourceType": "filter by provider too: a resource type is one provider's."}
                )
            return attrs

    OutputSerializer = page_serializer(
        serializers.ListField(
            child=serializers.DictField(), max_length=0, help_text="Always empty: this server provisions no resources"
        ),
        name="ResourcePage",
        cursor=serializers.CharField(allow_null=True, help_text="Always null"),
    )

    @extend_schema(
        tags=["Resources"],
        operation_id="resource_list",
        summary="List the workspace's resources: none",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        if filters.validated_data.get("cursor"):
            raise ApplicationError(
                400,
                "The cursor is not one this API gave out: this list has no next page. Start again without a cursor.",
            )
        return Response({"items": [], "cursor": None})


class _ResourceNoneSchema(AutoSchema):
    def get_operation_id(self):
        return f"resource_{self.view.operation}"


class ResourceNoneApi(APIView):
    """Monid's CLI also reads one resource, its events and its external links, and releases one (`monid resources
    get|events|external|release`). There are none here, so each of those says so, not that the route is missing."""

    scope = "runs"
    operation = None  # which of the four routes (the URL sets it with their methods)
    schema = _ResourceNoneSchema()

    @extend_schema(
        tags=["Resources"],
        summary="Read a resource, its events or its external links: there is none",
        responses=error_responses(401, 403, 404),
    )
    def get(self, request, resource_id, kind=None):
        self._none(resource_id)

    @extend_schema(
        tags=["Resources"],
        summary="Release a resource: there is none",
        request=None,
        responses=error_responses(401, 403, 404),
    )
    def post(self, request, resource_id):
        self._none(resource_id)

    def _none(self, resource_id):
        raise ApplicationError(
            404,
            f"There is no resource {resource_id!r}: this server provisions no resources (phone numbers and the "
            "like), so GET /v1/resources is always empty.",
        )
