"""AKS drill: Backup for AKS restores a sample namespace from the newest recovery point into a scratch
namespace of the same cluster (namespace mapping), and `kubectl` checks that every object the sample held at
the recovery point is there. Teardown empties the scratch namespace.

RPO is the recovery point's age when the restore was requested; RTO the time to a verified namespace.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from drills.boundary import Cloud, azure_time
from drills.results import DrillResult, recorded

DATASOURCE_TYPE = "AzureKubernetesService"
# What the drill compares between the sample and the restored namespace.
KINDS = "deployments,statefulsets,services,configmaps,persistentvolumeclaims"
# What the teardown deletes in the scratch namespace (the namespace itself stays: the drill identity's
# Kubernetes role is scoped to it).
CLEANUP_KINDS = f"{KINDS},secrets,serviceaccounts,roles,rolebindings,pods,replicasets,ingresses"
JOB_POLL_SECONDS = 30
JOB_TIMEOUT = datetime.timedelta(hours=2)


@dataclass(frozen=True)
class AksTarget:
    vault_name: str
    vault_resource_group: str
    backup_instance_name: str
    cluster_id: str
    location: str
    sample_namespace: str
    scratch_namespace: str


def _objects(cloud: Cloud, namespace: str, before: datetime.datetime | None = None) -> set[tuple[str, str]]:
    listed = cloud.kubectl("get", KINDS, "--namespace", namespace)
    return {
        (item["kind"], item["metadata"]["name"])
        for item in listed.get("items", [])
        if before is None or azure_time(item["metadata"]["creationTimestamp"]) <= before
    }


def restore(cloud: Cloud, target: AksTarget, *, environment: str, run_id: str) -> DrillResult:
    result = DrillResult("aks_restore", "aks", environment, run_id, cloud.now())
    instance = ("--resource-group", target.vault_resource_group, "--vault-name", target.vault_name)
    with recorded(result) as teardown:
        cloud.kube_credentials(target.cluster_id)
        requested_at = cloud.now()
        points = cloud.az(
            "dataprotection", "recovery-point", "list", *instance, "--backup-instance-name", target.backup_instance_name
        )
        if not points:
            result.details.append("no recovery point")
            return result
        newest = max(points, key=lambda point: azure_time(point["properties"]["recoveryPointTime"]))
        point_time = azure_time(newest["properties"]["recoveryPointTime"])
        config = cloud.az(
            "dataprotection", "backup-instance", "initialize-restoreconfig", "--datasource-type", DATASOURCE_TYPE
        )
        config.update(
            include_cluster_scope_resources=False,
            included_namespaces=[target.sample_namespace],
            namespace_mappings={target.sample_namespace: target.scratch_namespace},
            conflict_policy="Skip",
        )
        request = cloud.az(
            "dataprotection",
            "backup-instance",
            "restore",
            "initialize-for-data-recovery",
            "--datasource-type",
            DATASOURCE_TYPE,
            "--restore-location",
            target.location,
            "--source-datastore",
            "OperationalStore",
            "--recovery-point-id",
            newest["name"],
            "--target-resource-id",
            target.cluster_id,
            "--restore-configuration",
            json.dumps(config),
        )
        teardown.push(
            "empty scratch namespace",
            lambda: cloud.kubectl(
                "delete",
                CLEANUP_KINDS,
                "--all",
                "--namespace",
                target.scratch_namespace,
                "--ignore-not-found",
                "--wait=false",
            ),
        )
        triggered = cloud.az(
            "dataprotection",
            "backup-instance",
            "restore",
            "trigger",
            *instance,
            "--backup-instance-name",
            target.backup_instance_name,
            "--restore-request-object",
            json.dumps(request),
        )
        job_id = triggered["jobId"].rsplit("/", 1)[-1]
        deadline = requested_at + JOB_TIMEOUT
        while True:
            status = cloud.az("dataprotection", "job", "show", *instance, "--job-id", job_id)["properties"]["status"]
            if status != "InProgress" or cloud.now() > deadline:
                break
            cloud.sleep(JOB_POLL_SECONDS)
        if status != "Completed":
            result.details.append(f"restore job {job_id}: {status}")
            return result
        expected = _objects(cloud, target.sample_namespace, before=point_time)
        restored = _objects(cloud, target.scratch_namespace)
        verified_at = cloud.now()
        missing = sorted(expected - restored)
        result.restore_point = point_time
        result.rpo = requested_at - point_time
        if missing:
            result.details.append(f"missing after restore: {missing}")
            return result
        result.rto = verified_at - requested_at
        result.succeeded = True
        result.details.append(f"{len(expected)} objects of {target.sample_namespace} restored")
    return result
