from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, TextField
from django.db.models.functions import Cast
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from billing.queries import workspace_for_user
from monid_site.errors import ApplicationError
from monid_site.pagination import keyset_page

from . import services
from .forms import RunFilterForm, RunLiveForm, run_id_or_none
from .models import RunEvent
from .queries import runs_filtered, runs_with_details

PAGE_SIZE = 50


def home(request):
    return redirect("run-list")


def _run_scope(user):
    """The runs this person may see and the workspace they are scoped to: every run and None for an operator,
    their workspace's and it for a customer; (None, None) for a customer who belongs to no workspace."""
    runs = runs_with_details()
    if user.is_staff:
        return runs, None
    workspace = workspace_for_user(user)
    return (None, None) if workspace is None else (runs.filter(workspace=workspace), workspace)


def _visible_runs_or_404(user):
    """Operators see every run, a customer their workspace's; a 404 for a customer who belongs to no workspace."""
    runs = _run_scope(user)[0]
    if runs is None:
        raise Http404("No such run.")
    return runs


@require_safe
@login_required
def run_list(request):
    runs, workspace = _run_scope(request.user)
    if runs is None:
        return render(request, "runs/list.html", {"no_workspace": True})
    if request.GET.get("run", "").strip():
        return _run_lookup(request, runs)
    form = RunFilterForm(request.GET, workspace=workspace)
    if not form.is_valid():
        return render(request, "runs/list.html", {"form": form}, status=400)
    before = form.cleaned_data["before"]
    page, older = keyset_page(runs_filtered(runs, **form.filters()), order=("-id",), after=before, limit=PAGE_SIZE)
    return render(
        request,
        "runs/list.html",
        {"form": form, "runs": page, "older": older, "before": before, "filtered": form.is_filtering()},
    )


def _run_lookup(request, runs):
    """The search box: a run this person may see opens its page; anything else is "no such run", alike."""
    run_id = run_id_or_none(request.GET["run"])
    if run_id and runs.filter(pk=run_id).exists():
        return redirect("run-detail", run_id)
    return render(request, "runs/list.html", {"lookup": request.GET["run"].strip()}, status=404)


@never_cache
@require_safe
@login_required
def run_list_live(request):
    """The runs list's rows of the runs it asks about (those it shows in flight), as they are now, for
    static/runs-live.js; runs this person may not see are left out as if unknown."""
    form = RunLiveForm(request.GET)
    if not form.is_valid():
        return render(request, "runs/live.html", {"form": form}, status=400)
    runs = _run_scope(request.user)[0]
    rows = [] if runs is None else runs.filter(pk__in=form.cleaned_data["ids"]).order_by("-id")
    return render(request, "runs/live.html", {"runs": rows})


@require_safe
@login_required
def run_detail(request, run_id):
    runs = _visible_runs_or_404(request.user)
    # The output as the database's text of it, which the page parses only as far as it shows (a 10 MB output is
    # never parsed whole); the timeline in one more query, however many steps the run took.
    runs = (
        runs.defer("output")
        .annotate(output_text=Cast("output", TextField()))
        .prefetch_related(Prefetch("events", queryset=RunEvent.objects.order_by("id")))
    )
    return render(request, "runs/detail.html", {"run": get_object_or_404(runs, pk=run_id)})


@require_safe
@login_required
def run_output(request, run_id):
    """The run's whole output as a JSON file. Read as the database's own text of it, so a 10 MB output is neither
    parsed nor serialized again here. 410 once retention has dropped it."""
    runs = _visible_runs_or_404(request.user)
    run = runs.defer("output").annotate(output_text=Cast("output", TextField())).filter(pk=run_id).first()
    if run is not None and run.output_expired_at:
        return render(
            request, "runs/_output_expired.html", {"run": run}, content_type="text/plain; charset=utf-8", status=410
        )
    if run is None or run.output_text is None:
        raise Http404("No such run, or it has no output.")
    response = HttpResponse(run.output_text, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="monid-run-{run_id}-output.json"'
    return response


@require_POST
@login_required
def run_stop(request, run_id):
    runs = _visible_runs_or_404(request.user)
    run = get_object_or_404(runs, pk=run_id)
    try:
        services.run_stop(run=run)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Stopping: the run is being aborted at the provider and will end STOPPED, uncharged.")
    return redirect("run-detail", run.id)
