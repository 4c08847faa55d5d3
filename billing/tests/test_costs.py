import json

import pytest

from billing.costs import micros_to_usd, run_costs
from billing.queries import cost_summary_by_key


def costs(**overrides):
    args = {"price_type": "PER_CALL", "price_micros": 3000, "flat_fee_micros": 0, "result_count": 1,
            "provider_http_status": 200, "completed": True, "actual_micros": 1200, "is_test": False}
    return run_costs(**{**args, **overrides})


def test_a_per_call_run_answered_2xx_is_charged_its_price():
    assert (costs().calculated_micros, costs().actual_micros, costs().reported_micros) == (3000, 1200, 3000)


def test_a_per_result_run_is_charged_the_flat_fee_plus_each_result():
    c = costs(price_type="PER_RESULT", price_micros=500, flat_fee_micros=2000, result_count=7)
    assert (c.calculated_micros, c.reported_micros) == (5500, 5500)


@pytest.mark.parametrize("overrides", [{"provider_http_status": 404}, {"provider_http_status": 500},
                                       {"provider_http_status": None, "completed": False},
                                       {"completed": False}])
def test_provider_errors_and_failed_runs_are_not_charged(overrides):
    c = costs(**overrides)
    assert c.reported_micros == 0 and c.calculated_micros == 3000


def test_test_mode_costs_nothing():
    c = costs(is_test=True)
    assert (c.actual_micros, c.reported_micros) == (0, 0)


def test_dollars_appear_only_at_the_edge():
    assert micros_to_usd(3000) == 0.003 and micros_to_usd(1) == 0.000001


@pytest.mark.django_db
def test_the_cost_summary_sums_each_keys_runs(client, alice_key, bob_key):
    def post(key, email):
        client.post("/v1/run", data=json.dumps({"provider": "pdl", "endpoint": "/person/enrich",
                                                 "input": {"email": email}}),
                    content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")

    post(alice_key, "a@example.com")
    post(alice_key, "b@example.com")
    post(alice_key, "nomatch@example.com")
    post(bob_key, "c@example.com")
    rows = {row.label: row for row in cost_summary_by_key()}
    assert (rows["alice-live"].run_count, rows["alice-live"].calculated_micros,
            rows["alice-live"].reported_micros) == (3, 9000, 6000)
    assert (rows["bob-live"].run_count, rows["bob-live"].reported_micros) == (1, 3000)
