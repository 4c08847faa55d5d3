"""The default catalog that `manage.py seed_catalog` loads: providers, endpoints, input schemas and prices, and
the details an agent chooses an endpoint by (name, description, tags, notes, documentation).

Each input schema follows the parameters the provider documents (PDL v5; each Apify actor's input schema), with
an upper limit wherever an unbounded number would make a run's hold or output meaningless. Each schema's
`examples` validate against it and the emulators answer them: providers/tests/test_catalog.py runs every one.
"""

SCHEMA = "https://json-schema.org/draft/2020-12/schema"
URL_PATTERN = "^https?://"


def _string(description, *examples, max_length=500, **more):
    return {"type": "string", "minLength": 1, "maxLength": max_length, "description": description,
            **({"examples": list(examples)} if examples else {}), **more}


def _flag(description):
    return {"type": "boolean", "description": description}


def _url_list(description, *examples, max_items=100):
    """A list of URLs, each a plain string or an Apify request source `{"url": ...}` (what Apify's own forms send)."""
    url = {"type": "string", "maxLength": 2000, "pattern": URL_PATTERN}
    return {"type": "array", "minItems": 1, "maxItems": max_items, "description": description,
            "items": {"anyOf": [url, {"type": "object", "properties": {"url": url}, "required": ["url"]}]},
            **({"examples": [list(examples)]} if examples else {})}


# People Data Labs

PDL_DOCS = "https://docs.peopledatalabs.com/docs"

# What PDL's person endpoints take to tell one person from another. Numbers in them are plain strings to PDL.
PERSON_FIELDS = {
    "profile": _string("A social profile URL the person uses (LinkedIn, X, Facebook, GitHub, ...)",
                       "linkedin.com/in/seanthorne"),
    "email": {**_string("An email address the person uses", "sean@peopledatalabs.com", max_length=320),
              "format": "email", "minLength": 3},
    "phone": _string("A phone number in any format; best with its country code", "+1 415 568 8415", max_length=50),
    "email_hash": _string("The SHA-256 or MD5 hash of a lower-cased email address", max_length=64,
                          pattern="^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$"),
    "lid": {"type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 0,
            "description": "The person's numeric LinkedIn ID"},
    "pdl_id": _string("A People Data Labs person ID, from an earlier answer", max_length=100),
    "name": _string("The person's full name, at least first and last", "sean thorne", max_length=200),
    "first_name": _string("The person's first name", "sean", max_length=100),
    "last_name": _string("The person's last name", "thorne", max_length=100),
    "middle_name": _string("The person's middle name", max_length=100),
    "company": _string("The name, website or social URL of a company the person worked at", "people data labs"),
    "school": _string("The name, website or social URL of a school the person attended", "university of oregon"),
    "location": _string("Where the person lives, as free text", "san francisco, california"),
    "locality": _string("The city or town the person lives in", "san francisco", max_length=200),
    "region": _string("The state or region the person lives in", "california", max_length=200),
    "country": _string("The country the person lives in", "united states", max_length=100),
    "street_address": _string("The person's street address", max_length=300),
    "postal_code": _string("The person's postal code", "94105", max_length=20),
    "birth_date": _string("The person's birth date: YYYY, YYYY-MM or YYYY-MM-DD", "1990", max_length=10,
                          pattern="^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"),
}
PERSON_IDS = ["profile", "email", "phone", "email_hash", "lid", "pdl_id"]
PERSON_CONTEXT = ["company", "school", "location", "locality", "region", "country", "postal_code"]

PDL_OUTPUT_OPTIONS = {
    "required": _string("Fields a record must have to count as a match, e.g. 'emails AND job_title'; a record "
                        "without them is answered 404", "work_email"),
    "titlecase": _flag("Title-case the record's text instead of PDL's lower case"),
    "data_include": _string("Comma-separated fields to return (prefix one with '-' to leave it out); the rest "
                            "are dropped", "full_name,job_title,work_email", max_length=1000),
    "pretty": _flag("Indent PDL's JSON (no effect on Monid's answer)"),
}

