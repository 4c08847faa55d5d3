"""monid_site.sql stores the very rows that save() stores, for each model it inserts on the request path."""

import datetime

import pytest
from django.utils import timezone

from billing.models import ApiKey, LedgerEntry
from monid_site.sql import instances_insert, row_update
from providers.models import Endpoint
from runs.models import Run, RunEvent, new_run_id

pytestmark = pytest.mark.django_db


def stored(model, pk, *apart):
    """Every column of the row but its key and `apart`."""
    row = model.objects.filter(pk=pk).values().get()
    for column in ("id", *apart):
        row.pop(column)
    return row


LOADED_AT = timezone.now()


def a_run(alice_key_row, endpoint, *, now=LOADED_AT, **fields):
    """A new run; two made by one test are alike but for their ids (`now` is fixed when this module loads)."""
    return Run(
        id=new_run_id(),
        workspace_id=alice_key_row.workspace_id,
        api_key=alice_key_row,
        endpoint=endpoint,
        input={"searchTerms": ["é", "AI"], "nested": {"n": [1, 2.5, None, True]}},
        price_type="PER_RESULT",
        price_micros=100,
        flat_fee_micros=1_000,
        estimated_units=10,
        held_micros=2_000,
        status="RUNNING",
        created_at=now,
        started_at=now,
        next_step_at=now + datetime.timedelta(seconds=1),
        **fields,
    )


def test_a_run_is_stored_as_save_stores_it(alice_key, catalog):
    key, endpoint = ApiKey.objects.get(label="alice-live"), Endpoint.objects.get(path="/apidojo/tweet-scraper")
    by_hand, by_save = a_run(key, endpoint), a_run(key, endpoint, controls=[{"controlId": 1, "blocked": True}])
    by_hand.controls = by_save.controls
    instances_insert([by_hand])
    by_save.save(force_insert=True)
    assert not by_hand._state.adding
    assert stored(Run, by_hand.pk) == stored(Run, by_save.pk)


def test_ledger_entries_and_timeline_entries_are_stored_as_save_stores_them(alice_key, catalog):
    key, endpoint = ApiKey.objects.get(label="alice-live"), Endpoint.objects.get(path="/person/enrich")
    run = a_run(key, endpoint)
    run.save(force_insert=True)
    entries = [
        LedgerEntry(workspace_id=key.workspace_id, kind="hold", amount_micros=3_000, run_id=run.pk) for _ in range(2)
    ]
    instances_insert(entries[:1])
    entries[1].save()
    first, second = LedgerEntry.objects.filter(run_id=run.pk).order_by("id")
    assert stored(LedgerEntry, first.pk, "created_at") == stored(LedgerEntry, second.pk, "created_at")
    assert abs(first.created_at - second.created_at) < datetime.timedelta(seconds=5)  # auto_now_add, both ways
    at = timezone.now()
    instances_insert(
        [
            RunEvent(run_id=run.pk, at=at, kind="created"),
            RunEvent(run_id=run.pk, at=at, kind="ended", detail="COMPLETED, 3 results"),
        ]
    )
    RunEvent.objects.create(run_id=run.pk, at=at, kind="ended", detail="COMPLETED, 3 results")
    events = [
        stored(RunEvent, pk)
        for pk in RunEvent.objects.filter(run_id=run.pk).order_by("id").values_list("pk", flat=True)
    ]
    assert [event["kind"] for event in events] == ["created", "ended", "ended"] and events[1] == events[2]


def test_nothing_to_insert_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        instances_insert([])


def test_a_runs_end_is_stored_as_the_orms_update_stores_it_and_only_once(alice_key, catalog):
    key, endpoint = ApiKey.objects.get(label="alice-live"), Endpoint.objects.get(path="/apidojo/tweet-scraper")
    by_hand, by_orm = a_run(key, endpoint), a_run(key, endpoint)
    instances_insert([by_hand, by_orm])
    end = {
        "status": "COMPLETED",
        "completed_at": timezone.now(),
        "error_message": "",
        "next_step_at": None,
        "lease_until": None,
        "provider_http_status": 200,
        "output": [{"text": "é"}, None, 1.5],
        "output_truncated": True,
        "provider_error": None,
        "result_count": 3,
        "billed_units": 3,
        "calculated_cost_micros": 1_300,
        "actual_cost_micros": 7,
        "reported_cost_micros": 1_300,
    }
    assert row_update(Run, by_hand.pk, end, unless=("status", Run.TERMINAL)) == 1
    assert Run.objects.filter(pk=by_orm.pk).exclude(status__in=Run.TERMINAL).update(**end) == 1
    assert stored(Run, by_hand.pk) == stored(Run, by_orm.pk)
    # None is SQL NULL both ways, not JSON null: the partial indexes and retention's queries tell them apart.
    assert Run.objects.filter(provider_error__isnull=True, pk__in=[by_hand.pk, by_orm.pk]).count() == 2
    assert row_update(Run, by_hand.pk, {**end, "status": "FAILED"}, unless=("status", Run.TERMINAL)) == 0
    assert Run.objects.get(pk=by_hand.pk).status == "COMPLETED"
