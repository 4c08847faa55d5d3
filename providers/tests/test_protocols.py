"""The protocols of the bundled connectors against the emulators over loopback HTTP."""

import http.server
import json
import threading

import pytest
import requests

from providers.engine import ProviderProgress, ProviderUnavailable
from providers.engine import apify as apify_module
from providers.engine.apify import actor_id
from providers.engine.http import usd_to_micros

pytestmark = pytest.mark.django_db


def call(protocol, path, params, **changes):
    return protocol("pdl", path, **changes).call(params=params, units=params.get("size", 1), hold=0, timeout_seconds=10)


def start(tweets, actor_input, units=None):
    return tweets.start(params=actor_input, units=units or actor_input.get("maxItems", 10), hold=1_000_000)


def test_pdl_hands_back_the_person_and_counts_one_result(protocol):
    answer = call(protocol, "/person/enrich", {"email": "sean@example.com"})
    assert answer.http_status == 200
    assert answer.output["work_email"] == "sean@example.com"
    assert answer.result_count == 1


def test_pdl_charges_credits_only_on_a_match(protocol):
    match = call(protocol, "/person/enrich", {"email": "sean@example.com"}, credit_cost_micros=2500)
    miss = call(protocol, "/person/enrich", {"email": "nomatch@example.com"})
    assert (match.actual_cost_micros, miss.actual_cost_micros) == (2500, 0)
    assert miss.http_status == 404 and miss.output is None
    assert miss.error == {
        "status": 404,
        "error": {"type": "not_found", "message": "No records were found matching your request"},
    }


def test_pdl_with_a_wrong_key_is_the_providers_401_not_an_outage(protocol, settings):
    settings.PDL_API_KEY = "wrong"
    answer = call(protocol, "/person/enrich", {"email": "sean@example.com"})
    assert answer.http_status == 401 and answer.error["error"]["type"] == "authentication_error"


def test_pdl_posts_a_search_and_hands_back_the_page_with_its_total_and_scroll_token(protocol):
    query = {"query": {"bool": {"must": [{"term": {"job_company_name": "people data labs"}}]}}}
    answer = call(protocol, "/person/search", {"query": query, "size": 3}, credit_cost_micros=1000)
    assert answer.http_status == 200 and answer.output.keys() == {"data", "total", "scroll_token"}
    assert {person["job_company_name"] for person in answer.output["data"]} == {"people data labs"}
    assert (answer.result_count, answer.billed_units, answer.actual_cost_micros) == (3, 3, 3000)


def test_pdl_hands_back_identify_matches_and_counts_them(protocol):
    answer = call(protocol, "/person/identify", {"name": "sean thorne", "locality": "san francisco"})
    assert answer.http_status == 200 and answer.result_count == len(answer.output) >= 1
    assert {"data", "match_score", "matched_on"} == answer.output[0].keys()


def test_pdl_hands_back_a_company_without_pdls_status_echo(protocol):
    answer = call(protocol, "/company/enrich", {"website": "peopledatalabs.com"})
    assert answer.http_status == 200 and answer.result_count == 1
    assert answer.output["website"] == "peopledatalabs.com" and "status" not in answer.output


def test_an_unreachable_provider_raises_a_retryable_error(protocol, settings):
    settings.PDL_API_BASE_URL = "http://127.0.0.1:9"
    with pytest.raises(ProviderUnavailable) as caught:
        call(protocol, "/person/enrich", {"email": "a@b.c"})
    assert caught.value.retryable