PERSON_ENRICH_SCHEMA = {
    "$schema": SCHEMA,
    "type": "object",
    "description": "Identify one person. Give at least one of profile, email, phone, email_hash, lid or pdl_id, "
                   "or a name (name, or first_name and last_name) together with company, school or location.",
    "properties": {
        **PERSON_FIELDS,
        "min_likelihood": {"type": "integer", "minimum": 1, "maximum": 10,
                           "description": "Answer 404 rather than a match less likely than this (1-10)"},
        **PDL_OUTPUT_OPTIONS,
        "include_if_matched": _flag("Add `matched`: which of the given fields the record matched on"),
    },
    "additionalProperties": False,
    "anyOf": [
        *({"required": [field]} for field in PERSON_IDS),
        {"required": ["name"], "anyOf": [{"required": [field]} for field in PERSON_CONTEXT]},
        {"required": ["first_name", "last_name"], "anyOf": [{"required": [field]} for field in PERSON_CONTEXT]},
    ],
    "examples": [
        {"email": "sean@peopledatalabs.com"},
        {"profile": "linkedin.com/in/seanthorne"},
        {"first_name": "sean", "last_name": "thorne", "company": "people data labs", "min_likelihood": 6},
    ],
}

PERSON_IDENTIFY_SCHEMA = {
    "$schema": SCHEMA,
    "type": "object",
    "description": "Describe a person as far as you know them: give at least one of name, first_name, last_name, "
                   "email, phone, profile, company, school, location, locality, region, street_address, "
                   "postal_code, email_hash or lid. The more fields, the better the ranking.",
    "properties": {
        **{field: schema for field, schema in PERSON_FIELDS.items() if field != "pdl_id"},
        **PDL_OUTPUT_OPTIONS,
        "include_if_matched": _flag("Add which of the given fields each profile matched on"),
    },
    "additionalProperties": False,
    "anyOf": [{"required": [field]} for field in PERSON_FIELDS
              if field not in ("pdl_id", "middle_name", "country", "birth_date")],
    "examples": [
        {"name": "sean thorne", "company": "people data labs"},
        {"first_name": "sean", "last_name": "thorne", "locality": "san francisco"},
    ],
}

PERSON_SEARCH_SCHEMA = {
    "$schema": SCHEMA,
    "type": "object",
    "description": "Give exactly one of sql or query (an Elasticsearch request over PDL's person fields), and how "
                   "many records to return (size).",
    "properties": {
        "sql": _string("SELECT * FROM person WHERE <a condition on PDL person fields>. String literals in single "
                       "quotes; LIMIT and column lists are ignored (use size)",
                       "SELECT * FROM person WHERE job_company_name='people data labs' AND "
                       "location_country='united states'", max_length=10000),
        "query": {"type": "object", "description": "An Elasticsearch 7.7 request body over PDL's person fields: "
                  "{\"query\": {\"bool\": {\"must\": [...]}}}",
                  "properties": {"query": {"type": "object", "minProperties": 1}}, "required": ["query"],
                  "examples": [{"query": {"bool": {"must": [{"term": {"job_company_name": "people data labs"}},
                                                            {"term": {"job_title_role": "engineering"}}]}}}]},
        "size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1,
                 "description": "How many records to return, 1-100 (PDL's default is 1)"},
        "scroll_token": _string("The scroll_token of the previous page, with the same query, for the next page",
                                max_length=500),
        "dataset": _string("Comma-separated datasets to search: resume, email, phone, mobile_phone, "
                           "street_address, consumer_social, developer or all; prefix one with '-' to exclude it",
                           "resume", max_length=200),
        **PDL_OUTPUT_OPTIONS,
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["sql"]}, {"required": ["query"]}],
    "examples": [
        {"sql": "SELECT * FROM person WHERE job_company_name='people data labs' AND job_title_role='engineering'",
         "size": 10},
        {"query": {"query": {"bool": {"must": [{"term": {"job_company_website": "peopledatalabs.com"}},
                                               {"term": {"location_country": "united states"}}]}}}, "size": 5},
    ],
}

