"""How fast catalog search answers over 10,000 endpoints: providers.search.endpoints_search, and POST /v1/discover.

Makes a fresh database of DATABASE_URL's kind (SQLite when unset; or --database-url), migrates it, loads the
seed catalog, and adds --endpoints generated endpoints with realistic names, paths, tags and descriptions (web
scrapers and data APIs of some forty platforms, spread over 25 providers), so the search index has the size of
a large catalog. Then, for each of a set of agent-style queries, it times --repeat calls of endpoints_search
(limit 5) and of POST /v1/discover through the whole Django stack (the test Client, with a live key), after one
untimed try, and prints p50 and p99 over all of them, each query's median and its first result.

    make bench-discover
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench-discover
    make bench-discover ARGS="--endpoints 50000 --repeat 50"
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.cost_summary import analyze  # noqa: E402
from bench.harness import bench_database  # noqa: E402

QUERIES = [
    "twitter posts",
    "enrich a person by email",
    "company data",
    "google maps places",
    "crawl a website",
    "instagram profile followers",
    "linkedin jobs in berlin",
    "product reviews",
    "scrape",
    "youtube comments",
    "real estate listings prices",
    "a",
    'NEAR( "unbalanced * AND',
    "e-mail addresses of a company's staff",
]

PLATFORMS = [
    "LinkedIn",
    "Reddit",
    "YouTube",
    "TikTok",
    "Facebook",
    "Amazon",
    "eBay",
    "Yelp",
    "Tripadvisor",
    "Zillow",
    "Airbnb",
    "Booking.com",
    "GitHub",
    "Google Search",
    "Google News",
    "Bing",
    "Indeed",
    "Glassdoor",
    "Crunchbase",
    "Product Hunt",
    "Shopify",
    "Etsy",
    "Walmart",
    "Pinterest",
    "Twitch",
    "Spotify",
    "App Store",
    "Google Play",
    "Trustpilot",
    "G2",
    "Hacker News",
    "Medium",
    "Substack",
    "Threads",
    "Bluesky",
    "Telegram",
    "Discord",
    "Craigslist",
    "Realtor.com",
    "Expedia",
]
OBJECTS = {
    "posts": ["text", "author", "date", "likes", "shares"],
    "comments": ["text", "author", "date", "replies", "likes"],
    "profiles": ["name", "bio", "followers", "location", "website"],
    "reviews": ["rating", "text", "reviewer", "date", "response"],
    "products": ["title", "price", "rating", "seller", "availability"],
    "prices": ["price", "currency", "discount", "history", "seller"],
    "jobs": ["title", "company", "salary", "location", "posted date"],
    "listings": ["address", "price", "bedrooms", "photos", "agent"],
    "videos": ["title", "views", "channel", "duration", "transcript"],
    "followers": ["username", "name", "follower count", "verified", "bio"],
    "companies": ["name", "industry", "size", "funding", "headquarters"],
    "search results": ["title", "url", "snippet", "position", "ads"],
    "hashtags": ["posts", "views", "related tags", "top creators", "trend"],
    "events": ["name", "venue", "date", "tickets", "organizer"],
}
VERBS = ["Scraper", "Extractor", "API", "Crawler", "Monitor", "Search", "Lookup", "Export"]
PROVIDERS = 25


def slugify(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-").replace("--", "-")


def generate_endpoints(count: int, rng: random.Random | None = None) -> int:
    """`count` enabled endpoints of generated providers, bulk-inserted (the search triggers fire all the same)."""
    from providers.models import Endpoint, Provider

    rng = rng or random.Random(0)
    providers = Provider.objects.bulk_create(
        Provider(
            slug=f"vendor-{n}",
            name=f"Vendor {n} Data",
            mode=rng.choice(["sync", "async"]),
            description=f"Data vendor number {n}.",
        )
        for n in range(PROVIDERS)
    )
    rows = []
    for n in range(count):
        platform, (thing, fields), verb = rng.choice(PLATFORMS), rng.choice(list(OBJECTS.items())), rng.choice(VERBS)
        shown = rng.sample(fields, 3)
        rows.append(
            Endpoint(
                provider=providers[n % PROVIDERS],
                path=f"/{slugify(platform)}/{slugify(thing)}-{verb.lower()}-{n}",
                name=f"{platform} {thing.title()} {verb}",
                description=(
                    f"{thing.capitalize()} from {platform}: {', '.join(shown)} and more, by keyword, URL or "
                    f"account. {rng.choice(['Fast', 'Reliable', 'Cheap', 'Fresh', 'Complete'])} data for "
                    f"{rng.choice(['research', 'lead generation', 'monitoring', 'AI agents', 'analytics'])}."
                ),
                tags=[slugify(platform), thing, verb.lower()],
                input_schema={"type": "object"},
                price_type=rng.choice(["PER_CALL", "PER_RESULT"]),
                price_micros=rng.choice([500, 1000, 3000, 10_000]),
            )
        )
    Endpoint.objects.bulk_create(rows, batch_size=500)
    return count


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(fn, repeat: int) -> list[float]:
    """Milliseconds of `repeat` calls of fn(), after one untimed call."""
    fn()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=10_000, help="generated endpoints, besides the seed's")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls of each query")
    parser.add_argument("--database-url", help="a database of this kind is made for the bench (default: DATABASE_URL)")
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.update(DJANGO_DEBUG="0", MONID_RATE_LIMIT_PER_MINUTE="100000000")
    with bench_database("monid-discover-") as _:
        from django.db import connection
        from django.test import Client

        from billing.accounts import workspace_get_or_create
        from billing.api_keys import api_key_create
        from providers.models import Endpoint
        from providers.search import endpoints_search

        began = time.perf_counter()
        generate_endpoints(args.endpoints)
        analyze()
        print(
            f"{'PostgreSQL' if connection.vendor == 'postgresql' else 'SQLite'}: {Endpoint.objects.count():,} "
            f"endpoints ({args.endpoints:,} generated in {time.perf_counter() - began:.1f} s); {len(QUERIES)} "
            f"queries x {args.repeat} timed calls; {os.cpu_count()} CPUs",
            flush=True,
        )
        key = api_key_create(workspace=workspace_get_or_create(slug="bench"), label="bench")[1]
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {key}")

        def discover(query):
            response = client.post("/v1/discover", data=json.dumps({"query": query}), content_type="application/json")
            assert response.status_code == 200, (query, response.status_code, response.content[:500])
            return response

        search_all, discover_all = [], []
        print(f"  {'query':<40} {'search ms':>9} {'discover ms':>11}  first result")
        for query in QUERIES:
            search_times = timed(lambda query=query: endpoints_search(query, 5), args.repeat)
            discover_times = timed(lambda query=query: discover(query), args.repeat)
            search_all += search_times
            discover_all += discover_times
            first = endpoints_search(query, 1)
            shown = f"{first[0].provider.slug} {first[0].path} ({first[0].score})" if first else "-"
            print(
                f"  {query[:40]:<40} {statistics.median(search_times):9.2f} "
                f"{statistics.median(discover_times):11.2f}  {shown}",
                flush=True,
            )
        for name, samples in [("endpoints_search", search_all), ("POST /v1/discover", discover_all)]:
            print(
                f"  {name:<18} p50 {percentile(samples, 0.5):7.2f} ms   p99 {percentile(samples, 0.99):7.2f} ms   "
                f"({len(samples)} calls)"
            )


if __name__ == "__main__":
    main()
