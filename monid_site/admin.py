"""What the apps' admins share; it registers nothing itself."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For a record that only services write and nobody may rewrite (the ledger, the catalog's history): shown,
    never added, changed or deleted here, superusers included."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