COMPANY_ENRICH_SCHEMA = {
    "$schema": SCHEMA,
    "type": "object",
    "description": "Identify one company. Give at least one of website, name, profile, ticker or pdl_id; a "
                   "location narrows a name down.",
    "properties": {
        "website": _string("The company's website or domain", "peopledatalabs.com", max_length=300),
        "name": _string("The company's name", "people data labs", max_length=300),
        "profile": _string("A social profile URL of the company (LinkedIn, Crunchbase, X, ...)",
                           "linkedin.com/company/peopledatalabs"),
        "ticker": _string("The company's stock ticker", "GOOGL", max_length=10),
        "pdl_id": _string("A People Data Labs company ID, from an earlier answer", max_length=100),
        "location": _string("Where the company is, as free text", "san francisco, california"),
        "locality": _string("The company's city or town", "san francisco", max_length=200),
        "region": _string("The company's state or region", "california", max_length=200),
        "country": _string("The company's country", "united states", max_length=100),
        "street_address": _string("The company's street address", max_length=300),
        "postal_code": _string("The company's postal code", max_length=20),
        "min_likelihood": {"type": "integer", "minimum": 1, "maximum": 10,
                           "description": "Answer 404 rather than a match less likely than this (1-10)"},
        **PDL_OUTPUT_OPTIONS,
        "include_if_matched": _flag("Add `matched`: which of the given fields the record matched on"),
    },
    "additionalProperties": False,
    "anyOf": [{"required": [field]} for field in ("website", "name", "profile", "ticker", "pdl_id")],
    "examples": [
        {"website": "peopledatalabs.com"},
        {"name": "people data labs", "locality": "san francisco"},
        {"ticker": "GOOGL"},
    ],
}


# Apify actors

TWEET_SCRAPER_SCHEMA = {
    "$schema": SCHEMA,
    "type": "object",
    "description": "Search X (Twitter) and return matching tweets. Give searchTerms, twitterHandles or startUrls.",
    "properties": {
        "searchTerms": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 500},
                        "minItems": 1, "maxItems": 100,
                        "description": "Search queries in X's search syntax, e.g. 'AI' or 'from:nasa since:2024-01-01'",
                        "examples": [["AI"]]},
        "twitterHandles": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 50},
                           "maxItems": 100, "description": "Accounts whose tweets to return, without the @",
                           "examples": [["nasa"]]},
        "startUrls": _url_list("X URLs to read: tweets, profiles, searches or lists"),
        "maxItems": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10,
                     "description": "At most this many tweets are returned"},
        "sort": {"type": "string", "enum": ["Latest", "Top"], "description": "X's own ranking or newest first"},
        "tweetLanguage": {"type": "string", "minLength": 2, "maxLength": 5,
                          "description": "Only tweets in this language (ISO 639-1, e.g. en)"},
        "onlyVerifiedUsers": _flag("Only tweets by verified accounts"),
        "onlyImage": _flag("Only tweets with an image"),
        "onlyVideo": _flag("Only tweets with a video"),
        "minimumRetweets": {"type": "integer", "minimum": 0, "description": "Only tweets retweeted this often"},
        "minimumFavorites": {"type": "integer", "minimum": 0, "description": "Only tweets liked this often"},
        "minimumReplies": {"type": "integer", "minimum": 0, "description": "Only tweets with this many replies"},
        "start": {"type": "string", "format": "date", "description": "Only tweets from this day on (YYYY-MM-DD)"},
        "end": {"type": "string", "format": "date", "description": "Only tweets before this day (YYYY-MM-DD)"},
    },
    "anyOf": [{"required": ["searchTerms"]}, {"required": ["twitterHandles"]}, {"required": ["startUrls"]}],
    "examples": [
        {"searchTerms": ["AI"], "maxItems": 10},
        {"twitterHandles": ["nasa"], "sort": "Latest", "maxItems": 20},
    ],
}

