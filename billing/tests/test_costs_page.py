"""The operators' Costs page: a table sortable by any column (kept in its CSV), and a chart of the daily
reported and actual cost over the same keys and days."""

import csv
import io
import re

import pytest
import time_machine

from billing.accounts import workspace_get_or_create
from billing.api_keys import api_key_create
from billing.models import KeyDailyCost
from billing.tests.helpers import FEB_10, FEB_11, rollup
from runs.tests.api import person_enriched

pytestmark = pytest.mark.django_db


# Three keys in three workspaces, each column ordering them differently (no ties): runs by status, then
# calculated, actual and reported micro-dollars.
FIGURES = {
    "alice-live": {"COMPLETED": 1, "FAILED": 3, "BLOCKED": 2, "STOPPED": 3, "TIME_OUT": 1, "costs": (300, 100, 200)},
    "bob-live": {"COMPLETED": 2, "FAILED": 1, "BLOCKED": 3, "STOPPED": 1, "TIME_OUT": 2, "costs": (100, 300, 300)},
    "carol-live": {"COMPLETED": 3, "FAILED": 2, "BLOCKED": 1, "STOPPED": 2, "TIME_OUT": 3, "costs": (200, 200, 100)},
}
ASCENDING = {
    "workspace": ["alice-live", "bob-live", "carol-live"],  # acme, globex, initech
    "key": ["alice-live", "bob-live", "carol-live"],
    "completed": ["alice-live", "bob-live", "carol-live"],
    "failed": ["bob-live", "carol-live", "alice-live"],
    "blocked": ["carol-live", "alice-live", "bob-live"],
    "stopped": ["bob-live", "carol-live", "alice-live"],
    "time_out": ["alice-live", "bob-live", "carol-live"],
    "runs": ["bob-live", "alice-live", "carol-live"],  # 9, 10, 11
    "calculated": ["bob-live", "carol-live", "alice-live"],
    "actual": ["alice-live", "carol-live", "bob-live"],
    "reported": ["carol-live", "alice-live", "bob-live"],
    "margin": ["carol-live", "bob-live", "alice-live"],  # -100, 0, 100
}
DEFAULT_ORDER = ["bob-live", "alice-live", "carol-live"]  # largest reported first


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def three_keys(alice_key, bob_key):
    carol = workspace_get_or_create(slug="initech", name="Initech")
    api_key_create(workspace=carol, label="carol-live", mode="live")
    for label, figures in FIGURES.items():
        calculated, actual, reported = figures["costs"]
        for status in KeyDailyCost.STATUSES:
            costs = {"calculated": calculated, "actual": actual, "reported": reported} if status == "COMPLETED" else {}
            rollup(label, status=status, runs=figures[status], **costs)


def key_order(page):
    """The key labels in the order the table's body shows them."""
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return sorted(FIGURES, key=body.index)


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("column", ASCENDING)
def test_the_table_sorts_by_any_column_either_way(operator_client, three_keys, column, descending):
    response = operator_client.get("/costs/", {"sort": f"{'-' if descending else ''}{column}"})

    assert response.status_code == 200
    expected = ASCENDING[column][::-1] if descending else ASCENDING[column]
    assert key_order(response.content.decode()) == expected


@pytest.mark.parametrize("sort", ["", "nonsense", "-", "--reported", "provider", "reported_micros", "-margin;drop"])
def test_a_sort_it_does_not_know_is_the_default_order(operator_client, three_keys, sort):
    response = operator_client.get("/costs/", {"sort": sort})

    assert response.status_code == 200
    assert key_order(response.content.decode()) == DEFAULT_ORDER


def test_the_current_columns_heading_links_to_the_other_direction(operator_client, three_keys):
    page = operator_client.get("/costs/", {"sort": "-runs"}).content.decode()

    assert re.search(r'<th class="num" aria-sort="descending"><a href="\?sort=runs">Runs', page)
    assert '<a href="?sort=-failed">Failed' in page  # figures open largest first
    assert '<a href="?sort=key">Key' in page  # names open from A
    assert page.count("aria-sort=") == 1


def test_sorting_keeps_the_range_group_and_mode_in_the_headings_links(operator_client, three_keys):
    page = operator_client.get("/costs/", {"start": "2025-02-01", "group": "key", "mode": "live"}).content.decode()

    assert '<a href="?start=2025-02-01&amp;group=key&amp;mode=live&amp;sort=-margin">Margin' in page


def test_the_filter_form_keeps_a_chosen_sort(operator_client, three_keys):
    page = operator_client.get("/costs/", {"sort": "key"}).content.decode()

    assert '<input type="hidden" name="sort" value="key">' in page


