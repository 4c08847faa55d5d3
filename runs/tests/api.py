"""What many tests do: post a run through the API as a client would, or admit many at once."""

import json
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from monid_site.errors import ApplicationError
from providers.models import Endpoint
from runs.services import run_create, runs_settle_all


def post_run(client, key, body):
    """The body as compact JSON, as clients send it, so that the tests of input bounds count only the input's bytes."""
    return client.post(
        "/v1/run",
        data=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def post_settled(client, key, body):
    """A run through the API, settled before the next request, as the settler would have settled it by then."""
    response = post_run(client, key, body)
    runs_settle_all()
    return response


def usd(dollars):
    """An amount as the API takes it."""
    return {"value": dollars, "currency": "USD"}


# Two runs for the admission tests (spend controls, key limits): a PDL match that completes, a tweet search that
# keeps running (its hold stays), both at PRICE.
PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["admission"]}}
PRICE = 3_000  # both endpoints above cost $0.003 a call in the seed catalog


def person_enriched(client, key, email="sean@example.com"):
    """A PDL person enrichment (a match, unless the address is nomatch@…) that the settler has then settled, so
    its costs are in its key's rollup."""
    response = post_run(client, key, {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": email}})
    assert response.status_code == 200, response.content
    runs_settle_all()
    return response


def a_hundred_tweet_searches_at_once(api_key):
    """What run_create gave a hundred tweet searches of `api_key` admitted from twenty threads, as concurrent
    requests would be: each its run, or the ApplicationError that refused it. A race test needs
    transaction=True, since each thread has a connection of its own, closed after its run."""
    endpoint = Endpoint.objects.get(path=TWEETS["endpoint"])

    def admit(i):
        try:
            return run_create(api_key=api_key, endpoint=endpoint, raw_input={"searchTerms": [f"race {i}"]})
        except ApplicationError as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(20) as pool:
        return list(pool.map(admit, range(100)))
