"""The provider health page in Chromium: a day of history still fits a phone, and breaks no Content-Security-Policy."""

import datetime

import pytest
from django.utils import timezone

from providers.models import Endpoint, EndpointHealthSample

pytestmark = pytest.mark.django_db(transaction=True)

STATES = ("healthy", "degraded", "outage", "unknown")


def test_the_page_with_its_history_fits_a_phone(page, sign_in, operator, catalog):
    now = timezone.now()
    for path in ("/person/enrich", "/apidojo/tweet-scraper"):
        for hours in range(24):
            EndpointHealthSample.objects.create(
                endpoint=Endpoint.objects.get(path=path),
                state=STATES[hours % 4],
                at=now - datetime.timedelta(hours=hours),
                counted=20,
                successes=19,
                median_ms=1200,
                p95_ms=4000,
            )
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("olivia", "operator-pass-1")

    page.goto("/ops/providers/")

    assert page.locator("tbody tr").count() == 2
    assert page.locator("tbody tr svg rect").count() == 48
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
