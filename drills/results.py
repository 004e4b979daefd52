"""A drill's measured result, the teardown that always runs, and the Log Analytics row it becomes.

Rows go to the custom table `DrDrillResults_CL` through the Logs Ingestion API: a POST to the data
collection endpoint, to the stream of the data collection rule `constructs/drills.py` declares, signed in
as the drill identity (Monitoring Metrics Publisher on that rule).
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from drills.boundary import Cloud

TABLE = "DrDrillResults_CL"
STREAM = f"Custom-{TABLE}"
LOGS_INGESTION_API_VERSION = "2023-01-01"
MONITOR_RESOURCE = "https://monitor.azure.com"
# Column name -> Log Analytics type: the table, the rule's stream declaration and `DrillResult.row` agree.
COLUMNS: dict[str, str] = {
    "TimeGenerated": "datetime",  # when the result was published (the drill's end)
    "StartedAt": "datetime",
    "Environment": "string",
    "Drill": "string",
    "Component": "string",
    "RunId": "string",
    "Succeeded": "boolean",
    "RpoMinutes": "real",
    "RtoMinutes": "real",
    "RestorePoint": "datetime",
    "TeardownSucceeded": "boolean",
    "Detail": "string",
}


@dataclass
class DrillResult:
    drill: str
    component: str
    environment: str
    run_id: str
    started_at: datetime.datetime
    succeeded: bool = False
    rpo: datetime.timedelta | None = None  # newest recovered data vs. the moment recovery was requested
    rto: datetime.timedelta | None = None  # recovery requested -> copy verified
    restore_point: datetime.datetime | None = None
    teardown_succeeded: bool = True
    details: list[str] = field(default_factory=list)

    def passed(
        self,
        detail: str,
        *,
        rto: datetime.timedelta,
        rpo: datetime.timedelta | None,
        restore_point: datetime.datetime | None,
    ) -> None:
        """Record a verified recovery and what it measured."""
        self.restore_point, self.rpo, self.rto, self.succeeded = restore_point, rpo, rto, True
        self.details.append(detail)

    def row(self, published_at: datetime.datetime | None = None) -> dict[str, object]:
        def minutes(value: datetime.timedelta | None) -> float | None:
            return round(value.total_seconds() / 60, 2) if value is not None else None

        return {
            "TimeGenerated": (published_at or self.started_at).isoformat(),
            "StartedAt": self.started_at.isoformat(),
            "Environment": self.environment,
            "Drill": self.drill,
            "Component": self.component,
            "RunId": self.run_id,
            "Succeeded": self.succeeded and self.teardown_succeeded,
            "RpoMinutes": minutes(self.rpo),
            "RtoMinutes": minutes(self.rto),
            "RestorePoint": self.restore_point.isoformat() if self.restore_point else None,
            "TeardownSucceeded": self.teardown_succeeded,
            "Detail": "; ".join(self.details)[:4000],
        }


class Teardown:
    """Undo steps pushed as resources are created; `run` executes them newest first and never raises: a
    failed step is recorded in the result (TeardownSucceeded = false) and the others still run."""

    def __init__(self, result: DrillResult) -> None:
        self._steps: list[tuple[str, Callable[[], object]]] = []
        self._result = result

    def push(self, what: str, step: Callable[[], object]) -> None:
        self._steps.append((what, step))

    def run(self) -> None:
        while self._steps:
            what, step = self._steps.pop()
            try:
                step()
            except Exception as error:  # every undo step runs; the failure is reported
                self._result.teardown_succeeded = False
                self._result.details.append(f"teardown '{what}' failed: {error}")


@contextlib.contextmanager
def recorded(result: DrillResult) -> Iterator[Teardown]:
    """The body of a drill: any failure in it becomes the result's detail (the run goes on to the next drill),
    and the teardown runs in every case, after a failure too."""
    teardown = Teardown(result)
    try:
        yield teardown
    except Exception as error:  # any failure is the drill's result
        result.details.append(f"{type(error).__name__}: {error}")
    finally:
        teardown.run()


def publish(cloud: Cloud, endpoint: str, rule_immutable_id: str, results: Sequence[DrillResult]) -> None:
    """Send the rows to Log Analytics (Logs Ingestion API) through the data collection endpoint."""
    published_at = cloud.now()
    cloud.az(
        "rest",
        "--method",
        "post",
        "--url",
        f"{endpoint.rstrip('/')}/dataCollectionRules/{rule_immutable_id}/streams/{STREAM}"
        f"?api-version={LOGS_INGESTION_API_VERSION}",
        "--resource",
        MONITOR_RESOURCE,
        "--headers",
        "Content-Type=application/json",
        "--body",
        json.dumps([result.row(published_at) for result in results]),
    )
