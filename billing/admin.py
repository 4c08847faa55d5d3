from django.contrib import admin

from monid_site.admin import ReadOnlyAdmin

from .accounts import workspace_delete
from .models import ApiKey, LedgerEntry, OAuthClient, SpendControl, Workspace


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["label", "mode", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # keys are created by their owners, who must see the secret once


class SpendControlInline(admin.TabularInline):
    """Shown, not edited here: the customer sets them in the dashboard, where a new budget starts from the
    ledger's charges in its window (see billing.controls.spend_control_set)."""

    model = SpendControl
    fields = ["kind", "period", "limit_micros", "status", "window_start", "spent_micros", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    filter_horizontal = ["members"]
    inlines = [ApiKeyInline, SpendControlInline]

    def delete_model(self, request, obj):
        workspace_delete(workspace=obj)

    def delete_queryset(self, request, queryset):
        for workspace in queryset:
            workspace_delete(workspace=workspace)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Read-only: the ledger is appended to by services (credits with `manage.py wallet_credit`), never edited."""

    list_display = ["created_at", "workspace", "kind", "amount_micros", "run_id", "created_by", "note"]
    list_filter = ["kind"]
    search_fields = ["workspace__slug", "run_id", "note"]


@admin.register(OAuthClient)
class OAuthClientAdmin(admin.ModelAdmin):
    """MCP hosts that registered themselves (billing.oauth): seen, and deleted if need be, never made here."""

    list_display = ["name", "client_id", "auth_method", "created_at"]
    readonly_fields = ["client_id", "auth_method", "name", "redirect_uris", "scope", "created_at"]
    exclude = ["secret_hash"]

    def has_add_permission(self, request):
        return False