@pytest.fixture
def html_gateway():
    """A server that answers like a broken load balancer: an HTML error page."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>Bad gateway</body></html>")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_an_answer_that_is_not_json_is_an_outage(html_gateway, protocol, settings):
    settings.PDL_API_BASE_URL = html_gateway
    with pytest.raises(ProviderUnavailable) as caught:
        call(protocol, "/person/enrich", {"email": "a@b.c"})
    assert "502" in str(caught.value) and "not JSON" in str(caught.value)


def test_apify_names_actors_with_a_tilde():
    assert actor_id("/apidojo/tweet-scraper") == "apidojo~tweet-scraper"


def test_apify_usage_becomes_micro_dollars_rounded_half_up():
    assert usd_to_micros(0.0029) == 2900
    assert usd_to_micros(0.0000005) == 1
    assert usd_to_micros(1.23456749) == 1234567


def test_an_apify_run_is_started_followed_and_read(tweets):
    run = start(tweets, {"searchTerms": ["AI"], "maxItems": 3})
    assert (run.detail, run.state) == ("RUNNING", ProviderProgress.RUNNING)
    finished = tweets.check(run_id=run.run_id, wait_seconds=5)
    assert (finished.detail, finished.state) == ("SUCCEEDED", ProviderProgress.FINISHED)
    answer = tweets.collect(finished, max_bytes=10**6)
    assert answer.http_status == 200 and answer.result_count == 3 and len(answer.output) == 3
    assert answer.actual_cost_micros == usd_to_micros(0.0004 + 3 * 0.00025)


def test_a_large_dataset_is_read_in_pages(tweets, monkeypatch):
    monkeypatch.setattr(apify_module, "DATASET_PAGE_SIZE", 7)
    run = start(tweets, {"searchTerms": ["AI"], "maxItems": 30})
    answer = tweets.collect(tweets.check(run_id=run.run_id, wait_seconds=5), max_bytes=10**6)
    items = answer.output
    assert len(items) == 30 and len({item["id"] for item in items}) == 30 and not answer.output_truncated


def test_a_dataset_is_read_only_up_to_the_byte_cap(tweets):
    run = start(tweets, {"searchTerms": ["AI"], "maxItems": 50})
    finished = tweets.check(run_id=run.run_id, wait_seconds=5)
    whole = tweets.collect(finished, max_bytes=10**6).output
    cap = len(json.dumps(whole[:20], ensure_ascii=False, separators=(",", ":")).encode())
    answer = tweets.collect(finished, max_bytes=cap)
    assert answer.output == whole[:20] and answer.result_count == 20 and answer.output_truncated
    assert answer.actual_cost_micros == usd_to_micros(0.0004 + 50 * 0.00025)  # the provider billed all 50


def test_an_empty_dataset_is_a_success_with_no_results(tweets):
    run = start(tweets, {"searchTerms": ["emulator:empty"]})
    answer = tweets.collect(tweets.check(run_id=run.run_id, wait_seconds=5), max_bytes=10**6)
    assert (answer.http_status, answer.output, answer.result_count) == (200, [], 0)


def test_a_refused_start_is_the_providers_answer(protocol, tweets):
    tweets.actor = "nobody~no-actor"
    answer = start(tweets, {})
    assert answer.http_status == 404 and answer.error["error"]["type"] == "record-not-found"


def test_an_aborted_run_ends_stopped(tweets):
    run = start(tweets, {"searchTerms": ["emulator:slow"]})
    assert tweets.check(run_id=run.run_id, wait_seconds=1).state == ProviderProgress.RUNNING
    stopped = tweets.stop(run_id=run.run_id)
    assert (stopped.detail, stopped.state) == ("ABORTED", ProviderProgress.STOPPED)


def test_following_an_unknown_run_is_an_outage_that_says_so(tweets):
    with pytest.raises(ProviderUnavailable) as caught:
        tweets.check(run_id="nope", wait_seconds=1)
    assert "404" in str(caught.value) and not caught.value.retryable


def test_an_actor_is_started_with_apifys_caps_on_items_and_spend(tweets, emulators):
    run = tweets.start(params={"searchTerms": ["AI"], "maxItems": 1000.0}, units=1000, hold=400_000)
    options = tweets.check(run_id=run.run_id, wait_seconds=5)
    stored = requests.get(
        f"{emulators.url}/apify/v2/actor-runs/{run.run_id}",
        headers={"Authorization": "Bearer sandbox-apify-token"},
        timeout=5,
    ).json()["data"]["options"]
    assert options.state == ProviderProgress.FINISHED
    assert (stored["maxItems"], stored["maxTotalChargeUsd"]) == (1000, 0.4)


def test_an_estimate_field_the_input_left_out_is_sent_with_its_default(tweets):
    actor_input, query = tweets.sent_input(params={"searchTerms": ["AI"]}, units=10, hold=4000)
    assert actor_input == {"searchTerms": ["AI"], "maxItems": 10}
    assert query == {"maxItems": "10", "maxTotalChargeUsd": "0.004000"}
