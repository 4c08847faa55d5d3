"""An emulator of the Apify v2 API (start, follow and abort actor runs; read datasets), as a WSGI app.

It keeps runs and datasets in memory and answers like the real API (envelopes, error types, pagination
headers) so the apify-actor protocol can be tested over loopback HTTP, faults and slow runs included. Like
the platform, it writes no more dataset items than a start's `maxItems` query parameter allows, and bills no
more than its `maxTotalChargeUsd`.

A run's lifecycle is driven by calls, not by the clock, so tests need no sleeping: a new run is RUNNING,
the first plain status check still answers RUNNING and the second makes it terminal; any `waitForFinish`
above 0 (on the start or on a status check) makes it terminal at once. The one exception is a timed run
(`emulator:duration-<ms>`, below), which ends by `time.monotonic()`. Dataset items are derived from a
sha256 of the input, so the same input always gives the same items.

Magic inputs (a string anywhere in the actor input, e.g. in `searchTerms`):
    emulator:fail        the run ends FAILED, statusMessage "The actor failed (emulated)"
    emulator:timeout     the run ends TIMED-OUT
    emulator:bad-input   the start answers 400 invalid-input
    emulator:rate-limit  the start answers 429 rate-limit-exceeded
    emulator:slow        the run stays RUNNING (even with waitForFinish) until aborted
    emulator:empty       the run ends SUCCEEDED with an empty dataset
    emulator:duration-<ms>
                         the run ends once <ms> milliseconds have passed since its start, whichever call
                         notices first; until then every status check answers RUNNING. `waitForFinish=W`
                         holds the answer until the run ends (or is aborted) or W seconds pass. It ends as
                         the other magic says (FAILED, TIMED-OUT, empty, with generated items); with
                         emulator:slow it still only ends by abort.
    emulator:items-<count>x<bytes>
                         a run that succeeds (and is not emulator:empty) has <count> generated items
                         (maxItems is ignored, in the input and in the start's query: an actor that
                         writes past the caps), each `{"index": i, "filler": "xx..."}` whose compact JSON is
                         <bytes> long (or as short as it can be). Items are made as a page is read and
                         streamed in chunks without a Content-Length (the connection closes after each
                         answer), so even a read without `limit` of a huge dataset holds one chunk in
                         memory, never the dataset or the page.

Faults of the control plane, for testing retries: `emulator:<call>-<fault>x<N>` makes the first N calls of
<call> (`status`: GET actor-runs/{id}; `dataset`: GET datasets/{id}/items) answer with <fault>:
    503        HTTP 503 with Apify's error envelope
    429        HTTP 429 rate-limit-exceeded with `Retry-After: 1`
    429bare    HTTP 429 without Retry-After
    garbage    HTTP 200 with a truncated JSON body
e.g. searchTerms ["AI", "emulator:status-503x2"] fails two status checks, then behaves.

Runs are listed per actor (`GET /v2/acts/{actorId}/runs`, with `startedAfter`, `desc`, `offset`, `limit`) and
each run's INPUT read back (`GET /v2/actor-runs/{runId}/key-value-store/records/INPUT`), as on the platform.

Not part of Apify, for benchmarks: `GET /emulator/runs` (same token) answers `{"data": [{"id", "actId",
"status", "startedAt", "input"}, ...]}` for every run started so far, in start order.

Known actors, each answering items shaped like the real actor's output (see each function):
apidojo~tweet-scraper, apify~website-content-crawler, compass~crawler-google-places and apify~instagram-scraper.
Another actor is one input-to-items function plus an `ACTORS` entry.
"""

import base64
import hashlib
import json
import re
import secrets
import string
import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import parse_qs, quote

