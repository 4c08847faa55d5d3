import csv
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from monid_site.errors import ApplicationError

from .costs import MICROS_PER_DOLLAR
from .forms import CostFilterForm, KeyCreateForm, WalletCreditForm
from .models import Workspace
from .queries import (api_keys_for_workspace, cost_summary_by_key, cost_totals, ledger_newest,
                      wallet_available_and_held, workspace_for_user, workspaces_with_wallets)
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
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    rows = list(cost_summary_by_key(start=start, end=end))
    totals = cost_totals(start=start, end=end)
    if request.GET.get("format") == "csv":
        return _costs_csv(rows, totals, name=f"monid-costs-{start or 'start'}-to-{end or 'today'}.csv")
    return render(request, "billing/costs.html", {"form": form, "rows": rows, "totals": totals})


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
            micros = int(form.cleaned_data["amount_usd"] * MICROS_PER_DOLLAR)
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


def _costs_csv(rows, totals, *, name):
    response = HttpResponse(content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
    writer = csv.writer(response)
    money = ("calculated_micros", "actual_micros", "reported_micros", "margin_micros")
    writer.writerow(["workspace", "key", "mode", "runs", "calculated_usd", "actual_usd", "reported_usd", "margin_usd"])
    for row in rows:
        writer.writerow([_cell(row.workspace.slug), _cell(row.label), row.mode, row.run_count,
                         *(_usd(getattr(row, field)) for field in money)])
    writer.writerow(["TOTAL", "", "", totals["run_count"], *(_usd(totals[field]) for field in money)])
    return response
