from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from monid_site.errors import ApplicationError, error_responses
from monid_site.money import MICROS_PER_DOLLAR
from monid_site.pagination import PageQuerySerializer, cursor_page, page_serializer
from monid_site.serializers import StrictCharField, StrictSerializer, TimestampField

from .api_keys import api_key_create, api_key_revoke, api_key_update
from .controls import MAX_LIMIT_MICROS, spend_control_get_for_workspace, spend_control_states, spend_control_update
from .costs import micros_to_usd
from .models import ApiKey, SpendControl
from .queries import api_key_user, wallet_available_and_held


class DollarsField(serializers.FloatField):
    """Micro-dollars shown as dollars: the API's unit for amounts, never used in arithmetic."""

    def to_representation(self, micros):
        return micros_to_usd(micros)


class UsdField(serializers.ChoiceField):
    """The currency beside an amount; always USD."""

    def __init__(self, **kwargs):
        super().__init__(choices=["USD"], source="*", read_only=True, **kwargs)

    def to_representation(self, _):
        return "USD"


class AmountSerializer(StrictSerializer):
    UNIT_MICROS = {"MICRO_DOLLAR": 1, "CENT": 10_000, "DOLLAR": MICROS_PER_DOLLAR}

    currency = serializers.ChoiceField(choices=["USD"])
    value = serializers.IntegerField(min_value=0, max_value=MAX_LIMIT_MICROS)
    unit = serializers.ChoiceField(choices=list(UNIT_MICROS))

    @classmethod
    def micros(cls, amount: dict) -> int:
        """A validated amount in micro-dollars."""
        return amount["value"] * cls.UNIT_MICROS[amount["unit"]]


class SpendLimitSerializer(serializers.Serializer):
    limitAmount = DollarsField(
        source="spend_limit_micros", help_text="Dollars the key's live runs may be charged in a period"
    )
    currency = UsdField()
    period = serializers.ChoiceField(
        source="spend_period",
        choices=ApiKey.SPEND_PERIODS,
        help_text="A UTC day, a week from Monday, or a calendar month",
    )


class ApiKeySerializer(serializers.Serializer):
    label = serializers.CharField()
    keyPrefix = serializers.CharField(
        source="prefix", help_text="The key's first characters; the key itself is shown once, when it is created"
    )
    mode = serializers.ChoiceField(choices=ApiKey.Mode.values)
    scopes = serializers.ListField(
        source="scope_list",
        child=serializers.ChoiceField(choices=ApiKey.SCOPES),
        help_text="runs: make, read and stop runs of the key's mode, and read the "
        "wallet's balance; catalog: discover and inspect endpoints; manage: "
        "keys, spend controls and the wallet (live keys only)",
    )
    expiresAt = TimestampField(
        source="expires_at", allow_null=True, help_text="When the key stops working (401 from then on); null: never"
    )
    spendLimit = serializers.SerializerMethodField()
    createdAt = TimestampField(source="created_at")
    lastUsedAt = TimestampField(source="last_used_at", allow_null=True)
    lastUsedIp = serializers.IPAddressField(
        source="last_used_ip", allow_null=True, help_text="Where it was last used from (at most a minute old)"
    )
    lastUsedUserAgent = serializers.CharField(
        source="last_used_user_agent", help_text="The User-Agent of that use, cut at 200 characters"
    )

    @extend_schema_field(
        SpendLimitSerializer(
            allow_null=True,
            help_text=(
                "The most the key's live runs may be charged in a period; a run that could pass it is BLOCKED, never "
                "charged. null: only the workspace's controls and wallet limit it"
            ),
        )
    )
    def get_spendLimit(self, api_key):
        return SpendLimitSerializer(api_key).data if api_key.spend_limit_micros is not None else None


@extend_schema_serializer(component_name="ApiKeyCreated")
class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The whole key, shown this once and stored nowhere: keep it now")


class SpendLimitInputSerializer(StrictSerializer):
    limitAmount = AmountSerializer(help_text="An integer amount in the unit it names")
    period = serializers.ChoiceField(choices=ApiKey.SPEND_PERIODS)


