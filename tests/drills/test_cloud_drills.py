"""Blob, AKS, Key Vault and Event Hubs drills against the recording fake cloud: what they call, what they
verify, what they measure, and the teardown after each failure."""

from __future__ import annotations

import datetime
import json
from typing import Any

from drills import aks, event_hubs, key_vault, storage
from drills.boundary import CloudError
from tests.drills.conftest import FakeCloud, option


def refuse(message: str) -> Any:
    def handler(args: tuple[str, ...]) -> Any:
        raise CloudError(message)

    return handler


# -- blobs -------------------------------------------------------------------------------------------------
BLOB = storage.BlobTarget(account_name="erpstdocs", resource_group="erp-data-rg", container="documents")


def blob_cloud(metadata_run: str = "r1") -> FakeCloud:
    cloud = FakeCloud()
    cloud.handlers["az storage blob show"] = lambda args: {
        "metadata": {"drillrun": metadata_run},
        "properties": {"contentLength": len(b"dr drill canary r1")},
    }
    return cloud


def test_blob_drill_restores_only_the_canary_range_to_the_restore_point() -> None:
    cloud = blob_cloud()
    result = storage.point_in_time(cloud, BLOB, environment="production", run_id="r1")
    assert result.succeeded and result.teardown_succeeded, result.details
    (restore,) = [cloud.calls[i] for i in cloud.called("az storage blob restore")]
    assert restore[restore.index("--blob-range") + 1 :] == ("documents/dr-drill/", "documents/dr-drill0")
    assert option(restore, "--time-to-restore") == result.restore_point.isoformat()
    # the restore point follows the write by the settle time, and the incident (delete) follows the point
    assert result.rpo == storage.SETTLE + datetime.timedelta(minutes=1)
    upload, incident, restored = (
        cloud.called("az storage blob upload")[0],
        cloud.called("az storage blob delete")[0],
        cloud.called("az storage blob restore")[0],
    )
    assert upload < incident < restored
    assert cloud.called("az storage blob delete")[-1] > restored  # the canary is removed afterwards


def test_blob_drill_fails_when_the_restored_canary_is_not_this_runs() -> None:
    cloud = blob_cloud(metadata_run="an-older-run")
    result = storage.point_in_time(cloud, BLOB, environment="staging", run_id="r1")
    assert not result.succeeded and result.rto is None
    assert len(cloud.called("az storage blob delete")) == 2  # incident + teardown


def test_blob_drill_tears_down_when_the_restore_is_refused() -> None:
    cloud = blob_cloud()
    cloud.handlers["az storage blob restore"] = refuse("(AuthorizationFailed) restoreBlobRanges/action")
    result = storage.point_in_time(cloud, BLOB, environment="staging", run_id="r1")
    assert not result.succeeded and any("restoreBlobRanges" in d for d in result.details)
    assert cloud.called("az storage blob delete")[-1] > cloud.called("az storage blob restore")[0]


# -- AKS ---------------------------------------------------------------------------------------------------
AKS = aks.AksTarget(
    vault_name="erp-bvault",
    vault_resource_group="erp-backup-rg",
    backup_instance_name="erp-aks-bkinst",
    cluster_id="/subscriptions/x/resourceGroups/erp-workloads-rg/providers/Microsoft.ContainerService/managedClusters/erp-aks",
    location="westeurope",
    sample_namespace="applications",
    scratch_namespace="dr-drill",
)
POINT = "2026-12-06T02:05:00Z"


def item(kind: str, name: str, created: str) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "creationTimestamp": created}}


def aks_cloud(restored: list[dict[str, Any]], status: str = "Completed") -> FakeCloud:
    cloud = FakeCloud()
    cloud.handlers["az dataprotection recovery-point list"] = lambda args: [
        {"name": "rp-old", "properties": {"recoveryPointTime": "2026-12-05T02:05:00Z"}},
        {"name": "rp-new", "properties": {"recoveryPointTime": POINT}},
    ]
    cloud.handlers["az dataprotection backup-instance initialize-restoreconfig"] = lambda args: {
        "object_type": "KubernetesClusterRestoreCriteria",
        "include_cluster_scope_resources": True,
    }
    cloud.handlers["az dataprotection backup-instance restore initialize-for-data-recovery"] = lambda args: {
        "restore_configuration": json.loads(option(args, "--restore-configuration"))
    }
    cloud.handlers["az dataprotection backup-instance restore trigger"] = lambda args: {
        "jobId": "/subscriptions/x/backupJobs/job-1"
    }
    states = iter(["InProgress", status])
    cloud.handlers["az dataprotection job show"] = lambda args: {"properties": {"status": next(states)}}
    sample = [
        item("Deployment", "erp-api", "2026-11-01T00:00:00Z"),
        item("ConfigMap", "erp-settings", "2026-11-01T00:00:00Z"),
        item("Deployment", "created-after-the-backup", "2026-12-06T04:00:00Z"),
    ]
    cloud.handlers["kubectl get"] = lambda args: {
        "items": sample if option(args, "--namespace") == "applications" else restored
    }
    return cloud


