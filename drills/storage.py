"""Blob drill: point-in-time restore of the drill's canary prefix in the application storage account.

The restore is limited to the blob range `<container>/dr-drill/` (nothing else in the account is rolled
back), so it runs in production too. The drill uploads a canary, waits past the restore granularity, takes
the restore point, deletes the canary (the "incident"), restores the range to the restore point and checks
the canary is back with its metadata and size. Teardown deletes the canary.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from drills.boundary import Cloud, unless_gone
from drills.results import DrillResult, recorded

PREFIX = "dr-drill/"
# Point-in-time restore needs the restore point to follow the write; a minute keeps clear of clock skew.
SETTLE = datetime.timedelta(minutes=1)


@dataclass(frozen=True)
class BlobTarget:
    account_name: str
    resource_group: str
    container: str  # the canary's container (the first application container)


def blob_range(container: str) -> tuple[str, str]:
    """Start (inclusive) and end (exclusive) of the canary prefix: '0' is the character after '/'."""
    return f"{container}/{PREFIX}", f"{container}/{PREFIX[:-1]}0"


def point_in_time(cloud: Cloud, target: BlobTarget, *, environment: str, run_id: str) -> DrillResult:
    result = DrillResult("blob_point_in_time", "storage", environment, run_id, cloud.now())
    name = f"{PREFIX}{run_id}.txt"
    content = f"dr drill canary {run_id}"
    blob = ("--account-name", target.account_name, "--container-name", target.container, "--name", name)
    with recorded(result) as teardown:
        teardown.push("delete canary blob", lambda: _delete_blob(cloud, blob))
        cloud.az(
            "storage",
            "blob",
            "upload",
            "--auth-mode",
            "login",
            *blob,
            "--data",
            content,
            "--metadata",
            f"drillrun={run_id}",
            "--overwrite",
        )
        written_at = cloud.now()
        cloud.sleep(SETTLE.total_seconds())
        restore_point = cloud.now()
        cloud.az("storage", "blob", "delete", "--auth-mode", "login", *blob)  # the incident
        requested_at = cloud.now()
        start, end = blob_range(target.container)
        cloud.az(
            "storage",
            "blob",
            "restore",
            "--account-name",
            target.account_name,
            "--resource-group",
            target.resource_group,
            "--time-to-restore",
            restore_point.isoformat(),
            "--blob-range",
            start,
            end,
        )
        shown = cloud.az("storage", "blob", "show", "--auth-mode", "login", *blob)
        verified_at = cloud.now()
        restored_run = (shown.get("metadata") or {}).get("drillrun")
        length = (shown.get("properties") or {}).get("contentLength")
        if restored_run != run_id or length != len(content.encode()):
            result.details.append(f"restored canary differs: drillrun={restored_run!r}, length={length!r}")
            return result
        result.passed(
            f"{target.account_name}/{target.container}/{name} restored",
            rto=verified_at - requested_at,
            rpo=restore_point - written_at,
            restore_point=restore_point,
        )
    return result


def _delete_blob(cloud: Cloud, blob: tuple[str, ...]) -> None:
    unless_gone(
        lambda: cloud.az("storage", "blob", "delete", "--auth-mode", "login", *blob, "--delete-snapshots", "include"),
        "BlobNotFound",
    )
