"""An emulator of the People Data Labs v5 API, as a standard-library WSGI app.

It answers like the real API (paths, auth, error shape, rate-limit and credit headers) so the PDL adapter
can be tested over loopback HTTP and sandbox keys work without an account. Records are derived from a
sha256 of the identifying parameters, so the same input always gets the same answer.

Magic inputs (the `email` parameter, case-insensitive):
    nomatch@example.com      404 not_found, "No records were found matching your request"
    ratelimited@example.com  429 rate_limit_error, x-ratelimit-remaining {'minute': 0}
    error@example.com        500 api_error
    nocredits@example.com    402 payment_required

Only `/v5/person/enrich` exists; another endpoint is one handler plus one `ROUTES` entry.
"""

import base64
import hashlib
import json
import time
from http import HTTPStatus
from urllib.parse import parse_qsl

DEFAULT_API_KEY = "sandbox-pdl-key"
RATE_LIMIT_PER_MINUTE = 100

# Either one of these alone, or a name plus one of PERSON_CONTEXT (PDL's minimum match criteria).
PERSON_IDS = ("profile", "email", "phone", "email_hash", "lid", "pdl_id")
PERSON_CONTEXT = ("company", "school", "location", "street_address", "locality", "region", "country",
                  "postal_code", "birth_date")

MAGIC_EMAILS = {
    "nomatch@example.com": (404, "not_found", "No records were found matching your request"),
    "ratelimited@example.com": (429, "rate_limit_error", "You have exceeded your rate limit (emulated)"),
    "error@example.com": (500, "api_error", "An unexpected error occurred (emulated)"),
    "nocredits@example.com": (402, "payment_required", "You have no remaining credits (emulated)"),
}

FIRST_NAMES = ("ada", "grace", "alan", "linus", "margaret", "dennis", "barbara", "ken", "radia", "guido")
LAST_NAMES = ("lovelace", "hopper", "turing", "torvalds", "hamilton", "ritchie", "liskov", "thompson")
TITLES = ("software engineer", "product manager", "data scientist", "head of sales", "founder")
COMPANIES = ("acme", "globex", "initech", "umbrella", "hooli", "stark industries")
LOCATIONS = ("san francisco, california, united states", "london, england, united kingdom",
             "berlin, berlin, germany", "toronto, ontario, canada")


def error(status, type_, message):
    return status, {"status": status, "error": {"type": type_, "message": message}}


def _pick(options, digest, i):
    return options[digest[i] % len(options)]


def _slug(text):
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def person_enrich(params):
    """Match one person; the record is a pure function of the identifying parameters."""
    has_name = "name" in params or ("first_name" in params and "last_name" in params)
    if not any(k in params for k in PERSON_IDS) and not (has_name and any(k in params for k in PERSON_CONTEXT)):
        return error(400, "invalid_request_error",
                     "Request needs one of profile, email, phone, email_hash, lid, pdl_id, or a name "
                     "(name, or first_name and last_name) with one of " + ", ".join(PERSON_CONTEXT))
    email = str(params.get("email", "")).strip().lower()
    if email in MAGIC_EMAILS:
        return error(*MAGIC_EMAILS[email])

    identity = {k: v for k, v in params.items() if k in PERSON_IDS + PERSON_CONTEXT
                or k in ("name", "first_name", "last_name")}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).digest()
    # PDL lowercases values unless asked to titlecase; a given name wins over a made-up one.
    names = str(params.get("name", "")).lower().split()
    first = str(params.get("first_name", "")).lower() or (names[0] if names else _pick(FIRST_NAMES, digest, 0))
    last = str(params.get("last_name", "")).lower() or (names[-1] if len(names) > 1 else _pick(LAST_NAMES, digest, 1))
    company = str(params.get("company", "")).lower() or _pick(COMPANIES, digest, 2)
    work_email = email or f"{first}.{last}@{_slug(company)}.com"
    handle = f"{_slug(first)}-{_slug(last)}-{digest[3:5].hex()}"
    person = {
        "id": base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=") + "_0000",
        "full_name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "linkedin_url": f"linkedin.com/in/{handle}",
        "linkedin_username": handle,
        "job_title": _pick(TITLES, digest, 4),
        "job_company_name": company,
        "work_email": work_email,
        "emails": [{"address": work_email, "type": "current_professional"}],
        "location_name": str(params.get("location", "")).lower() or _pick(LOCATIONS, digest, 5),
    }
    return 200, {"status": 200, "likelihood": 6 + digest[6] % 5, "data": person}


# path -> (allowed methods, x-call-credits-type, handler(params) -> (status, body))
ROUTES = {
    "/v5/person/enrich": (("GET", "POST"), "enrich", person_enrich),
}


def _params(environ):
    """Query parameters, overlaid by a POST's JSON body; blank values are dropped as PDL ignores them."""
    params = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    if environ["REQUEST_METHOD"] == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        params.update(body)
    return {k: v for k, v in params.items() if v not in ("", None, [])}


def _call(handler, environ, api_key):
    try:
        params = _params(environ)
    except ValueError:
        return error(400, "invalid_request_error", "The request body must be a JSON object")
    key = params.pop("api_key", None)
    if environ.get("HTTP_X_API_KEY", key) != api_key:
        return error(401, "authentication_error", "Invalid or missing API key")
    return handler(params)


def make_app(api_key: str = DEFAULT_API_KEY):
    """A WSGI app accepting only `api_key`, so tests can prove that a wrong key is refused."""

    def app(environ, start_response):
        methods, credits_type, handler = ROUTES.get(environ.get("PATH_INFO", ""), ((), None, None))
        if handler is None:
            status, body = error(404, "not_found", "No such endpoint")
        elif environ["REQUEST_METHOD"] not in methods:
            status, body = error(405, "invalid_request_error", "Method not allowed")
        else:
            status, body = _call(handler, environ, api_key)
        # Real PDL renders these limits as a Python-looking map per window, not a bare number.
        remaining = 0 if status == 429 else RATE_LIMIT_PER_MINUTE - 1
        reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((time.time() // 60 + 1) * 60))
        payload = json.dumps(body).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("x-ratelimit-limit", str({"minute": RATE_LIMIT_PER_MINUTE})),
            ("x-ratelimit-remaining", str({"minute": remaining})),
            ("x-ratelimit-reset", reset),
            ("x-call-credits-spent", "1" if status == 200 else "0"),
        ]
        if credits_type:
            headers.append(("x-call-credits-type", credits_type))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [payload]

    return app
