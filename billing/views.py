import csv
import functools
import logging

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from monid_site.errors import ApplicationError
from monid_site.forms import form_submit
from monid_site.money import micros_text

from .accounts import (
    account_sign_up,
    invitation_accept,
    invitation_cancel,
    invitation_check,
    invitation_create,
    invitation_send,
    invitation_sign_up,
)
from .api_keys import api_key_create, api_key_revoke, api_key_update
from .controls import control_states, spend_control_set, spend_control_states, spend_control_update
from .costs import dollars_to_micros
from .forms import (
    BudgetForm,
    CostFilterForm,
    InvitationForm,
    InvitedSignUpForm,
    KeyCreateForm,
    KeyEditForm,
    RunCapForm,
    SignUpForm,
    UsageFilterForm,
    WalletCreditForm,
)
from .models import SpendControl
from .queries import (
    api_keys_for_workspace,
    cost_daily_series,
    cost_summary_by,
    invitation_for_token,
    invitations_pending,
    ledger_newest,
    wallet_available_and_held,
    workspace_for_user,
    workspace_members,
    workspace_of_user_or_404,
    workspaces_with_wallets,
)
from .services import wallet_credit
from .tables import cost_csv_rows, cost_headings, cost_sort

logger = logging.getLogger("monid")

NEW_KEY = "billing.new_key"  # session slot that carries a fresh key across one redirect, then is emptied


def _workspace_page(template):
    """For a customer page, which acts in the user's own workspace: the view is called with it, and an account
    without one is shown the page's own explanation, since the page itself exists (the actions on a workspace's
    things use workspace_of_user_or_404 instead)."""

    def decorate(view):
        @functools.wraps(view)
        def page(request, *args, **kwargs):
            workspace = workspace_for_user(request.user)
            if workspace is None:
                return render(request, template, {"workspace": None})
            return view(request, workspace, *args, **kwargs)

        return page

    return decorate


