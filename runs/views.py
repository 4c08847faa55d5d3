from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe
from ulid import ULID

from billing.queries import workspace_for_user

from .queries import runs_page, runs_with_details

PAGE_SIZE = 50


def home(request):
    return redirect("run-list")


def _visible_runs(user):
    """Operators see every run, a customer their workspace's; None for a customer who belongs to no workspace."""
    runs = runs_with_details()
    if user.is_staff:
        return runs
    workspace = workspace_for_user(user)
    return None if workspace is None else runs.filter(workspace=workspace)


@require_safe
@login_required
def run_list(request):
    runs = _visible_runs(request.user)
    if runs is None:
        return render(request, "runs/list.html", {"no_workspace": True})
    before = request.GET.get("before", "")
    try:
        before = str(ULID.from_str(before)) if before else None
    except ValueError:
        return render(request, "runs/list.html", {"bad_before": True}, status=400)
    page, older = runs_page(runs, before=before, limit=PAGE_SIZE)
    return render(request, "runs/list.html", {"runs": page, "older": older, "before": before})


@require_safe
@login_required
def run_detail(request, run_id):
    runs = _visible_runs(request.user)
    if runs is None:
        raise Http404("No such run.")
    return render(request, "runs/detail.html", {"run": get_object_or_404(runs, pk=run_id)})
