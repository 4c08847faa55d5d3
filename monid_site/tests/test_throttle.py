"""The account pages are throttled per client address and per account, in the shared cache: past the limit a
POST is a 429 with Retry-After, and neither a password is checked nor a mail sent."""

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail

from monid_site.throttle import THROTTLES

pytestmark = pytest.mark.django_db

START = "2026-12-07 10:00:05Z"  # five seconds into a 15-minute and an hour window


def log_in(client, username, password="wrong-password", address="203.0.113.7", **headers):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def test_login_attempts_for_one_account_stop_at_the_limit_even_with_the_right_password(client, alice, bob):
    _, _, per_account = THROTTLES["login"]
    with time_machine.travel(START, tick=False):
        for i in range(per_account):
            assert log_in(client, "alice", address=f"198.51.100.{i}").status_code == 200  # the form again
        refused = log_in(client, "Alice ", "alice-pass-1", address="198.51.100.99")
        assert refused.status_code == 429 and refused["Retry-After"] == str(900 - 5)
        assert "Too many attempts" in refused.content.decode() and "_auth_user_id" not in client.session
        assert log_in(client, "bob", "bob-pass-1", address="198.51.100.99").status_code == 302  # others are not
    with time_machine.travel("2026-12-07 10:15:01Z", tick=False):
        assert log_in(client, "alice", "alice-pass-1").status_code == 302  # a new window


def test_one_address_trying_many_accounts_is_stopped(client):
    _, per_address, _ = THROTTLES["login"]
    with time_machine.travel(START, tick=False):
        for i in range(per_address):
            assert log_in(client, f"user{i}").status_code == 200
        assert log_in(client, "user-next").status_code == 429
        assert log_in(client, "user-next", address="203.0.113.8").status_code == 200


def test_sign_up_is_throttled_per_email_and_creates_nothing_past_the_limit(client):
    _, _, per_account = THROTTLES["sign-up"]
    with time_machine.travel(START, tick=False):
        for i in range(per_account):
            client.post(
                "/signup/",
                {"username": "", "email": "dora@example.com", "password": "x"},
                REMOTE_ADDR=f"198.51.100.{i}",
            )
        response = client.post(
            "/signup/",
            {
                "username": "dora",
                "email": "Dora@example.com",
                "password": "correct horse 42",
                "workspace_name": "Dora's Data",
            },
            REMOTE_ADDR="198.51.100.99",
        )
    assert response.status_code == 429 and int(response["Retry-After"]) == 3600 - 5
    assert not get_user_model().objects.filter(username="dora").exists()


def test_password_reset_mails_stop_at_the_limit(client, alice):
    alice.email = "alice@example.com"
    alice.save(update_fields=["email"])
    _, _, per_account = THROTTLES["password-reset"]
    with time_machine.travel(START, tick=False):
        for i in range(per_account + 2):
            client.post("/password-reset/", {"email": alice.email}, REMOTE_ADDR=f"198.51.100.{i}")
    assert len(mail.outbox) == per_account


def test_the_forwarded_address_counts_only_behind_trusted_proxies(client, settings):
    _, per_address, _ = THROTTLES["login"]
    with time_machine.travel(START, tick=False):
        # Untrusted, a forged header changes nothing: every attempt counts against the real address.
        for i in range(per_address):
            log_in(client, f"user{i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
        assert log_in(client, "user-next", HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429
        # Behind one proxy, the address it appended is the client's (what the client sent before it is not).
        settings.MONID_TRUSTED_PROXIES = 1
        assert log_in(client, "user-next", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.200").status_code == 200


def test_the_admins_login_is_the_throttled_one(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/admin/"
