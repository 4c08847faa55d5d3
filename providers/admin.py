import json
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.core.validators import MinValueValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from jsonschema import Draft202012Validator, SchemaError

from monid_site.admin import ReadOnlyAdmin
from monid_site.errors import ApplicationError

from .credentials import CredentialUnreadable, credential_of, credential_source
from .engine.loader import ENDPOINT_FILE, ConnectorError, checked, endpoint_check
from .models import CatalogChange, Endpoint, Provider
from .services import (
    CREDENTIAL_MAX_LENGTH,
    catalog_delete,
    catalog_save,
    catalog_subject,
    provider_credential_checked,
    provider_credential_clear,
    provider_credential_set,
)

PRICE_FIELDS = ["price_micros", "flat_fee_micros", "credit_cost_micros"]
TAG_MAX_LENGTH, TAGS_MAX = 30, 20
HISTORY_SHOWN = 10  # on a provider's or endpoint's page; the history admin has the rest
CREDENTIAL_FIELDS = ["credential", "new_credential", "remove_credential"]


def _dollars(micros: int) -> str:
    return f"${Decimal(micros).scaleb(-6):,.6f}"


def _doc_url_field(model) -> forms.URLField:
    """The model's doc_url, for web pages only; a bare host name is taken as https, as Django 6 will."""
    field = model._meta.get_field("doc_url").formfield(assume_scheme="https", widget=widgets.AdminURLFieldWidget)
    # A code of its own: the form field's message for "invalid" would replace this one.
    field.validators.append(
        URLValidator(
            schemes=["http", "https"], code="not_web", message="Enter the http:// or https:// address of a web page."
        )
    )
    return field


class EndpointPricesForm(forms.ModelForm):
    """An endpoint's prices are whole micro-dollars, never negative; their help text says what that is in dollars."""

    class Meta:
        model = Endpoint
        fields = PRICE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in PRICE_FIELDS:
            if name not in self.fields:
                continue
            field = self.fields[name]
            field.validators.append(MinValueValidator(0, "A price cannot be negative."))
            field.widget.attrs["min"] = 0
            field.help_text = f"{field.help_text}. 1,000,000 micro-dollars = $1, so 3000 = $0.003."
            if self.instance.pk is not None:
                value = getattr(self.instance, name)
                field.help_text += f" Now {value:,} = {_dollars(value)}."


class EndpointForm(EndpointPricesForm):
    doc_url = _doc_url_field(Endpoint)

    class Meta:
        model = Endpoint
        fields = "__all__"

    def clean_input_schema(self):
        """A schema that is not valid JSON Schema would fail every run of the endpoint; refuse it here instead."""
        schema = self.cleaned_data["input_schema"]
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            where = f" (at {exc.json_path})" if exc.path else ""
            raise forms.ValidationError(f"Not a valid JSON Schema (Draft 2020-12){where}: {exc.message}") from None
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise forms.ValidationError(
                'The top level of the schema must say "type": "object": a run\'s input is a JSON object of parameters.'
            )
        return schema

    def clean(self):
        """The request, usage and output declarations get the checks a connector file gets (docs/connectors.md),
        so an operator's endpoint cannot fail its runs on a typo: each error is shown on its field."""
        data = super().clean()
        if self.errors or data.get("provider") is None:
            return data
        usage = {name: value for name, value in (data.get("usage") or {}).items() if value not in (None, "")}
        spec = {
            "input_schema": data["input_schema"],
            "request": data.get("request") or None,
            "output": data.get("output") or {},
            "usage": {
                "model": data["price_type"],
                "price_micros": data["price_micros"],
                "flat_fee_micros": data["flat_fee_micros"],
                **usage,
            },
        }
        try:
            for name in ("request", "usage", "output"):
                if spec[name] is not None:
                    checked(name, spec[name], ENDPOINT_FILE["properties"][name])
            endpoint_check(spec, protocol=data["provider"].protocol, provider_usage={}, where="this endpoint")
        except ConnectorError as exc:
            field = exc.where if exc.where in self.fields else exc.field.split(".")[0]
            raise forms.ValidationError({field if field in self.fields else None: str(exc)}) from None
        data["usage"] = {
            "unit": "result",
            "evidence": "results",
            "estimate": None,
            "provider_cap": "none",
            "provider_cap_note": "",
            **usage,
        }
        data["request"], data["output"] = data.get("request") or {}, data.get("output") or {}
        return data

    def clean_path(self):
        path = self.cleaned_data["path"]
        if not path.startswith("/"):
            raise forms.ValidationError("An endpoint path starts with '/', e.g. /person/enrich.")
        return path

    def clean_tags(self):
        tags = self.cleaned_data["tags"]
        if tags is None:  # the box left empty
            return []
        if not isinstance(tags, list):
            raise forms.ValidationError('Tags are a JSON list of words, e.g. ["person", "email"].')
        if len(tags) > TAGS_MAX:
            raise forms.ValidationError(f"At most {TAGS_MAX} tags, not {len(tags)}.")
        for tag in tags:
            if not isinstance(tag, str) or not tag.strip() or len(tag) > TAG_MAX_LENGTH:
                raise forms.ValidationError(
                    f"Each tag is a word or two of at most {TAG_MAX_LENGTH} characters, not {json.dumps(tag)}."
                )
        return tags