DEFAULT_TOKEN = "sandbox-apify-token"
MAGIC = (
    "emulator:fail",
    "emulator:timeout",
    "emulator:bad-input",
    "emulator:rate-limit",
    "emulator:slow",
    "emulator:empty",
)
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED")
FAULT = re.compile(r"emulator:(status|dataset)-(503|429bare|429|garbage)x(\d+)")
DURATION = re.compile(r"emulator:duration-(\d+)")
GENERATED = re.compile(r"emulator:items-(\d+)x(\d+)")
COMPACT = (",", ":")
# Deterministic stand-in for the platform's bill: a start fee plus a price per dataset item.
USD_PER_RUN, USD_PER_ITEM = 0.0004, 0.00025
EPOCH = 1704067200  # 2024-01-01T00:00:00Z; the items' dates are offsets from it, never from the clock
WORDS = (
    "coffee",
    "garden",
    "harbor",
    "pixel",
    "maple",
    "river",
    "summit",
    "lantern",
    "atlas",
    "orbit",
    "meadow",
    "copper",
    "studio",
    "cedar",
    "falcon",
    "willow",
)
CITIES = (
    ("Austin", "Texas", "United States"),
    ("Prague", "Czechia"),
    ("London", "United Kingdom"),
    ("Toronto", "Ontario", "Canada"),
)
COUNTRY_CODES = {
    "united states": "US",
    "usa": "US",
    "czechia": "CZ",
    "czech republic": "CZ",
    "united kingdom": "GB",
    "uk": "GB",
    "canada": "CA",
    "germany": "DE",
    "france": "FR",
    "spain": "ES",
    "italy": "IT",
}


class RawAnswer(Exception):
    """Raised to answer bytes that are not the JSON the handler would have sent (a truncated body)."""

    def __init__(self, status, payload):
        super().__init__(status)
        self.status, self.payload = status, payload


class ApiError(Exception):
    """Raised anywhere in a request to answer Apify's error envelope."""

    def __init__(self, status, type_, message):
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def tweet_scraper(run_input):
    """apidojo~tweet-scraper: `searchTerms`, `twitterHandles` (read as from:<handle>) or `startUrls` (strings or
    {url}), and `maxItems` (default 10, capped at 1000)."""
    terms = _strings(run_input, "searchTerms") + [f"from:{handle}" for handle in _strings(run_input, "twitterHandles")]
    terms += _urls(run_input, "startUrls")
    if not terms:
        raise ApiError(400, "invalid-input", "Input is not valid: give searchTerms, twitterHandles or startUrls")
    return [_tweet(terms[i % len(terms)], i) for i in range(min(_count(run_input, "maxItems", 10), 1000))]


def _tweet(term, index):
    digest = hashlib.sha256(f"{term}\n{index}".encode()).digest()
    tweet_id = str(10**18 + int.from_bytes(digest[:8]) % (9 * 10**18))
    user = term[len("from:") :] if term.startswith("from:") else f"user_{digest[8:11].hex()}"
    created = time.gmtime(EPOCH + int.from_bytes(digest[11:14]) % (365 * 86400))
    return {
        "type": "tweet",
        "id": tweet_id,
        "url": f"https://x.com/{user}/status/{tweet_id}",
        "text": f"Thoughts on {term} (emulated tweet #{index + 1})",
        "author": {"userName": user, "name": f"Emulated User {digest[8:11].hex().upper()}"},
        "createdAt": time.strftime("%a %b %d %H:%M:%S +0000 %Y", created),
        "likeCount": digest[14] * 4,
        "retweetCount": digest[15],
        "replyCount": digest[16] % 50,
        "lang": "en",
    }


def website_content_crawler(run_input):
    """apify~website-content-crawler: 3 to 10 pages under each of `startUrls` (strings or {url}), at most
    `maxCrawlPages` and `maxResults` of them (and 1000), the start URLs only with `maxCrawlDepth` 0."""
    urls = _urls(run_input, "startUrls")
    if not urls:
        raise ApiError(400, "invalid-input", "Input is not valid: startUrls must be a non-empty array of URLs")
    limit = min(_count(run_input, "maxCrawlPages", 1000), _count(run_input, "maxResults", 1000), 1000)
    depth = _count(run_input, "maxCrawlDepth", 20)
    pages = [
        _page(run_input, url, i)
        for url in urls
        for i in range(1 if depth == 0 else 3 + hashlib.sha256(url.encode()).digest()[0] % 8)
    ]
    return pages[:limit]


