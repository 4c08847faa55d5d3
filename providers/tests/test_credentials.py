"""Provider credentials set in the dashboard: encrypted at rest with MONID_CREDENTIALS_KEY, sent by live runs in
place of the environment's, never shown back, never logged, and recorded in the catalog's history."""

import io
import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.test import Client

from conftest import PDL_KEY
from monid_site.errors import ApplicationError
from monid_site.logs import JsonFormatter, RedactSecrets
from providers.credentials import CredentialUnreadable, credential_of
from providers.models import CatalogChange, Provider, ProviderCredential
from providers.services import provider_credential_clear, provider_credential_set
from runs.models import Run

pytestmark = pytest.mark.django_db

PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys(settings):
    """The server's credential keys are KEY_A; a test changes them as MONID_CREDENTIALS_KEY would."""
    settings.MONID_CREDENTIALS_KEY = KEY_A


@pytest.fixture
def pdl(catalog, settings):
    """PDL with a wrong key in the environment: only a credential set in the dashboard gets a live run through."""
    settings.PDL_API_KEY = "wrong-key-in-the-environment"
    return Provider.objects.get(slug="pdl")


def run(client, key):
    response = client.post(
        "/v1/run", data=json.dumps(PDL_MATCH), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    return response.status_code, response.json()


def provider_form(provider, **changes):
    """The provider's change form as a browser posts it, with these fields changed."""
    data = {**model_to_dict(provider, exclude=["id"]), **changes}
    return {name: json.dumps(value) if isinstance(value, (dict, list)) else value for name, value in data.items()} | {
        "endpoints-TOTAL_FORMS": 0,
        "endpoints-INITIAL_FORMS": 0,
    }


def test_a_dashboard_credential_is_sent_instead_of_the_environments_and_removing_it_goes_back(
    client, alice_key, pdl, keys, operator
):
    assert run(client, alice_key)[1]["providerResponse"]["httpStatus"] == 401  # PDL refuses the environment's key
    provider_credential_set(user=operator, provider=pdl, secret=PDL_KEY)
    status, body = run(client, alice_key)
    assert (status, body["status"], body["providerResponse"]["httpStatus"]) == (200, "COMPLETED", 200)
    provider_credential_clear(user=operator, provider=pdl)
    assert run(client, alice_key)[1]["providerResponse"]["httpStatus"] == 401


def test_it_is_stored_encrypted_and_the_history_says_it_changed_never_what_it_is(pdl, keys, operator):
    provider_credential_set(user=operator, provider=pdl, secret=PDL_KEY)
    stored = ProviderCredential.objects.get(provider=pdl)
    assert PDL_KEY not in stored.ciphertext and Fernet(KEY_A).decrypt(stored.ciphertext.encode()).decode() == PDL_KEY
    assert (stored.set_by, credential_of(pdl)) == (operator, PDL_KEY)
    change = CatalogChange.objects.get()
    assert (change.changed_by, change.subject) == (operator, "provider pdl")
    before, after = change.changes["credential"]
    assert before == "from the environment variable PDL_API_KEY"
    assert after.startswith("set in the dashboard on ") and after.endswith(" by olivia")
    assert PDL_KEY not in json.dumps(change.changes)


def test_a_credential_is_one_printable_line(pdl, keys, operator):
    for bad in ["", "   ", "line\nbreak", "tab\tinside", "x" * 4097]:
        with pytest.raises(ApplicationError, match="one line of at most 4096 printable characters"):
            provider_credential_set(user=operator, provider=pdl, secret=bad)
    assert not ProviderCredential.objects.exists()


def test_a_credential_that_cannot_be_decrypted_refuses_live_runs_and_never_falls_back(
    client, alice_key, alice_test_key, pdl, keys, operator, settings
):
    settings.PDL_API_KEY = PDL_KEY  # the environment's would work: it is not used behind the operator's back
    provider_credential_set(user=operator, provider=pdl, secret=PDL_KEY)
    settings.MONID_CREDENTIALS_KEY = KEY_B
    status, body = run(client, alice_key)
    assert status == 503 and body["message"] == (
        "The credential of provider 'pdl' set in the dashboard cannot be read: it was encrypted with a key "
        "MONID_CREDENTIALS_KEY no longer holds. An operator has to set it again on the provider's page in the "
        "catalog admin, or restore the key."
    )
    settings.MONID_CREDENTIALS_KEY = ""
    status, body = run(client, alice_key)
    assert status == 503 and "MONID_CREDENTIALS_KEY is unset" in body["message"]
    assert run(client, alice_test_key)[0] == 200  # test mode needs no credential
    assert Run.objects.filter(is_test=False).count() == 0


def test_an_async_run_whose_credential_became_unreadable_fails_with_the_reason(
    client, alice_key, catalog, keys, operator, task_queue, tweets_per_call, settings
):
    provider_credential_set(user=operator, provider=Provider.objects.get(slug="apify"), secret="sandbox-apify-token")
    body = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["ai"]}}
    response = client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_key}"
    )
    assert response.status_code == 202
    settings.MONID_CREDENTIALS_KEY = KEY_B
    task_queue.run()
    failed = Run.objects.get(pk=response.json()["runId"])
    assert failed.status == "FAILED" and "cannot be read" in failed.error_message
    assert failed.reported_cost_micros == 0


