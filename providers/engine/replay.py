"""Strict replay of a connector's fixtures: every request the engine sends for a case's input (its caps
included) must be one the case recorded, and the answer must be what the case expects. An async case whose run
is still running after its status check is stopped, and expects no HTTP status. The test suite runs it for the
bundled connectors; `manage.py connector_check` for a folder kept anywhere."""

from . import ProviderAnswer, ProviderProgress, protocol_for
from .transport import FixtureTransport
from .usage import PER_UNIT, units_estimate, units_price_micros


def fixture_replay(endpoint, case: str) -> list[str]:
    """What is wrong with replaying `case` of this (saved or unsaved) endpoint; empty when nothing is."""
    fixture = endpoint.fixtures[case]
    params = fixture["input"]
    units = units_estimate(usage=endpoint.usage, price_type=endpoint.price_type, params=params, subject=endpoint.path)
    hold = units_price_micros(
        price_type=endpoint.price_type,
        price_micros=endpoint.price_micros,
        flat_fee_micros=endpoint.flat_fee_micros,
        units=units,
    )
    protocol = protocol_for(endpoint, sandbox=True, params=params)
    protocol.transport = FixtureTransport(name=endpoint.provider.name, calls=fixture["calls"], strict=True)
    try:
        answer = protocol_answer(protocol, params=params, units=units, hold=hold, price_type=endpoint.price_type)
    except AssertionError as exc:  # a request the case did not record
        return [str(exc)]
    if isinstance(answer, ProviderProgress):  # stopped while running
        got = {"httpStatus": None, "resultCount": None, "billedUnits": None}
    else:
        ok = 200 <= answer.http_status < 300
        billed = answer.billed_units if ok and endpoint.price_type in PER_UNIT else None
        got = {
            "httpStatus": answer.http_status,
            "resultCount": answer.result_count if ok else None,
            "billedUnits": None if billed is None else min(billed, units),
        }
    got["actualCostMicros"] = answer.actual_cost_micros
    return [
        f"{name}: expected {value!r}, got {got[name]!r}"
        for name, value in fixture["expect"].items()
        if got[name] != value
    ]


def protocol_answer(protocol, *, params: dict, units: int, hold: int, price_type: str):
    """A protocol's answer to one input, in one go: a sync call, or an async start, one status check and the
    collection of its results; an async run still running after its check is stopped, and its stop answers."""
    if not protocol.is_async:
        return protocol.call(params=params, units=units, hold=hold, timeout_seconds=10)
    started = protocol.start(params=params, units=units, hold=hold)
    if isinstance(started, ProviderAnswer):
        return started
    progress = protocol.check(run_id=started.run_id)
    if progress.state == ProviderProgress.RUNNING:
        return protocol.stop(run_id=started.run_id)
    return protocol.collect(progress, max_bytes=10**7, max_items=units if price_type == "PER_RESULT" else None)