def _page(run_input, start_url, index):
    url = start_url if index == 0 else f"{start_url.rstrip('/')}/{WORDS[index % len(WORDS)]}-{index}"
    digest = hashlib.sha256(url.encode()).digest()
    host = url.split("/")[2]
    title = f"{WORDS[digest[0] % len(WORDS)].title()} {WORDS[digest[1] % len(WORDS)]} | {host}"
    body = (
        f"{WORDS[digest[2] % len(WORDS)].title()} is explained here step by step, with examples of "
        f"{WORDS[digest[3] % len(WORDS)]} and {WORDS[digest[4] % len(WORDS)]}. (Emulated page {index + 1}.)"
    )
    page = {
        "url": url,
        "crawl": {
            "loadedUrl": url,
            "loadedTime": _iso(EPOCH + int.from_bytes(digest[5:8]) % (365 * 86400)),
            "referrerUrl": start_url,
            "depth": 0 if index == 0 else 1,
            "httpStatusCode": 200,
        },
        "metadata": {
            "canonicalUrl": url,
            "title": title,
            "description": body[:120],
            "author": None,
            "keywords": None,
            "languageCode": "en",
        },
        "text": f"{title}\n{body}",
    }
    if run_input.get("saveMarkdown", True):
        page["markdown"] = f"# {title}\n\n{body}"
    if run_input.get("saveHtml"):
        page["html"] = f"<h1>{title}</h1><p>{body}</p>"
    return page


def google_places(run_input):
    """compass~crawler-google-places: `maxCrawledPlacesPerSearch` (default 20) places for each of
    `searchStringsArray` near `locationQuery`, and one for each of `startUrls` and `placeIds`; at most 1000."""
    searches = _strings(run_input, "searchStringsArray")
    direct = _urls(run_input, "startUrls") + _strings(run_input, "placeIds")
    if not searches and not direct:
        raise ApiError(400, "invalid-input", "Input is not valid: give searchStringsArray, startUrls or placeIds")
    per_search = _count(run_input, "maxCrawledPlacesPerSearch", 20)
    where = str(run_input.get("locationQuery") or run_input.get("city") or "")
    country_code = str(run_input.get("countryCode") or "").upper()
    places = [_place(term, where, rank, country_code) for term in searches for rank in range(min(per_search, 1000))]
    places += [_place(reference, where, 0, country_code) for reference in direct]
    return places[:1000]


def _place(term, where, rank, country_code):
    digest = hashlib.sha256(f"{term}\n{where}\n{rank}".encode()).digest()
    parts = where.split(", ") if where else list(CITIES[digest[0] % len(CITIES)])
    category = term if len(term) < 40 else "Point of interest"  # a place's URL or id is no category
    name = f"{WORDS[digest[1] % len(WORDS)].title()} {category.title()}"
    place_id = "ChIJ" + base64.urlsafe_b64encode(digest[2:19]).decode()[:23]
    street = f"{1 + int.from_bytes(digest[19:21]) % 999} {WORDS[digest[21] % len(WORDS)].title()} Street"
    return {
        "title": name,
        "categoryName": category,
        "categories": [category],
        "address": ", ".join([street, *parts]),
        "street": street,
        "city": parts[0],
        "state": parts[1] if len(parts) > 2 else None,
        "countryCode": country_code or COUNTRY_CODES.get(parts[-1].lower(), "US"),
        "postalCode": f"{10000 + int.from_bytes(digest[22:24]) % 89999}",
        "phone": f"+1 555-01{digest[24] % 100:02d}",
        "website": f"https://www.{''.join(c for c in name.lower() if c.isalnum())}.example.com",
        "location": {"lat": round(-60 + digest[25] / 255 * 120, 6), "lng": round(-180 + digest[26] / 255 * 360, 6)},
        "totalScore": round(3 + digest[27] % 21 / 10, 1),
        "reviewsCount": int.from_bytes(digest[28:30]) % 3000,
        "price": "$" * (1 + digest[30] % 3),
        "placeId": place_id,
        "url": f"https://www.google.com/maps/search/?api=1&query={quote(name)}&query_place_id={place_id}",
        "searchString": term,
        "rank": rank + 1,
        "permanentlyClosed": False,
        "temporarilyClosed": False,
    }