def test_aks_drill_restores_the_sample_namespace_into_the_scratch_namespace() -> None:
    restored = [item("Deployment", "erp-api", "2026-12-06T05:10:00Z"), item("ConfigMap", "erp-settings", "x")]
    cloud = aks_cloud(restored)
    result = aks.restore(cloud, AKS, environment="staging", run_id="r1")
    assert result.succeeded and result.teardown_succeeded, result.details
    (init,) = [cloud.calls[i] for i in cloud.called("az dataprotection backup-instance restore initialize")]
    config = json.loads(option(init, "--restore-configuration"))
    assert config["namespace_mappings"] == {"applications": "dr-drill"}
    assert config["included_namespaces"] == ["applications"] and config["include_cluster_scope_resources"] is False
    assert option(init, "--recovery-point-id") == "rp-new"  # the newest point
    assert result.restore_point == datetime.datetime(2026, 12, 6, 2, 5, tzinfo=datetime.UTC)
    assert result.rpo is not None and result.rpo > datetime.timedelta(hours=2)  # fake clock 05:00+
    assert cloud.slept == aks.JOB_POLL_SECONDS  # one poll while InProgress
    assert cloud.called("kubectl delete")[0] > cloud.called("kubectl get")[-1]


def test_aks_drill_fails_when_an_object_of_the_recovery_point_is_missing() -> None:
    cloud = aks_cloud([item("Deployment", "erp-api", "x")])
    result = aks.restore(cloud, AKS, environment="staging", run_id="r1")
    assert not result.succeeded and "('ConfigMap', 'erp-settings')" in result.details[-1]
    assert "created-after-the-backup" not in result.details[-1]  # newer than the point: not expected
    assert cloud.called("kubectl delete")


def test_aks_drill_fails_on_a_failed_restore_job_and_empties_the_scratch_namespace() -> None:
    cloud = aks_cloud([], status="Failed")
    result = aks.restore(cloud, AKS, environment="staging", run_id="r1")
    assert not result.succeeded and result.details[-1] == "restore job job-1: Failed"
    assert cloud.called("kubectl delete")


# -- Key Vault ---------------------------------------------------------------------------------------------
VAULTS = key_vault.KeyVaultTarget(vault_name="erp-kv", geo_vault_name="erp-geo-kv")


def kv_cloud(restored_modulus: str = "abc") -> FakeCloud:
    cloud = FakeCloud()
    cloud.handlers["az keyvault key create"] = lambda args: {"key": {"n": "abc"}}
    cloud.handlers["az keyvault key show"] = lambda args: {"key": {"n": restored_modulus}}
    return cloud


def test_key_vault_drill_restores_the_backup_into_the_geo_vault_and_deletes_both_copies() -> None:
    cloud = kv_cloud()
    result = key_vault.backup_restore(cloud, VAULTS, environment="production", run_id="r1")
    assert result.succeeded and result.teardown_succeeded, result.details
    (restore,) = [cloud.calls[i] for i in cloud.called("az keyvault key restore")]
    assert option(restore, "--vault-name") == "erp-geo-kv"
    deleted = [option(cloud.calls[i], "--vault-name") for i in cloud.called("az keyvault key delete")]
    assert deleted == ["erp-geo-kv", "erp-kv"]


def test_key_vault_drill_fails_when_the_restored_key_differs() -> None:
    cloud = kv_cloud(restored_modulus="zzz")
    result = key_vault.backup_restore(cloud, VAULTS, environment="production", run_id="r1")
    assert not result.succeeded and len(cloud.called("az keyvault key delete")) == 2


# -- Event Hubs --------------------------------------------------------------------------------------------
EVENTS = event_hubs.EventHubsTarget(alias="erp-alias", secondary_namespace="erp-eh-dr", secondary_resource_group="dr")


def test_event_hubs_drill_fails_over_and_unpairs_the_former_secondary() -> None:
    cloud = FakeCloud()
    roles = iter([{"role": "Secondary"}, {"role": "PrimaryNotReplicating", "provisioningState": "Succeeded"}])
    cloud.handlers["az eventhubs georecovery-alias show"] = lambda args: next(roles)
    cloud.handlers["az eventhubs eventhub list"] = lambda args: [{"name": "orders"}]
    result = event_hubs.failover(cloud, EVENTS, environment="staging", run_id="r1")
    assert result.succeeded and result.rpo is None and result.rto is not None
    assert cloud.called("az eventhubs georecovery-alias delete") and cloud.called("az eventhubs eventhub delete")


def test_a_refused_event_hubs_failover_leaves_the_pairing_alone() -> None:
    cloud = FakeCloud()
    cloud.handlers["az eventhubs georecovery-alias fail-over"] = refuse("(Conflict) alias busy")
    result = event_hubs.failover(cloud, EVENTS, environment="staging", run_id="r1")
    assert not result.succeeded and not cloud.called("az eventhubs georecovery-alias delete")


