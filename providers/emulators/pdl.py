"""An emulator of the People Data Labs v5 API, as a standard-library WSGI app.

It answers like the real API (paths, auth, error shape, rate-limit and credit headers) so the PDL adapter
can be tested over loopback HTTP and sandbox keys work without an account. Records are derived from a
sha256 of the identifying parameters, so the same input always gets the same answer.

Endpoints (each takes GET with query parameters or POST with a JSON body, as PDL does):
    /v5/person/enrich     {status, likelihood, data: person}; a credit per match
    /v5/person/identify   {status, matches: [{data: person, match_score, matched_on}]}, best first; a credit
                          per request, match or not
    /v5/person/search     `sql` or `query` (one, not both), `size` 1-100 (default 1), `scroll_token`:
                          {status, data: [persons], total, scroll_token}; a credit per record. Conditions of the
                          form field='value' in the SQL, or `term`/`match` clauses in the query, show in the
                          records they answer.
    /v5/company/enrich    {status, likelihood, <company fields>} (PDL answers a company flat); a credit per match

Magic inputs (case-insensitive), for every endpoint: one of these addresses in any parameter (the `email` of
an enrichment, a search's `sql` or `query`, a company's `website`) answers:
    nomatch@example.com      404 not_found, "No records were found matching your request"
    ratelimited@example.com  429 rate_limit_error, x-ratelimit-remaining {'minute': 0}
    error@example.com        500 api_error
    nocredits@example.com    402 payment_required

Another endpoint is one handler plus one `ROUTES` entry.
"""

import base64
import hashlib
import json
import re
import time
from http import HTTPStatus
from urllib.parse import parse_qsl

DEFAULT_API_KEY = "sandbox-pdl-key"
RATE_LIMIT_PER_MINUTE = 100

# Either one of these alone, or a name plus one of PERSON_CONTEXT (PDL's minimum match criteria).
PERSON_IDS = ("profile", "email", "phone", "email_hash", "lid", "pdl_id")
PERSON_CONTEXT = (
    "company",
    "school",
    "location",
    "street_address",
    "locality",
    "region",
    "country",
    "postal_code",
    "birth_date",
)
PERSON_NAMES = ("name", "first_name", "last_name")
# Any one of these is enough for Person Identify.
IDENTIFY_INPUTS = (
    "profile",
    "email",
    "phone",
    "email_hash",
    "lid",
    "name",
    "first_name",
    "last_name",
    "company",
    "school",
    "location",
    "locality",
    "region",
    "street_address",
    "postal_code",
)
COMPANY_IDS = ("website", "name", "profile", "ticker", "pdl_id")
MAX_IDENTIFY_MATCHES = 20
MAX_SEARCH_SIZE = 100

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
LOCATIONS = (
    "san francisco, california, united states",
    "london, england, united kingdom",
    "berlin, berlin, germany",
    "toronto, ontario, canada",
)
INDUSTRIES = (
    "computer software",
    "information technology and services",
    "financial services",
    "marketing and advertising",
    "hospital & health care",
    "retail",
)
# PDL's size ranges, each with the smallest and largest employee count it stands for.
SIZES = (
    ("1-10", 1, 10),
    ("11-50", 11, 50),
    ("51-200", 51, 200),
    ("201-500", 201, 500),
    ("501-1000", 501, 1000),
    ("1001-5000", 1001, 5000),
    ("5001-10000", 5001, 10000),
    ("10001+", 10001, 250000),
)
CONDITION = re.compile(r"\b([a-z_]+)\s*=\s*'([^']*)'", re.IGNORECASE)


def error(status, type_, message):
    return status, {"status": status, "error": {"type": type_, "message": message}}


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()


def _pick(options, digest, i):
    return options[digest[i] % len(options)]


def _slug(text):
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _pdl_id(digest):
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=") + "_0000"


def _magic(params):
    """A magic address anywhere in the parameters answers its error."""
    text = json.dumps(params).lower()
    return next((error(*answer) for address, answer in MAGIC_EMAILS.items() if address in text), None)