def instagram_scraper(run_input):
    """apify~instagram-scraper: for each of `directUrls` (or `searchLimit` results of `search`), `resultsLimit`
    (default 20) posts, reels, mentions or comments, or its details, by `resultsType`; at most 1000 items."""
    kind = run_input.get("resultsType", "posts")
    if kind not in ("posts", "comments", "details", "mentions", "reels"):
        raise ApiError(
            400, "invalid-input", "Input is not valid: resultsType must be posts, comments, details, mentions or reels"
        )
    urls = _strings(run_input, "directUrls")
    if not urls and isinstance(run_input.get("search"), str) and run_input["search"]:
        prefix = {"hashtag": "explore/tags/", "place": "explore/locations/"}.get(run_input.get("searchType"), "")
        found = [
            quote(run_input["search"]) + (f"_{i + 1}" if i else "") for i in range(_count(run_input, "searchLimit", 1))
        ]
        urls = [f"https://www.instagram.com/{prefix}{name}/" for name in found]
    if not urls:
        raise ApiError(400, "invalid-input", "Input is not valid: give directUrls or search")
    limit = _count(run_input, "resultsLimit", 20)
    if kind == "details":
        return [_profile(url) for url in urls][:1000]
    make = _comment if kind == "comments" else _post
    return [make(url, i, kind) for url in urls for i in range(min(limit, 1000))][:1000]


def _owner(url):
    return [part for part in url.split("/") if part][-1].lower()


def _post(url, index, kind):
    digest = hashlib.sha256(f"{url}\n{kind}\n{index}".encode()).digest()
    owner = _owner(url) if kind != "mentions" else f"user_{digest[0:3].hex()}"
    short_code = base64.urlsafe_b64encode(digest[3:11]).decode().rstrip("=")
    video = kind == "reels" or digest[11] % 3 == 0
    tag = WORDS[digest[12] % len(WORDS)]
    post = {
        "id": str(3 * 10**18 + int.from_bytes(digest[13:21]) % 10**18),
        "type": "Video" if video else ("Sidecar" if digest[11] % 3 == 1 else "Image"),
        "shortCode": short_code,
        "caption": f"A day of {tag} #{tag} (emulated post {index + 1})",
        "hashtags": [tag],
        "mentions": [_owner(url)] if kind == "mentions" else [],
        "url": f"https://www.instagram.com/{'reel' if kind == 'reels' else 'p'}/{short_code}/",
        "commentsCount": digest[21] % 200,
        "likesCount": int.from_bytes(digest[22:25]) % 50000,
        "timestamp": _iso(EPOCH + int.from_bytes(digest[25:28]) % (365 * 86400)),
        "ownerUsername": owner,
        "ownerFullName": owner.replace("_", " ").title(),
        "ownerId": str(int.from_bytes(digest[28:32])),
        "displayUrl": f"https://scontent.cdninstagram.com/v/{short_code}.jpg",
        "inputUrl": url,
        "productType": "clips" if kind == "reels" else "feed",
    }
    if video:
        post.update(
            videoUrl=f"https://scontent.cdninstagram.com/v/{short_code}.mp4",
            videoViewCount=int.from_bytes(digest[5:8]) % 500000,
        )
    return post


