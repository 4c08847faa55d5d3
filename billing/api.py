from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from monid_site.errors import ApplicationError, error_responses
from monid_site.pagination import PageQuerySerializer, cursor_dump, cursor_load
from monid_site.serializers import StrictCharField, StrictSerializer, TimestampField

from .costs import micros_to_usd
from .models import ApiKey
from .queries import api_key_page, wallet_available_and_held
from .services import api_key_rename, api_key_revoke


class ApiKeySerializer(serializers.Serializer):
    label = serializers.CharField()
    keyPrefix = serializers.CharField(source="prefix", help_text="The key's first characters; the key itself is "
                                                                 "shown once, when it is created")
    mode = serializers.ChoiceField(choices=ApiKey.Mode.values)
    createdAt = TimestampField(source="created_at")
    lastUsedAt = TimestampField(source="last_used_at", allow_null=True)


def api_key_for_request(request, label: str) -> ApiKey:
    """An active key of the caller's workspace; another workspace's key is as unknown as one that never was."""
    api_key = request.auth.workspace.api_keys.filter(label=label, revoked_at__isnull=True).first()
    if api_key is None:
        raise ApplicationError(404, f"No active API key labelled {label!r} in this workspace.")
    return api_key


class ApiKeyListApi(APIView):
    @extend_schema_serializer(component_name="ApiKeyPage")
    class OutputSerializer(serializers.Serializer):
        items = ApiKeySerializer(many=True)
        cursor = serializers.CharField(allow_null=True)

    @extend_schema(tags=["API keys"], operation_id="api_key_list", summary="List the workspace's active API keys, newest first",
                   parameters=[PageQuerySerializer], responses={200: OutputSerializer, **error_responses(400, 401)})
    def get(self, request):
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        after = cursor_load(params["cursor"], kind="api-keys") if params.get("cursor") else None
        page, next_after = api_key_page(workspace=request.auth.workspace, limit=params["limit"], after=after)
        return Response({"items": ApiKeySerializer(page, many=True).data,
                         "cursor": cursor_dump(next_after, kind="api-keys") if next_after else None})


class ApiKeyDetailApi(APIView):
    class RenameSerializer(StrictSerializer):
        label = StrictCharField(max_length=100)

    @extend_schema(tags=["API keys"], operation_id="api_key_rename", summary="Rename an API key", request=RenameSerializer,
                   responses={200: ApiKeySerializer, **error_responses(400, 401, 404, 409, 415)})
    def patch(self, request, label):
        api_key = api_key_for_request(request, label)
        serializer = self.RenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(ApiKeySerializer(api_key_rename(api_key=api_key,
                                                        label=serializer.validated_data["label"])).data)

    @extend_schema(tags=["API keys"], operation_id="api_key_revoke", summary="Revoke an API key; it stops working at once",
                   responses={204: None, **error_responses(401, 404)})
    def delete(self, request, label):
        api_key_revoke(api_key=api_key_for_request(request, label))
        return Response(status=204)


class UsdAmountSerializer(serializers.Serializer):
    value = serializers.FloatField(help_text="Dollars")
    currency = serializers.ChoiceField(choices=["USD"])


class WalletBalanceApi(APIView):
    @extend_schema_serializer(component_name="WalletBalance")
    class OutputSerializer(serializers.Serializer):
        balance = UsdAmountSerializer(help_text="What is left to spend, after holds for runs in flight")
        held = UsdAmountSerializer(help_text="Held for runs in flight")

    @extend_schema(tags=["Wallet"], operation_id="wallet_balance", summary="The workspace's wallet balance",
                   responses={200: OutputSerializer, **error_responses(401)})
    def get(self, request):
        available, held = wallet_available_and_held(workspace=request.auth.workspace)
        return Response({"balance": {"value": micros_to_usd(available), "currency": "USD"},
                         "held": {"value": micros_to_usd(held), "currency": "USD"}})
