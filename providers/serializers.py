"""The price shape the whole API shares: an endpoint's price in the catalog, and a run's price at the time it ran."""

from decimal import Decimal

from rest_framework import serializers

MICROS_PER_DOLLAR = 1_000_000


def micros_to_dollars(micros: int) -> float:
    """Only for the JSON edge, where the reference wants dollars as a number."""
    return float(Decimal(micros) / MICROS_PER_DOLLAR)


class PriceSerializer(serializers.Serializer):
    # It reads price_type, price_micros and flat_fee_micros, which an Endpoint and a Run both have.

    type = serializers.ChoiceField(choices=["FREE", "PER_CALL", "PER_RESULT", "CREDITS"])
    amount = serializers.FloatField(help_text="Dollars per call, per result or per provider credit")
    currency = serializers.ChoiceField(choices=["USD"])
    flatFee = serializers.FloatField(required=False, help_text="PER_RESULT and CREDITS: dollars added once per run")

    def to_representation(self, priced):
        price = {"type": priced.price_type, "amount": micros_to_dollars(priced.price_micros), "currency": "USD"}
        if priced.price_type in ("PER_RESULT", "CREDITS"):
            price["flatFee"] = micros_to_dollars(priced.flat_fee_micros)
        return price


class HintsSerializer(serializers.Serializer):
    next = serializers.CharField(
        help_text="The command of Monid's CLI to run next, e.g. monid inspect -p pdl -e /person/enrich"
    )