def _comment(url, index, kind):
    digest = hashlib.sha256(f"{url}\n{kind}\n{index}".encode()).digest()
    return {
        "id": str(17 * 10**15 + int.from_bytes(digest[:7]) % 10**15),
        "postUrl": url,
        "text": f"Love the {WORDS[digest[7] % len(WORDS)]}! (emulated comment {index + 1})",
        "ownerUsername": f"user_{digest[8:11].hex()}",
        "timestamp": _iso(EPOCH + int.from_bytes(digest[11:14]) % (365 * 86400)),
        "likesCount": digest[14] % 100,
        "repliesCount": digest[15] % 10,
    }


def _profile(url):
    digest = hashlib.sha256(url.encode()).digest()
    username = _owner(url)
    return {
        "id": str(int.from_bytes(digest[:5])),
        "username": username,
        "url": f"https://www.instagram.com/{username}/",
        "fullName": username.replace("_", " ").title(),
        "biography": f"Stories about {WORDS[digest[5] % len(WORDS)]} (emulated profile)",
        "externalUrl": f"https://{username}.example.com",
        "followersCount": int.from_bytes(digest[6:10]) % 10**8,
        "followsCount": int.from_bytes(digest[10:12]) % 5000,
        "postsCount": int.from_bytes(digest[12:14]) % 20000,
        "verified": digest[14] % 2 == 0,
        "private": False,
        "isBusinessAccount": digest[15] % 2 == 0,
        "profilePicUrl": f"https://scontent.cdninstagram.com/v/{username}.jpg",
        "inputUrl": url,
    }


def _strings(run_input, field):
    """A field that must be an array of strings, or absent."""
    value = run_input.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ApiError(400, "invalid-input", f"Input is not valid: {field} must be an array of strings")
    return value


def _urls(run_input, field):
    """A field of URLs, each a string or a request source {"url": ...}, as Apify's actors take them."""
    value = run_input.get(field) or []
    urls = [v.get("url") if isinstance(v, dict) else v for v in value] if isinstance(value, list) else None
    if urls is None or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls):
        raise ApiError(400, "invalid-input", f"Input is not valid: {field} must be an array of URLs")
    return urls


