"""Customer accounts and self-service: sign up, password reset, invitations, key rename and the usage page."""

import datetime
import html.parser
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from billing.accounts import invitation_create
from billing.keys import hash_key
from billing.models import ApiKey, Invitation, Workspace
from billing.queries import cost_summary_by
from billing.tests.helpers import FEB_10, FEB_11, rollup

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/invite/[A-Za-z0-9_-]+/)")
RESET_LINK = re.compile(r"https?://[^/\s]+(/reset/[^\s]+/)")
User = get_user_model()


def logged_in(client, user):
    client.force_login(user)
    return client


def sign_up(client, **fields):
    return client.post(
        "/signup/",
        {
            "username": "dora",
            "email": "dora@example.com",
            "password": "correct horse 42",
            "workspace_name": "Dora's Data",
            **fields,
        },
    )


@pytest.fixture
def carol(db):
    """Someone with an account and no workspace yet, whom alice invites."""
    return User.objects.create_user("carol", email="carol@example.com", password="carol-pass-1")


def invite(user, email="carol@example.com"):
    """An invitation from `user`'s workspace to `email`, and the path of its link."""
    _, token = invitation_create(workspace=user.workspaces.get(), email=email, invited_by=user)
    return f"/invite/{token}/"


# Sign up


def test_signing_up_creates_a_user_and_their_own_workspace_and_logs_them_in(client):
    response = sign_up(client)
    keys = client.get("/keys/")

    assert response.status_code == 302 and response["Location"] == "/keys/"
    assert keys.status_code == 200 and b"dora" in keys.content
    user = User.objects.get(username="dora")
    assert user.email == "dora@example.com" and user.check_password("correct horse 42")
    assert [(w.slug, w.name) for w in user.workspaces.all()] == [("doras-data", "Dora's Data")]


def test_a_new_workspace_gets_a_slug_no_other_workspace_has(client, alice):
    response = sign_up(client, workspace_name="ACME")

    assert response.status_code == 302
    assert User.objects.get(username="dora").workspaces.get().slug == "acme-2"
    assert Workspace.objects.get(slug="acme").members.get() == alice


def test_signing_up_never_makes_an_operator(client):
    sign_up(client, is_staff="on", is_superuser="on")

    user = User.objects.get(username="dora")
    assert not user.is_staff and not user.is_superuser


def test_a_taken_username_is_a_form_error(client, alice):
    response = sign_up(client, username="Alice")

    assert response.status_code == 409
    assert "The username “Alice” is taken" in response.content.decode()
    assert not User.objects.filter(username="Alice").exists()
    assert Workspace.objects.count() == 1


@pytest.mark.parametrize(
    "password, message",
    [
        ("short1", "This password is too short"),
        ("password123", "This password is too common"),
        ("83920174651", "This password is entirely numeric"),
        ("dora@example", "The password is too similar to the email"),
    ],
)
def test_a_weak_password_is_a_form_error(client, password, message):
    response = sign_up(client, password=password)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists() and not Workspace.objects.exists()


def test_a_signed_in_customer_is_sent_from_sign_up_to_their_keys(client, alice):
    response = logged_in(client, alice).get("/signup/")

    assert response.status_code == 302 and response["Location"] == "/keys/"


def test_the_login_page_links_to_sign_up_and_password_reset(client):
    response = client.get("/login/")

    assert response.status_code == 200
    assert 'href="/signup/"' in response.content.decode()
    assert 'href="/password-reset/"' in response.content.decode()


def test_sign_up_without_a_csrf_token_is_refused():
    response = sign_up(Client(enforce_csrf_checks=True))

    assert response.status_code == 403
    assert not User.objects.exists()


# Password reset