WEBSITE_CRAWLER_SCHEMA = {
    "$schema": SCHEMA,
    "type": "object",
    "description": "Crawl websites from startUrls (only pages under each start URL) and return each page's text "
                   "and Markdown. Set maxCrawlPages: a run is held and billed for at most that many pages.",
    "properties": {
        "startUrls": _url_list("Where to start; only pages under these URLs are crawled",
                               {"url": "https://docs.apify.com/academy"}),
        "crawlerType": {"type": "string", "enum": ["playwright:adaptive", "playwright:firefox", "playwright:chrome",
                                                   "cheerio", "jsdom"],
                        "description": "How pages are loaded: a headless browser (playwright:*) runs their "
                                       "JavaScript; cheerio is a fast raw HTTP client for static sites; "
                                       "playwright:adaptive picks per page"},
        "maxCrawlPages": {"type": "integer", "minimum": 1, "maximum": 10000,
                          "description": "At most this many pages are crawled, and returned"},
        "maxCrawlDepth": {"type": "integer", "minimum": 0, "maximum": 100, "default": 20,
                          "description": "How many links away from a start URL to follow (0: the start URLs only)"},
        "maxResults": {"type": "integer", "minimum": 1, "maximum": 10000,
                       "description": "At most this many pages are returned (crawled pages may be more)"},
        "includeUrlGlobs": {"type": "array", "maxItems": 100,
                            "items": {"type": "object", "properties": {"glob": {"type": "string", "minLength": 1}},
                                      "required": ["glob"]},
                            "description": "Only follow links matching one of these globs, e.g. "
                                           "{\"glob\": \"https://docs.apify.com/academy/**\"}"},
        "excludeUrlGlobs": {"type": "array", "maxItems": 100,
                            "items": {"type": "object", "properties": {"glob": {"type": "string", "minLength": 1}},
                                      "required": ["glob"]},
                            "description": "Never follow links matching one of these globs"},
        "saveMarkdown": {"type": "boolean", "default": True, "description": "Return each page as Markdown too"},
        "saveHtml": {"type": "boolean", "default": False, "description": "Return each page's cleaned HTML too"},
        "htmlTransformer": {"type": "string", "enum": ["readableText", "readableTextIfPossible", "extractus", "none"],
                            "description": "How the main content is told from navigation and footers"},
        "removeElementsCssSelector": _string("CSS selector of elements to drop before extracting the text",
                                             "nav, footer, .cookie-banner", max_length=2000),
        "useSitemaps": _flag("Also find pages through the sites' sitemaps"),
        "respectRobotsTxtFile": _flag("Skip pages the sites' robots.txt disallow"),
    },
    "required": ["startUrls"],
    "examples": [
        {"startUrls": [{"url": "https://docs.apify.com/academy"}], "crawlerType": "cheerio", "maxCrawlPages": 10},
        {"startUrls": ["https://www.djangoproject.com/start/"], "maxCrawlDepth": 1, "maxCrawlPages": 5,
         "saveHtml": True},
    ],
}