@never_cache  # the page may show a full key once: keep it out of every cache and the back button
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@_workspace_page("billing/keys.html")
def key_list(request, workspace):
    status = 200
    if request.method == "POST":
        form = KeyCreateForm(request.POST)
        submitted = form_submit(form, lambda data: api_key_create(workspace=workspace, created_by=request.user, **data))
        if submitted.ok:
            api_key, key = submitted.result
            request.session[NEW_KEY] = {"label": api_key.label, "key": key}
            return redirect("key-list")
        status = submitted.status
    else:
        form = KeyCreateForm()
    # Popped on the GET that follows the redirect, so a reload no longer shows the key.
    new_key = request.session.pop(NEW_KEY, None) if request.method == "GET" else None
    return render(
        request,
        "billing/keys.html",
        {"workspace": workspace, "keys": api_keys_for_workspace(workspace=workspace), "form": form, "new_key": new_key},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def key_revoke(request, label):
    workspace = workspace_of_user_or_404(request.user)
    api_key = get_object_or_404(api_keys_for_workspace(workspace=workspace), label=label)
    if request.method == "POST":
        api_key_revoke(api_key=api_key)
        messages.success(request, f"The key “{api_key.label}” is revoked: requests made with it are now refused.")
        return redirect("key-list")
    return render(request, "billing/key_revoke.html", {"api_key": api_key})


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def key_edit(request, label):
    """A key's label, expiry and spend limit."""
    workspace = workspace_of_user_or_404(request.user)
    api_key = get_object_or_404(api_keys_for_workspace(workspace=workspace), label=label, revoked_at__isnull=True)
    status = 200
    if request.method == "POST":
        form = KeyEditForm(request.POST)
        old_label = api_key.label
        submitted = form_submit(form, lambda data: api_key_update(api_key=api_key, **data))
        if submitted.ok:
            messages.success(
                request,
                f"The key “{old_label}” is saved"
                + (f", now labelled “{api_key.label}”." if api_key.label != old_label else "."),
            )
            return redirect("key-list")
        status = submitted.status
    else:
        form = KeyEditForm(initial={"label": api_key.label, **KeyEditForm.initial_of(api_key)})
    return render(request, "billing/key_edit.html", {"api_key": api_key, "form": form}, status=status)


@require_safe
@login_required
def cost_summary(request):
    _staff_only(request)
    form = CostFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "billing/costs.html", {"form": form}, status=400)
    choice = form.cleaned_data
    rows, totals = cost_summary_by(group=choice["group"], mode=choice["mode"], start=choice["start"], end=choice["end"])
    sort, descending = cost_sort(rows, group=choice["group"], sort=request.GET.get("sort", ""))
    if request.GET.get("format") == "csv":
        name = (
            f"monid-costs-{choice['mode']}-by-{choice['group']}-"
            f"{choice['start'] or 'start'}-to-{choice['end'] or 'today'}.csv"
        )
        response = HttpResponse(
            content_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
        csv.writer(response).writerows(cost_csv_rows(rows, totals, group=choice["group"]))
        return response
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    return render(
        request,
        "billing/costs.html",
        {
            "form": form,
            "group": choice["group"],
            "mode": choice["mode"],
            "rows": rows,
            "totals": totals,
            "csv_query": csv_query.urlencode(),
            "sort": f"{'-' if descending else ''}{sort}",
            "headings": cost_headings(choice["group"], sort=sort, descending=descending),
            "start": choice["start"],
            "end": choice["end"],
            # Per UTC day for the chart, with the same mode and range; none to draw when no run ended in it.
            "days": cost_daily_series(mode=choice["mode"], start=choice["start"], end=choice["end"]) if rows else [],
        },
    )


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
def workspace_detail(request, slug):
    """One workspace for operators: members, keys, wallet and its ledger, the credit form, spend controls. One
    query per section, whatever their sizes."""
    workspace = workspace_of_user_or_404(request.user, slug=slug)
    status = 200
    if request.method == "POST":
        form = WalletCreditForm(request.POST)
        submitted = form_submit(
            form,
            lambda data: wallet_credit(
                workspace=workspace,
                amount_micros=dollars_to_micros(data["amount_usd"]),
                note=data["note"],
                created_by=request.user,
            ),
        )
        if submitted.ok:
            messages.success(request, f"Credited {workspace.slug}'s wallet.")
            return redirect("workspace-detail", slug=workspace.slug)
        status = submitted.status
    else:
        form = WalletCreditForm()
    available, held = wallet_available_and_held(workspace=workspace)
    controls = sorted(
        workspace.spend_controls.all(),
        key=lambda control: (control.kind, SpendControl.Period.values.index(control.period) if control.period else 0),
    )
    return render(
        request,
        "billing/workspace.html",
        {
            "workspace": workspace,
            "available": available,
            "held": held,
            "form": form,
            "members": workspace_members(workspace=workspace),
            "keys": api_keys_for_workspace(workspace=workspace),
            # The wallet's holds as read above, rather than spend_control_states reading the wallet again.
            "controls": control_states(controls, held_micros=held, now=timezone.now()),
            "entries": ledger_newest(workspace=workspace),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def workspace_wallet(request, slug):
    """The wallet page's old address: the workspace page shows the wallet now. A 308, so that a credit form
    still open on the old page is posted again, not turned into a GET."""
    workspace = workspace_of_user_or_404(request.user, slug=slug)
    return redirect("workspace-detail", slug=workspace.slug, permanent=True, preserve_request=True)


@require_safe
@login_required
@_workspace_page("billing/customer_wallet.html")
def customer_wallet(request, workspace):
    available, held = wallet_available_and_held(workspace=workspace)
    return render(
        request,
        "billing/customer_wallet.html",
        {"workspace": workspace, "available": available, "held": held, "entries": ledger_newest(workspace=workspace)},
    )


CONTROL_FORMS = {"budget": (BudgetForm, SpendControl.Kind.BUDGET), "run_cap": (RunCapForm, SpendControl.Kind.RUN_CAP)}


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@_workspace_page("billing/controls.html")
def spend_controls(request, workspace):
    page_forms = {name: form_class(prefix=name) for name, (form_class, _) in CONTROL_FORMS.items()}
    status = 200
    if request.method == "POST":
        posted = request.POST.get("form")
        if posted not in CONTROL_FORMS:
            raise Http404("No such form.")
        form_class, kind = CONTROL_FORMS[posted]
        form = page_forms[posted] = form_class(request.POST, prefix=posted)
        submitted = form_submit(
            form,
            lambda data: spend_control_set(
                workspace=workspace,
                kind=kind,
                period=data.get("period", ""),
                limit_micros=dollars_to_micros(data["limit_usd"]),
                status=data["status"],
            ),
        )
        if submitted.ok:
            control = submitted.result
            messages.success(
                request, f"Saved the {control.name}: {micros_text(control.limit_micros)}, {control.status.lower()}."
            )
            return redirect("spend-controls")
        status = submitted.status
    controls = list(workspace.spend_controls.order_by("kind", "period"))
    states = spend_control_states(workspace=workspace, controls=controls)
    available, _ = wallet_available_and_held(workspace=workspace)
    return render(
        request,
        "billing/controls.html",
        {
            "workspace": workspace,
            "available": available,
            "budget_form": page_forms["budget"],
            "run_cap_form": page_forms["run_cap"],
            "budgets": sorted(
                (state for state in states if state.control.kind == SpendControl.Kind.BUDGET),
                key=lambda state: SpendControl.Period.values.index(state.control.period),
            ),
            "run_cap": next((control for control in controls if control.kind == SpendControl.Kind.RUN_CAP), None),
        },
        status=status,
    )


@require_POST
@login_required
def spend_control_status(request, control_id):
    control = get_object_or_404(SpendControl, workspace=workspace_of_user_or_404(request.user), pk=control_id)
    if request.POST.get("status") not in SpendControl.Status.values:
        raise Http404("No such spend control.")
    spend_control_update(control=control, status=request.POST["status"])
    messages.success(request, f"The {control.name} is now {control.status.lower()}.")
    return redirect("spend-controls")


@require_http_methods(["GET", "HEAD", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("key-list")
    status = 200
    if request.method == "POST":
        form = SignUpForm(request.POST)
        submitted = form_submit(form, lambda data: account_sign_up(**data))
        if submitted.ok:
            login(request, submitted.result)
            messages.success(request, "Welcome to Monid. Create an API key to make your first run.")
            return redirect("key-list")
        status = submitted.status
    else:
        form = SignUpForm()
    return render(request, "registration/signup.html", {"form": form}, status=status)


@require_safe
@login_required
@_workspace_page("billing/usage.html")
def usage(request, workspace):
    form = UsageFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "billing/usage.html", {"workspace": workspace, "form": form}, status=400)
    choice = form.cleaned_data
    keys, totals = cost_summary_by(group="key", workspace=workspace, **choice)
    days = cost_daily_series(workspace=workspace, **choice)
    return render(
        request,
        "billing/usage.html",
        {"workspace": workspace, "form": form, **choice, "keys": keys, "days": days, "totals": totals},
    )


NEW_INVITATION = "billing.new_invitation"  # session slot that carries a fresh invitation link across one redirect


@never_cache  # the page may show an invitation link once
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@_workspace_page("billing/customer_workspace.html")
def customer_workspace(request, workspace):
    status = 200
    if request.method == "POST":
        form = InvitationForm(request.POST)
        submitted = form_submit(
            form,
            lambda data: invitation_create(workspace=workspace, email=data["email"], invited_by=request.user),
            field="email",
        )
        if submitted.ok:
            invitation, token = submitted.result
            link = request.build_absolute_uri(reverse("invitation", args=[token]))
            _invitation_email(request, invitation, link)
            request.session[NEW_INVITATION] = {"email": invitation.email, "link": link}
            return redirect("customer-workspace")
        status = submitted.status
    else:
        form = InvitationForm()
    new_invitation = request.session.pop(NEW_INVITATION, None) if request.method == "GET" else None
    return render(
        request,
        "billing/customer_workspace.html",
        {
            "workspace": workspace,
            "members": workspace_members(workspace=workspace),
            "invitations": invitations_pending(workspace=workspace),
            "form": form,
            "new_invitation": new_invitation,
        },
        status=status,
    )


def _invitation_email(request, invitation, link):
    """The invitation stands whether or not its email leaves: the inviter is shown the link to pass on."""
    try:
        invitation_send(invitation=invitation, link=link)
    except OSError:  # smtplib's errors included
        logger.exception("could not email the invitation to %s", invitation.email)
        messages.warning(
            request, f"The invitation to {invitation.email} could not be emailed; send them the link below yourself."
        )
    else:
        messages.success(request, f"Invitation emailed to {invitation.email}.")


@require_POST
@login_required
def invitation_withdraw(request):
    workspace = workspace_of_user_or_404(request.user)
    try:
        invitation_cancel(workspace=workspace, email=request.POST.get("email", ""))
    except ApplicationError as exc:
        raise Http404(exc.message) from None
    messages.success(request, f"The invitation to {request.POST['email']} is withdrawn: its link no longer works.")
    return redirect("customer-workspace")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def invitation_page(request, token):
    """An invitation's link: a signed-in customer joins with one button; a visitor signs up into the workspace."""
    invitation = invitation_for_token(token=token)
    if invitation is None:
        return render(request, "billing/invitation_gone.html", {"reason": "unknown"}, status=404)
    if invitation.accepted_at is not None or invitation.is_expired:
        reason = "used" if invitation.accepted_at is not None else "expired"
        return render(request, "billing/invitation_gone.html", {"invitation": invitation, "reason": reason}, status=410)
    context = {"invitation": invitation}
    status = 200
    if request.user.is_authenticated:
        try:
            invitation_check(invitation=invitation, user=request.user)
            if request.method == "POST":
                invitation_accept(invitation=invitation, user=request.user)
                messages.success(request, f"You joined {invitation.workspace.name}.")
                return redirect("customer-workspace")
        except ApplicationError as exc:
            context["refusal"] = exc.message
            status = exc.status_code
        return render(request, "billing/invitation.html", context, status=status)
    form = InvitedSignUpForm(request.POST if request.method == "POST" else None, email=invitation.email)
    if request.method == "POST":
        submitted = form_submit(form, lambda data: invitation_sign_up(invitation=invitation, **data))
        if submitted.ok:
            login(request, submitted.result)
            messages.success(request, f"Welcome to Monid: you joined {invitation.workspace.name}.")
            return redirect("customer-workspace")
        status = submitted.status
    return render(request, "billing/invitation.html", {**context, "form": form}, status=status)
