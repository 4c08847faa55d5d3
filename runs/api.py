from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.costs import micros_to_usd
from providers.queries import endpoint_get_enabled

from .models import Run
from .queries import decode_cursor, encode_cursor, run_get_for_workspace, runs_page
from .services import run_create, run_execute_sync


def iso(dt):
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def money(micros):
    return {"value": micros, "unit": "MICRO_DOLLAR", "currency": "USD"}


def price_json(run):
    price = {"type": run.price_type, "amount": micros_to_usd(run.price_micros), "currency": "USD"}
    if run.price_type == "PER_RESULT":
        price["flatFee"] = micros_to_usd(run.flat_fee_micros)
    return price


def run_json(run: Run, *, with_io: bool = True) -> dict:
    """The run object of the API reference; list items leave out input and output."""
    provider = run.endpoint.provider
    body = {
        "runId": run.id,
        "provider": provider.slug,
        "providerName": provider.name,
        "endpoint": run.endpoint.path,
        "status": run.status,
        "stoppable": provider.is_async and run.status in (Run.Status.READY, Run.Status.RUNNING),
        "testMode": run.is_test,
        "providerResponse": None,
        "error": None,
        "price": price_json(run),
        "billing": {
            "calculatedCost": money(run.calculated_cost_micros),
            "actualCost": money(run.actual_cost_micros),
            "reportedCost": money(run.reported_cost_micros),
        },
        "cost": {"value": micros_to_usd(run.reported_cost_micros), "currency": "USD"} if run.is_terminal else None,
        "resultCount": run.result_count,
        "createdAt": iso(run.created_at),
        "startedAt": iso(run.started_at),
        "completedAt": iso(run.completed_at),
    }
    if with_io:
        body["input"] = run.input
        body["output"] = run.output
    if run.provider_http_status is not None:
        body["providerResponse"] = {"httpStatus": run.provider_http_status}
        if run.provider_error is not None:
            body["providerResponse"]["error"] = run.provider_error
    if run.status in (Run.Status.FAILED, Run.Status.TIMED_OUT, Run.Status.BLOCKED):
        body["error"] = {"source": "platform", "message": run.error_message or run.status}
    return body


class StrictCharField(serializers.CharField):
    """A string and nothing else: DRF's CharField would quietly turn 42 into "42"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class RunCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        provider = StrictCharField(max_length=50)
        endpoint = StrictCharField(max_length=200)
        input = serializers.DictField()

        def validate(self, attrs):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {"body": f"unknown field(s) {', '.join(unknown)}; send only provider, endpoint and input."})
            return attrs

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint = endpoint_get_enabled(provider=data["provider"], path=data["endpoint"])
        run = run_create(api_key=request.auth, endpoint=endpoint, raw_input=data["input"])
        if endpoint.provider.is_async:
            return Response({"runId": run.id, "provider": endpoint.provider.slug, "endpoint": endpoint.path,
                             "status": run.status, "price": price_json(run), "createdAt": iso(run.created_at)},
                            status=202)
        return Response(run_json(run_execute_sync(run=run)), status=200)


class RunDetailApi(APIView):
    def get(self, request, run_id):
        return Response(run_json(run_get_for_workspace(workspace=request.auth.workspace, run_id=run_id)))


class RunListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
        cursor = serializers.CharField(required=False, max_length=100)
        status = serializers.ChoiceField(choices=Run.Status.values, required=False)
        provider = serializers.CharField(required=False, max_length=50)
        endpoint = serializers.CharField(required=False, max_length=200)

    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        runs = Run.objects.filter(workspace=request.auth.workspace).select_related("endpoint__provider")
        if "status" in params:
            runs = runs.filter(status=params["status"])
        if "provider" in params:
            runs = runs.filter(endpoint__provider__slug=params["provider"])
        if "endpoint" in params:
            runs = runs.filter(endpoint__path=params["endpoint"])
        before = decode_cursor(params["cursor"]) if "cursor" in params else None
        page, next_before = runs_page(runs, limit=params["limit"], before=before)
        return Response({"items": [run_json(run, with_io=False) for run in page],
                         "cursor": encode_cursor(next_before) if next_before else None})