def test_a_password_reset_emails_a_link_that_sets_a_new_password(client, alice, mailoutbox):
    alice.email = "alice@example.com"
    alice.save(update_fields=["email"])

    asked = client.post("/password-reset/", {"email": "ALICE@example.com"})
    link = RESET_LINK.search(mailoutbox[0].body)[1]
    opened = client.get(link, follow=True)
    changed = client.post(
        opened.redirect_chain[-1][0], {"new_password1": "a new secret 77", "new_password2": "a new secret 77"}
    )

    assert asked.status_code == 302 and asked["Location"] == "/password-reset/sent/"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["alice@example.com"]
    assert mailoutbox[0].subject == "Reset your Monid password"
    assert opened.status_code == 200 and b"Choose a new password" in opened.content
    assert changed.status_code == 302 and changed["Location"] == "/reset/done/"
    assert Client().login(username="alice", password="a new secret 77")
    assert not Client().login(username="alice", password="alice-pass-1")


def test_a_password_reset_link_works_once(client, alice, mailoutbox):
    alice.email = "alice@example.com"
    alice.save(update_fields=["email"])
    client.post("/password-reset/", {"email": "alice@example.com"})
    link = RESET_LINK.search(mailoutbox[0].body)[1]
    form = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form, {"new_password1": "a new secret 77", "new_password2": "a new secret 77"})

    again = Client().get(link, follow=True)

    assert again.status_code == 200
    assert b"This link no longer works" in again.content