def _person(digest, given):
    """A person record from a digest; the given values (a name, a company, an email, a location) win over made-up
    ones, lower-cased as PDL answers unless asked to titlecase."""
    names = str(given.get("name", "")).lower().split()
    first = str(given.get("first_name", "")).lower() or (names[0] if names else _pick(FIRST_NAMES, digest, 0))
    last = str(given.get("last_name", "")).lower() or (names[-1] if len(names) > 1 else _pick(LAST_NAMES, digest, 1))
    company = str(given.get("company", given.get("job_company_name", ""))).lower() or _pick(COMPANIES, digest, 2)
    email = str(given.get("email", "")).strip().lower()
    work_email = email or f"{first}.{last}@{_slug(company)}.com"
    handle = f"{_slug(first)}-{_slug(last)}-{digest[3:5].hex()}"
    location = str(given.get("location", "")).lower() or _pick(LOCATIONS, digest, 5)
    return {
        "id": _pdl_id(digest),
        "full_name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "linkedin_url": f"linkedin.com/in/{handle}",
        "linkedin_username": handle,
        "job_title": str(given.get("job_title", "")).lower() or _pick(TITLES, digest, 4),
        "job_company_name": company,
        "job_company_website": str(given.get("job_company_website", "")).lower() or f"{_slug(company)}.com",
        "work_email": work_email,
        "emails": [{"address": work_email, "type": "current_professional"}],
        "location_name": location,
        "location_country": str(given.get("location_country", "")).lower() or location.split(", ")[-1],
    }


def person_enrich(params):
    """Match one person; the record is a pure function of the identifying parameters."""
    has_name = "name" in params or ("first_name" in params and "last_name" in params)
    if not any(k in params for k in PERSON_IDS) and not (has_name and any(k in params for k in PERSON_CONTEXT)):
        return error(
            400,
            "invalid_request_error",
            "Request needs one of profile, email, phone, email_hash, lid, pdl_id, or a name "
            "(name, or first_name and last_name) with one of " + ", ".join(PERSON_CONTEXT),
        )
    if magic := _magic(params):
        return magic
    digest = _digest({k: v for k, v in params.items() if k in PERSON_IDS + PERSON_CONTEXT + PERSON_NAMES})
    return 200, {"status": 200, "likelihood": 6 + digest[6] % 5, "data": _person(digest, params)}


def person_identify(params):
    """Up to 20 candidates, best first: the first has every given detail, the others share only the name."""
    if not any(k in params for k in IDENTIFY_INPUTS):
        return error(400, "invalid_request_error", "Request needs at least one of " + ", ".join(IDENTIFY_INPUTS))
    if magic := _magic(params):
        return magic
    given = {k: v for k, v in params.items() if k in IDENTIFY_INPUTS}
    digest = _digest(given)
    names = {k: v for k, v in given.items() if k in PERSON_NAMES}
    matches, score = [], 70 + digest[0] % 30
    for index in range(min(1 + digest[1] % 5, MAX_IDENTIFY_MATCHES)):
        matches.append(
            {
                "data": _person(_digest([given, index]), given if index == 0 else names),
                "match_score": score,
                "matched_on": sorted(given if index == 0 else names or given),
            }
        )
        score = max(6, score - 8 - digest[2 + index] % 10)  # PDL leaves out matches scoring 5 or less
    return 200, {"status": 200, "matches": matches}


def person_search(params):
    """A page of `size` records out of a total fixed by the query; `scroll_token` carries the offset."""
    if ("sql" in params) == ("query" in params):
        return error(400, "invalid_request_error", "Provide either a query or a sql parameter, but not both")
    query = params.get("query")
    if isinstance(query, str):  # a GET's query string carries it as JSON text
        try:
            query = json.loads(query)
        except ValueError:
            return error(400, "invalid_request_error", "query must be a JSON object")
    if "query" in params and not isinstance(query, dict):
        return error(400, "invalid_request_error", "query must be a JSON object")
    try:
        size = int(params.get("size", 1))
        offset = int(str(params.get("scroll_token", "0$")).split("$")[0])
    except ValueError:
        return error(400, "invalid_request_error", "size must be an integer and scroll_token one PDL gave")
    if not 1 <= size <= MAX_SEARCH_SIZE:
        return error(400, "invalid_request_error", f"size must be between 1 and {MAX_SEARCH_SIZE}")
    if magic := _magic(params):
        return magic
    search = {"sql": params.get("sql"), "query": query, "dataset": params.get("dataset")}
    digest = _digest(search)
    total = 1 + int.from_bytes(digest[:2]) % 2000
    if offset >= total:
        return error(404, "not_found", "No records were found matching your request")
    given = _conditions(params.get("sql") or query)
    data = [_person(_digest([search, index]), given) for index in range(offset, min(offset + size, total))]
    after = offset + len(data)
    scroll_token = f"{after}${int.from_bytes(digest[2:5]) / 1000:.6f}" if after < total else None
    return 200, {"status": 200, "data": data, "total": total, "scroll_token": scroll_token}


