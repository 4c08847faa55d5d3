"""What many tests do: post a run through the API as a client would."""

import json

from runs.services import runs_settle_all


def post_run(client, key, body):
    return client.post("/v1/run", data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {key}")


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
