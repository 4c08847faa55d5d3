import datetime
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils import timezone

from monid_site.money import MICROS_PER_DOLLAR

from .costs import dollars_to_micros
from .models import ApiKey, SpendControl


def _date_input():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class KeyLifecycleForm(forms.Form):
    """A key's expiry and spend limit, as the key services take them (expires_at, spend_limit_micros,
    spend_period); a blank field means none."""

    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=_date_input(),
        help_text="It stops working at 00:00 UTC that day. Blank: it never expires.",
    )
    spend_limit_usd = forms.DecimalField(
        required=False,
        label="Spend limit (USD)",
        max_digits=16,
        decimal_places=6,
        min_value=Decimal(0),
        help_text="The most its live runs may be charged in each period; a run "
        "that could pass it is blocked, never charged. Blank: no limit "
        "of its own.",
    )
    spend_period = forms.ChoiceField(
        label="per",
        choices=[(p, p.lower()) for p in ApiKey.SPEND_PERIODS],
        initial="MONTH",
        required=False,
        help_text="A UTC day, a week from Monday, or a calendar month.",
    )

    def clean(self):
        data = super().clean()
        expires_on, limit = data.pop("expires_on", None), data.pop("spend_limit_usd", None)
        data["expires_at"] = (
            datetime.datetime.combine(expires_on, datetime.time.min, datetime.UTC) if expires_on else None
        )
        data["spend_limit_micros"] = dollars_to_micros(limit) if limit is not None else None
        data["spend_period"] = "" if limit is None else data.get("spend_period") or "MONTH"
        return data

    @classmethod
    def initial_of(cls, api_key: ApiKey) -> dict:
        return {
            "expires_on": api_key.expires_at and api_key.expires_at.date(),
            "spend_limit_usd": (
                None if api_key.spend_limit_micros is None else Decimal(api_key.spend_limit_micros) / MICROS_PER_DOLLAR
            ),
            "spend_period": api_key.spend_period or "MONTH",
        }


class KeyCreateForm(KeyLifecycleForm):
    label = forms.CharField(max_length=100, help_text="A name you will recognise, e.g. “production crawler”.")
    mode = forms.ChoiceField(
        choices=ApiKey.Mode.choices,
        initial=ApiKey.Mode.LIVE,
        widget=forms.RadioSelect,
        help_text="Test keys reach Monid's sandbox providers and are never charged.",
    )
    manage = forms.BooleanField(
        required=False,
        label="It may also manage keys, spend controls and the wallet",
        help_text="Live keys only. Every key can make and read runs of its mode and use the "
        "catalog; leave this off for agents.",
    )
    field_order = ["label", "mode", "manage"]

    def clean(self):
        """The service's arguments: the label, the mode, the scopes, the expiry and the limit."""
        data = super().clean()
        data["scopes"] = [*ApiKey.DEFAULT_SCOPES, *(["manage"] if data.pop("manage", False) else [])]
        return data


class KeyEditForm(KeyLifecycleForm):
    label = forms.CharField(max_length=100)
    field_order = ["label"]


class CostFilterForm(forms.Form):
    # Not required, and the default first: the page opens on a plain /costs/, showing live keys by key.
    start = forms.DateField(required=False, label="From", widget=_date_input())
    end = forms.DateField(required=False, label="To", widget=_date_input())
    group = forms.ChoiceField(
        required=False,
        label="Group by",
        choices=[("key", "Key"), ("workspace", "Workspace"), ("provider", "Provider"), ("endpoint", "Endpoint")],
    )
    mode = forms.ChoiceField(
        required=False, label="Keys", choices=[(ApiKey.Mode.LIVE, "Live"), (ApiKey.Mode.TEST, "Test")]
    )

    def clean_group(self):
        return self.cleaned_data["group"] or "key"

    def clean_mode(self):
        return self.cleaned_data["mode"] or ApiKey.Mode.LIVE

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data


class WalletCreditForm(forms.Form):
    amount_usd = forms.DecimalField(
        label="Amount (USD)",
        max_digits=16,
        decimal_places=6,
        min_value=Decimal("0.000001"),
        help_text="Up to six decimals: micro-dollars.",
    )
    note = forms.CharField(max_length=500, help_text="Why: kept on the ledger entry for good.")


def _limit_field():
    return forms.DecimalField(
        label="Limit (USD)",
        max_digits=16,
        decimal_places=6,
        min_value=Decimal(0),
        help_text="Up to six decimals: micro-dollars. $0 blocks every live run.",
    )


def _status_field():
    return forms.ChoiceField(
        choices=SpendControl.Status.choices,
        initial=SpendControl.Status.ACTIVE,
        help_text="A paused control blocks nothing and keeps counting.",
    )


class BudgetForm(forms.Form):
    period = forms.ChoiceField(choices=SpendControl.Period.choices, initial=SpendControl.Period.MONTH)
    limit_usd = _limit_field()
    status = _status_field()


class RunCapForm(forms.Form):
    limit_usd = _limit_field()
    status = _status_field()


def _username_field():
    return forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
        help_text="Letters, digits and @ . + - _ only; you log in with it.",
    )


def _password_field():
    return forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not all digits, not a common password, and not like your username or email.",
    )


def _validate_password(form, username, email):
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS), their messages on the password field."""
    password = form.cleaned_data.get("password")
    if password:
        try:
            password_validation.validate_password(password, get_user_model()(username=username, email=email))
        except forms.ValidationError as error:
            form.add_error("password", error)


class SignUpForm(forms.Form):
    username = _username_field()
    email = forms.EmailField(
        widget=forms.EmailInput(attrs={"autocomplete": "email"}), help_text="Where a password reset link is sent."
    )
    password = _password_field()
    workspace_name = forms.CharField(max_length=200, help_text="Your team or company; invite teammates into it later.")

    def clean(self):
        data = super().clean()
        _validate_password(self, data.get("username", ""), data.get("email", ""))
        return data


class InvitedSignUpForm(forms.Form):
    """Signing up through an invitation: the address is the one invited, and the workspace is the inviter's."""

    username = _username_field()
    password = _password_field()

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        _validate_password(self, data.get("username", ""), self.email)
        return data


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label="Teammate's email",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text="They get a link that lets them join this workspace for 7 days.",
    )


class UsageFilterForm(forms.Form):
    """The customer's usage page: a range of UTC days (the last 30 when left empty) and live or test keys."""

    DEFAULT_DAYS = 30

    start = forms.DateField(required=False, label="From", widget=_date_input())
    end = forms.DateField(required=False, label="To", widget=_date_input())
    mode = forms.ChoiceField(
        required=False, label="Keys", choices=[(ApiKey.Mode.LIVE, "Live"), (ApiKey.Mode.TEST, "Test")]
    )

    def clean_mode(self):
        return self.cleaned_data["mode"] or ApiKey.Mode.LIVE

    def clean(self):
        data = super().clean()
        if "start" in data and "end" in data:
            data["end"] = data["end"] or timezone.now().date()
            data["start"] = data["start"] or data["end"] - datetime.timedelta(days=self.DEFAULT_DAYS - 1)
            if data["start"] > data["end"]:
                raise forms.ValidationError("The start date is after the end date.")
        return data


class OAuthApprovalForm(forms.Form):
    """What a member chooses when approving an MCP host: the mode of the key it gets."""

    mode = forms.ChoiceField(
        choices=ApiKey.Mode.choices,
        initial=ApiKey.Mode.LIVE,
        widget=forms.RadioSelect,
        label="Its key's mode",
        help_text="Live runs are charged to the workspace's wallet; test runs are answered from "
        "recorded fixtures and never charged.",
    )