def test_a_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, alice, mailoutbox):
    response = client.post("/password-reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mailoutbox == []


# Invitations


def test_a_member_invites_a_teammate_by_email_and_sees_the_link_once(client, alice, mailoutbox):
    posted = logged_in(client, alice).post("/workspace/", {"email": "Carol@Example.com"})
    shown = client.get("/workspace/")
    reloaded = client.get("/workspace/")

    assert posted.status_code == 302 and posted["Location"] == "/workspace/"
    path = LINK.search(shown.content.decode())[1]
    assert shown["Cache-Control"].startswith("max-age=0")
    assert "Invitation emailed to carol@example.com" in shown.content.decode()
    assert LINK.search(reloaded.content.decode()) is None
    assert all(path not in str(session.get_decoded()) for session in Session.objects.all())  # gone from the store
    assert "carol@example.com" in reloaded.content.decode()  # still listed, as pending
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["carol@example.com"]
    assert path in mailoutbox[0].body and "Acme" in mailoutbox[0].subject
    invitation = Invitation.objects.get()
    assert (invitation.workspace.slug, invitation.email, invitation.invited_by) == ("acme", "carol@example.com", alice)
    assert invitation.expires_at - invitation.created_at == datetime.timedelta(days=7)


def test_an_invitation_token_is_stored_only_as_a_hash(alice):
    token = invite(alice).split("/")[2]

    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_key(token)
    assert token not in {invitation.token_hash, invitation.email, str(invitation.pk)}


def test_the_workspace_page_lists_members_and_pending_invitations(client, alice, carol):
    acme = alice.workspaces.get()
    dave = User.objects.create_user("dave", email="dave@example.com")
    acme.members.add(dave)
    invite(alice, "erin@example.com")

    response = logged_in(client, alice).get("/workspace/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "alice" in body and "dave@example.com" in body
    assert "erin@example.com" in body
    assert "carol" not in body


def test_a_new_visitor_signs_up_straight_into_the_inviting_workspace(client, alice):
    path = invite(alice)

    page = client.get(path)
    joined = client.post(path, {"username": "carol", "password": "carol's secret 9"})
    workspace = client.get("/workspace/")

    assert page.status_code == 200 and b"Create account and join" in page.content
    assert joined.status_code == 302 and joined["Location"] == "/workspace/"
    assert "you joined Acme" in workspace.content.decode()
    carol = User.objects.get(username="carol")
    assert carol.email == "carol@example.com" and not carol.is_staff
    assert [w.slug for w in carol.workspaces.all()] == ["acme"]
    assert Workspace.objects.count() == 1
    assert Invitation.objects.get().accepted_by == carol


def test_a_failed_sign_up_through_an_invitation_leaves_it_pending(client, alice):
    path = invite(alice)

    response = client.post(path, {"username": "alice", "password": "carol's secret 9"})

    assert response.status_code == 409 and b"is taken" in response.content
    assert Invitation.objects.get().accepted_at is None
    assert client.get(path).status_code == 200


def test_a_signed_in_user_with_the_invited_address_joins_by_posting(client, alice, carol):
    path = invite(alice)

    page = logged_in(client, carol).get(path)
    joined = client.post(path)

    assert page.status_code == 200 and b"Join Acme</button>" in page.content
    assert joined.status_code == 302 and joined["Location"] == "/workspace/"
    assert [w.slug for w in carol.workspaces.all()] == ["acme"]
    assert Invitation.objects.get().accepted_at is not None


def test_opening_an_invitation_joins_nothing(client, alice, carol):
    path = invite(alice)

    logged_in(client, carol).get(path)

    assert not carol.workspaces.exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_expired_invitation_is_410(client, alice, carol, time_machine):
    path = invite(alice)
    time_machine.move_to(timezone.now() + datetime.timedelta(days=7, seconds=1))

    seen = client.get(path)
    posted = logged_in(client, carol).post(path)

    assert seen.status_code == 410 and b"This invitation has expired" in seen.content
    assert posted.status_code == 410
    assert not carol.workspaces.exists()


def test_a_used_invitation_is_410(client, alice, carol):
    path = invite(alice)
    logged_in(client, carol).post(path)

    response = Client().post(path, {"username": "mallory", "password": "mallory's secret 9"})

    assert response.status_code == 410 and b"already used" in response.content
    assert not User.objects.filter(username="mallory").exists()


def test_an_unknown_invitation_is_404(client, alice, carol):
    invite(alice)

    response = logged_in(client, carol).post("/invite/not-a-real-token/")

    assert response.status_code == 404 and b"not valid" in response.content
    assert not carol.workspaces.exists()


def test_another_workspaces_member_cannot_use_an_invitation_sent_to_someone_else(client, alice, bob):
    path = invite(alice)

    seen = logged_in(client, bob).get(path)
    posted = client.post(path)

    assert seen.status_code == 403 and b"was sent to carol@example.com" in seen.content
    assert posted.status_code == 403
    assert [w.slug for w in bob.workspaces.all()] == ["globex"]
    assert Invitation.objects.get().accepted_at is None


def test_another_workspaces_member_does_not_see_its_invitations(client, alice, bob):
    invite(alice)

    response = logged_in(client, bob).get("/workspace/")

    assert response.status_code == 200
    assert b"carol@example.com" not in response.content and b"alice" not in response.content


def test_another_workspaces_member_cannot_withdraw_its_invitations(client, alice, bob):
    invite(alice)

    response = logged_in(client, bob).post("/workspace/invitations/withdraw/", {"email": "carol@example.com"})

    assert response.status_code == 404
    assert Invitation.objects.filter(accepted_at__isnull=True).count() == 1


def test_a_member_of_another_workspace_with_the_invited_address_is_told_an_account_has_one(client, alice, bob):
    bob.email = "bob@example.com"
    bob.save(update_fields=["email"])
    path = invite(alice, "bob@example.com")

    response = logged_in(client, bob).post(path)

    assert response.status_code == 409 and b"an account belongs to one workspace" in response.content
    assert [w.slug for w in bob.workspaces.all()] == ["globex"]


def test_withdrawing_an_invitation_stops_its_link(client, alice):
    path = invite(alice)

    response = logged_in(client, alice).post("/workspace/invitations/withdraw/", {"email": "carol@example.com"})

    assert response.status_code == 302
    assert Client().get(path).status_code == 404
    assert not Invitation.objects.exists()


def test_inviting_an_address_again_replaces_the_earlier_link(client, alice):
    first = invite(alice)
    second = invite(alice)

    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200
    assert Invitation.objects.count() == 1


def test_inviting_a_member_is_a_form_error(client, alice, mailoutbox):
    alice.email = "alice@example.com"
    alice.save(update_fields=["email"])

    response = logged_in(client, alice).post("/workspace/", {"email": "alice@example.com"})

    assert response.status_code == 409 and b"already a member" in response.content
    assert not Invitation.objects.exists() and mailoutbox == []


def test_an_invalid_address_is_a_form_error(client, alice, mailoutbox):
    response = logged_in(client, alice).post("/workspace/", {"email": "carol at example"})

    assert response.status_code == 400 and b"Enter a valid email address." in response.content
    assert not Invitation.objects.exists() and mailoutbox == []


def test_an_invitation_that_cannot_be_emailed_still_shows_its_link(client, alice, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr("billing.accounts.send_mail", refuse)

    logged_in(client, alice).post("/workspace/", {"email": "carol@example.com"})
    shown = client.get("/workspace/")

    assert "could not be emailed" in shown.content.decode()
    assert LINK.search(shown.content.decode()) is not None


# Editing keys


def test_renaming_a_key_changes_its_label_and_it_keeps_working(client, alice, alice_key):
    response = logged_in(client, alice).post("/keys/alice-live/edit/", {"label": "crawler"}, follow=True)

    assert response.status_code == 200 and response.redirect_chain == [("/keys/", 302)]
    assert "The key “alice-live” is saved, now labelled “crawler”." in response.content.decode()
    assert ApiKey.objects.filter(workspace__slug="acme").get().label == "crawler"
    assert Client().get("/v1/runs", HTTP_AUTHORIZATION=f"Bearer {alice_key}").status_code == 200


def test_the_keys_page_links_each_active_key_to_its_edit_page(client, alice, alice_key):
    keys = logged_in(client, alice).get("/keys/")
    page = client.get("/keys/alice-live/edit/")

    assert 'href="/keys/alice-live/edit/"' in keys.content.decode()
    assert page.status_code == 200 and b'value="alice-live"' in page.content


def test_renaming_to_a_taken_label_is_a_form_error(client, alice, alice_key, alice_test_key):
    response = logged_in(client, alice).post("/keys/alice-live/edit/", {"label": "alice-test"})

    assert response.status_code == 409
    assert b"already has a key labelled" in response.content
    assert set(ApiKey.objects.values_list("label", flat=True)) == {"alice-live", "alice-test"}


def test_renaming_to_an_empty_label_is_a_form_error(client, alice, alice_key):
    response = logged_in(client, alice).post("/keys/alice-live/edit/", {"label": "  "})

    assert response.status_code == 400 and b"This field is required." in response.content
    assert ApiKey.objects.get().label == "alice-live"


def test_renaming_another_workspaces_key_is_404(client, alice, bob_key):
    logged_in(client, alice)

    seen = client.get("/keys/bob-live/edit/")
    posted = client.post("/keys/bob-live/edit/", {"label": "mine now"})

    assert seen.status_code == 404 and posted.status_code == 404
    assert ApiKey.objects.get().label == "bob-live"


def test_a_revoked_key_cannot_be_renamed(client, alice, alice_key):
    logged_in(client, alice).post("/keys/alice-live/revoke/")

    response = client.post("/keys/alice-live/edit/", {"label": "crawler"})

    assert response.status_code == 404
    assert ApiKey.objects.get().label == "alice-live"


def test_a_rename_without_a_csrf_token_is_refused(alice, alice_key):
    response = logged_in(Client(enforce_csrf_checks=True), alice).post("/keys/alice-live/edit/", {"label": "x"})

    assert response.status_code == 403
    assert ApiKey.objects.get().label == "alice-live"


# Usage


FEBRUARY = {"start": "2025-02-01", "end": "2025-02-28"}


def test_the_usage_page_shows_runs_by_status_and_cost_per_day_and_per_key(client, alice, alice_key):
    api_key_second = ApiKey.objects.create(workspace=alice.workspaces.get(), label="nightly", prefix="p", key_hash="h")
    rollup("alice-live", day=FEB_10, runs=2, reported=6000)
    rollup("alice-live", day=FEB_10, status="FAILED")
    rollup(api_key_second.label, day=FEB_11, runs=3, reported=9000)

    response = logged_in(client, alice).get("/usage/", FEBRUARY)

    assert response.status_code == 200
    by_day, by_key = _tables(response.content.decode())
    assert by_day["2025-02-10"] == {
        "day (utc)": "2025-02-10",
        "completed": "2",
        "failed": "1",
        "blocked": "0",
        "stopped": "0",
        "time out": "0",
        "runs": "3",
        "cost": "$0.006000",
    }
    assert (by_day["2025-02-11"]["runs"], by_day["2025-02-11"]["cost"]) == ("3", "$0.009000")
    assert (by_day["Total"]["runs"], by_day["Total"]["cost"]) == ("6", "$0.015000")
    assert {key: (row["runs"], row["cost"]) for key, row in by_key.items()} == {
        "nightly": ("3", "$0.009000"),
        "alice-live": ("3", "$0.006000"),
        "Total": ("6", "$0.015000"),
    }


def test_the_usage_page_never_shows_another_workspaces_numbers(client, alice, alice_key, bob_key):
    rollup("alice-live", day=FEB_10, reported=3000)
    rollup("bob-live", day=FEB_10, runs=7, reported=7_777_777)

    response = logged_in(client, alice).get("/usage/", FEBRUARY)

    body = response.content.decode()
    assert response.status_code == 200
    assert "bob-live" not in body and "$7.777777" not in body and "$7.780777" not in body
    assert _tables(body)[0]["Total"]["runs"] == "1"


def test_the_usage_page_never_shows_actual_cost_or_margin(client, alice, alice_key):
    rollup("alice-live", day=FEB_10, actual=1_234_567, reported=3000)

    response = logged_in(client, alice).get("/usage/", FEBRUARY)

    body = response.content.decode()
    assert response.status_code == 200 and "$0.003000" in body
    assert "$1.234567" not in body and "$1.231567" not in body
    assert "Actual" not in body and "Margin" not in body and "Calculated" not in body


def test_the_usage_page_shows_test_keys_apart(client, alice, alice_key, alice_test_key):
    rollup("alice-live", day=FEB_10, runs=5, reported=15000)
    rollup("alice-test", day=FEB_10, runs=2)

    live = logged_in(client, alice).get("/usage/", FEBRUARY)
    test = client.get("/usage/", {**FEBRUARY, "mode": "test"})

    assert set(_tables(live.content.decode())[1]) == {"alice-live", "Total"}
    assert _tables(test.content.decode())[1] == {
        "alice-test": _row("alice-test", runs="2"),
        "Total": _row("Total", runs="2"),
    }


def test_the_usage_page_shows_the_last_30_days_by_default(client, alice, alice_key, time_machine):
    time_machine.move_to(datetime.datetime(2025, 3, 1, 12, tzinfo=datetime.UTC))
    rollup("alice-live", day=datetime.date(2025, 1, 30), runs=4)  # 31 days back: left out
    rollup("alice-live", day=datetime.date(2025, 1, 31), runs=2)

    response = logged_in(client, alice).get("/usage/")

    assert response.status_code == 200
    assert "Live usage, 2025-01-31 to 2025-03-01" in response.content.decode()
    assert set(_tables(response.content.decode())[0]) == {"2025-01-31", "Total"}


def test_days_without_usage_say_so(client, alice, alice_key):
    response = logged_in(client, alice).get("/usage/", FEBRUARY)

    assert response.status_code == 200 and b"No live runs ended in these days." in response.content


@pytest.mark.parametrize(
    "query", [{"start": "yesterday"}, {"start": "2025-03-01", "end": "2025-02-01"}, {"mode": "both"}]
)
def test_bad_filters_on_the_usage_page_are_form_errors(client, alice, query):
    response = logged_in(client, alice).get("/usage/", query)

    assert response.status_code == 400 and b'class="error"' in response.content


def test_the_usage_page_asks_a_visitor_to_log_in(client):
    response = client.get("/usage/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_cost_summary_by_one_workspace_leaves_the_others_out(alice_key, bob_key):
    rollup("alice-live", day=FEB_10, runs=1)
    rollup("bob-live", day=FEB_10, runs=2)

    rows, totals = cost_summary_by(group="key", mode="live", workspace=Workspace.objects.get(slug="globex"))
    everyone, _ = cost_summary_by(group="key", mode="live")

    assert [row["key"] for row in rows] == ["bob-live"] and totals["runs"] == 2
    assert {row["key"] for row in everyone} == {"alice-live", "bob-live"}


# Pages


def test_a_customer_is_shown_usage_and_workspace_in_the_menu(client, alice):
    response = logged_in(client, alice).get("/keys/")

    assert 'href="/usage/"' in response.content.decode() and 'href="/workspace/"' in response.content.decode()


@pytest.mark.parametrize(
    "path, who",
    [
        ("/signup/", None),
        ("/password-reset/", None),
        ("/login/", None),
        ("/workspace/", "alice"),
        ("/keys/alice-live/edit/", "alice"),
        ("/usage/", "alice"),
        ("INVITE", None),
        ("INVITE", "carol"),
    ],
)
def test_every_input_has_a_label_and_every_post_form_a_csrf_token(client, alice, alice_key, carol, path, who):
    if path == "INVITE":
        path = invite(alice)
    if who:
        logged_in(client, {"alice": alice, "carol": carol}[who])

    response = client.get(path)

    assert response.status_code == 200
    page = _FormAudit()
    page.feed(response.content.decode())
    assert page.forms > 0
    assert page.unlabelled == [] and page.post_forms_without_csrf == 0


def test_workspace_pages_need_a_workspace(client, carol):
    logged_in(client, carol)

    assert b"not a member of a workspace" in client.get("/workspace/").content
    assert b"not a member of one" in client.get("/usage/").content
    assert client.post("/workspace/invitations/withdraw/", {"email": "x@example.com"}).status_code == 404
    assert client.get("/keys/x/edit/").status_code == 404


def _row(name, **figures):
    zero = {
        "completed": "0",
        "failed": "0",
        "blocked": "0",
        "stopped": "0",
        "time out": "0",
        "runs": "0",
        "cost": "$0.000000",
    }
    if "runs" in figures:
        figures.setdefault("completed", figures["runs"])
    return {"key": name, **zero, **figures}


def _tables(html_text):
    """Each table of the page as {first cell: {column heading, lowercased: cell text}}, its totals under "Total"."""
    tables = []
    for table in re.findall(r"<table>(.*?)</table>", html_text, re.S):
        headings = [
            re.sub(r"<[^>]+>", "", cell).strip().lower()
            for cell in re.findall(r"<th[^>]*>(.*?)</th>", re.search(r"<thead>(.*?)</thead>", table, re.S)[1])
        ]
        rows = {}
        for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]:
            cells = [
                re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
            ]
            cells[0] = cells[0].removesuffix("(revoked)").strip()
            rows[cells[0]] = dict(zip(headings, cells))
        tables.append(rows)
    return tables


class _FormAudit(html.parser.HTMLParser):
    """Finds inputs a person cannot name (no <label for>, no wrapping <label>, no aria-label) and POST forms
    without Django's CSRF token."""

    def __init__(self):
        super().__init__()
        self.ids, self.labelled_ids, self.pending, self.unlabelled = set(), set(), [], []
        self.forms = self.label_depth = self.post_forms_without_csrf = 0
        self.form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if attrs.get("for"):
                self.labelled_ids.add(attrs["for"])
        elif tag == "form":
            self.forms += 1
            self.form = {"post": attrs.get("method", "").lower() == "post", "csrf": False}
        elif tag == "input" and attrs.get("name") == "csrfmiddlewaretoken" and self.form:
            self.form["csrf"] = True
        elif tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            if not (self.label_depth or attrs.get("aria-label")):
                self.pending.append(attrs.get("id") or attrs.get("name"))

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth -= 1
        elif tag == "form" and self.form:
            self.post_forms_without_csrf += self.form["post"] and not self.form["csrf"]
            self.form = None

    def feed(self, data):
        super().feed(data)
        self.unlabelled = [name for name in self.pending if name not in self.labelled_ids]