def _conditions(query):
    """field='value' pairs of a SQL query, or the `term` and `match` clauses of an Elasticsearch one."""
    if isinstance(query, str):
        return {field.lower(): value for field, value in CONDITION.findall(query)}
    found = {}
    if isinstance(query, dict):
        for key, value in query.items():
            if key in ("term", "match") and isinstance(value, dict):
                found.update({field: v for field, v in value.items() if isinstance(v, str)})
            else:
                found.update(_conditions(value))
    elif isinstance(query, list):
        for value in query:
            found.update(_conditions(value))
    return found


def company_enrich(params):
    """Match one company; the record is a pure function of the identifying parameters, answered flat."""
    if not any(k in params for k in COMPANY_IDS):
        return error(400, "invalid_request_error", "Request needs one of " + ", ".join(COMPANY_IDS))
    if magic := _magic(params):
        return magic
    digest = _digest({k: v for k, v in params.items() if k in COMPANY_IDS + PERSON_CONTEXT})
    domain = re.sub(r"^(https?://)?(www\.)?", "", str(params.get("website", "")).lower()).split("/")[0]
    profile = str(params.get("profile", "")).lower().rstrip("/").split("/")[-1]
    name = (
        str(params.get("name", "")).lower()
        or domain.split(".")[0].replace("-", " ")
        or profile.replace("-", " ")
        or _pick(COMPANIES, digest, 0)
    )
    domain = domain or f"{_slug(name)}.com"
    size, smallest, largest = _pick(SIZES, digest, 1)
    industry = _pick(INDUSTRIES, digest, 8)
    place = {k: str(params[k]).lower() for k in ("locality", "region", "country") if k in params} or dict(
        zip(("locality", "region", "country"), _pick(LOCATIONS, digest, 2).split(", "))
    )
    handle = _slug(name)
    ticker = str(params.get("ticker", "")).upper() or None
    return 200, {
        "status": 200,
        "likelihood": 6 + digest[3] % 5,
        "id": _pdl_id(digest),
        "name": name,
        "display_name": name.title(),
        "website": domain,
        "size": size,
        "employee_count": smallest + int.from_bytes(digest[4:7]) % (largest - smallest + 1),
        "founded": 1950 + digest[7] % 74,
        "industry": industry,
        "type": "public" if ticker else "private",
        "ticker": ticker,
        "location": {
            "name": ", ".join(place.values()),
            "locality": place.get("locality"),
            "region": place.get("region"),
            "country": place.get("country"),
            "postal_code": f"{10000 + int.from_bytes(digest[9:11]) % 89999}",
            "street_address": f"{1 + digest[11] % 999} market street",
        },
        "linkedin_url": f"linkedin.com/company/{handle}",
        "linkedin_id": str(1000 + int.from_bytes(digest[12:15])),
        "facebook_url": f"facebook.com/{handle}",
        "twitter_url": f"twitter.com/{handle}",
        "profiles": [f"linkedin.com/company/{handle}", f"facebook.com/{handle}", f"twitter.com/{handle}"],
        "headline": f"{name} builds {industry}",
        "summary": f"{name}: {industry} in {', '.join(place.values())}, {size} employees (emulated)",
        "tags": sorted({industry, _pick(INDUSTRIES, digest, 15)}),
        "alternative_domains": [],
    }


def _per_match(status, body):
    return 1 if status == 200 else 0


def _per_request(status, body):
    return 1 if status in (200, 404) else 0


def _per_record(status, body):
    return len(body["data"]) if status == 200 else 0


# path -> (allowed methods, x-call-credits-type, credits spent(status, body), handler(params) -> (status, body))
ROUTES = {
    "/v5/person/enrich": (("GET", "POST"), "enrich", _per_match, person_enrich),
    "/v5/person/identify": (("GET", "POST"), "person_identify", _per_request, person_identify),
    "/v5/person/search": (("GET", "POST"), "search", _per_record, person_search),
    "/v5/company/enrich": (("GET", "POST"), "enrich_company", _per_match, company_enrich),
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


def make_app(api_key: str = DEFAULT_API_KEY, answer_delay_seconds: float = 0.0):
    """A WSGI app accepting only `api_key`, so tests can prove that a wrong key is refused. Each answer waits
    `answer_delay_seconds` first, standing in for the real API's own time (bench/sync_overhead.py)."""

    def app(environ, start_response):
        if answer_delay_seconds:
            time.sleep(answer_delay_seconds)
        methods, credits_type, spent, handler = ROUTES.get(environ.get("PATH_INFO", ""), ((), None, None, None))
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
            ("x-call-credits-spent", str(spent(status, body) if spent else 0)),
        ]
        if credits_type:
            headers.append(("x-call-credits-type", credits_type))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [payload]

    return app