def test_the_csv_keeps_the_sort(operator_client, three_keys):
    page = operator_client.get("/costs/", {"sort": "-failed"}).content.decode()
    assert 'href="?sort=-failed&amp;format=csv"' in page

    response = operator_client.get("/costs/", {"sort": "-failed", "format": "csv"})

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [row[1] for row in rows[1:-1]] == ASCENDING["failed"][::-1]


def test_other_groupings_sort_by_their_own_columns(operator_client, alice_key):
    for provider, endpoint, reported in [("pdl", "/person/enrich", 3), ("apify", "/z", 2), ("pdl", "/a", 1)]:
        rollup("alice-live", provider=provider, endpoint=endpoint, reported=reported)

    page = operator_client.get("/costs/", {"group": "endpoint", "sort": "endpoint"}).content.decode()

    body = page[page.index("<tbody>") : page.index("</tbody>")]
    assert [path for path in re.findall(r'<td class="mono">([^<]+)</td>', body)] == ["/a", "/person/enrich", "/z"]


def test_the_chart_draws_one_point_per_day_with_runs_for_each_of_its_two_lines(client, operator_client, alice_key):
    for moment in ["2025-02-10 09:00:00Z", "2025-02-10 10:00:00Z", "2025-02-12 09:00:00Z"]:
        with time_machine.travel(moment, tick=False):
            person_enriched(client, alice_key)

    response = operator_client.get("/costs/")

    assert response.status_code == 200
    page = response.content.decode()
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert svg.count("<polyline") == 2
    assert svg.count("<circle") == 4  # two days with runs, reported and actual
    assert "<title>2025-02-10: reported $0.006000</title>" in svg
    assert "<title>2025-02-12: actual $" in svg
    assert ">2025-02-10</text>" in svg and ">2025-02-12</text>" in svg  # the dates under the axis
    assert re.search(r">\$0</text>", svg) and ">$0.01</text>" in svg  # the dollars beside it


def test_the_chart_has_a_title_and_a_description_for_screen_readers(operator_client, alice_key):
    rollup("alice-live", reported=3000, actual=1200)

    page = operator_client.get("/costs/").content.decode()

    assert 'role="img" aria-labelledby="cost-chart-title cost-chart-desc"' in page
    assert '<title id="cost-chart-title">Reported and actual cost of live keys per UTC day' in page
    assert "$0.003000 in all" in page and "$0.001200 in all" in page


def test_the_figures_of_each_day_are_in_a_table_too(operator_client, alice_key):
    rollup("alice-live", day=FEB_10, runs=2, reported=3000, actual=1200)
    rollup("alice-live", day=FEB_11, runs=1, reported=5000, actual=0)

    page = operator_client.get("/costs/").content.decode()

    daily = page[page.index('<table class="daily">') :]
    daily = daily[: daily.index("</table>")]
    assert re.findall(r'<td class="nowrap">([\d-]+)</td><td class="num">(\d+)</td>', daily) == [
        ("2025-02-10", "2"),
        ("2025-02-11", "1"),
    ]
    assert "$0.005000" in daily


def test_the_chart_spans_the_chosen_days(operator_client, alice_key):
    rollup("alice-live", day=FEB_10, reported=3000)

    page = operator_client.get("/costs/", {"start": "2025-02-01", "end": "2025-02-28"}).content.decode()

    svg = page[page.index("<svg") : page.index("</svg>")]
    assert ">2025-02-01</text>" in svg and ">2025-02-28</text>" in svg
    assert svg.count("<circle") == 2


def test_the_chart_counts_only_the_keys_of_the_chosen_mode(operator_client, alice_key, alice_test_key):
    rollup("alice-live", day=FEB_10, reported=3000)
    rollup("alice-test", day=FEB_11, calculated=3000)

    live = operator_client.get("/costs/").content.decode()
    test = operator_client.get("/costs/", {"mode": "test"}).content.decode()

    assert live.count("<circle") == 2 and "2025-02-11" not in live
    assert test.count("<circle") == 2 and "2025-02-10" not in test


def test_a_range_without_runs_says_so_instead_of_drawing_an_empty_chart(operator_client, alice_key):
    rollup("alice-live", day=FEB_10, reported=3000)

    response = operator_client.get("/costs/", {"start": "2030-01-01"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "No live runs ended in these days." in page
    assert "<svg" not in page


def test_customers_never_see_the_costs_page(client, alice):
    client.force_login(alice)

    assert client.get("/costs/", {"sort": "-reported"}).status_code == 404