def _count(run_input, field, default):
    """A field that must be a non-negative integer, or absent (the actor's default). Actors run JavaScript, where
    1000.0 is the number 1000."""
    value = run_input.get(field, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ApiError(400, "invalid-input", f"Input is not valid: {field} must be a non-negative integer")
    return value


def _iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


class GeneratedItems:
    """The dataset of emulator:items-: a range of indices whose items are only made while a page is sent.

    Slicing gives a page that is just as lazy, so `dataset_items` pages it exactly like a list.
    """

    def __init__(self, size, indices):
        self.size, self.indices = size, indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, window):
        return GeneratedItems(self.size, self.indices[window])

    def item(self, index):
        item = {"index": index, "filler": ""}
        item["filler"] = "x" * (self.size - len(json.dumps(item, separators=COMPACT)))
        return item

    def chunks(self):
        """The page as a JSON array, about 64 KB at a time, so memory stays one chunk however big it is."""
        step = max(1, 65536 // max(self.size, 1))
        yield b"["
        for start in range(0, len(self.indices), step):
            items = (json.dumps(self.item(i), separators=COMPACT) for i in self.indices[start : start + step])
            yield (b"," if start else b"") + ",".join(items).encode()
        yield b"]"


# actorId ("username~actor-name") -> function(input) -> dataset items, raising ApiError on bad input
ACTORS = {
    "apidojo~tweet-scraper": tweet_scraper,
    "apify~website-content-crawler": website_content_crawler,
    "compass~crawler-google-places": google_places,
    "apify~instagram-scraper": instagram_scraper,
}


def _apify_id():
    """17 alphanumerics, the shape of Apify's run, dataset and store ids."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(17))


def _now():
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(query, name, default):
    try:
        return int(query.get(name, [default])[0])
    except ValueError:
        raise ApiError(400, "invalid-input", f"Query parameter {name} must be an integer") from None


class ApifyEmulator:
    """The WSGI app; one lock guards all runs and datasets because the server answers on many threads.

    The lock is a Condition so a request waiting for a timed run releases it while it waits.
    """

    ROUTES = (
        ("POST", re.compile(r"/v2/acts/(?P<actor_id>[^/]+(?:/[^/]+)?)/runs"), "start_run"),
        ("GET", re.compile(r"/v2/acts/(?P<actor_id>[^/]+(?:/[^/]+)?)/runs"), "actor_runs"),
        ("GET", re.compile(r"/v2/actor-runs/(?P<run_id>[^/]+)/key-value-store/records/(?P<key>[^/]+)"), "run_record"),
        ("GET", re.compile(r"/v2/actor-runs/(?P<run_id>[^/]+)"), "get_run"),
        ("POST", re.compile(r"/v2/actor-runs/(?P<run_id>[^/]+)/abort"), "abort_run"),
        ("GET", re.compile(r"/v2/datasets/(?P<dataset_id>[^/]+)/items"), "dataset_items"),
        ("GET", re.compile(r"/emulator/runs"), "list_runs"),
    )

    def __init__(self, token=DEFAULT_TOKEN):
        self.token = token
        self.lock = threading.Condition()
        # run id -> {"run": the public run, "input": ..., "items": its output, "magic": ..., "checks": int,
        # "faults": ..., "ends_at": time.monotonic() deadline of a timed run, else None}; in start order
        self.runs = {}
        self.datasets = {}  # dataset id -> list of items, or GeneratedItems
        self.dataset_runs = {}  # dataset id -> the state of the run that writes it

    def __call__(self, environ, start_response):
        headers = {}
        try:
            status, body = self._dispatch(environ, headers)
            if isinstance(body, GeneratedItems):  # streamed outside the lock; the closed connection ends it
                headers["Content-Type"] = "application/json; charset=utf-8"
                start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
                return body.chunks()
            payload = json.dumps(body).encode()
        except ApiError as e:
            payload = json.dumps({"error": {"type": e.type, "message": e.message}}).encode()
            status = e.status
        except RawAnswer as e:
            status, payload = e.status, e.payload
        headers.update({"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(payload))})
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [payload]

    def _dispatch(self, environ, headers):
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        matches = [(m, match, name) for m, regex, name in self.ROUTES if (match := regex.fullmatch(path))]
        if not matches:
            raise ApiError(404, "record-not-found", f"Path {path} was not found")
        route = next(((match, name) for m, match, name in matches if m == method), None)
        if route is None:
            raise ApiError(405, "method-not-allowed", f"Method {method} is not allowed for {path}")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        authorized = environ.get("HTTP_AUTHORIZATION") == f"Bearer {self.token}"
        if not authorized and query.get("token", [None])[0] != self.token:
            raise ApiError(401, "user-or-token-not-found", "User was not found or authentication token is not valid")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        match, name = route
        with self.lock:
            return getattr(self, name)(query=query, body=body, headers=headers, **match.groupdict())

    def start_run(self, actor_id, query, body, **_):
        actor_id = actor_id.replace("/", "~")  # PATH_INFO arrives percent-decoded: "username%2Fname" is "/"
        if actor_id not in ACTORS:
            raise ApiError(404, "record-not-found", f"Actor {actor_id} was not found")
        try:
            run_input = json.loads(body or b"{}")
        except ValueError:
            run_input = None
        if not isinstance(run_input, dict):
            raise ApiError(400, "invalid-input", "Input must be a JSON object")
        text = json.dumps(run_input)
        magic = next((m for m in MAGIC if m in text), None)
        if magic == "emulator:rate-limit":
            raise ApiError(429, "rate-limit-exceeded", "You have exceeded the rate limit (emulated)")
        if magic == "emulator:bad-input":
            raise ApiError(400, "invalid-input", "Input is not valid (emulated)")
        items = ACTORS[actor_id](run_input)  # now, so a bad input is refused before a run exists
        # The platform's caps: a run writes no more dataset items, and spends no more, than its start allows.
        max_items = _number(query, "maxItems", None) if "maxItems" in query else None
        max_charge = query.get("maxTotalChargeUsd", [None])[0]
        if max_items is not None:
            items = items[:max_items]
        if generated := GENERATED.search(text):
            count, size = map(int, generated.groups())
            items = GeneratedItems(size, range(count))
        run_id, dataset_id = _apify_id(), _apify_id()
        self.datasets[dataset_id] = []
        run = {
            "id": run_id,
            "actId": actor_id,
            "status": "RUNNING",
            "statusMessage": "Running (emulated)",
            "startedAt": _now(),
            "finishedAt": None,
            "defaultDatasetId": dataset_id,
            "defaultKeyValueStoreId": _apify_id(),
            "stats": {"inputBodyLen": len(body), "restartCount": 0},
            "options": {
                "build": "latest",
                "timeoutSecs": _number(query, "timeout", 3600),
                "memoryMbytes": _number(query, "memory", 1024),
                "maxItems": max_items,
                "maxTotalChargeUsd": float(max_charge) if max_charge else None,
            },
            "usage": {},
            "usageTotalUsd": 0,
        }
        faults = {call: [kind, int(count)] for call, kind, count in FAULT.findall(text)}
        duration = DURATION.search(text)
        ends_at = time.monotonic() + int(duration.group(1)) / 1000 if duration else None
        state = {
            "run": run,
            "input": run_input,
            "items": items,
            "magic": magic,
            "checks": 0,
            "faults": faults,
            "ends_at": ends_at,
        }
        self.runs[run_id] = self.dataset_runs[dataset_id] = state
        wait = _number(query, "waitForFinish", 0)
        if ends_at is not None:
            self._wait_for_end(state, wait)
        elif wait > 0:
            self._finish(state)
        return 201, {"data": run}

    def get_run(self, run_id, query, headers, **_):
        state = self._state(run_id)
        self._inject_fault(state, "status", headers)
        state["checks"] += 1
        wait = _number(query, "waitForFinish", 0)
        if state["ends_at"] is not None:
            self._wait_for_end(state, wait)
        elif wait > 0 or state["checks"] >= 2:
            self._finish(state)
        return 200, {"data": state["run"]}

    def abort_run(self, run_id, **_):
        state = self._state(run_id)
        if state["run"]["status"] not in TERMINAL:
            self._end(state["run"], "ABORTED", "Aborted by user (emulated)", [])
        return 200, {"data": state["run"]}

    def dataset_items(self, dataset_id, query, headers, **_):
        if dataset_id not in self.datasets:
            raise ApiError(404, "record-not-found", f"Dataset {dataset_id} was not found")
        self._end_if_due(self.dataset_runs[dataset_id])
        self._inject_fault(self.dataset_runs[dataset_id], "dataset", headers)
        items = self.datasets[dataset_id]
        offset = max(_number(query, "offset", 0), 0)
        limit = _number(query, "limit", len(items))
        page = items[offset : offset + max(limit, 0)]
        headers.update(
            {
                "X-Apify-Pagination-Offset": str(offset),
                "X-Apify-Pagination-Limit": str(limit),
                "X-Apify-Pagination-Count": str(len(page)),
                "X-Apify-Pagination-Total": str(len(items)),
            }
        )
        return 200, page

    def actor_runs(self, actor_id, query, **_):
        """The actor's runs, oldest first (newest with `desc=1`), from `startedAfter` on, paged like Apify's."""
        actor_id = actor_id.replace("/", "~")
        after = query.get("startedAfter", [""])[0]
        try:
            after = datetime.fromisoformat(after) if after else None
        except ValueError:
            raise ApiError(400, "invalid-input", "Query parameter startedAfter must be an ISO 8601 date") from None
        runs = [
            state["run"]
            for state in self.runs.values()
            if state["run"]["actId"] == actor_id
            and (after is None or datetime.fromisoformat(state["run"]["startedAt"]) >= after)
        ]
        if query.get("desc", ["0"])[0] in ("1", "true"):
            runs.reverse()
        offset, limit = max(_number(query, "offset", 0), 0), min(max(_number(query, "limit", 1000), 0), 1000)
        fields = (
            "id",
            "actId",
            "status",
            "startedAt",
            "finishedAt",
            "defaultDatasetId",
            "defaultKeyValueStoreId",
            "usageTotalUsd",
        )
        items = [{field: run[field] for field in fields} for run in runs[offset : offset + limit]]
        return 200, {
            "data": {
                "total": len(runs),
                "offset": offset,
                "limit": limit,
                "count": len(items),
                "desc": query.get("desc", ["0"])[0] in ("1", "true"),
                "items": items,
            }
        }

    def run_record(self, run_id, key, **_):
        """A record of the run's default key-value store; the emulator keeps only INPUT, as the platform does."""
        state = self._state(run_id)
        if key != "INPUT":
            raise ApiError(404, "record-not-found", f"Record {key} was not found")
        return 200, state["input"]

    def list_runs(self, **_):
        listed = []
        for state in self.runs.values():
            self._end_if_due(state)
            run = state["run"]
            listed.append(
                {
                    "id": run["id"],
                    "actId": run["actId"],
                    "status": run["status"],
                    "startedAt": run["startedAt"],
                    "input": state["input"],
                }
            )
        return 200, {"data": listed}

    @staticmethod
    def _inject_fault(state, call, headers):
        """Answers the next call of this kind with the run's scripted fault, while any are left."""
        kind, left = state["faults"].get(call, (None, 0))
        if not left:
            return
        state["faults"][call][1] -= 1
        if kind == "garbage":
            raise RawAnswer(200, b'{"data": {"id": "trunc')
        if kind == "503":
            raise ApiError(503, "server-error", "Service temporarily unavailable (emulated)")
        if kind == "429":
            headers["Retry-After"] = "1"
        raise ApiError(429, "rate-limit-exceeded", "You have exceeded the rate limit (emulated)")

    def _state(self, run_id):
        if run_id not in self.runs:
            raise ApiError(404, "record-not-found", f"Actor run {run_id} was not found")
        self._end_if_due(self.runs[run_id])
        return self.runs[run_id]

    def _end_if_due(self, state):
        """A timed run ends once its time is up, at whichever call notices first."""
        if state["ends_at"] is not None and time.monotonic() >= state["ends_at"]:
            self._finish(state)

    def _wait_for_end(self, state, seconds):
        """Hold a timed run's answer until it ends or `seconds` pass; waiting releases the lock for others."""
        until = min(state["ends_at"], time.monotonic() + seconds)
        self.lock.wait_for(lambda: state["run"]["status"] in TERMINAL, timeout=until - time.monotonic())
        self._end_if_due(state)

    def _finish(self, state):
        """Make a running run terminal, by its magic input; a slow run only ends by abort."""
        run, magic = state["run"], state["magic"]
        if run["status"] in TERMINAL or magic == "emulator:slow":
            return
        if magic == "emulator:fail":
            self._end(run, "FAILED", "The actor failed (emulated)", [])
        elif magic == "emulator:timeout":
            self._end(run, "TIMED-OUT", "The actor timed out (emulated)", [])
        else:
            items = [] if magic == "emulator:empty" else state["items"]
            self._end(run, "SUCCEEDED", f"Finished! Total {len(items)} items (emulated)", items)

    def _end(self, run, status, message, items):
        self.datasets[run["defaultDatasetId"]] = items
        run.update(
            status=status,
            statusMessage=message,
            finishedAt=_now(),
            usage={"DATASET_WRITES": len(items)},
            usageTotalUsd=min(
                round(USD_PER_RUN + USD_PER_ITEM * len(items), 8), run["options"]["maxTotalChargeUsd"] or float("inf")
            ),
        )
        self.lock.notify_all()  # wakes requests waiting for a timed run, which may be this one


def make_app(token: str = DEFAULT_TOKEN):
    """A WSGI app with its own empty state, accepting only `token`."""
    return ApifyEmulator(token)
