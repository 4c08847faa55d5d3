from django.conf import settings
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from monid_site.errors import error_responses
from monid_site.pagination import LimitField, PageQuerySerializer, cursor_page, page_serializer
from monid_site.serializers import (
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    StrictSerializer,
)

from .describe import endpoint_input, inspect_command, price_notes, run_command
from .health import HISTORY_HOURS, STATUSES, endpoints_health
from .queries import (
    catalog_counts,
    endpoint_get_enabled,
    endpoints_discover,
    endpoints_enabled,
    provider_get_listed,
    providers_listed,
)
from .search import endpoints_search
from .serializers import HintsSerializer, PriceSerializer

CATALOG, PUBLIC = "Catalog", "Public registry"
PUBLIC_MAX_AGE = 60  # seconds a cache or proxy may keep a public answer: the catalog changes rarely


class EndpointNameField(serializers.CharField):
    """The endpoint's short title, or its path when it has none."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, endpoint):
        return endpoint.name or endpoint.path


class TagsField(serializers.ListField):
    """The endpoint's tags: always a list of strings, whatever an operator stored."""

    child = serializers.CharField()

    def to_representation(self, tags):
        return [str(tag) for tag in tags] if isinstance(tags, list) else []


class EndpointCardSerializer(serializers.Serializer):
    """An endpoint as catalogs list it (the field names of Monid's public registry)."""

    provider = serializers.CharField(source="provider.slug", help_text='Provider slug, e.g. "apify"')
    providerDisplayName = serializers.CharField(source="provider.name")
    providerDisplayDescription = serializers.CharField(source="provider.description")
    endpoint = serializers.CharField(source="path", help_text='Endpoint path, e.g. "/apidojo/tweet-scraper"')
    displayName = EndpointNameField()
    displayDescription = serializers.CharField(source="description")
    price = PriceSerializer(source="*")
    tags = TagsField()


EndpointPageSerializer = page_serializer(
    EndpointCardSerializer(many=True),
    name="EndpointPage",
    total=serializers.IntegerField(help_text="Endpoints in the whole list, over all its pages"),
)


def endpoint_page_body(endpoints, *, params: dict, cursor_kind: str, total: int) -> dict:
    """One page of a catalog list, in (provider, path) order, as EndpointPageSerializer shows it."""
    page, cursor = cursor_page(endpoints, order=("provider__slug", "path"), params=params, kind=cursor_kind)
    return {"items": EndpointCardSerializer(page, many=True).data, "cursor": cursor, "total": total}


