"""Event Hubs drill (staging only, `recovery.drills.allow_disruptive`): fail the geo-DR alias over to the
secondary namespace and check the secondary became primary.

Geo-DR replicates metadata only, so there is no RPO for events (the row records none): the drill measures RTO
(failover requested -> secondary primary). A failover ends the pairing; the teardown removes the alias and
the replicated event hubs from the former secondary so the next staging apply pairs the namespaces again
from config (the drift workflow shows the pairing missing until then). Production: docs/dr-drills.md.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from drills.boundary import Cloud
from drills.results import DrillResult, recorded

POLL_SECONDS = 15
TIMEOUT = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class EventHubsTarget:
    alias: str
    secondary_namespace: str
    secondary_resource_group: str


def failover(cloud: Cloud, target: EventHubsTarget, *, environment: str, run_id: str) -> DrillResult:
    result = DrillResult("event_hubs_failover", "event_hubs", environment, run_id, cloud.now())
    namespace = ("--resource-group", target.secondary_resource_group, "--namespace-name", target.secondary_namespace)
    with recorded(result) as teardown:
        requested_at = cloud.now()
        cloud.az("eventhubs", "georecovery-alias", "fail-over", *namespace, "--alias", target.alias)
        # Only a namespace that failed over is unpaired (a refused failover leaves the pairing as it was).
        teardown.push("unpair former secondary", lambda: _unpair(cloud, target, namespace))
        while True:
            alias = cloud.az("eventhubs", "georecovery-alias", "show", *namespace, "--alias", target.alias)
            if alias.get("role") == "PrimaryNotReplicating" and alias.get("provisioningState") == "Succeeded":
                break
            if cloud.now() - requested_at > TIMEOUT:
                result.details.append(f"alias still {alias.get('role')}/{alias.get('provisioningState')}")
                return result
            cloud.sleep(POLL_SECONDS)
        result.rto = cloud.now() - requested_at
        result.succeeded = True
        result.details.append(f"{target.alias} now on {target.secondary_namespace}; events are not replicated")
    return result


def _unpair(cloud: Cloud, target: EventHubsTarget, namespace: tuple[str, ...]) -> None:
    cloud.az("eventhubs", "georecovery-alias", "delete", *namespace, "--alias", target.alias)
    for hub in cloud.az("eventhubs", "eventhub", "list", *namespace) or []:
        cloud.az("eventhubs", "eventhub", "delete", *namespace, "--name", hub["name"])
