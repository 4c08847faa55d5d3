"""Accounts: workspaces, sign-up, and the invitations that make people members of a workspace."""

import itertools
import secrets

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from monid_site.errors import ApplicationError

from .api_keys import api_keys_tombstone
from .keys import hash_key
from .models import Invitation, Workspace


def workspace_get_or_create(*, slug: str, name: str = "") -> Workspace:
    """Workspaces are addressed by slug in commands and URLs, so creating one twice must be harmless."""
    slug = slugify(slug)
    if not slug:
        raise ApplicationError(400, "A workspace slug needs at least one letter or digit.")
    workspace, _ = Workspace.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return workspace


@transaction.atomic
def workspace_delete(*, workspace: Workspace) -> None:
    """Deletes a workspace and its keys (one with runs or ledger entries is protected by the database). Its keys
    are refused by every process from now on, not served from the cache onto rows that are gone."""
    api_keys_tombstone(key_hashes=list(workspace.api_keys.values_list("key_hash", flat=True)))
    workspace.delete()


def _user_create(*, username: str, email: str, password: str):
    """A customer's account: never an operator (is_staff stays False). Usernames are unique whatever their case."""
    User = get_user_model()
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise _username_taken(username)
    try:
        with transaction.atomic():
            return User.objects.create_user(username, email=email.strip(), password=password)
    except IntegrityError:  # taken between the check and the insert
        raise _username_taken(username) from None


def _username_taken(username: str) -> ApplicationError:
    return ApplicationError(409, f"The username “{username}” is taken; choose another.")


def _free_slug(name: str) -> str:
    """The name's slug, or the first of slug-2, slug-3… not taken, found with one query."""
    base = slugify(name)[:40].strip("-") or "workspace"
    taken = set(Workspace.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    return next(
        slug for slug in itertools.chain([base], (f"{base}-{n}" for n in itertools.count(2))) if slug not in taken
    )


@transaction.atomic
def account_sign_up(*, username: str, email: str, password: str, workspace_name: str):
    """A new customer and a new workspace of their own, named as they chose; returns the user."""
    workspace_name = workspace_name.strip()
    if not workspace_name or len(workspace_name) > 200:
        raise ApplicationError(400, "A workspace name must be 1 to 200 characters.")
    user = _user_create(username=username, email=email, password=password)
    try:
        with transaction.atomic():
            workspace = Workspace.objects.create(slug=_free_slug(workspace_name), name=workspace_name)
    except IntegrityError:  # another sign-up took the same slug between the read and the insert
        raise ApplicationError(409, "Another workspace was just given this name; send the form again.") from None
    workspace.members.add(user)
    return user


MAX_PENDING_INVITATIONS = 50  # per workspace: Monid sends the emails, so a member cannot make it send thousands


@transaction.atomic
def invitation_create(*, workspace: Workspace, email: str, invited_by) -> tuple[Invitation, str]:
    """A pending invitation and its token, which exists nowhere else after this call: only its HMAC is kept."""
    email = email.strip().lower()
    if workspace.members.filter(email__iexact=email).exists():
        raise ApplicationError(409, f"{email} is already a member of this workspace.")
    now = timezone.now()
    # A new link replaces the address's earlier pending one, so only the newest works.
    Invitation.objects.filter(workspace=workspace, email=email, accepted_at__isnull=True).delete()
    if (
        Invitation.objects.filter(workspace=workspace, accepted_at__isnull=True, expires_at__gt=now).count()
        >= MAX_PENDING_INVITATIONS
    ):
        raise ApplicationError(
            429,
            f"This workspace has {MAX_PENDING_INVITATIONS} invitations waiting; cancel "
            "some, or wait for them to be accepted or to expire.",
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        token_hash=hash_key(token),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + Invitation.VALID_FOR,
    )
    return invitation, token


def invitation_send(*, invitation: Invitation, link: str) -> None:
    """Emails the invitation's link through settings.EMAIL_BACKEND (the console, unless configured)."""
    inviter = invitation.invited_by.get_username() if invitation.invited_by else "A teammate"
    body = render_to_string(
        "billing/invitation_email.txt", {"invitation": invitation, "inviter": inviter, "link": link}
    )
    send_mail(f"{inviter} invited you to {invitation.workspace.name} on Monid", body, None, [invitation.email])


def invitation_cancel(*, workspace: Workspace, email: str) -> None:
    """Withdraws the workspace's pending invitation to `email`: its link stops working at once."""
    deleted, _ = Invitation.objects.filter(
        workspace=workspace, email=email.strip().lower(), accepted_at__isnull=True
    ).delete()
    if not deleted:
        raise ApplicationError(404, f"No invitation to {email} is waiting in this workspace.")


def invitation_check(*, invitation: Invitation, user) -> None:
    """Raises why `user` may not accept the invitation, if they may not."""
    if invitation.accepted_at is not None:
        raise ApplicationError(410, "This invitation was already used. Ask for a new one if you still need it.")
    if invitation.is_expired:
        raise ApplicationError(410, "This invitation has expired. Ask whoever invited you for a new one.")
    if user.email.strip().lower() != invitation.email:
        raise ApplicationError(
            403,
            f"This invitation was sent to {invitation.email}, and you are signed in as "
            f"{user.get_username()}, whose address is not that one. Log out, then open the "
            "link again to create an account for that address.",
        )
    current = user.workspaces.order_by("id").first()
    if current == invitation.workspace:
        raise ApplicationError(409, f"You are already a member of {invitation.workspace.name}.")
    if current is not None:
        # The dashboard shows one workspace per account (queries.workspace_for_user).
        raise ApplicationError(
            409,
            f"Your account already belongs to the workspace {current.name}, and an "
            "account belongs to one workspace. Log out, then open the link again to "
            "create a separate account for this one.",
        )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> None:
    """Makes `user` a member of the invitation's workspace. One conditional UPDATE claims the invitation, so a
    link works once even when opened twice at the same moment."""
    invitation_check(invitation=invitation, user=user)
    now = timezone.now()
    if not Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, expires_at__gt=now).update(
        accepted_at=now, accepted_by=user
    ):
        raise ApplicationError(410, "This invitation was already used. Ask for a new one if you still need it.")
    invitation.accepted_at, invitation.accepted_by = now, user
    invitation.workspace.members.add(user)


@transaction.atomic
def invitation_sign_up(*, invitation: Invitation, username: str, password: str):
    """A new customer who joins the invitation's workspace (and gets none of their own), under the address the
    invitation was sent to; returns the user."""
    user = _user_create(username=username, email=invitation.email, password=password)
    invitation_accept(invitation=invitation, user=user)
    return user
