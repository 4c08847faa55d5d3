"""The three costs of a run, in integer micro-dollars, as the API reference defines them."""

from dataclasses import dataclass
from decimal import Decimal

from monid_site.money import MICROS_PER_DOLLAR


@dataclass(frozen=True)
class Costs:
    calculated_micros: int
    actual_micros: int
    reported_micros: int


def run_costs(
    *, calculated_micros: int, provider_http_status: int | None, completed: bool, actual_micros: int, is_test: bool
) -> Costs:
    """Reported = calculated (the usage model's price of the billed units) only for a COMPLETED run the provider
    answered 2xx.

    Test-mode runs were answered from recorded fixtures: they cost us nothing and are charged nothing.
    """
    calculated = calculated_micros
    provider_ok = provider_http_status is not None and 200 <= provider_http_status < 300
    reported = calculated if completed and provider_ok and not is_test else 0
    return Costs(calculated_micros=calculated, actual_micros=0 if is_test else actual_micros, reported_micros=reported)


def dollars_to_micros(dollars: Decimal) -> int:
    """A form's dollar amount (a Decimal of at most six places) as exact micro-dollars."""
    return int(dollars * MICROS_PER_DOLLAR)


def micros_to_usd(micros: int) -> float:
    """Only for the JSON edge, where the reference wants dollars as a number."""
    return float(Decimal(micros) / MICROS_PER_DOLLAR)
