"""The operators' provider health page, /ops/providers/: each endpoint's state and figures now, and its last day."""

import datetime
import re

import pytest
import time_machine

from conftest import health_sample as sample

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2025, 3, 10, 12, 30, tzinfo=datetime.UTC)
PDL, TWEETS = "/person/enrich", "/apidojo/tweet-scraper"
# The first cells of PDL's row when it has no figures in the window.
UNKNOWN_PDL = ["pdl /person/enrich", "unknown", "0", "—", "—", "—"]


def rows_of(client):
    """The page's rows, each by its endpoint ("pdl /person/enrich"), in order."""
    response = client.get("/ops/providers/")
    assert response.status_code == 200
    return dict(re.findall(r'<tr data-endpoint="([^"]+)">(.*?)</tr>', response.content.decode(), re.S))


def cells(row):
    """The text of the row's table cells, tags and spaces squeezed out."""
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


@pytest.fixture
def operator_client(client, operator, catalog):
    client.force_login(operator)
    return client


def test_only_operators_see_the_page(client, alice, catalog):
    assert client.get("/ops/providers/").status_code == 302  # to the login page
    client.force_login(alice)
    assert client.get("/ops/providers/").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_each_endpoint_shows_its_newest_state_and_figures_worst_first(operator_client):
    sample(PDL, NOW - datetime.timedelta(minutes=1), successes=19)
    sample(
        TWEETS, NOW - datetime.timedelta(minutes=1), "outage", counted=10, successes=2, median_ms=61_000, p95_ms=900_000
    )

    rows = rows_of(operator_client)

    assert list(rows) == ["apify /apidojo/tweet-scraper", "pdl /person/enrich"]
    assert cells(rows["pdl /person/enrich"])[:6] == [
        "pdl /person/enrich",
        "healthy",
        "20",
        "95.0 %",
        "1.20 s",
        "4.00 s",
    ]
    assert cells(rows["apify /apidojo/tweet-scraper"])[:6] == [
        "apify /apidojo/tweet-scraper",
        "outage",
        "10",
        "20.0 %",
        "1 min 01 s",
        "15 min 00 s",
    ]


@time_machine.travel(NOW, tick=False)
def test_the_history_shows_the_worst_state_of_each_of_the_last_24_hours(operator_client):
    for minute, state in ((5, "outage"), (40, "healthy")):
        sample(PDL, NOW.replace(hour=10, minute=minute), state)
    sample(PDL, NOW.replace(hour=11, minute=10), "degraded")
    sample(PDL, NOW.replace(hour=11, minute=20), "unknown", counted=0, successes=0, median_ms=None, p95_ms=None)
    sample(PDL, NOW - datetime.timedelta(hours=24), "outage")  # before the first hour shown

    history = re.findall(r"<title>(\d\d:\d\d UTC: [a-z ]+)</title>", rows_of(operator_client)["pdl /person/enrich"])

    assert len(history) == 24 and history[0] == "13:00 UTC: no sample"
    assert history[-3:] == ["10:00 UTC: outage", "11:00 UTC: degraded", "12:00 UTC: no sample"]


@time_machine.travel(NOW, tick=False)
def test_an_endpoint_sampled_earlier_but_not_now_is_unknown(operator_client):
    sample(PDL, NOW - datetime.timedelta(hours=2), "outage")

    assert cells(rows_of(operator_client)["pdl /person/enrich"])[:6] == UNKNOWN_PDL


@time_machine.travel(NOW, tick=False)
def test_an_endpoint_whose_runs_have_left_the_window_is_unknown_with_no_figures(operator_client):
    sample(PDL, NOW - datetime.timedelta(minutes=2), "outage")
    sample(PDL, NOW - datetime.timedelta(minutes=1), "unknown", counted=0, successes=0, median_ms=None, p95_ms=None)

    assert cells(rows_of(operator_client)["pdl /person/enrich"])[:6] == UNKNOWN_PDL


def test_the_page_says_so_when_no_endpoint_was_sampled_in_the_last_day(operator_client):
    response = operator_client.get("/ops/providers/")
    assert response.status_code == 200
    assert "No endpoint has had a live run end in the last 24 hours" in response.content.decode()
