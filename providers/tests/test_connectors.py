"""Connector folders: loading and checking them, and a connector kept outside the repository run end to end
against a loopback REST server (auth, parameter placement, output mapping, billing)."""

import io
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from django.core.management import CommandError, call_command

from providers.engine.loader import BUNDLED, ConnectorError, connector_load, connectors_load
from providers.engine.replay import fixture_replay
from providers.models import Endpoint, Provider
from runs.models import Run

pytestmark = pytest.mark.django_db

PROVIDER = {
    "slug": "acme",
    "name": "Acme Data",
    "summary": "Companies by domain.",
    "description": "Acme's company data.",
    "docs_url": "https://docs.acme.example",
    "protocol": "http",
    "base_url": "https://api.acme.example",
    "auth": {"scheme": "query", "name": "api_key"},
    "credential": "ACME_KEY",
}
SEARCH = {
    "path": "/companies/search",
    "name": "Company search",
    "description": "Companies for each of some domains.",
    "tags": ["company", "domain"],
    "docs_url": "https://docs.acme.example/search",
    "notes": ["Each domain gives its companies.", "A domain Acme does not know gives none."],
    "request": {"method": "GET", "path": "/v2/{region}/companies"},
    "usage": {
        "model": "PER_RESULT",
        "price_micros": 1000,
        "flat_fee_micros": 500,
        "unit": "company",
        "estimate": {
            "factors": [{"of": "length(domains)", "default": 1}, {"field": "limit", "default": 5}],
            "maximum": 50,
        },
        "provider_cap": [{"in": "query", "name": "max_results", "value": "units"}],
    },
    "output": {"path": "results"},
    "input_schema": {
        "type": "object",
        "required": ["region", "domains"],
        "additionalProperties": False,
        "properties": {
            "region": {"enum": ["eu", "us"]},
            "domains": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 10},
            "limit": {"type": "integer", "minimum": 1, "maximum": 20},
        },
        "examples": [{"region": "eu", "domains": ["acme.example"], "limit": 2}],
    },
}
LOOKUP = {
    "path": "/lookup",
    "name": "Deep lookup",
    "description": "A lookup billed in Acme credits.",
    "tags": ["company"],
    "docs_url": "https://docs.acme.example/lookup",
    "request": {"method": "POST", "path": "/v2/lookup"},
    "usage": {
        "model": "CREDITS",
        "price_micros": 200,
        "unit": "credit",
        "evidence": {"header": "x-credits-used"},
        "estimate": {"factors": [{"field": "depth", "default": 2}], "maximum": 10},
        "provider_cap": "none",
        "provider_cap_note": "Acme spends at most `depth` credits, which the hold covers.",
    },
    "output": {"path": "company", "results": "`1`"},
    "input_schema": {
        "type": "object",
        "required": ["domain"],
        "additionalProperties": False,
        "properties": {"domain": {"type": "string"}, "depth": {"type": "integer", "maximum": 10}},
        "examples": [{"domain": "acme.example", "depth": 3}],
    },
}

# Fixed parameters, and an estimate counted in started blocks of ten.
BATCH = {
    "path": "/batch",
    "name": "Batch lookup",
    "description": "Companies of many domains, billed per ten.",
    "tags": ["company"],
    "docs_url": "https://docs.acme.example/batch",
    "request": {"method": "POST", "path": "/v2/batch", "fixed": {"verbose": True, "source": "monid"}},
    "usage": {
        "model": "CREDITS",
        "price_micros": 200,
        "unit": "credit (up to 10 domains)",
        "evidence": {"header": "x-credits-used"},
        "estimate": {"factors": [{"of": "domains", "default": 1, "per": 10}], "maximum": 3},
        "provider_cap": "none",
        "provider_cap_note": "Acme bills one credit per ten domains begun.",
    },
    "output": {"path": "company", "results": "`1`"},
    "input_schema": {
        "type": "object",
        "required": ["domains"],
        "additionalProperties": False,
        "properties": {
            "domains": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
            "verbose": {"type": "boolean"},
        },
        "examples": [{"domains": ["acme.example"]}],
    },
}


def fixture(input_, calls, status):
    return {"description": "A case.", "input": input_, "calls": calls, "expect": {"httpStatus": status}}


