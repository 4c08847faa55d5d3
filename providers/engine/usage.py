"""Usage models: how many units a run is held for, what the provider is told so it cannot bill past the hold,
and how many units an answer bills.

The models: FREE (nothing), PER_CALL (the price once), PER_RESULT (a flat fee and the price per result) and
CREDITS (the price per provider credit). For the last two an endpoint declares an estimate: a product of
factors read from the validated input, each with a default, and a maximum above which a run is refused. The
hold is fee + price x units, the provider is started with its caps set to those units (or to the hold in
dollars), and an answer never bills more units than were held for, so a run's charge never exceeds its hold.
"""

import math

import jmespath

from monid_site.errors import ApplicationError

PER_UNIT = ("PER_RESULT", "CREDITS")


def count_of(value) -> int | None:
    """A factor's value as a whole count: an integral float is the integer it equals (JSON Schema takes 1000.0
    for the integer 1000), any other number is rounded up, a list or object counts its items; None when the
    input does not say."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float):
        return max(0, math.ceil(value)) if math.isfinite(value) else None
    if isinstance(value, (list, dict, str)):
        return len(value)
    return None


def units_estimate(*, usage: dict, price_type: str, params: dict, subject: str) -> int:
    """The most units the input can produce: the product of the estimate's factors (an input that asks for more
    than the maximum is refused), or 1 for an endpoint without an estimate. A per-call price is held once
    whatever the units, but its provider caps still follow them."""
    estimate, units, parts = usage.get("estimate"), 1, []
    if not estimate:
        if price_type in PER_UNIT:
            raise ApplicationError(
                503,
                f"{subject} is priced per unit but declares no estimate of its units, so "
                "no run of it can be held; the operator has to add one.",
            )
        return 1
    for factor in estimate["factors"]:
        value = params.get(factor["field"]) if "field" in factor else jmespath.search(factor["of"], params)
        count = count_of(value)
        count, name = factor["default"] if count is None else count, factor.get("field") or factor["of"]
        if "per" in factor:  # counted in blocks of `per`, a block begun counting whole: ceil(count / per)
            count, name = -(-count // factor["per"]), f"ceil({name} / {factor['per']})"
        units *= count
        parts.append(f"{name} = {count}")
    if units > estimate["maximum"]:
        raise ApplicationError(
            400,
            f"This input asks {subject} for up to {units:,} billed units (each a "
            f"{usage['unit']}: {' x '.join(parts)}); a run may ask for at most "
            f"{estimate['maximum']:,}. Ask for fewer, or split the work into several runs.",
        )
    return units


def units_price_micros(*, price_type: str, price_micros: int, flat_fee_micros: int, units: int | None) -> int:
    """What `units` billed units cost under a usage model: FREE nothing, PER_CALL the price once, PER_RESULT and
    CREDITS the flat fee plus the price per unit. A run's hold is this for the units it was estimated at."""
    if price_type == "FREE":
        return 0
    if price_type in PER_UNIT:
        return flat_fee_micros + price_micros * (units or 0)
    return price_micros


def usd_text(micros: int) -> str:
    """Micro-dollars as the exact decimal text a provider's dollar parameter takes, e.g. "0.403000"."""
    whole, fraction = divmod(micros, 1_000_000)
    return f"{whole}.{fraction:06d}"


def provider_input(*, usage: dict, params: dict, units: int, hold: int, fixed: dict | None = None) -> tuple[dict, dict]:
    """The parameters and extra query parameters a provider is sent: the input with the endpoint's fixed
    parameters over it, each estimate field the input left out with its default (so the provider does no more
    than the run was held for), then the provider caps."""
    params, query = {**params, **(fixed or {})}, {}
    for factor in (usage.get("estimate") or {}).get("factors", []):
        if "field" in factor and params.get(factor["field"]) is None:
            params[factor["field"]] = factor["default"]
    caps = usage.get("provider_cap")
    for cap in caps if isinstance(caps, list) else []:
        value = units if cap["value"] == "units" else usd_text(hold)
        (query if cap["in"] == "query" else params)[cap["name"]] = str(value) if cap["in"] == "query" else value
    return params, query
