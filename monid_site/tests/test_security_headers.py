"""Pages run no inline script and load nothing from elsewhere."""

import pytest

pytestmark = pytest.mark.django_db


def policy(response):
    return dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))


def test_every_page_forbids_inline_script_and_other_origins(client, alice):
    client.force_login(alice)
    for path in ("/login/", "/runs/", "/keys/", "/wallet/", "/controls/"):
        rules = policy(client.get(path))
        assert rules["script-src"] == "'self'" and rules["default-src"] == "'self'", path
        assert rules["frame-ancestors"] == "'none'" and rules["object-src"] == "'none'", path


def test_api_answers_carry_the_policy_too(client):
    assert policy(client.get("/v1/runs"))["default-src"] == "'self'"


def test_the_api_docs_page_allows_only_what_redoc_needs(client):
    rules = policy(client.get("/docs"))
    assert rules["style-src"] == "'self' 'unsafe-inline'" and rules["worker-src"] == "blob:"
    assert "script-src" not in rules and rules["default-src"] == "'self'"  # scripts: this server's only


def test_no_page_template_has_inline_script_or_handlers():
    from pathlib import Path

    from django.conf import settings
    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = template.read_text()
        assert "<script>" not in text and " onclick=" not in text and " onfocus=" not in text, template