def write_connector(root: Path) -> Path:
    folder = root / "acme"
    (folder / "endpoints").mkdir(parents=True)
    (folder / "provider.yaml").write_text(yaml.safe_dump(PROVIDER))
    for name, spec in (("search", SEARCH), ("lookup", LOOKUP), ("batch", BATCH)):
        (folder / "endpoints" / f"{name}.yaml").write_text(yaml.safe_dump(spec))
        cases = folder / "fixtures" / name
        cases.mkdir(parents=True)
        method, example = spec["request"]["method"], spec["input_schema"]["examples"][0]
        failing = {
            "search": {**example, "region": "us"},
            "lookup": {**example, "domain": "error.example"},
            "batch": {"domains": ["error.example"]},
        }[name]
        (cases / "happy.json").write_text(
            json.dumps(
                fixture(
                    example,
                    [
                        {
                            "request": {"method": method, "path": spec["request"]["path"].replace("{region}", "eu")},
                            "response": {
                                "status": 200,
                                "headers": {"X-Credits-Used": "3"},
                                "body": {"results": [{"name": "Acme"}], "company": {"name": "Acme"}},
                            },
                        }
                    ],
                    200,
                )
            )
        )
        (cases / "provider-error.json").write_text(
            json.dumps(
                fixture(
                    failing,
                    [
                        {
                            "request": {"method": method, "path": spec["request"]["path"].replace("{region}", "us")},
                            "response": {"status": 500, "body": {"error": "boom"}},
                        }
                    ],
                    500,
                )
            )
        )
    return folder


class AcmeHandler(BaseHTTPRequestHandler):
    seen: list = []

    def _answer(self):
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        AcmeHandler.seen.append(
            {
                "method": self.command,
                "path": url.path,
                "query": parse_qs(url.query),
                "body": json.loads(body) if body else None,
            }
        )
        if parse_qs(url.query).get("api_key") != ["acme-secret"]:
            status, headers, payload = 401, {}, {"error": "bad key"}
        elif url.path == "/v2/eu/companies":
            limit = int(parse_qs(url.query)["max_results"][0])
            status, headers, payload = 200, {}, {"results": [{"n": i} for i in range(limit + 3)][:limit], "x": 1}
        else:
            status, headers, payload = 200, {"X-Credits-Used": "40"}, {"company": {"name": "Acme"}}
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def acme(tmp_path, settings):
    AcmeHandler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), AcmeHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ACME_KEY, settings.ACME_API_BASE_URL = "acme-secret", f"http://127.0.0.1:{server.server_port}"
    folder = write_connector(tmp_path)
    call_command("catalog_import", str(folder), stdout=io.StringIO())
    yield folder
    server.shutdown()
    server.server_close()