GOOGLE_PLACES_SCHEMA = {
    "$schema": SCHEMA,
    "type": "object",
    "description": "Find places on Google Maps: give searchStringsArray (with locationQuery for where), or "
                   "startUrls of Google Maps pages, or placeIds. Set maxCrawledPlacesPerSearch.",
    "properties": {
        "searchStringsArray": {"type": "array", "minItems": 1, "maxItems": 50,
                               "items": {"type": "string", "minLength": 1, "maxLength": 200},
                               "description": "What to search for, as typed into Google Maps",
                               "examples": [["coffee shop"], ["dentist", "orthodontist"]]},
        "locationQuery": _string("Where to search: a city, region or country", "Prague, Czechia", max_length=200),
        "maxCrawledPlacesPerSearch": {"type": "integer", "minimum": 1, "maximum": 1000,
                                      "description": "At most this many places for each search string"},
        "language": {"type": "string", "pattern": "^[a-z]{2}(-[A-Z]{2})?$", "default": "en",
                     "description": "Language of the place details, e.g. en, de, pt-BR"},
        "countryCode": {"type": "string", "pattern": "^[a-z]{2}$",
                        "description": "Country to search in (ISO 3166 code, e.g. us)"},
        "city": _string("City to search in, when locationQuery is not given", max_length=200),
        "placeMinimumStars": {"type": "string",
                              "enum": ["two", "twoAndHalf", "three", "threeAndHalf", "four", "fourAndHalf"],
                              "description": "Only places rated at least this"},
        "website": {"type": "string", "enum": ["allPlaces", "withWebsite", "withoutWebsite"],
                    "description": "Only places with, or without, a website"},
        "skipClosedPlaces": _flag("Leave out places that are closed for good or for now"),
        "searchMatching": {"type": "string", "enum": ["all", "only_includes", "only_exact"],
                           "description": "Only places whose name includes, or is exactly, the search string"},
        "startUrls": _url_list("Google Maps URLs of places or searches"),
        "placeIds": {"type": "array", "maxItems": 1000, "items": {"type": "string", "minLength": 1, "maxLength": 300},
                     "description": "Google place IDs (ChIJ...) to read"},
        "maxReviews": {"type": "integer", "minimum": 0, "maximum": 5000, "default": 0,
                       "description": "Reviews to add to each place"},
        "maxImages": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 0,
                      "description": "Image URLs to add to each place"},
        "scrapeContacts": _flag("Add emails and social profiles found on each place's website"),
    },
    "anyOf": [{"required": ["searchStringsArray"]}, {"required": ["startUrls"]}, {"required": ["placeIds"]}],
    "examples": [
        {"searchStringsArray": ["coffee shop"], "locationQuery": "Prague, Czechia", "maxCrawledPlacesPerSearch": 10},
        {"searchStringsArray": ["dentist"], "locationQuery": "Austin, Texas", "maxCrawledPlacesPerSearch": 5,
         "placeMinimumStars": "four", "website": "withWebsite", "language": "en"},
    ],
}

INSTAGRAM_SCHEMA = {
    "$schema": SCHEMA,
    "type": "object",
    "description": "Read public Instagram profiles, posts, hashtags or places: give directUrls, or a search. "
                   "resultsType says what to return; resultsLimit how many for each URL.",
    "properties": {
        "directUrls": {"type": "array", "minItems": 1, "maxItems": 100,
                       "items": {"type": "string", "maxLength": 500, "pattern": "^https://(www\\.)?instagram\\.com/"},
                       "description": "Instagram URLs: profiles, posts, reels, hashtags (explore/tags) or places",
                       "examples": [["https://www.instagram.com/natgeo/"]]},
        "resultsType": {"type": "string", "enum": ["posts", "comments", "details", "mentions", "reels"],
                        "default": "posts",
                        "description": "posts or reels of each URL; comments of each post; details: the profile, "
                                       "hashtag or place itself; mentions: posts that tag the profile"},
        "resultsLimit": {"type": "integer", "minimum": 1, "maximum": 1000,
                         "description": "At most this many posts or comments for each URL"},
        "search": _string("Look up profiles, hashtags or places by this text instead of directUrls", "coffee",
                          max_length=200),
        "searchType": {"type": "string", "enum": ["user", "hashtag", "place"], "default": "hashtag",
                       "description": "What the search looks for"},
        "searchLimit": {"type": "integer", "minimum": 1, "maximum": 250, "default": 1,
                        "description": "How many search results to read"},
        "onlyPostsNewerThan": _string("Only posts from this date on: YYYY-MM-DD, or relative like '7 days'",
                                      "2024-01-01", max_length=30),
        "addParentData": _flag("Add to each item the profile or hashtag it came from"),
    },
    "anyOf": [{"required": ["directUrls"]}, {"required": ["search"]}],
    "examples": [
        {"directUrls": ["https://www.instagram.com/natgeo/"], "resultsType": "posts", "resultsLimit": 10},
        {"directUrls": ["https://www.instagram.com/nasa/"], "resultsType": "details"},
        {"search": "latteart", "searchType": "hashtag", "resultsLimit": 5},
    ],
}


