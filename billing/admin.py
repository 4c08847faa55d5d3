from django.contrib import admin

from .models import ApiKey, Workspace


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["label", "mode", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # keys are created by their owners, who must see the secret once


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    filter_horizontal = ["members"]
    inlines = [ApiKeyInline]
