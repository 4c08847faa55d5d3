from django import forms
from ulid import ULID

from billing.models import ApiKey, Workspace
from providers.models import Endpoint

from .models import Run

HTTP_CLASSES = [("2xx", "2xx"), ("3xx", "3xx"), ("4xx", "4xx"), ("5xx", "5xx"), ("none", "None")]
KEY_SUGGESTIONS = 200  # labels offered in the key field's list; any label can still be typed


def run_id_or_none(text: str) -> str | None:
    """The run id `text` spells (any case, spaces around), in its canonical form; None if it is no run id."""
    try:
        return str(ULID.from_str(text.strip()))
    except ValueError:
        return None


def _date_input():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class RunFilterForm(forms.Form):
    """The runs list's filters, all optional. `workspace` is the customer's own: the form then has no workspace
    field and finds keys in that workspace only; None for an operator, who may pick any workspace."""

    workspace = forms.ModelChoiceField(
        queryset=Workspace.objects.order_by("slug"), to_field_name="slug", required=False, empty_label="Any"
    )
    key = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"list": "run-filter-keys", "placeholder": "label"}),
    )
    provider = forms.ChoiceField(required=False)
    endpoint = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "Any"), *Run.Status.choices])
    http = forms.ChoiceField(required=False, label="Provider HTTP", choices=[("", "Any"), *HTTP_CLASSES])
    mode = forms.ChoiceField(required=False, choices=[("", "Live and test"), ("live", "Live"), ("test", "Test")])
    start = forms.DateField(required=False, label="From", widget=_date_input())
    end = forms.DateField(required=False, label="To", widget=_date_input())
    # Not shown in the form: the pager's keyset, the id of the last run of the page before.
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, workspace: Workspace | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.own_workspace = workspace
        if workspace is not None:
            del self.fields["workspace"]
        # The catalog is small: one query gives both menus, and the endpoint ids a choice stands for.
        self.endpoints = list(Endpoint.objects.select_related("provider").order_by("provider__slug", "path"))
        by_provider = {}
        for endpoint in self.endpoints:
            by_provider.setdefault(endpoint.provider.slug, []).append((endpoint.path, endpoint.path))
        self.fields["provider"].choices = [("", "Any"), *((slug, slug) for slug in by_provider)]
        self.fields["endpoint"].choices = [("", "Any"), *by_provider.items()]

    def key_labels(self):
        """Labels for the key field's suggestions: the customer's keys, or every label an operator may type."""
        keys = ApiKey.objects.all() if self.own_workspace is None else self.own_workspace.api_keys.all()
        return keys.order_by("label").values_list("label", flat=True).distinct()[:KEY_SUGGESTIONS]

    def clean_before(self):
        before = self.cleaned_data["before"]
        if before and run_id_or_none(before) is None:
            raise forms.ValidationError("That page of runs does not exist: before must be a run id.")
        return run_id_or_none(before) if before else None

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The From date is after the To date.")
        workspace = self.own_workspace or data.get("workspace")
        if data.get("key"):
            # One key, so its runs come newest first straight from the (api_key, -id) index at any depth.
            keys = ApiKey.objects.filter(label=data["key"])
            if workspace is not None:
                keys = keys.filter(workspace=workspace)
            found = list(keys.values_list("pk", flat=True)[:2])
            if not found:
                where = f" in {workspace.slug}" if workspace is not None else ""
                self.add_error("key", f"There is no key labelled “{data['key']}”{where}.")
            elif len(found) > 1:
                self.add_error(
                    "key", f"Several workspaces have a key labelled “{data['key']}”: choose the workspace too."
                )
            else:
                data["api_key_id"] = found[0]
        if data.get("provider") or data.get("endpoint"):
            data["endpoint_ids"] = [
                endpoint.pk
                for endpoint in self.endpoints
                if data.get("provider") in ("", None, endpoint.provider.slug)
                and data.get("endpoint") in ("", None, endpoint.path)
            ]
        return data

    def is_filtering(self) -> bool:
        return any(self.cleaned_data.get(name) for name in self.fields if name != "before")

    def filters(self) -> dict:
        """The cleaned filters, as runs_filtered takes them."""
        data = self.cleaned_data
        return {
            "workspace": data.get("workspace"),
            "api_key_id": data.get("api_key_id"),
            "endpoint_ids": data.get("endpoint_ids"),
            "status": data["status"],
            "http": data["http"],
            "is_test": {"live": False, "test": True}.get(data["mode"]),
            "start": data["start"],
            "end": data["end"],
        }


class RunLiveForm(forms.Form):
    """The runs in flight that the runs list asks about again: their ids, comma-separated."""

    MAX_IDS = 50  # a page of the runs list

    ids = forms.CharField(max_length=MAX_IDS * 27)

    def clean_ids(self):
        ids = [run_id_or_none(text) for text in self.cleaned_data["ids"].split(",")]
        if None in ids:
            raise forms.ValidationError("Every id must be a run id.")
        if len(ids) > self.MAX_IDS:
            raise forms.ValidationError(f"At most {self.MAX_IDS} run ids at a time.")
        return ids
