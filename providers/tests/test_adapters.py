"""The real adapters against the emulators over loopback HTTP."""

import http.server
import json
import threading

import pytest

from providers.adapters import SANDBOX_CREDENTIALS, ProviderUnavailable, adapter_for
from providers.adapters import apify as apify_module
from providers.adapters.apify import ApifyAdapter, actor_id, usd_to_micros
from providers.adapters.pdl import PdlAdapter


@pytest.fixture
def pdl(emulators):
    return PdlAdapter(base_url=f"{emulators.url}/pdl", credential=SANDBOX_CREDENTIALS["pdl"])


@pytest.fixture
def apify(emulators):
    return ApifyAdapter(base_url=f"{emulators.url}/apify", credential=SANDBOX_CREDENTIALS["apify"])


def test_pdl_hands_back_the_person_and_counts_one_result(pdl):
    answer = pdl.call(path="/person/enrich", params={"email": "sean@example.com"}, credit_cost_micros=0, timeout_seconds=10)
    assert answer.http_status == 200
    assert answer.output["work_email"] == "sean@example.com"
    assert answer.result_count == 1


def test_pdl_charges_credits_only_on_a_match(pdl):
    match = pdl.call(path="/person/enrich", params={"email": "sean@example.com"}, credit_cost_micros=2500, timeout_seconds=10)
    miss = pdl.call(path="/person/enrich", params={"email": "nomatch@example.com"}, credit_cost_micros=2500, timeout_seconds=10)
    assert (match.actual_cost_micros, miss.actual_cost_micros) == (2500, 0)
    assert miss.http_status == 404 and miss.output is None
    assert miss.error == {"status": 404, "error": {"type": "not_found",
                                                   "message": "No records were found matching your request"}}


def test_pdl_with_a_wrong_key_is_the_providers_401_not_an_outage(emulators):
    adapter = PdlAdapter(base_url=f"{emulators.url}/pdl", credential="wrong")
    answer = adapter.call(path="/person/enrich", params={"email": "sean@example.com"}, credit_cost_micros=0, timeout_seconds=10)
    assert answer.http_status == 401 and answer.error["error"]["type"] == "authentication_error"



def test_pdl_posts_a_search_and_hands_back_the_page_with_its_total_and_scroll_token(pdl):
    query = {"query": {"bool": {"must": [{"term": {"job_company_name": "people data labs"}}]}}}
    answer = pdl.call(path="/person/search", params={"query": query, "size": 3}, credit_cost_micros=1000,
                      timeout_seconds=10)
    assert answer.http_status == 200 and answer.output.keys() == {"data", "total", "scroll_token"}
    assert {person["job_company_name"] for person in answer.output["data"]} == {"people data labs"}
    assert (answer.result_count, answer.actual_cost_micros) == (3, 3000)


def test_pdl_hands_back_identify_matches_and_counts_them(pdl):
    answer = pdl.call(path="/person/identify", params={"name": "sean thorne", "locality": "san francisco"},
                      credit_cost_micros=0, timeout_seconds=10)
    assert answer.http_status == 200 and answer.result_count == len(answer.output) >= 1
    assert {"data", "match_score", "matched_on"} == answer.output[0].keys()


def test_pdl_hands_back_a_company_without_pdls_status_echo(pdl):
    answer = pdl.call(path="/company/enrich", params={"website": "peopledatalabs.com"}, credit_cost_micros=0,
                      timeout_seconds=10)
    assert answer.http_status == 200 and answer.result_count == 1
    assert answer.output["website"] == "peopledatalabs.com" and "status" not in answer.output

def test_an_unreachable_provider_raises_a_retryable_error():
    adapter = PdlAdapter(base_url="http://127.0.0.1:9", credential="x")
    with pytest.raises(ProviderUnavailable) as caught:
        adapter.call(path="/person/enrich", params={"email": "a@b.c"}, credit_cost_micros=0, timeout_seconds=10)
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


