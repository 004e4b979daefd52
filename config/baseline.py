"""In-cluster baseline settings: namespaces, quotas, the backup/DR/compliance jobs and monitoring figures."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from config.base import Cidr, Section

Quantity = str


class NamespaceQuota(Section):
    """ResourceQuota hard limits and LimitRange container defaults of one namespace."""

    requests_cpu: Quantity = Field(pattern=r"^[0-9]+m?$", description="Quota: CPU all pods may request")
    requests_memory: Quantity = Field(pattern=r"^[0-9]+(Mi|Gi)$", description="Quota: memory all pods may request")
    limits_cpu: Quantity = Field(pattern=r"^[0-9]+m?$", description="Quota: sum of the pods' CPU limits")
    limits_memory: Quantity = Field(pattern=r"^[0-9]+(Mi|Gi)$", description="Quota: sum of the pods' memory limits")
    pods: int = Field(ge=1, le=1000, description="Quota: pods at most")
    persistent_volume_claims: int = Field(ge=0, le=100, description="Quota: persistent volume claims at most")
    default_request_cpu: Quantity = Field(
        default="100m", pattern=r"^[0-9]+m?$", description="CPU request of a container that sets none"
    )
    default_request_memory: Quantity = Field(
        default="128Mi", pattern=r"^[0-9]+(Mi|Gi)$", description="Memory request of a container that sets none"
    )
    default_limit_cpu: Quantity = Field(
        default="500m", pattern=r"^[0-9]+m?$", description="CPU limit of a container that sets none"
    )
    default_limit_memory: Quantity = Field(
        default="512Mi", pattern=r"^[0-9]+(Mi|Gi)$", description="Memory limit of a container that sets none"
    )


class JobImage(Section):
    """The image every baseline job runs: a shell, coreutils and kubectl of the cluster's minor version (the
    version skew policy allows ±1). `registry.k8s.io/kubectl` cannot run the scripts: it is distroless (no
    `/bin/sh`, see constructs/baseline/image_contents.py). The default is `docker.io/alpine/k8s` (Alpine edge with
    busybox and kubectl, rebuilt daily for the four newest minors, tag = the kubectl version without "v"; it also
    carries tools the jobs do not use: see image_contents.py for the trade-off). The infra stack imports it into
    the environment's registry (`az acr import` during apply), the only registry the Gatekeeper policy admits;
    tools/checks/deployability/job_images.py checks every command the scripts call is in the image."""

    source_repository: str = Field(
        default="docker.io/alpine/k8s",
        pattern=r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+$",
        description="Public repository imported into the registry by digest (reference/image_digests.json)",
    )
    patch: int = Field(ge=0, le=99, description="kubectl patch release of the cluster's minor version")
    tag_prefix: str = Field(default="", pattern=r"^v?$", description='"v" for registries tagging v1.36.5')
    repository: str = Field(
        default="platform/kubectl",
        pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$",
        description="Repository of the copy in the environment's registry that the jobs run",
    )

    def tag(self, kubernetes_version: str) -> str:
        """`1.33.5` for cluster version 1.33 and patch 5 (`v1.33.5` with tag_prefix "v")."""
        return f"{self.tag_prefix}{kubernetes_version}.{self.patch}"


class BaselineJob(Section):
    """A backup / compliance job's resources. Both read the cluster; the backup job also uploads its exports
    to blob storage through workload identity (constructs/cluster_exports.py)."""

    cpu_request: Quantity = Field(default="100m", pattern=r"^[0-9]+m?$", description="The job container's CPU request")
    memory_request: Quantity = Field(
        default="256Mi", pattern=r"^[0-9]+(Mi|Gi)$", description="The job container's memory request"
    )
    cpu_limit: Quantity = Field(default="500m", pattern=r"^[0-9]+m?$", description="The job container's CPU limit")
    memory_limit: Quantity = Field(
        default="512Mi", pattern=r"^[0-9]+(Mi|Gi)$", description="The job container's memory limit"
    )
    active_deadline_seconds: int = Field(
        default=3600, ge=60, le=86400, description="A run still going after this long is stopped"
    )
    backoff_limit: int = Field(default=2, ge=0, le=6, description="Retries before a run counts as failed")


class MonitoringFigures(Section):
    """Story 3.1's HA Prometheus/Alertmanager figures, realised by Azure managed Prometheus
    (docs/platform/observability.md)."""

    prometheus_replicas: int = Field(default=2, ge=2, description="Story figure only: an Azure-managed HA service")
    alertmanager_replicas: int = Field(default=2, ge=2, description="Story figure only: an Azure-managed HA service")
    retention_days: int = Field(default=90, ge=1, le=540)  # an Azure Monitor workspace keeps 18 months
    retention_size_gb: int = Field(default=100, ge=1, description="Story figure only: no disk (billed per sample)")
    storage_size_gi: int = Field(default=200, ge=1, description="Story figure only: no disk (billed per sample)")
    storage_class: str = Field(default="managed-premium", description="Story figure only: no disk to provision")
    scrape_interval_seconds: int = Field(
        default=30, ge=10, le=300, description="The managed Prometheus agent's default scrape interval"
    )


class BaselineConfig(Section):
    namespaces: dict[str, NamespaceQuota] = Field(
        min_length=1, description="Namespace -> quota and defaults; monitoring, backup-system and compliance required"
    )
    # Where jobs reach the API server on TCP 443 with Azure Network Policy Manager (aks.network_policy = "azure").
    # Unused with Cilium, which does not match the API server by ipBlock: its `kube-apiserver` entity does.
    api_server_cidrs: tuple[Cidr, ...] = Field(min_length=1)
    storage_class: str = Field(
        default="managed-csi-premium", pattern=r"^[a-z0-9-]{1,63}$", description="Storage class of the reports volume"
    )
    reports_storage_size: Quantity = Field(
        default="10Gi", pattern=r"^[0-9]+Gi$", description="Size of the compliance job's reports volume"
    )
    backup_schedule: str = Field(default="0 2 * * *", description="Cron schedule of the cluster-backup CronJob")
    # The container of data.storage (the geo-redundant application account) the backup job's exports go to.
    exports_container: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    # Daily at least: its results' alerts (constructs/compliance_results.py) look back two days.
    compliance_schedule: str = Field(default="30 3 * * *", pattern=r"^\S+ \S+ \* \* \*$")
    job_image: JobImage
    backup_job: BaselineJob = BaselineJob()
    compliance_job: BaselineJob = BaselineJob()
    monitoring: MonitoringFigures = MonitoringFigures()

    @field_validator("namespaces")
    @classmethod
    def _required_namespaces(cls, value: dict[str, NamespaceQuota]) -> dict[str, NamespaceQuota]:
        missing = {"monitoring", "backup-system", "compliance"} - set(value)
        if missing:
            raise ValueError(f"must include the baseline jobs' namespaces; missing {sorted(missing)}")
        bad = [name for name in value if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", name)]
        if bad:
            raise ValueError(f"namespace names must be DNS labels; invalid {bad}")
        return value
