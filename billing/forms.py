from decimal import Decimal

from django import forms

from .models import ApiKey, SpendControl


class KeyCreateForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="A name you will recognise, e.g. “production crawler”.")
    mode = forms.ChoiceField(choices=ApiKey.Mode.choices, initial=ApiKey.Mode.LIVE, widget=forms.RadioSelect,
                             help_text="Test keys reach Monid's sandbox providers and are never charged.")


def _date_input():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class CostFilterForm(forms.Form):
    # Not required, and the default first: the page opens on a plain /costs/, showing live keys by key.
    start = forms.DateField(required=False, label="From", widget=_date_input())
    end = forms.DateField(required=False, label="To", widget=_date_input())
    group = forms.ChoiceField(required=False, label="Group by", choices=[
        ("key", "Key"), ("workspace", "Workspace"), ("provider", "Provider"), ("endpoint", "Endpoint")])
    mode = forms.ChoiceField(required=False, label="Keys", choices=[
        (ApiKey.Mode.LIVE, "Live"), (ApiKey.Mode.TEST, "Test")])

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
    amount_usd = forms.DecimalField(label="Amount (USD)", max_digits=16, decimal_places=6,
                                    min_value=Decimal("0.000001"), help_text="Up to six decimals: micro-dollars.")
    note = forms.CharField(max_length=500, help_text="Why: kept on the ledger entry for good.")


def _limit_field():
    return forms.DecimalField(label="Limit (USD)", max_digits=16, decimal_places=6, min_value=Decimal(0),
                              help_text="Up to six decimals: micro-dollars. $0 blocks every live run.")


def _status_field():
    return forms.ChoiceField(choices=SpendControl.Status.choices, initial=SpendControl.Status.ACTIVE,
                             help_text="A paused control blocks nothing and keeps counting.")


class BudgetForm(forms.Form):
    period = forms.ChoiceField(choices=SpendControl.Period.choices, initial=SpendControl.Period.MONTH)
    limit_usd = _limit_field()
    status = _status_field()


class RunCapForm(forms.Form):
    limit_usd = _limit_field()
    status = _status_field()