PROVIDERS = [
    {"slug": "pdl", "name": "People Data Labs", "mode": "sync",
     "description": "People Data Labs: profiles of about three billion people and tens of millions of companies "
                    "(jobs, employers, education, contact details, social profiles, firmographics), looked up one "
                    "at a time (enrichment, identification) or by query (search). Answers at once.",
     "doc_url": "https://docs.peopledatalabs.com/docs"},
    {"slug": "apify", "name": "Apify", "mode": "async",
     "description": "Apify: a marketplace of cloud scrapers (actors) for websites, social networks and maps. A run "
                    "takes from seconds to many minutes; POST /v1/run answers 202 and the results (a list of "
                    "items) come with the finished run at GET /v1/runs/{runId}.",
     "doc_url": "https://docs.apify.com/api/v2"},
]

ENDPOINTS = [
    {"provider": "pdl", "path": "/person/enrich", "name": "Person enrichment", "method": "GET",
     "description": "Enrich a person: one person's profile (name, job, company, emails, location) from an email, "
                    "a social profile URL, a phone number or a name with a company.",
     "tags": ["person", "people", "enrichment", "email", "linkedin", "contact", "profile", "b2b"],
     "doc_url": f"{PDL_DOCS}/reference-person-enrichment-api",
     "notes": "Answers the single best match, or HTTP 404 when PDL is not confident (a 404 is not charged). "
              "Give the most identifying field you have: an email or profile URL matches best. min_likelihood "
              "trades recall for precision. The output is the person record; values are lower case unless "
              "titlecase is set. For several candidates, use /person/identify.",
     "input_schema": PERSON_ENRICH_SCHEMA, "price_type": "PER_CALL", "price_micros": 3000, "deadline_seconds": 30},
    {"provider": "pdl", "path": "/person/search", "name": "Person search", "method": "POST",
     "description": "Search people: every person matching a query over PDL's person fields (job title, company, "
                    "seniority, skills, location, education), written in SQL or Elasticsearch; for prospecting "
                    "and finding segments, up to 100 records a call.",
     "tags": ["person", "people", "search", "prospecting", "leads", "sql", "elasticsearch", "b2b"],
     "doc_url": f"{PDL_DOCS}/reference-person-search-api",
     "notes": "The output is {data: [person records], total: how many match, scroll_token}; send the same query "
              "with that scroll_token for the next page. The query runs on PDL's raw fields without cleaning, so "
              "use their exact names and lower-case values (see PDL's person schema). Nothing matching is a "
              "404, not charged. The price is per call, whatever size.",
     "input_schema": PERSON_SEARCH_SCHEMA, "price_type": "PER_CALL", "price_micros": 10000,
     "deadline_seconds": 30},
    {"provider": "pdl", "path": "/person/identify", "name": "Person identification", "method": "GET",
     "description": "Identify a person from partial details (a name and a city, an old email, a company): up to "
                    "20 candidate profiles ranked by how well each matches, for when enrichment is not sure.",
     "tags": ["person", "people", "identity", "identify", "match", "candidates", "kyc", "fraud"],
     "doc_url": f"{PDL_DOCS}/reference-person-identify-api",
     "notes": "The output is a list of {data: person record, match_score: 1-99, matched_on: [fields]}, best "
              "first. Unlike enrichment it accepts a name alone. No candidate is a 404 (not charged by Monid, "
              "though PDL counts the call).",
     "input_schema": PERSON_IDENTIFY_SCHEMA, "price_type": "PER_CALL", "price_micros": 5000,
     "deadline_seconds": 30},
    {"provider": "pdl", "path": "/company/enrich", "name": "Company enrichment", "method": "GET",
     "description": "Enrich a company: one company's profile (name, website, industry, size, employee count, "
                    "founding year, headquarters, social profiles, ticker) from its website, name or profile.",
     "tags": ["company", "organization", "enrichment", "firmographics", "domain", "industry", "b2b"],
     "doc_url": f"{PDL_DOCS}/reference-company-enrichment-api",
     "notes": "A website or domain matches best; a name alone may need locality or country. The output is the "
              "company record with its likelihood (1-10). No confident match is a 404, not charged.",
     "input_schema": COMPANY_ENRICH_SCHEMA, "price_type": "PER_CALL", "price_micros": 3000,
     "deadline_seconds": 30},
    {"provider": "apify", "path": "/apidojo/tweet-scraper", "name": "Tweet search (X / Twitter)", "method": "POST",
     "description": "Twitter (X) posts: search tweets by keyword or handle with text, author, date and engagement.",
     "tags": ["twitter", "x", "tweets", "social media", "posts", "search", "sentiment"],
     "doc_url": "https://apify.com/apidojo/tweet-scraper",
     "notes": "Asynchronous: poll the run. Each item is a tweet with id, url, text, author, createdAt and like, "
              "retweet and reply counts. maxItems caps the tweets (10 if not given). The price is per run.",
     "input_schema": TWEET_SCRAPER_SCHEMA, "price_type": "PER_CALL", "price_micros": 3000, "deadline_seconds": 900,
     "result_limit_field": "maxItems"},
    {"provider": "apify", "path": "/apify/website-content-crawler", "name": "Website content crawler",
     "method": "POST",
     "description": "Crawl a website and get its pages' main content as clean text and Markdown, without "
                    "navigation, ads or cookie banners: for feeding documentation, blogs or knowledge bases to an "
                    "LLM or a RAG index.",
     "tags": ["web", "website", "crawler", "scraping", "markdown", "content", "rag", "llm", "documentation"],
     "doc_url": "https://apify.com/apify/website-content-crawler",
     "notes": "Asynchronous: poll the run. Each item is a page: url, crawl {loadedUrl, depth, httpStatusCode}, "
              "metadata {title, description, languageCode}, text and markdown. Always set maxCrawlPages: the run "
              "is held and billed for that many pages (100 if not given, and no more are kept). cheerio is much "
              "faster for static sites; browsers are needed for pages built by JavaScript.",
     "input_schema": WEBSITE_CRAWLER_SCHEMA, "price_type": "PER_RESULT", "price_micros": 2000,
     "flat_fee_micros": 10000, "result_limit_field": "maxCrawlPages", "default_result_estimate": 100,
     "deadline_seconds": 3600},
    {"provider": "apify", "path": "/compass/crawler-google-places", "name": "Google Maps places",
     "method": "POST",
     "description": "Google Maps places: businesses and points of interest matching a search in an area, with "
                    "address, phone, website, category, rating, review count, coordinates and opening hours; for "
                    "local lead lists and market research.",
     "tags": ["google maps", "places", "local business", "leads", "reviews", "ratings", "geo", "addresses"],
     "doc_url": "https://apify.com/compass/crawler-google-places",
     "notes": "Asynchronous: poll the run. Each item is a place: title, categoryName, address, city, "
              "countryCode, phone, website, location {lat, lng}, totalScore, reviewsCount, placeId, url. Set "
              "maxCrawledPlacesPerSearch: the run is held and billed for that many places (50 if not given) and "
              "keeps no more, so give one search string per run to get that many for each.",
     "input_schema": GOOGLE_PLACES_SCHEMA, "price_type": "PER_RESULT", "price_micros": 5000,
     "flat_fee_micros": 10000, "result_limit_field": "maxCrawledPlacesPerSearch", "default_result_estimate": 50,
     "deadline_seconds": 1800},
    {"provider": "apify", "path": "/apify/instagram-scraper", "name": "Instagram scraper", "method": "POST",
     "description": "Instagram: public posts, reels and comments of profiles, hashtags and places, or the "
                    "profiles themselves (bio, follower and post counts), with captions, likes, comments and "
                    "dates.",
     "tags": ["instagram", "social media", "posts", "reels", "profiles", "hashtags", "comments", "influencers"],
     "doc_url": "https://apify.com/apify/instagram-scraper",
     "notes": "Asynchronous: poll the run. Posts carry id, type, shortCode, caption, hashtags, url, likesCount, "
              "commentsCount, timestamp and ownerUsername; details are profiles. Set resultsLimit: the run is held "
              "and billed for that many results (50 if not given) and keeps no more, so give one URL per run to "
              "get that many for each. Private profiles return nothing.",
     "input_schema": INSTAGRAM_SCHEMA, "price_type": "PER_RESULT", "price_micros": 3000, "flat_fee_micros": 5000,
     "result_limit_field": "resultsLimit", "default_result_estimate": 50, "deadline_seconds": 900},
]