class ProviderForm(forms.ModelForm):
    doc_url = _doc_url_field(Provider)
    # Write-only: the page never shows a stored credential, and the box is always empty.
    new_credential = forms.CharField(
        required=False,
        max_length=CREDENTIAL_MAX_LENGTH,
        label="New credential",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Live runs send it instead of the environment variable. Stored encrypted and never shown again; "
        "leave empty to keep the current one.",
    )
    remove_credential = forms.BooleanField(
        required=False,
        label="Remove the dashboard credential",
        help_text="Live runs then send the environment variable's, if it is set.",
    )

    class Meta:
        model = Provider
        fields = "__all__"

    def clean_new_credential(self):
        secret = self.cleaned_data["new_credential"]
        try:
            return provider_credential_checked(secret) if secret.strip() else ""
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self):
        data = super().clean()
        if data.get("new_credential") and data.get("remove_credential"):
            raise forms.ValidationError("Either set a new credential or remove the one set here, not both.")
        return data


def _change_summary(change: CatalogChange) -> str:
    """ "price_micros: 3000 → 4500; input_schema edited" for a change; nothing for a creation or deletion, whose
    page lists every field."""
    if change.action != CatalogChange.Action.CHANGED:
        return ""
    parts = []
    for name, (before, after) in change.changes.items():
        if isinstance(before, (dict, list)) or isinstance(after, (dict, list)):
            parts.append(f"{name} edited")
        else:
            parts.append(f"{name}: {json.dumps(before)} → {json.dumps(after)}")
    return "; ".join(parts)


class CatalogEntryAdmin(admin.ModelAdmin):
    """Saves and deletes go through the services that record each one in the catalog's history (CatalogChange), in
    the admin's own transaction; list_editable saves come through save_model too."""

    readonly_fields = ["history"]
    # The changelist's own form (list_editable) builds every field of the model, doc_url included.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change):
        catalog_save(user=request.user, entry=obj)

    def delete_model(self, request, obj):
        catalog_delete(user=request.user, entries=[obj])

    def delete_queryset(self, request, queryset):
        catalog_delete(user=request.user, entries=queryset)

    def history_of(self, obj) -> Q:
        return Q(subject=catalog_subject(obj))

    def history_link(self, obj) -> str:
        return urlencode({"subject": catalog_subject(obj)})

    @admin.display(description="History")
    def history(self, obj):
        if obj.pk is None:
            return "Recorded from the first save."
        changes = CatalogChange.objects.filter(self.history_of(obj)).select_related("changed_by")[:HISTORY_SHOWN]
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:providers_catalogchange_change", args=[change.pk]),
                    f"{localtime(change.at):%Y-%m-%d %H:%M:%S}",
                    change.changed_by or "—",
                    change.action,
                    change.subject,
                    _change_summary(change),
                )
                for change in changes
            ),
        )
        if not rows:
            return "No changes recorded yet."
        return format_html(
            "<table><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Subject</th><th>What</th>"
            '</tr></thead><tbody>{}</tbody></table><p><a href="{}?{}">All of its changes</a></p>',
            rows,
            reverse("admin:providers_catalogchange_changelist"),
            self.history_link(obj),
        )