def test_keys_rotate_newest_first(pdl, keys, operator, capsys, settings):
    provider_credential_set(user=operator, provider=pdl, secret=PDL_KEY)
    before = ProviderCredential.objects.get().ciphertext
    settings.MONID_CREDENTIALS_KEY = f"{KEY_B},{KEY_A}"
    assert credential_of(pdl) == PDL_KEY  # still read with the older key
    call_command("credentials_rotate")
    assert "1 credential(s) now encrypted with the newest key" in capsys.readouterr().out
    after = ProviderCredential.objects.get().ciphertext
    assert after != before and Fernet(KEY_B).decrypt(after.encode()).decode() == PDL_KEY
    settings.MONID_CREDENTIALS_KEY = KEY_B
    assert credential_of(pdl) == PDL_KEY


def test_rotation_names_what_it_cannot_read(pdl, keys, operator, settings):
    provider_credential_set(user=operator, provider=pdl, secret=PDL_KEY)
    settings.MONID_CREDENTIALS_KEY = KEY_B
    with pytest.raises(Exception, match="pdl: it was encrypted with a key MONID_CREDENTIALS_KEY no longer holds"):
        call_command("credentials_rotate")
    with pytest.raises(CredentialUnreadable):
        credential_of(pdl)


def test_an_operator_sets_it_on_the_providers_page_which_never_shows_it_back(admin_client, pdl, keys):
    client = admin_client
    url = f"/admin/providers/provider/{pdl.pk}/change/"
    page = client.get(url).content.decode()
    assert "From the environment variable PDL_API_KEY." in page
    assert 'type="password" name="new_credential"' in page and "wrong-key-in-the-environment" not in page
    response = client.post(url, provider_form(pdl, new_credential=f"  {PDL_KEY}  "))
    assert response.status_code == 302
    assert credential_of(pdl) == PDL_KEY
    page = client.get(url).content.decode()
    assert "Set in the dashboard on " in page and PDL_KEY not in page
    assert PDL_KEY not in client.get("/admin/providers/catalogchange/").content.decode()
    assert PDL_KEY not in client.get("/admin/providers/provider/").content.decode()
    # Saving the page again with the box left empty keeps it; ticking "remove" forgets it.
    assert client.post(url, provider_form(pdl)).status_code == 302
    assert credential_of(pdl) == PDL_KEY
    assert client.post(url, provider_form(pdl, remove_credential="on")).status_code == 302
    assert not ProviderCredential.objects.exists() and credential_of(pdl) == "wrong-key-in-the-environment"


def test_the_page_refuses_what_it_cannot_store(admin_client, pdl, keys, settings):
    client = admin_client
    url = f"/admin/providers/provider/{pdl.pk}/change/"
    response = client.post(url, provider_form(pdl, new_credential=PDL_KEY, remove_credential="on"))
    assert "Either set a new credential or remove the one set here, not both." in response.content.decode()
    settings.MONID_CREDENTIALS_KEY = ""
    response = client.post(url, provider_form(pdl, new_credential=PDL_KEY))
    page = response.content.decode()
    assert (
        response.status_code == 200 and "This server cannot store credentials: MONID_CREDENTIALS_KEY is unset" in page
    )
    assert PDL_KEY not in page  # not even echoed back into the box
    assert not ProviderCredential.objects.exists()


def test_the_form_needs_its_csrf_token(admin_user, pdl, keys):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(f"/admin/providers/provider/{pdl.pk}/change/", provider_form(pdl, new_credential=PDL_KEY))
    assert response.status_code == 403 and not ProviderCredential.objects.exists()


def test_customers_cannot_reach_the_page(client, alice, pdl, keys):
    client.force_login(alice)
    response = client.post(f"/admin/providers/provider/{pdl.pk}/change/", provider_form(pdl, new_credential="x"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not ProviderCredential.objects.exists()


def test_a_credential_in_use_is_blanked_from_every_log_line(pdl, keys, operator):
    secret = "dashboard-secret-0123456789"
    provider_credential_set(user=operator, provider=pdl, secret=secret)
    credential_of(pdl)  # a run sends it
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("monid.test")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"GET https://api.example/v5?key={secret}&x=1 failed near {secret}")
        except RuntimeError:
            logger.exception("the provider said %s", secret)
    finally:
        logger.removeHandler(handler)
    assert secret not in buffer.getvalue() and "[redacted]" in buffer.getvalue()