def post_run(client, key, path, input_):
    return client.post(
        "/v1/run",
        data=json.dumps({"provider": "acme", "endpoint": path, "input": input_}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_a_connector_folder_kept_anywhere_is_imported_with_its_protocol_and_fixtures(acme):
    provider = Provider.objects.get(slug="acme")
    assert (provider.protocol, provider.mode, provider.credential_name) == ("http", "sync", "ACME_KEY")
    search = Endpoint.objects.get(provider=provider, path="/companies/search")
    assert (search.method, search.price_type, search.flat_fee_micros) == ("GET", "PER_RESULT", 500)
    assert set(search.fixtures) == {"happy", "provider-error"}
    assert search.notes == "Each domain gives its companies.\nA domain Acme does not know gives none."


def test_inspect_says_where_an_imported_endpoints_parameters_go_and_gives_its_notes(client, alice_key, acme):
    body = client.post(
        "/v1/inspect",
        data=json.dumps({"provider": "acme", "endpoint": "/companies/search"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_key}",
    ).json()
    properties = SEARCH["input_schema"]["properties"]
    assert body["input"] == {
        "pathParams": {"type": "object", "properties": {"region": properties["region"]}, "required": ["region"]},
        "queryParams": {
            "type": "object",
            "required": ["domains"],
            "properties": {"domains": properties["domains"], "limit": properties["limit"]},
        },
    }
    assert body["notes"] == SEARCH["notes"]
    assert body["hints"]["next"] == (
        """monid run -p acme -e /companies/search --path '{"region": "eu"}' """
        """--query '{"domains": ["acme.example"], "limit": 2}'"""
    )


def test_an_imported_endpoint_places_each_parameter_and_bills_per_result(client, alice_key, acme):
    response = post_run(
        client, alice_key, "/companies/search", {"region": "eu", "domains": ["a.example", "b.example"], "limit": 4.0}
    )
    assert response.status_code == 200
    body = response.json()
    [request] = AcmeHandler.seen
    assert (request["method"], request["path"], request["body"]) == ("GET", "/v2/eu/companies", None)
    # The credential as the auth scheme says, lists as JSON text, 4.0 as 4, and the cap: 2 domains x 4 = 8.
    assert request["query"] == {
        "api_key": ["acme-secret"],
        "domains": ['["a.example", "b.example"]'],
        "limit": ["4"],
        "max_results": ["8"],
    }
    assert body["output"] == [{"n": i} for i in range(8)] and body["resultCount"] == 8
    run = Run.objects.get(pk=body["runId"])
    assert (run.estimated_units, run.held_micros, run.billed_units) == (8, 500 + 8 * 1000, 8)
    assert run.reported_cost_micros == 500 + 8 * 1000
    assert "acme-secret" not in response.content.decode()


def test_an_imported_endpoint_billed_in_credits_never_bills_more_than_its_hold(client, alice_key, acme):
    body = post_run(client, alice_key, "/lookup", {"domain": "acme.example", "depth": 3}).json()
    assert AcmeHandler.seen[0]["body"] == {"domain": "acme.example", "depth": 3}
    run = Run.objects.get(pk=body["runId"])
    # The provider says it spent 40 credits; the run was held for 3, and bills those.
    assert (body["output"], run.estimated_units, run.billed_units) == ({"name": "Acme"}, 3, 3)
    assert run.reported_cost_micros == run.held_micros == 600


def test_fixed_parameters_are_sent_over_the_input_and_an_estimate_per_ten_holds_each_ten_begun(client, alice_key, acme):
    domains = [f"{i}.example" for i in range(25)]
    body = post_run(client, alice_key, "/batch", {"domains": domains, "verbose": False}).json()
    assert AcmeHandler.seen[0]["body"] == {"domains": domains, "verbose": True, "source": "monid"}
    run = Run.objects.get(pk=body["runId"])
    assert (run.estimated_units, run.held_micros, run.billed_units, run.reported_cost_micros) == (3, 600, 3, 600)
    refused = post_run(client, alice_key, "/batch", {"domains": domains + domains[:6]})
    assert (
        refused.status_code == 400
        and "(each a credit (up to 10 domains): ceil(domains / 10) = 4)" in refused.json()["message"]
    )


def test_an_input_asking_past_the_maximum_is_refused_and_nothing_is_sent(client, alice_key, acme):
    response = post_run(
        client,
        alice_key,
        "/companies/search",
        {"region": "eu", "domains": [f"{i}.example" for i in range(10)], "limit": 20},
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        "This input asks acme /companies/search for up to 200 billed units (each a company: length(domains) = 10 x "
        "limit = 20); a run may ask for at most 50. Ask for fewer, or split the work into several runs."
    )
    assert AcmeHandler.seen == [] and not Run.objects.exists()


def test_a_test_key_runs_an_imported_endpoint_from_its_fixtures(client, alice_test_key, acme):
    happy = post_run(client, alice_test_key, "/lookup", {"domain": "acme.example"}).json()
    error = post_run(client, alice_test_key, "/lookup", {"domain": "error.example", "depth": 3}).json()
    assert (happy["status"], happy["providerResponse"], happy["output"]) == (
        "COMPLETED",
        {"httpStatus": 200},
        {"name": "Acme"},
    )
    assert error["providerResponse"]["httpStatus"] == 500 and AcmeHandler.seen == []


def test_importing_again_keeps_operators_prices_and_switches(acme):
    Endpoint.objects.filter(path="/lookup").update(price_micros=999, enabled=False, name="Renamed")
    call_command("catalog_import", str(acme), stdout=io.StringIO())
    lookup = Endpoint.objects.get(path="/lookup")
    assert (lookup.price_micros, lookup.enabled, lookup.name) == (999, False, "Deep lookup")


def broken(tmp_path, change) -> Path:
    folder = write_connector(tmp_path)
    change(folder)
    return folder


def rewrite(path: Path, edit):
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    "change, where, field",
    [
        (
            lambda f: rewrite(f / "provider.yaml", lambda d: d.update(protocol="carrier-pigeon")),
            "provider.yaml",
            "protocol",
        ),
        (lambda f: rewrite(f / "provider.yaml", lambda d: d.pop("base_url")), "provider.yaml", "(top level)"),
        (
            lambda f: rewrite(f / "endpoints/search.yaml", lambda d: d["usage"].update(model="PER_RESULT_ISH")),
            "search.yaml",
            "usage.model",
        ),
        (
            lambda f: rewrite(
                f / "endpoints/search.yaml",
                lambda d: d["usage"]["estimate"]["factors"].append({"of": "length(", "default": 1}),
            ),
            "search.yaml",
            "usage.estimate.factors",
        ),
        (
            lambda f: rewrite(
                f / "endpoints/search.yaml",
                lambda d: d["usage"]["estimate"]["factors"].append({"field": "nonesuch", "default": 1}),
            ),
            "search.yaml",
            "usage.estimate.factors",
        ),
        (
            lambda f: rewrite(f / "endpoints/search.yaml", lambda d: d["input_schema"].update(type="array")),
            "search.yaml",
            "input_schema.type",
        ),
        (
            lambda f: rewrite(
                f / "endpoints/search.yaml", lambda d: d["input_schema"]["examples"].append({"region": "mars"})
            ),
            "search.yaml",
            "input_schema.examples.1",
        ),
        (
            lambda f: rewrite(f / "endpoints/lookup.yaml", lambda d: d["usage"].pop("provider_cap_note")),
            "lookup.yaml",
            "usage",
        ),
        (
            lambda f: rewrite(f / "endpoints/batch.yaml", lambda d: d["usage"]["estimate"]["factors"][0].update(per=1)),
            "batch.yaml",
            "usage.estimate.factors.0.per",
        ),
        (
            lambda f: rewrite(f / "endpoints/search.yaml", lambda d: d["request"].update(fixed={"limit": 3})),
            "search.yaml",
            "request.fixed",
        ),
        (
            lambda f: rewrite(f / "endpoints/search.yaml", lambda d: d.update(notes="A paragraph.")),
            "search.yaml",
            "notes",
        ),
        (
            lambda f: rewrite(f / "endpoints/search.yaml", lambda d: d.update(notes=["Two\nlines."])),
            "search.yaml",
            "notes.0",
        ),
        (lambda f: rewrite(f / "endpoints/search.yaml", lambda d: d.update(notes=[" "])), "search.yaml", "notes.0"),
        (
            lambda f: rewrite(f / "endpoints/search.yaml", lambda d: d.update(max_input_bytes=100)),
            "search.yaml",
            "max_input_bytes",
        ),
        (
            lambda f: rewrite(f / "endpoints/search.yaml", lambda d: d["input_schema"].pop("additionalProperties")),
            "search.yaml",
            "input_schema.additionalProperties",
        ),
        (
            lambda f: rewrite(
                f / "endpoints/search.yaml", lambda d: d["input_schema"].update(additionalProperties=True)
            ),
            "search.yaml",
            "input_schema.additionalProperties",
        ),
        (lambda f: (f / "fixtures/search/provider-error.json").unlink(), "fixtures/search", "fixtures"),
        (lambda f: (f / "endpoints/lookup.yaml").write_text("path: [unclosed"), "lookup.yaml", "(file)"),
    ],
)
def test_a_bad_connector_file_fails_the_load_naming_its_path_and_field(tmp_path, change, where, field):
    folder = broken(tmp_path, change)
    with pytest.raises(ConnectorError) as caught:
        connector_load(folder)
    assert where in str(caught.value) and f": {field}: " in str(caught.value)
    with pytest.raises(CommandError, match=field.replace("(", r"\(").replace(")", r"\)")):
        call_command("catalog_import", str(folder), stdout=io.StringIO())
    assert not Provider.objects.filter(slug="acme").exists()


def test_an_actors_schema_may_be_open_or_closed_but_must_say_which(tmp_path):
    folder = shutil.copytree(BUNDLED / "apify", tmp_path / "apify")
    tweets = folder / "endpoints/tweet-scraper.yaml"
    rewrite(tweets, lambda d: d["input_schema"].update(additionalProperties=False))
    assert connector_load(folder)
    rewrite(tweets, lambda d: d["input_schema"].pop("additionalProperties"))
    with pytest.raises(ConnectorError, match="tweet-scraper.yaml: input_schema.additionalProperties: say whether"):
        connector_load(folder)


def test_a_bad_bundled_file_fails_seed_catalog(tmp_path, monkeypatch):
    copy = tmp_path / "connectors"
    shutil.copytree(BUNDLED, copy)
    rewrite(copy / "pdl/endpoints/person-enrich.yaml", lambda d: d.update(docs_url="not a url"))
    monkeypatch.setattr("providers.services.BUNDLED", copy)
    with pytest.raises(CommandError, match="person-enrich.yaml: docs_url: "):
        call_command("seed_catalog", stdout=io.StringIO())
    assert not Endpoint.objects.exists()


def test_the_bundled_connectors_load():
    slugs = [connector.provider["slug"] for connector in connectors_load()]
    assert {"apify", "pdl"} <= set(slugs)


CASES = [
    (connector.provider["slug"], spec["path"], case)
    for connector in connectors_load()
    for spec in connector.endpoints
    for case in spec["fixtures"]
]


@pytest.mark.parametrize("provider, path, case", CASES, ids=[f"{p}{path}:{case}" for p, path, case in CASES])
def test_every_catalog_fixture_replays_exactly_the_requests_it_recorded(catalog, provider, path, case):
    endpoint = Endpoint.objects.select_related("provider").get(provider__slug=provider, path=path)
    assert fixture_replay(endpoint, case) == []
