from decimal import Decimal

from django import forms

from .models import ApiKey


class KeyCreateForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="A name you will recognise, e.g. “production crawler”.")
    mode = forms.ChoiceField(choices=ApiKey.Mode.choices, initial=ApiKey.Mode.LIVE, widget=forms.RadioSelect,
                             help_text="Test keys reach Monid's sandbox providers and are never charged.")


def _date_input():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class CostFilterForm(forms.Form):
    start = forms.DateField(required=False, label="From", widget=_date_input())
    end = forms.DateField(required=False, label="To", widget=_date_input())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data


class WalletCreditForm(forms.Form):
    amount_usd = forms.DecimalField(label="Amount (USD)", max_digits=16, decimal_places=6,
                                    min_value=Decimal("0.000001"), help_text="Up to six decimals: micro-dollars.")
    note = forms.CharField(max_length=500, help_text="Why: kept on the ledger entry for good.")