class EndpointInline(admin.TabularInline):
    """Quick edits of prices and switches; new endpoints are added on their own page, where the schema is checked."""

    model = Endpoint
    form = EndpointPricesForm
    fields = ["path", "price_type", "price_micros", "flat_fee_micros", "enabled"]
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Provider)
class ProviderAdmin(CatalogEntryAdmin):
    form = ProviderForm
    list_display = ["slug", "name", "mode", "credential", "enabled"]
    list_editable = ["enabled"]
    readonly_fields = ["credential", "history"]
    inlines = [EndpointInline]

    def get_fields(self, request, obj=None):
        """The credential's state and its two controls, right after the name of its environment variable."""
        fields = [name for name in super().get_fields(request, obj) if name not in CREDENTIAL_FIELDS]
        at = fields.index("credential_name") + 1
        return [*fields[:at], *CREDENTIAL_FIELDS, *fields[at:]]

    @admin.display(description="Credential")
    def credential(self, obj):
        if obj.pk is None:
            return "Not set."
        try:
            credential_of(obj)
        except CredentialUnreadable as exc:
            return str(exc)
        source = credential_source(obj)
        return (
            "Not set: live runs are refused with 503; test mode works."
            if source == "not set"
            else source[:1].upper() + source[1:] + "."
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("new_credential"):
            provider_credential_set(user=request.user, provider=obj, secret=form.cleaned_data["new_credential"])
        elif form.cleaned_data.get("remove_credential"):
            provider_credential_clear(user=request.user, provider=obj)

    def save_formset(self, request, form, formset, change):
        """Endpoints edited or deleted in the inline are recorded like those edited on their own page."""
        entries = formset.save(commit=False)
        catalog_delete(user=request.user, entries=formset.deleted_objects)
        for entry in entries:
            catalog_save(user=request.user, entry=entry)
        formset.save_m2m()

    def history_of(self, obj) -> Q:
        # Its endpoints' changes too, since the inline edits them from this page.
        return Q(subject=catalog_subject(obj)) | Q(subject__startswith=f"endpoint {obj.slug} ")

    def history_link(self, obj) -> str:
        return urlencode({"q": obj.slug})


@admin.register(Endpoint)
class EndpointAdmin(CatalogEntryAdmin):
    form = EndpointForm
    list_display = [
        "provider",
        "path",
        "price_type",
        "price_micros",
        "flat_fee_micros",
        "credit_cost_micros",
        "enabled",
    ]
    list_filter = ["provider", "enabled", "price_type"]
    list_editable = ["enabled"]
    list_select_related = ["provider"]
    search_fields = ["path", "description"]


@admin.register(CatalogChange)
class CatalogChangeAdmin(ReadOnlyAdmin):
    """The catalog's history, written only by the services above: read-only for everyone, superusers included."""

    list_display = ["at", "changed_by", "action", "subject", "summary"]
    list_filter = ["action"]
    search_fields = ["subject"]
    list_select_related = ["changed_by"]
    date_hierarchy = "at"
    fields = ["at", "changed_by", "action", "subject", "fields_changed"]
    readonly_fields = fields

    @admin.display(description="What")
    def summary(self, change):
        return _change_summary(change)

    @admin.display(description="Changes")
    def fields_changed(self, change):
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td><pre>{}</pre></td><td><pre>{}</pre></td></tr>",
            (
                (name, json.dumps(before, indent=2), json.dumps(after, indent=2))
                for name, (before, after) in change.changes.items()
            ),
        )
        return format_html(
            "<table><thead><tr><th>Field</th><th>Before</th><th>After</th></tr></thead><tbody>{}</tbody></table>", rows
        )
