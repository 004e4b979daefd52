"""In-cluster baseline settings: namespaces, quotas, the backup/DR/compliance jobs and monitoring figures."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from config.base import Cidr, Guid, Section

# A pinned image: registry/repository with an explicit tag other than "latest", or a sha256 digest.
_PINNED_IMAGE = re.compile(
    r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:(?!latest$)[A-Za-z0-9._-]{1,128}|@sha256:[a-f0-9]{64})$"
)
Quantity = str


def _pinned(value: str) -> str:
    if not _PINNED_IMAGE.match(value):
        raise ValueError(
            "must be registry/repository pinned by a tag other than 'latest' or by @sha256 digest, "
            "like mcr.microsoft.com/azure-cli:2.67.0"
        )
    return value


class NamespaceQuota(Section):
    """ResourceQuota hard limits and LimitRange container defaults of one namespace."""

    requests_cpu: Quantity = Field(pattern=r"^[0-9]+m?$")
    requests_memory: Quantity = Field(pattern=r"^[0-9]+(Mi|Gi)$")
    limits_cpu: Quantity = Field(pattern=r"^[0-9]+m?$")
    limits_memory: Quantity = Field(pattern=r"^[0-9]+(Mi|Gi)$")
    pods: int = Field(ge=1, le=1000)
    persistent_volume_claims: int = Field(ge=0, le=100)
    default_request_cpu: Quantity = Field(default="100m", pattern=r"^[0-9]+m?$")
    default_request_memory: Quantity = Field(default="128Mi", pattern=r"^[0-9]+(Mi|Gi)$")
    default_limit_cpu: Quantity = Field(default="500m", pattern=r"^[0-9]+m?$")
    default_limit_memory: Quantity = Field(default="512Mi", pattern=r"^[0-9]+(Mi|Gi)$")


class BaselineJob(Section):
    """A backup / DR-test / compliance job: pinned image and the workload identity it runs as."""

    image: str
    workload_identity_client_id: Guid
    cpu_request: Quantity = Field(default="100m", pattern=r"^[0-9]+m?$")
    memory_request: Quantity = Field(default="256Mi", pattern=r"^[0-9]+(Mi|Gi)$")
    cpu_limit: Quantity = Field(default="500m", pattern=r"^[0-9]+m?$")
    memory_limit: Quantity = Field(default="512Mi", pattern=r"^[0-9]+(Mi|Gi)$")
    active_deadline_seconds: int = Field(default=3600, ge=60, le=86400)
    backoff_limit: int = Field(default=2, ge=0, le=6)

    _image_pinned = field_validator("image")(classmethod(lambda cls, value: _pinned(value)))


class MonitoringFigures(Section):
    """Story 3.1's HA Prometheus/Alertmanager figures, realised by Azure managed Prometheus (README)."""

    prometheus_replicas: int = Field(default=2, ge=2)
    alertmanager_replicas: int = Field(default=2, ge=2)
    retention_days: int = Field(default=90, ge=1, le=540)  # an Azure Monitor workspace keeps 18 months
    retention_size_gb: int = Field(default=100, ge=1)
    storage_size_gi: int = Field(default=200, ge=1)
    storage_class: str = "managed-premium"
    scrape_interval_seconds: int = Field(default=30, ge=10, le=300)


class BaselineConfig(Section):
    namespaces: dict[str, NamespaceQuota] = Field(min_length=1)
    # Where jobs reach the API server on TCP 443 (the private API IP is only known after apply).
    api_server_cidrs: tuple[Cidr, ...] = Field(min_length=1)
    storage_class: str = Field(default="managed-csi-premium", pattern=r"^[a-z0-9-]{1,63}$")
    backup_storage_size: Quantity = Field(default="100Gi", pattern=r"^[0-9]+Gi$")
    reports_storage_size: Quantity = Field(default="10Gi", pattern=r"^[0-9]+Gi$")
    backup_schedule: str = "0 2 * * *"
    dr_test_schedule: str = "0 6 * * 0"
    backup_job: BaselineJob
    dr_test_job: BaselineJob
    compliance_job: BaselineJob
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