def test_an_answer_that_is_not_json_is_an_outage(html_gateway):
    adapter = PdlAdapter(base_url=html_gateway, credential="x")
    with pytest.raises(ProviderUnavailable) as caught:
        adapter.call(path="/person/enrich", params={"email": "a@b.c"}, credit_cost_micros=0, timeout_seconds=10)
    assert "502" in str(caught.value) and "not JSON" in str(caught.value)


def test_apify_names_actors_with_a_tilde():
    assert actor_id("/apidojo/tweet-scraper") == "apidojo~tweet-scraper"


def test_apify_usage_becomes_micro_dollars_rounded_half_up():
    assert usd_to_micros(0.0029) == 2900
    assert usd_to_micros(0.0000005) == 1
    assert usd_to_micros(1.23456749) == 1234567


def test_an_apify_run_is_started_followed_and_read(apify):
    run = apify.start(path="/apidojo/tweet-scraper", actor_input={"searchTerms": ["AI"], "maxItems": 3})
    assert run.status == "RUNNING" and not run.is_terminal
    finished = apify.status(run_id=run.id, wait_seconds=5)
    assert finished.status == "SUCCEEDED"
    answer = apify.answer(finished, max_bytes=10**6)
    assert answer.http_status == 200 and answer.result_count == 3 and len(answer.output) == 3
    assert answer.actual_cost_micros == usd_to_micros(0.0004 + 3 * 0.00025)


def test_a_large_dataset_is_read_in_pages(apify, monkeypatch):
    monkeypatch.setattr(apify_module, "DATASET_PAGE_SIZE", 7)
    run = apify.start(path="/apidojo/tweet-scraper", actor_input={"searchTerms": ["AI"], "maxItems": 30})
    items, truncated = apify.items(dataset_id=apify.status(run_id=run.id, wait_seconds=5).dataset_id,
                                   max_bytes=10**6)
    assert len(items) == 30 and len({item["id"] for item in items}) == 30 and not truncated


def test_a_dataset_is_read_only_up_to_the_byte_cap(apify):
    run = apify.start(path="/apidojo/tweet-scraper", actor_input={"searchTerms": ["AI"], "maxItems": 50})
    finished = apify.status(run_id=run.id, wait_seconds=5)
    whole, _ = apify.items(dataset_id=finished.dataset_id, max_bytes=10**6)
    cap = len(json.dumps(whole[:20], ensure_ascii=False, separators=(",", ":")).encode())
    answer = apify.answer(finished, max_bytes=cap)
    assert answer.output == whole[:20] and answer.result_count == 20 and answer.output_truncated
    assert answer.actual_cost_micros == usd_to_micros(0.0004 + 50 * 0.00025)  # the provider billed all 50


def test_an_empty_dataset_is_a_success_with_no_results(apify):
    run = apify.start(path="/apidojo/tweet-scraper", actor_input={"searchTerms": ["emulator:empty"]})
    answer = apify.answer(apify.status(run_id=run.id, wait_seconds=5), max_bytes=10**6)
    assert (answer.http_status, answer.output, answer.result_count) == (200, [], 0)


def test_a_refused_start_is_the_providers_answer(apify):
    answer = apify.start(path="/nobody/no-actor", actor_input={})
    assert answer.http_status == 404 and answer.error["error"]["type"] == "record-not-found"


def test_an_aborted_run_ends_aborted(apify):
    run = apify.start(path="/apidojo/tweet-scraper", actor_input={"searchTerms": ["emulator:slow"]})
    assert apify.status(run_id=run.id, wait_seconds=1).status == "RUNNING"
    assert apify.abort(run_id=run.id).status == "ABORTED"


def test_following_an_unknown_run_is_an_outage_that_says_so(apify):
    with pytest.raises(ProviderUnavailable) as caught:
        apify.status(run_id="nope", wait_seconds=1)
    assert "404" in str(caught.value) and not caught.value.retryable


def test_test_mode_adapters_point_at_the_sandbox(settings):
    settings.MONID_SANDBOX_URL = "http://127.0.0.1:8001"
    adapter = adapter_for("apify", sandbox=True)
    assert adapter.base_url == "http://127.0.0.1:8001/apify"
    assert adapter.credential == SANDBOX_CREDENTIALS["apify"]
