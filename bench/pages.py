"""How fast the runs list and a run page render over 1,000,000 runs: first page, filtered, deep.

Makes a fresh database of DATABASE_URL's kind (SQLite when unset; or --database-url) and bulk-loads --runs ended
runs into it with bench/cost_summary.py's loader (the same workspaces, live and test keys, endpoints, statuses and
costs, spread over January to March 2025). Then it renders pages server-side, through the whole Django stack
(middleware, session, view, template) with the test Client signed in as an operator, and prints for each the
median of --repeat tries after one untimed try, and the queries one rendering makes:

- the runs list's first page;
- a filtered page: one endpoint, status FAILED, live keys;
- a deep page: `before=` the run 900,000 rows down (found once, untimed, by an OFFSET on the primary key's index);
- a run's page;

and, to show where the indexes matter, a few more filters (a rare HTTP class, one that matches nothing, a day)
and a customer's pages. Each should take well under 150 ms.

    make bench-pages
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench-pages
    make bench-pages ARGS="--runs 100000"
"""

import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.cost_summary import analyze, catalog, load, loaded_runs_arguments, loaded_runs_heading, median_ms  # noqa: E402
from bench.harness import bench_database  # noqa: E402

DEEP = 900_000  # rows down, for the deep page (or nine tenths of --runs, if fewer)


def timed(client, url, repeat):
    """Median milliseconds of GET url over `repeat` tries, and the queries one more rendering makes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:2000])
        return response

    ms, _ = median_ms(get, repeat)
    with CaptureQueriesContext(connection) as queries:
        get()
    return ms, len(queries)


def main():
    args = loaded_runs_arguments(__doc__.splitlines()[0], "page")
    os.environ["DJANGO_DEBUG"] = "0"  # as in production: no debug toolbar of queries kept per request
    with bench_database("monid-pages-") as _:
        from django.contrib.auth import get_user_model
        from django.test import Client

        from billing.models import Workspace
        from runs.models import Run

        keys, endpoints = catalog()
        print(loaded_runs_heading(args.runs, keys, endpoints), flush=True)
        seconds = load(args.runs, keys, endpoints, random.Random(args.seed))
        analyze()
        print(f"  loaded in {seconds:.1f} s ({args.runs / seconds:,.0f} runs/s) and analyzed", flush=True)

        deep = min(DEEP, args.runs * 9 // 10)
        deep_id = Run.objects.order_by("-id").values_list("id", flat=True)[deep]
        endpoint = endpoints[1][0]  # a quarter of the runs
        users = get_user_model().objects
        operator = users.create_user("bench-operator", is_staff=True)
        customer = users.create_user("bench-customer")
        workspace = Workspace.objects.get(slug="customer-1")
        workspace.members.add(customer)
        filtered = f"endpoint={endpoint.path}&status=FAILED&mode=live"
        pages = [
            ("runs list, first page", operator, "/runs/"),
            (f"runs list, {endpoint.path} FAILED live", operator, f"/runs/?{filtered}"),
            (f"runs list, {deep:,} runs down", operator, f"/runs/?before={deep_id}"),
            ("run page", operator, f"/runs/{deep_id}/"),
            (f"  the filtered page, {deep:,} runs down", operator, f"/runs/?{filtered}&before={deep_id}"),
            ("  HTTP 5xx (1 run in 100)", operator, "/runs/?http=5xx"),
            ("  HTTP 3xx (no run at all)", operator, "/runs/?http=3xx"),
            ("  test keys", operator, "/runs/?mode=test"),
            ("  one UTC day, provider apify", operator, "/runs/?provider=apify&start=2025-02-10&end=2025-02-10"),
            ("  customer-1, first page", customer, "/runs/"),
            ("  customer-1, key test-0, FAILED", customer, "/runs/?key=test-0&status=FAILED"),
            (f"  customer-1, {deep:,} runs down", customer, f"/runs/?before={deep_id}"),
        ]
        print(f"  page (median of {args.repeat}, after one untimed try){' ' * 24}ms   queries")
        clients = {}
        for name, user, url in pages:
            if user not in clients:
                clients[user] = Client(HTTP_HOST="127.0.0.1")
                clients[user].force_login(user)
            ms, queries = timed(clients[user], url, args.repeat)
            print(f"  {name:<58} {ms:8.1f} {queries:6}", flush=True)


if __name__ == "__main__":
    main()