# -- Event Hubs Capture read-back ------------------------------------------------------------------------------
CAPTURE = event_hubs.CaptureTarget(
    account_name="erpappst",
    container="events-capture",
    namespace="erp-eh",
    hubs=(("orders", 2), ("invoices", 1)),
    rpo_target=datetime.timedelta(hours=24),
)


def capture_cloud(ages: dict[str, datetime.timedelta], length: int = 512) -> FakeCloud:
    """Each hub's partition 0 holds captures of today; the newest is `ages[hub]` before the drill's start."""
    cloud = FakeCloud()
    start = cloud.clock + datetime.timedelta(minutes=2)  # the drill's requested_at (two clock reads in)

    def listed(args: tuple[str, ...]) -> Any:
        prefix = option(args, "--prefix")
        _, hub, partition, *day = prefix.strip("/").split("/")
        if hub not in ages or partition != "0" or "/".join(day) != f"{start:%Y/%m/%d}":
            return []
        newest = start - ages[hub]
        return [
            {
                "name": f"{prefix}05/{minute:02d}/00",
                "properties": {"lastModified": (newest - datetime.timedelta(minutes=m)).isoformat()},
            }
            for m, minute in ((0, 55), (5, 50))
        ]

    cloud.handlers["az storage blob list"] = listed
    cloud.handlers["az storage blob show"] = lambda args: {"properties": {"contentLength": length}}
    return cloud


def test_capture_drill_reads_every_hubs_newest_capture_back_and_measures_the_oldest_as_rpo() -> None:
    cloud = capture_cloud({"orders": datetime.timedelta(minutes=7), "invoices": datetime.timedelta(minutes=12)})
    result = event_hubs.capture_read_back(cloud, CAPTURE, environment="production", run_id="r1")
    assert result.succeeded and result.teardown_succeeded, result.details
    assert result.rpo == datetime.timedelta(minutes=12)  # the least recent hub's newest capture
    assert result.row()["RpoMinutes"] == 12.0 and result.row()["RtoMinutes"] is not None
    lists = [option(cloud.calls[i], "--prefix") for i in cloud.called("az storage blob list")]
    # per partition, today and yesterday: never the whole retention
    assert len(lists) == 2 * 2 + 1 * 2 and all(p.startswith("erp-eh/") and p.count("/") == 6 for p in lists)
    shown = [option(cloud.calls[i], "--name") for i in cloud.called("az storage blob show")]
    assert shown == [
        "erp-eh/orders/0/" + f"{cloud.clock:%Y/%m/%d}/05/55/00",
        "erp-eh/invoices/0/" + f"{cloud.clock:%Y/%m/%d}/05/55/00",
    ]
    assert all("--auth-mode" in cloud.calls[i] for i in cloud.called("az storage blob"))


def test_capture_drill_fails_on_a_stale_capture_an_idle_hub_or_an_empty_file() -> None:
    recent = event_hubs.capture_read_back(
        capture_cloud({"orders": datetime.timedelta(hours=20), "invoices": datetime.timedelta(hours=23)}),
        CAPTURE,
        environment="staging",
        run_id="r1",
    )
    assert recent.succeeded  # 23 h: within the 24 h target
    target = event_hubs.CaptureTarget(**{**CAPTURE.__dict__, "rpo_target": datetime.timedelta(hours=12)})
    late = event_hubs.capture_read_back(
        capture_cloud({"orders": datetime.timedelta(hours=1), "invoices": datetime.timedelta(hours=13)}),
        target,
        environment="staging",
        run_id="r1",
    )
    assert not late.succeeded and late.rpo == datetime.timedelta(hours=13)
    assert "older than the RPO target" in late.details[-1] and late.row()["RpoMinutes"] == 780.0
    idle = event_hubs.capture_read_back(
        capture_cloud({"orders": datetime.timedelta(minutes=5)}), CAPTURE, environment="staging", run_id="r1"
    )
    assert not idle.succeeded and idle.details == [
        "invoices: no capture in the last day (idle hub, or Capture is not writing)"
    ]
    empty = event_hubs.capture_read_back(
        capture_cloud({"orders": datetime.timedelta(minutes=5), "invoices": datetime.timedelta(minutes=5)}, length=0),
        CAPTURE,
        environment="staging",
        run_id="r1",
    )
    assert not empty.succeeded and empty.details[-1].endswith("is empty")
    refused = capture_cloud({"orders": datetime.timedelta(minutes=5)})
    refused.handlers["az storage blob list"] = refuse("(AuthorizationPermissionMismatch)")
    denied = event_hubs.capture_read_back(refused, CAPTURE, environment="staging", run_id="r1")
    assert not denied.succeeded and "AuthorizationPermissionMismatch" in denied.details[-1]
