from django import forms
from django.contrib import admin
from jsonschema import Draft202012Validator, SchemaError

from .models import Endpoint, Provider


class EndpointForm(forms.ModelForm):
    class Meta:
        model = Endpoint
        fields = "__all__"

    def clean_input_schema(self):
        """A schema that is not valid JSON Schema would fail every run of the endpoint; refuse it here instead."""
        schema = self.cleaned_data["input_schema"]
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise forms.ValidationError(f"Not a valid JSON Schema: {exc.message}")
        return schema

    def clean_path(self):
        path = self.cleaned_data["path"]
        if not path.startswith("/"):
            raise forms.ValidationError("An endpoint path starts with '/', e.g. /person/enrich.")
        return path


class EndpointInline(admin.TabularInline):
    model = Endpoint
    fields = ["path", "price_type", "price_micros", "flat_fee_micros", "enabled"]
    extra = 0
    show_change_link = True


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "mode", "enabled"]
    list_editable = ["enabled"]
    inlines = [EndpointInline]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["provider", "path", "price_type", "price_micros", "flat_fee_micros", "credit_cost_micros",
                    "enabled"]
    list_filter = ["provider", "enabled", "price_type"]
    list_editable = ["enabled"]
    search_fields = ["path", "description"]