class ApiKeyLifecycleSerializer(StrictSerializer):
    """What a key's creation and its changes may both set."""

    expiresAt = serializers.DateTimeField(
        required=False, allow_null=True, help_text="ISO 8601, in the future; null: never expires"
    )
    spendLimit = SpendLimitInputSerializer(required=False, allow_null=True, help_text="null: no limit of its own")

    def service_arguments(self) -> dict:
        """The validated fields as the key services' keyword arguments; only those sent."""
        data, arguments = self.validated_data, {}
        if "label" in data:
            arguments["label"] = data["label"]
        if "expiresAt" in data:
            arguments["expires_at"] = data["expiresAt"]
        limit = data.get("spendLimit")
        if limit is not None:
            arguments.update(
                spend_limit_micros=AmountSerializer.micros(limit["limitAmount"]), spend_period=limit["period"]
            )
        elif "spendLimit" in data:
            arguments["spend_limit_micros"] = None
        return arguments


def api_key_for_request(request, label: str) -> ApiKey:
    """An active key of the caller's workspace; another workspace's key is as unknown as one that never was."""
    api_key = request.auth.workspace.api_keys.filter(label=label, revoked_at__isnull=True).first()
    if api_key is None:
        raise ApplicationError(404, f"No active API key labelled {label!r} in this workspace.")
    return api_key


