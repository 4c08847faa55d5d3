import csv
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from monid_site.errors import ApplicationError

from .controls import spend_control_set, spend_control_states, spend_control_update
from .costs import MICROS_PER_DOLLAR, dollars_to_micros, micros_text
from .forms import BudgetForm, CostFilterForm, KeyCreateForm, RunCapForm, WalletCreditForm
from .models import SpendControl, Workspace
from .queries import (api_keys_for_workspace, cost_summary_by, ledger_newest, wallet_available_and_held,
                      workspace_for_user, workspaces_with_wallets)
from .services import api_key_create, api_key_revoke, wallet_credit

NEW_KEY = "billing.new_key"  # session slot that carries a fresh key across one redirect, then is emptied


@never_cache  # the page may show a full key once: keep it out of every cache and the back button
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def key_list(request):
    workspace = workspace_for_user(request.user)
    if workspace is None:
        return render(request, "billing/keys.html", {"workspace": None})
    status = 200
    if request.method == "POST":
        form = KeyCreateForm(request.POST)
        if form.is_valid():
            try:
                api_key, key = api_key_create(workspace=workspace, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                request.session[NEW_KEY] = {"label": api_key.label, "key": key}
                return redirect("key-list")
        else:
            status = 400
    else:
        form = KeyCreateForm()
    # Popped on the GET that follows the redirect, so a reload no longer shows the key.
    new_key = request.session.pop(NEW_KEY, None) if request.method == "GET" else None
    return render(request, "billing/keys.html", {
        "workspace": workspace, "keys": api_keys_for_workspace(workspace=workspace), "form": form, "new_key": new_key,
    }, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def key_revoke(request, label):
    workspace = workspace_for_user(request.user)
    if workspace is None:
        raise Http404("No such key.")
    api_key = get_object_or_404(api_keys_for_workspace(workspace=workspace), label=label)
    if request.method == "POST":
        api_key_revoke(api_key=api_key)
        messages.success(request, f"The key “{api_key.label}” is revoked: requests made with it are now refused.")
        return redirect("key-list")
    return render(request, "billing/key_revoke.html", {"api_key": api_key})


@require_safe
@login_required
def cost_summary(request):
    _staff_only(request)
    form = CostFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "billing/costs.html", {"form": form}, status=400)
    choice = form.cleaned_data
    rows, totals = cost_summary_by(group=choice["group"], mode=choice["mode"], start=choice["start"],
                                   end=choice["end"])
    if request.GET.get("format") == "csv":
        return _costs_csv(rows, totals, group=choice["group"],
                          name=f"monid-costs-{choice['mode']}-by-{choice['group']}-"
                               f"{choice['start'] or 'start'}-to-{choice['end'] or 'today'}.csv")
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    return render(request, "billing/costs.html", {"form": form, "group": choice["group"], "mode": choice["mode"],
                                                  "rows": rows, "totals": totals, "csv_query": csv_query.urlencode()})


def _staff_only(request):
    if not request.user.is_staff:
        raise Http404("No such page.")


@require_safe
@login_required
def workspace_list(request):
    _staff_only(request)
    return render(request, "billing/workspaces.html", {"workspaces": workspaces_with_wallets()})


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def workspace_wallet(request, slug):
    _staff_only(request)
    workspace = get_object_or_404(Workspace, slug=slug)
    status = 200
    if request.method == "POST":
        form = WalletCreditForm(request.POST)
        if form.is_valid():
            micros = dollars_to_micros(form.cleaned_data["amount_usd"])
            try:
                wallet_credit(workspace=workspace, amount_micros=micros, note=form.cleaned_data["note"],
                              created_by=request.user)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                messages.success(request, f"Credited {workspace.slug}'s wallet.")
                return redirect("workspace-wallet", slug=workspace.slug)
        else:
            status = 400
    else:
        form = WalletCreditForm()
    available, held = wallet_available_and_held(workspace=workspace)
    return render(request, "billing/wallet.html", {
        "workspace": workspace, "available": available, "held": held, "form": form,
        "entries": ledger_newest(workspace=workspace),
    }, status=status)


def _usd(micros):
    return f"{Decimal(micros) / MICROS_PER_DOLLAR:.6f}"


def _cell(text):
    """Labels are typed by customers: a leading =, +, - or @ must not become a formula in the operator's spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# The CSV's first columns for each grouping of the cost summary: heading -> the row's field (queries.COST_GROUPS).
CSV_GROUP_COLUMNS = {
    "key": {"workspace": "workspace", "key": "key"},
    "workspace": {"workspace": "workspace"},
    "provider": {"provider": "provider_slug"},
    "endpoint": {"provider": "provider_slug", "endpoint": "path"},
}
CSV_COUNTS = ("completed", "failed", "blocked", "stopped", "timed_out", "runs")
CSV_MONEY = ("calculated", "actual", "reported", "margin")


def _costs_csv(rows, totals, *, group, name):
    """The costs table as on the page: the same rows and columns, dollars with six decimals."""
    response = HttpResponse(content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
    writer = csv.writer(response)
    columns = CSV_GROUP_COLUMNS[group]
    writer.writerow([*columns, *CSV_COUNTS, *(f"{money}_usd" for money in CSV_MONEY)])
    for row in rows:
        writer.writerow([*(_cell(row[field]) for field in columns.values()), *_csv_figures(row)])
    writer.writerow(["TOTAL", *[""] * (len(columns) - 1), *_csv_figures(totals)])
    return response


def _csv_figures(row):
    return [*(row[count] for count in CSV_COUNTS), *(_usd(row[f"{money}_micros"]) for money in CSV_MONEY)]


@require_safe
@login_required
def customer_wallet(request):
    workspace = workspace_for_user(request.user)
    if workspace is None:
        return render(request, "billing/customer_wallet.html", {"workspace": None})
    available, held = wallet_available_and_held(workspace=workspace)
    return render(request, "billing/customer_wallet.html", {
        "workspace": workspace, "available": available, "held": held, "entries": ledger_newest(workspace=workspace)})


CONTROL_FORMS = {"budget": (BudgetForm, SpendControl.Kind.BUDGET), "run_cap": (RunCapForm, SpendControl.Kind.RUN_CAP)}


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def spend_controls(request):
    workspace = workspace_for_user(request.user)
    if workspace is None:
        return render(request, "billing/controls.html", {"workspace": None})
    page_forms = {name: form_class(prefix=name) for name, (form_class, _) in CONTROL_FORMS.items()}
    status = 200
    if request.method == "POST":
        posted = request.POST.get("form")
        if posted not in CONTROL_FORMS:
            raise Http404("No such form.")
        form_class, kind = CONTROL_FORMS[posted]
        form = page_forms[posted] = form_class(request.POST, prefix=posted)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                control = spend_control_set(workspace=workspace, kind=kind, period=data.get("period", ""),
                                            limit_micros=dollars_to_micros(data["limit_usd"]), status=data["status"])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                messages.success(request, f"Saved the {control.name}: {micros_text(control.limit_micros)}, "
                                          f"{control.status.lower()}.")
                return redirect("spend-controls")
    controls = list(workspace.spend_controls.order_by("kind", "period"))
    states = spend_control_states(workspace=workspace, controls=controls)
    available, _ = wallet_available_and_held(workspace=workspace)
    return render(request, "billing/controls.html", {
        "workspace": workspace, "available": available, "budget_form": page_forms["budget"],
        "run_cap_form": page_forms["run_cap"],
        "budgets": sorted((state for state in states if state.control.kind == SpendControl.Kind.BUDGET),
                          key=lambda state: SpendControl.Period.values.index(state.control.period)),
        "run_cap": next((control for control in controls if control.kind == SpendControl.Kind.RUN_CAP), None),
    }, status=status)


@require_POST
@login_required
def spend_control_status(request, control_id):
    workspace = workspace_for_user(request.user)
    control = get_object_or_404(SpendControl, workspace=workspace, pk=control_id) if workspace else None
    if control is None or request.POST.get("status") not in SpendControl.Status.values:
        raise Http404("No such spend control.")
    spend_control_update(control=control, status=request.POST["status"])
    messages.success(request, f"The {control.name} is now {control.status.lower()}.")
    return redirect("spend-controls")
