"""The default catalog that `manage.py seed_catalog` loads: providers, endpoints, input schemas and prices."""

_PDL_IDENTIFIERS = ["profile", "email", "phone", "email_hash", "lid", "pdl_id", "name", "first_name", "last_name",
                    "company", "school", "location", "locality", "region", "country", "street_address",
                    "postal_code", "birth_date"]

PERSON_ENRICH_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "description": "Identify one person. Give at least one of profile, email, phone, email_hash, lid or pdl_id, "
                   "or a name (name, or first_name and last_name) together with company, school or location.",
    "properties": {
        **{field: {"type": "string", "minLength": 1, "maxLength": 500} for field in _PDL_IDENTIFIERS},
        "profile": {"type": "string", "minLength": 1, "maxLength": 500,
                    "description": "A social profile URL", "examples": ["linkedin.com/in/seanthorne"]},
        "email": {"type": "string", "format": "email", "minLength": 3, "maxLength": 320,
                  "examples": ["sean@peopledatalabs.com"]},
        "min_likelihood": {"type": "integer", "minimum": 1, "maximum": 10},
        "required": {"type": "string", "maxLength": 500, "description": "Fields the match must have"},
        "titlecase": {"type": "boolean"},
        "data_include": {"type": "string", "maxLength": 1000},
        "pretty": {"type": "boolean"},
        "include_if_matched": {"type": "boolean"},
    },
    "additionalProperties": False,
    "anyOf": [
        *({"required": [field]} for field in ["profile", "email", "phone", "email_hash", "lid", "pdl_id"]),
        {"required": ["name"], "anyOf": [{"required": [f]} for f in ["company", "school", "location", "locality",
                                                                    "region", "country"]]},
        {"required": ["first_name", "last_name"],
         "anyOf": [{"required": [f]} for f in ["company", "school", "location", "locality", "region", "country"]]},
    ],
}

TWEET_SCRAPER_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "description": "Search X (Twitter) and return matching tweets. Give searchTerms, twitterHandles or startUrls.",
    "properties": {
        "searchTerms": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 500},
                        "minItems": 1, "maxItems": 100, "description": "Search queries, e.g. 'AI' or 'from:nasa'",
                        "examples": [["AI"]]},
        "twitterHandles": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 50},
                           "maxItems": 100},
        "startUrls": {"type": "array", "maxItems": 100},
        "maxItems": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10,
                     "description": "At most this many tweets are returned"},
        "sort": {"type": "string", "enum": ["Latest", "Top"]},
        "tweetLanguage": {"type": "string", "minLength": 2, "maxLength": 5},
    },
    "anyOf": [{"required": ["searchTerms"]}, {"required": ["twitterHandles"]}, {"required": ["startUrls"]}],
}

PROVIDERS = [
    {"slug": "pdl", "name": "People Data Labs", "mode": "sync"},
    {"slug": "apify", "name": "Apify", "mode": "async"},
]

ENDPOINTS = [
    {"provider": "pdl", "path": "/person/enrich",
     "description": "Enrich a person: one person's profile (name, job, company, emails, location) from an email, "
                    "a social profile URL, a phone number or a name with a company.",
     "input_schema": PERSON_ENRICH_SCHEMA, "price_type": "PER_CALL", "price_micros": 3000, "deadline_seconds": 30},
    {"provider": "apify", "path": "/apidojo/tweet-scraper",
     "description": "Twitter (X) posts: search tweets by keyword or handle with text, author, date and engagement.",
     "input_schema": TWEET_SCRAPER_SCHEMA, "price_type": "PER_CALL", "price_micros": 3000, "deadline_seconds": 900,
     "result_limit_field": "maxItems"},
]