class ApiKeyListApi(APIView):
    scope = "manage"

    OutputSerializer = page_serializer(ApiKeySerializer(many=True), name="ApiKeyPage")

    @extend_schema_serializer(component_name="ApiKeyCreate")
    class CreateSerializer(ApiKeyLifecycleSerializer):
        label = StrictCharField(max_length=100)
        mode = serializers.ChoiceField(choices=ApiKey.Mode.values, default=ApiKey.Mode.LIVE)
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=ApiKey.SCOPES),
            min_length=1,
            max_length=len(ApiKey.SCOPES),
            default=list(ApiKey.DEFAULT_SCOPES),
            help_text="Default: runs and catalog. manage only for a live key",
        )

    @extend_schema(
        tags=["API keys"],
        operation_id="api_key_list",
        summary="List the workspace's active API keys, newest first",
        parameters=[PageQuerySerializer],
        responses={200: OutputSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request):
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # Keyed on (created, label), which is unique in a workspace and no database id.
        page, cursor = cursor_page(
            request.auth.workspace.api_keys.filter(revoked_at__isnull=True),
            order=("-created_at", "label"),
            params=query.validated_data,
            kind="api-keys",
        )
        return Response({"items": ApiKeySerializer(page, many=True).data, "cursor": cursor})

    @extend_schema(
        tags=["API keys"],
        operation_id="api_key_create",
        request=CreateSerializer,
        summary="Create an API key; the answer holds the whole key, shown this once",
        responses={201: ApiKeyCreatedSerializer, **error_responses(400, 401, 403, 409, 415)},
    )
    def post(self, request):
        serializer = self.CreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # Whoever holds a manage key acts for the member it names (whoami's user), so the new key is theirs too.
        api_key, key = api_key_create(
            workspace=request.auth.workspace,
            mode=data["mode"],
            scopes=data["scopes"],
            created_by=api_key_user(api_key=request.auth),
            **serializer.service_arguments(),
        )
        return Response(
            {**ApiKeySerializer(api_key).data, "key": key}, status=201, headers={"Cache-Control": "no-store"}
        )


class ApiKeyDetailApi(APIView):
    scope = "manage"

    @extend_schema_serializer(component_name="ApiKeyUpdate")
    class UpdateSerializer(ApiKeyLifecycleSerializer):
        label = StrictCharField(max_length=100, required=False)

        def validate(self, attrs):
            if not attrs:
                raise serializers.ValidationError({"body": "send label, expiresAt, spendLimit or some of them."})
            return attrs

    @extend_schema(
        tags=["API keys"],
        operation_id="api_key_update",
        request=UpdateSerializer,
        summary="Change an API key's label, expiry or spend limit",
        responses={200: ApiKeySerializer, **error_responses(400, 401, 403, 404, 409, 415)},
    )
    def patch(self, request, label):
        api_key = api_key_for_request(request, label)
        serializer = self.UpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(ApiKeySerializer(api_key_update(api_key=api_key, **serializer.service_arguments())).data)

    @extend_schema(
        tags=["API keys"],
        operation_id="api_key_revoke",
        summary="Revoke an API key; it stops working at once",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request, label):
        api_key_revoke(api_key=api_key_for_request(request, label))
        return Response(status=204)


class UsdAmountSerializer(serializers.Serializer):
    value = serializers.FloatField(help_text="Dollars")
    currency = serializers.ChoiceField(choices=["USD"])


class WalletBalanceApi(APIView):
    scope = "runs"

    @extend_schema_serializer(component_name="WalletBalance")
    class OutputSerializer(serializers.Serializer):
        balance = UsdAmountSerializer(help_text="What is left to spend, after holds for runs in flight")
        held = UsdAmountSerializer(help_text="Held for runs in flight")

    @extend_schema(
        tags=["Wallet"],
        operation_id="wallet_balance",
        summary="The workspace's wallet balance",
        responses={200: OutputSerializer, **error_responses(401, 403)},
    )
    def get(self, request):
        available, held = wallet_available_and_held(workspace=request.auth.workspace)
        return Response(
            {
                "balance": {"value": micros_to_usd(available), "currency": "USD"},
                "held": {"value": micros_to_usd(held), "currency": "USD"},
            }
        )


class RunCapSerializer(serializers.Serializer):
    runCapControlId = serializers.CharField(source="control.pk", help_text="ULID")
    workspaceId = serializers.CharField(source="control.workspace.slug")
    limitAmount = DollarsField(source="control.limit_micros", help_text="Dollars: the most one run may cost")
    currency = UsdField()
    status = serializers.ChoiceField(source="control.status", choices=SpendControl.Status.values)
    createdAt = TimestampField(source="control.created_at")
    updatedAt = TimestampField(source="control.updated_at")


class BudgetSerializer(serializers.Serializer):
    budgetControlId = serializers.CharField(source="control.pk", help_text="ULID")
    workspaceId = serializers.CharField(source="control.workspace.slug")
    period = serializers.ChoiceField(source="control.period", choices=SpendControl.Period.values)
    limitAmount = DollarsField(source="control.limit_micros", help_text="Dollars the window may spend")
    spentAmount = DollarsField(source="spent_micros", help_text="Dollars charged in the current window")
    heldAmount = DollarsField(source="held_micros", help_text="Dollars held for the workspace's runs in flight")
    availableAmount = DollarsField(
        source="available_micros", help_text="limitAmount - spentAmount - heldAmount, at least 0"
    )
    currency = UsdField()
    windowStart = TimestampField(source="window_start", help_text="When the current window began (UTC)")
    status = serializers.ChoiceField(source="control.status", choices=SpendControl.Status.values)
    createdAt = TimestampField(source="control.created_at")
    updatedAt = TimestampField(source="control.updated_at")


class ControlPatchSerializer(StrictSerializer):
    limitAmount = AmountSerializer(required=False, help_text="An integer amount in the unit it names")
    status = serializers.ChoiceField(choices=SpendControl.Status.values, required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not attrs:
            raise serializers.ValidationError({"body": "send limitAmount, status or both."})
        return attrs


class _ControlApi(APIView):
    """Budgets and run caps are read and changed alike; each subclass names its kind and its shape."""

    scope = "manage"
    kind, serializer_class, cursor_kind = None, None, None

    def shown(self, request, controls):
        return self.serializer_class(
            spend_control_states(workspace=request.auth.workspace, controls=controls), many=True
        ).data


class _ControlListApi(_ControlApi):
    def get(self, request):
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        controls = SpendControl.objects.filter(workspace=request.auth.workspace, kind=self.kind).select_related(
            "workspace"
        )
        page, cursor = cursor_page(controls, order=("-id",), params=query.validated_data, kind=self.cursor_kind)
        return Response({"items": self.shown(request, page), "cursor": cursor})


class _ControlDetailApi(_ControlApi):
    def get(self, request, control_id):
        control = spend_control_get_for_workspace(
            workspace=request.auth.workspace, kind=self.kind, control_id=control_id
        )
        return Response(self.shown(request, [control])[0])

    def patch(self, request, control_id):
        control = spend_control_get_for_workspace(
            workspace=request.auth.workspace, kind=self.kind, control_id=control_id
        )
        serializer = ControlPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        limit = AmountSerializer.micros(data["limitAmount"]) if "limitAmount" in data else None
        control = spend_control_update(control=control, limit_micros=limit, status=data.get("status"))
        return Response(self.shown(request, [control])[0])


CONTROLS = "Spend controls"
PATCH_ERRORS = error_responses(400, 401, 403, 404, 415)


def _control_list_schema(*, operation_id, summary, serializer, page_name):
    """Budgets and run caps are listed alike, so their documented list operations differ only in names."""
    return extend_schema_view(
        get=extend_schema(
            tags=[CONTROLS],
            operation_id=operation_id,
            parameters=[PageQuerySerializer],
            summary=summary,
            responses={200: page_serializer(serializer(many=True), name=page_name), **error_responses(400, 401, 403)},
        )
    )


def _control_detail_schema(*, operation_prefix, noun, serializer):
    """Likewise for reading and changing one: `noun` names the kind in the summaries."""
    return extend_schema_view(
        get=extend_schema(
            tags=[CONTROLS],
            operation_id=f"{operation_prefix}_get",
            summary=f"Get a {noun}",
            responses={200: serializer, **error_responses(401, 403, 404)},
        ),
        patch=extend_schema(
            tags=[CONTROLS],
            operation_id=f"{operation_prefix}_update",
            summary=f"Change a {noun}'s limit or status",
            request=ControlPatchSerializer,
            responses={200: serializer, **PATCH_ERRORS},
        ),
    )


@_control_list_schema(
    operation_id="budget_list",
    summary="List the workspace's budgets, with what each has spent and held",
    serializer=BudgetSerializer,
    page_name="BudgetPage",
)
class BudgetListApi(_ControlListApi):
    kind, serializer_class, cursor_kind = SpendControl.Kind.BUDGET, BudgetSerializer, "budgets"


@_control_detail_schema(operation_prefix="budget", noun="budget", serializer=BudgetSerializer)
class BudgetDetailApi(_ControlDetailApi):
    kind, serializer_class = SpendControl.Kind.BUDGET, BudgetSerializer


@_control_list_schema(
    operation_id="run_cap_list",
    summary="List the workspace's per-run caps",
    serializer=RunCapSerializer,
    page_name="RunCapPage",
)
class RunCapListApi(_ControlListApi):
    kind, serializer_class, cursor_kind = SpendControl.Kind.RUN_CAP, RunCapSerializer, "run-caps"


@_control_detail_schema(operation_prefix="run_cap", noun="run cap", serializer=RunCapSerializer)
class RunCapDetailApi(_ControlDetailApi):
    kind, serializer_class = SpendControl.Kind.RUN_CAP, RunCapSerializer


class WorkspaceSerializer(serializers.Serializer):
    workspaceId = serializers.CharField(source="slug", help_text="The slug: workspaces have no other public id")
    name = serializers.CharField()
    slug = serializers.CharField()


class UserSerializer(serializers.Serializer):
    userId = serializers.CharField(
        source="username", allow_null=True, help_text="The username: people have no other public id"
    )
    username = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True, help_text="Empty when the account has none")


# Monid's CLI reads user.userId without a check, so a workspace without members is answered with a user of nulls.
NO_USER = {"userId": None, "username": None, "email": None}


class WhoamiApi(APIView):
    scope = None  # any key, test keys too: it tells whoever holds a key whose it is

    @extend_schema_serializer(component_name="Whoami")
    class OutputSerializer(serializers.Serializer):
        user = UserSerializer(
            help_text=(
                "The member who made the key; for a key whose maker is unknown or deleted, the workspace's first "
                "member; in a workspace without members, each field is null"
            )
        )
        workspace = WorkspaceSerializer(help_text="The key's workspace")

    @extend_schema(
        tags=["Identity"],
        operation_id="auth_whoami",
        summary="Who the key belongs to, and its workspace",
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def get(self, request):
        user = api_key_user(api_key=request.auth)
        return Response(
            {
                "user": UserSerializer(user).data if user else NO_USER,
                "workspace": WorkspaceSerializer(request.auth.workspace).data,
            }
        )


class WorkspaceListApi(APIView):
    """A key belongs to one workspace and must reveal nothing of others, so the list is that one workspace even
    when the key's maker is a member of more."""

    scope = None

    @extend_schema_serializer(component_name="WorkspaceList")
    class OutputSerializer(serializers.Serializer):
        workspaces = WorkspaceSerializer(many=True, help_text="The key's own workspace, alone")

    @extend_schema(
        tags=["Identity"],
        operation_id="auth_workspaces",
        summary="The workspaces the key can act in",
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def get(self, request):
        return Response({"workspaces": [WorkspaceSerializer(request.auth.workspace).data]})