class EndpointListApi(APIView):
    scope = "catalog"

    @extend_schema(
        tags=[CATALOG],
        operation_id="endpoint_list",
        summary="Browse the enabled catalog, by provider and path",
        parameters=[PageQuerySerializer],
        responses={200: EndpointPageSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request):
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        endpoints = endpoints_enabled()
        return Response(
            endpoint_page_body(endpoints, params=query.validated_data, cursor_kind="endpoints", total=endpoints.count())
        )


class RunTimeSerializer(serializers.Serializer):
    p50 = serializers.IntegerField(help_text="The median run's duration, in milliseconds: typical")
    p95 = serializers.IntegerField(help_text="The 95th percentile run's duration, in milliseconds: the tail")


class MetricsSerializer(serializers.Serializer):
    """How the endpoint's provider has been doing, in the words of Monid's API. A key is left out when nothing is
    known of it, and the whole object when nothing is known at all."""

    # The serializer's context["health"] holds each endpoint's Health (providers.health.endpoints_health), read in
    # one query for them all.

    status = serializers.ChoiceField(
        choices=STATUSES,
        required=False,
        help_text=f"From the live runs that ended in the last {settings.MONID_HEALTH_WINDOW_MINUTES} minutes: "
        f"healthy; degraded (under {settings.MONID_HEALTH_DEGRADED_BELOW_PERCENT} % succeeded, or slow); "
        f"outage (under {settings.MONID_HEALTH_OUTAGE_BELOW_PERCENT} % succeeded). Without enough of "
        f"them ({settings.MONID_HEALTH_MIN_RUNS}), from the last known state of the last "
        f"{HISTORY_HOURS} hours: stable (it was healthy) or degraded (it was not). Absent when neither "
        "is known. Prefer a healthy or stable endpoint.",
    )
    runTimeMs = RunTimeSerializer(required=False, help_text="The durations of the runs the status was judged on")

    def to_representation(self, endpoint):
        health, metrics = self.context["health"][endpoint.pk], {}
        if health.status:
            metrics["status"] = health.status
        if health.median_ms is not None:
            metrics["runTimeMs"] = {"p50": health.median_ms, "p95": health.p95_ms}
        return metrics


class EndpointSummarySerializer(serializers.Serializer):
    """What discover's results and inspect's answer both begin with."""

    provider = serializers.CharField(source="provider.slug")
    providerName = serializers.CharField(source="provider.name")
    endpoint = serializers.CharField(source="path")
    name = EndpointNameField()
    description = serializers.CharField()
    price = PriceSerializer(source="*")
    tags = TagsField()
    metrics = MetricsSerializer(source="*", required=False)

    def to_representation(self, endpoint):
        body = super().to_representation(endpoint)
        if not body["metrics"]:
            del body["metrics"]
        return body


class DiscoverResultSerializer(EndpointSummarySerializer):
    score = serializers.FloatField(help_text="How well the endpoint matches, from 0 to 1; higher is better")


class EndpointDiscoverApi(APIView):
    scope = "catalog"

    @extend_schema_serializer(component_name="Discover")
    class InputSerializer(StrictSerializer):
        query = StrictCharField(
            min_length=1, max_length=1000, help_text='What the data is for, in plain words, e.g. "twitter posts"'
        )
        limit = StrictIntegerField(min_value=1, max_value=50, default=5, help_text="At most this many results")
        minScore = StrictFloatField(
            min_value=0, max_value=1, default=0, help_text="Leave out the results that score below this"
        )
        includeUnavailable = StrictBooleanField(
            default=False,
            help_text="Include the endpoints in outage (metrics.status), ranked last; by default "
            "they are left out and the next matches take their places",
        )

    @extend_schema_serializer(component_name="Discovery")
    class OutputSerializer(serializers.Serializer):
        results = DiscoverResultSerializer(many=True, help_text="Best first")
        query = serializers.CharField()
        count = serializers.IntegerField(help_text="How many results there are")
        hints = HintsSerializer(required=False, help_text="With a result: how to inspect the best one")

    @extend_schema(
        tags=[CATALOG],
        operation_id="endpoint_discover",
        summary="Find the endpoints for a need",
        description="Full-text search over the names, paths, tags and descriptions of the enabled "
        "catalog: any word may match, whole, stemmed or as the start of a word; an endpoint "
        "matching more of the words, or matching them in its name, ranks higher.",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        results, health = endpoints_discover(
            data["query"],
            limit=data["limit"],
            min_score=data["minScore"],
            include_unavailable=data["includeUnavailable"],
        )
        body = {
            "results": DiscoverResultSerializer(results, many=True, context={"health": health}).data,
            "query": data["query"],
            "count": len(results),
        }
        if results:
            body["hints"] = {"next": inspect_command(results[0])}
        return Response(body)


class InspectPriceSerializer(PriceSerializer):
    notes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="What a per-unit price counts, its flat fee and the hold a run's input "
        "sets; absent when the price says it all",
    )

    def to_representation(self, endpoint):
        price, notes = super().to_representation(endpoint), price_notes(endpoint)
        return {**price, "notes": notes} if notes else price


class NotesField(serializers.ListField):
    """The endpoint's notes, one a line as they are kept."""

    child = serializers.CharField()

    def to_representation(self, notes):
        return [line.strip() for line in notes.splitlines() if line.strip()]


class EndpointInputSerializer(serializers.Serializer):
    """The input schema's parameters by where the provider's request puts them, each part a JSON Schema of an object;
    a part without parameters is left out. POST /v1/run takes its input in these parts or flat, as one object."""

    pathParams = serializers.DictField(required=False, help_text="The parameters that fill the provider's URL path")
    queryParams = serializers.DictField(required=False, help_text="The query string's parameters")
    body = serializers.DictField(required=False, help_text="The request body's parameters")
    bodyType = serializers.ChoiceField(choices=["json"], required=False, help_text="How the body is sent")

    def to_representation(self, endpoint):
        return endpoint_input(endpoint)


class EndpointInspectApi(APIView):
    scope = "catalog"

    @extend_schema_serializer(component_name="Inspect")
    class InputSerializer(StrictSerializer):
        provider = StrictCharField(max_length=50, help_text='Provider slug, e.g. "apify"')
        endpoint = StrictCharField(max_length=200, help_text='Endpoint path, e.g. "/apidojo/tweet-scraper"')

    @extend_schema_serializer(component_name="EndpointDetail")
    class OutputSerializer(EndpointSummarySerializer):
        summary = serializers.SerializerMethodField()
        price = InspectPriceSerializer(source="*")
        method = serializers.CharField(help_text="The HTTP method the provider's API takes")
        docUrl = serializers.SerializerMethodField()
        notes = NotesField(help_text="What an agent should know before calling it, one sentence or so each")
        input = EndpointInputSerializer(
            source="*", help_text="Where each parameter goes; an empty object when the endpoint takes none"
        )
        inputSchema = serializers.JSONField(
            source="input_schema", help_text="The JSON Schema that POST /v1/run checks `input` against"
        )
        hints = serializers.SerializerMethodField()

        def get_summary(self, endpoint) -> str:
            """What to give it, in a sentence or two (the input schema's own description), else its short title."""
            return endpoint.input_schema.get("description") or endpoint.name or endpoint.path

        def get_docUrl(self, endpoint) -> str:
            """The endpoint's documentation at the provider, else the provider's own; empty when neither is known."""
            return endpoint.doc_url or endpoint.provider.doc_url

        @extend_schema_field(HintsSerializer(help_text="A run of the input schema's first example"))
        def get_hints(self, endpoint):
            return {"next": run_command(endpoint)}

    @extend_schema(
        tags=[CATALOG],
        operation_id="endpoint_inspect",
        summary="Everything needed to call one endpoint: its input, price and notes",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint = endpoint_get_enabled(provider=data["provider"], path=data["endpoint"])
        return Response(self.OutputSerializer(endpoint, context={"health": endpoints_health([endpoint])}).data)


class _PublicApi(APIView):
    """The public registry: no key, and the same answer for everyone, so a cache or proxy in front may keep it."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 200:
            patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        return response


class CatalogStatsApi(_PublicApi):
    @extend_schema_serializer(component_name="CatalogStats")
    class OutputSerializer(serializers.Serializer):
        endpointCount = serializers.IntegerField(help_text="Enabled endpoints of enabled providers")
        providerCount = serializers.IntegerField(help_text="Enabled providers with at least one enabled endpoint")

    @extend_schema(
        tags=[PUBLIC],
        operation_id="public_stats",
        summary="How many endpoints and providers",
        auth=[],
        responses={200: OutputSerializer, **error_responses()},
    )
    def get(self, request):
        counts = catalog_counts()
        return Response({"endpointCount": counts["endpoints"], "providerCount": counts["providers"]})


class ProviderCardSerializer(serializers.Serializer):
    provider = serializers.CharField(source="slug")
    displayName = serializers.CharField(source="name")
    displayDescription = serializers.CharField(source="description")
    docUrl = serializers.CharField(source="doc_url", help_text="The provider's own API documentation")
    endpointCount = serializers.IntegerField(source="endpoint_count", help_text="Its enabled endpoints")


class ProviderListApi(_PublicApi):
    OutputSerializer = page_serializer(ProviderCardSerializer(many=True), name="ProviderPage")

    @extend_schema(
        tags=[PUBLIC],
        operation_id="public_provider_list",
        summary="List the providers, by slug",
        auth=[],
        parameters=[PageQuerySerializer],
        responses={200: OutputSerializer, **error_responses(400)},
    )
    def get(self, request):
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page, cursor = cursor_page(providers_listed(), order=("slug",), params=query.validated_data, kind="providers")
        return Response({"items": ProviderCardSerializer(page, many=True).data, "cursor": cursor})


class ProviderEndpointListApi(_PublicApi):
    @extend_schema(
        tags=[PUBLIC],
        operation_id="public_provider_endpoint_list",
        summary="List a provider's enabled endpoints, by path",
        auth=[],
        parameters=[PageQuerySerializer],
        responses={200: EndpointPageSerializer, **error_responses(400, 404)},
    )
    def get(self, request, provider):
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        listed = provider_get_listed(slug=provider)
        return Response(
            endpoint_page_body(
                endpoints_enabled().filter(provider=listed),
                params=query.validated_data,
                cursor_kind=f"provider-endpoints.{listed.slug}",
                total=listed.endpoint_count,
            )
        )


class EndpointDetailApi(_PublicApi):
    @extend_schema(
        tags=[PUBLIC],
        operation_id="public_endpoint_get",
        summary="Get one endpoint's card",
        auth=[],
        parameters=[
            OpenApiParameter(
                "endpoint",
                str,
                OpenApiParameter.PATH,
                description="The endpoint's path without its first '/', e.g. "
                "apidojo/tweet-scraper: it may contain slashes",
            )
        ],
        responses={200: EndpointCardSerializer, **error_responses(404)},
    )
    def get(self, request, provider, endpoint):
        return Response(
            EndpointCardSerializer(endpoint_get_enabled(provider=provider, path="/" + endpoint.lstrip("/"))).data
        )


class SearchHitSerializer(EndpointCardSerializer):
    score = serializers.FloatField(help_text="How well the endpoint matches, from 0 to 1; higher is better")


class EndpointSearchApi(_PublicApi):
    class QuerySerializer(serializers.Serializer):
        q = serializers.CharField(min_length=1, max_length=200, help_text='Free text, e.g. "twitter scraper"')
        limit = LimitField(max_value=20)

    @extend_schema_serializer(component_name="SearchPage")
    class OutputSerializer(serializers.Serializer):
        items = SearchHitSerializer(many=True, help_text="Best first")
        query = serializers.CharField()
        count = serializers.IntegerField(help_text="How many items there are")

    @extend_schema(
        tags=[PUBLIC],
        operation_id="public_search",
        summary="Search the catalog",
        auth=[],
        description="The same search as POST /v1/discover, for anyone.",
        parameters=[QuerySerializer],
        responses={200: OutputSerializer, **error_responses(400)},
    )
    def get(self, request):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        hits = endpoints_search(params["q"], params["limit"])
        return Response({"items": SearchHitSerializer(hits, many=True).data, "query": params["q"], "count": len(hits)})
