"""The neutral values every protocol hands the runs core: it never sees a provider's own words."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProviderAnswer:
    """The provider's final word on a run: its HTTP status and either its data or its error body, with how many
    results the data holds, how many units it bills (the usage model's evidence), and what the provider
    charged us."""

    http_status: int
    output: Any = None
    error: Any = None
    result_count: int | None = None
    billed_units: int | None = None
    output_truncated: bool = False
    actual_cost_micros: int = 0
    provider_run_id: str = ""


@dataclass(frozen=True)
class ProviderProgress:
    """Where a provider's asynchronous run stands: `running` (check again), `finished` (collect it) or `stopped`
    (aborted, by us); `detail` is the provider's own status word, for the run's timeline."""

    RUNNING, FINISHED, STOPPED = "running", "finished", "stopped"

    run_id: str
    state: str
    detail: str = ""
    actual_cost_micros: int = 0
    # Whatever the protocol needs to collect the results (a dataset id) or to explain a failure.
    handle: Any = None
