"""Pages run no inline script and load nothing from elsewhere."""

import re

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


# What the policy forbids, as it may be written in a template: a <script> element without a src (whatever its
# other attributes), an on…= event handler (any event, any case, any spacing), and a javascript: URL.
FORBIDDEN_IN_TEMPLATES = [
    re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE),
    re.compile(r"[\s\"'/]on[a-z]+\s*=", re.IGNORECASE),
    re.compile(r"javascript\s*:", re.IGNORECASE),
]


def forbidden_in(text: str) -> list[str]:
    return [match.group(0) for pattern in FORBIDDEN_IN_TEMPLATES for match in pattern.finditer(text)]


@pytest.mark.parametrize(
    "text",
    [
        '<script type="module">go()</script>',
        "<SCRIPT>go()</SCRIPT>",
        '<a href="#" onmouseover="go()">',
        "<img src=x OnError = go()>",
        '<form onsubmit="go()">',
        '<a href="JavaScript:go()">',
        "<a href='javascript :go()'>",
    ],
)
def test_the_template_check_catches_every_way_to_run_inline_script(text):
    assert forbidden_in(text)


def test_the_template_check_lets_scripts_from_this_server_and_ordinary_words_through():
    assert forbidden_in('<script src="/static/copy.js" defer></script><p>Run one, then another.</p>') == []


def test_no_page_template_has_inline_script_or_handlers():
    from pathlib import Path

    from django.conf import settings

    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        assert forbidden_in(template.read_text()) == [], template
