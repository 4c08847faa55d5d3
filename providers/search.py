"""Full-text search over the enabled catalog with the database's own index (migration 0005_search): FTS5 with
porter stemming and bm25 on SQLite, a weighted tsvector (providers_endpoint.search_vector, a column the model
does not declare) with ts_rank_cd on PostgreSQL."""

import re

from django.db import connection

from .models import Endpoint

# Words that say nothing about which endpoint is meant, dropped before searching ("enrich a person by email").
STOP_WORDS = frozenset(
    "a an and any are as at be by can do does for from get give how i in into is it its me my of on or our some "
    "that the their them this to using via want what which who with".split()
)
MAX_TERMS = 32  # a 1000-character query is at most this many distinct words
MAX_TERM_LENGTH = 64  # longer "words" match nothing real, and PostgreSQL refuses words of over 2047 bytes
MIN_PREFIX_LENGTH = 3  # "ai" matches itself only: a one- or two-letter prefix matches half the catalog

# Column weights: a word in the name or path says the most, then the tags, then the description.
SQLITE_COLUMN_GROUPS = ["{name path}", "{tags}", "{description}"]
SQLITE_WEIGHTS = (10.0, 10.0, 5.0, 2.0)  # name, path, tags, description, in the FTS5 table's column order
POSTGRESQL_WEIGHTS = [0.1, 0.3, 0.6, 1.0]  # D (unused), C description, B tags, A name and path


def search_terms(query: str) -> list[str]:
    """The words of a free-text query, lower-cased, without stop words or repeats: only letters, digits and
    underscores ever reach the database, so no query can be a syntax error there."""
    terms = []
    for word in re.findall(r"\w+", query.lower()):
        if word not in STOP_WORDS and len(word) <= MAX_TERM_LENGTH and word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def endpoints_search(query: str, limit: int = 5) -> list[Endpoint]:
    """The enabled endpoints of enabled providers that best match a free-text query, best first, at most `limit`
    of them, each with a `score` from 0 to 1 (higher is better). Any word of the query may match, in full or as
    the start of a word, after stemming ("tweets" finds "tweet", "enrich" finds "enrichment")."""
    terms = search_terms(query)
    if not terms:
        return []
    ranked = (_ranked_postgresql if connection.vendor == "postgresql" else _ranked_sqlite)(terms, limit)
    endpoints = Endpoint.objects.select_related("provider").in_bulk([endpoint_id for endpoint_id, _ in ranked])
    found = []
    for endpoint_id, score in ranked:
        endpoint = endpoints[endpoint_id]
        endpoint.score = round(score, 4)
        found.append(endpoint)
    return found


def _ranked_sqlite(terms: list[str], limit: int) -> list[tuple[int, float]]:
    # Each word is matched three times, in the name and path, in the tags and in the description, and bm25 scores
    # each of the three with its own rarity: "company" is in half the descriptions (bm25 counts it for nothing
    # there) but in one name, where it counts for a lot. Within a group, an exact match counts in both phrases,
    # so it ranks above a partial one. Every word is quoted, so FTS5 never reads one as an operator (AND, NEAR).
    phrases = [f'("{term}" OR "{term}"*)' if len(term) >= MIN_PREFIX_LENGTH else f'"{term}"' for term in terms]
    match = " OR ".join(f"{columns} : {phrase}" for phrase in phrases for columns in SQLITE_COLUMN_GROUPS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT e.id, -bm25(providers_endpoint_search, {", ".join(map(str, SQLITE_WEIGHTS))}) AS relevance
                FROM providers_endpoint_search
                JOIN providers_endpoint e ON e.id = providers_endpoint_search.rowid
                JOIN providers_provider p ON p.id = e.provider_id
                WHERE providers_endpoint_search MATCH %s AND e.enabled AND p.enabled
                ORDER BY relevance DESC, p.slug, e.path
                LIMIT %s""",
            [match, limit],
        )
        # bm25 is unbounded (higher is better once negated); x / (x + 10) maps it onto 0-1 keeping the order.
        return [(endpoint_id, relevance / (relevance + 10)) for endpoint_id, relevance in cursor.fetchall()]


def _ranked_postgresql(terms: list[str], limit: int) -> list[tuple[int, float]]:
    # ts_rank_cd knows nothing of how rare a word is: "posts" in a thousand names would outrank "twitter" in one
    # endpoint's tags. So each word is ranked on its own, exactly and as a prefix (an exact match counts twice),
    # and weighted by its rarity among the endpoints found, ln(1 + found / found with this word), as bm25 does.
    # MATERIALIZED: each word's tsquery is parsed once, not once per endpoint found; and the ranks are computed
    # before the window's sort instead of after it, so the sort carries no vectors.
    prefixes = [f"'{term}':*" if len(term) >= MIN_PREFIX_LENGTH else f"'{term}'" for term in terms]
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH term AS MATERIALIZED (
                    SELECT number, to_tsquery('english'::regconfig, exact) AS exact,
                           to_tsquery('english'::regconfig, prefix) AS prefix
                    FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS term (exact, prefix, number)
                ), found AS (
                    SELECT e.id, p.slug, e.path, e.search_vector AS vector
                    FROM providers_endpoint e JOIN providers_provider p ON p.id = e.provider_id
                    WHERE e.search_vector @@ to_tsquery('english'::regconfig, %s) AND e.enabled AND p.enabled
                ), hit AS MATERIALIZED (
                    SELECT found.id, found.slug, found.path, term.number,
                           ts_rank_cd(%s::float4[], found.vector, term.exact)
                           + ts_rank_cd(%s::float4[], found.vector, term.prefix) AS rank
                    FROM found JOIN term ON found.vector @@ term.prefix
                ), weighted AS (
                    SELECT id, slug, path, rank * ln(1 + (SELECT count(*) FROM found)::float8
                                                         / count(*) OVER (PARTITION BY number)) AS relevance
                    FROM hit
                )
                SELECT id, sum(relevance) AS relevance
                FROM weighted
                GROUP BY id, slug, path
                ORDER BY relevance DESC, slug, path
                LIMIT %s""",
            [
                [f"'{term}'" for term in terms],
                prefixes,
                " | ".join(prefixes),
                POSTGRESQL_WEIGHTS,
                POSTGRESQL_WEIGHTS,
                limit,
            ],
        )
        # The sum is unbounded (higher is better); x / (x + 2) maps it onto 0-1 keeping the order.
        return [(endpoint_id, relevance / (relevance + 2)) for endpoint_id, relevance in cursor.fetchall()]
