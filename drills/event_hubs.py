"""Event Hubs drills.

`event_hubs_failover` (staging only, `recovery.drills.allow_disruptive`): fail the geo-DR alias over to the
secondary namespace and check the secondary became primary.

Geo-DR replicates metadata only, so there is no RPO for events (the row records none): the drill measures RTO
(failover requested -> secondary primary). A failover ends the pairing; the teardown removes the alias and
the replicated event hubs from the former secondary so the next staging apply pairs the namespaces again
from config (the drift workflow shows the pairing missing until then). Production: docs/dr-drills.md.

`event_hubs_capture` (every environment): events survive the region only through Capture into the
geo-redundant account; the drill reads every hub's newest capture back and measures its age (RPO).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from drills.boundary import Cloud, azure_time
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


# -- Capture read-back (non-disruptive: production runs it too) ----------------------------------------------
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class CaptureTarget:
    account_name: str  # the geo-redundant application account Capture writes to
    container: str
    namespace: str  # the primary namespace: the first part of every capture blob's name
    hubs: tuple[tuple[str, int], ...]  # (event hub, partition count)
    rpo_target: datetime.timedelta


def capture_prefixes(target: CaptureTarget, hub: str, partitions: int, now: datetime.datetime) -> list[str]:
    """The blob prefixes of the last two UTC days of one hub, per partition: the archive name format is
    `{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/...`, so listing a day's prefix never pages
    through the whole retention (a blob every five minutes per partition)."""
    return [
        f"{target.namespace}/{hub}/{partition}/{day:%Y/%m/%d}/"
        for partition in range(partitions)
        for day in (now, now - DAY)
    ]


def capture_read_back(cloud: Cloud, target: CaptureTarget, *, environment: str, run_id: str) -> DrillResult:
    """Find each hub's newest capture blob in the geo-redundant account and read its properties back. RPO: the
    oldest of the hubs' newest captures (what a region loss now would lose of the least recent hub)."""
    result = DrillResult("event_hubs_capture", "event_hubs", environment, run_id, cloud.now())
    container = ("--auth-mode", "login", "--account-name", target.account_name, "--container-name", target.container)
    with recorded(result):
        requested_at = cloud.now()
        newest: dict[str, dict] = {}
        for hub, partitions in target.hubs:
            blobs = [
                blob
                for prefix in capture_prefixes(target, hub, partitions, requested_at)
                for blob in cloud.az("storage", "blob", "list", *container, "--prefix", prefix) or []
            ]
            if not blobs:
                result.details.append(f"{hub}: no capture in the last day (idle hub, or Capture is not writing)")
                return result
            newest[hub] = max(blobs, key=lambda blob: azure_time(blob["properties"]["lastModified"]))
        for hub, blob in newest.items():
            shown = cloud.az("storage", "blob", "show", *container, "--name", blob["name"])
            if not (shown.get("properties") or {}).get("contentLength"):
                result.details.append(f"{hub}: {blob['name']} is empty")
                return result
        verified_at = cloud.now()
        oldest = min(azure_time(blob["properties"]["lastModified"]) for blob in newest.values())
        rpo = requested_at - oldest
        if rpo > target.rpo_target:
            result.rpo, result.restore_point = rpo, oldest
            result.details.append(f"newest capture {oldest.isoformat()} is older than the RPO target")
            return result
        result.passed(
            f"{len(newest)} hubs captured in {target.account_name}/{target.container}, least recent {oldest:%H:%M}",
            rto=verified_at - requested_at,
            rpo=rpo,
            restore_point=oldest,
        )
    return result
