"""Settings of the platform services: AKS, the container registry and the Application Gateway.

Shape rules (enums, ranges) live on the fields; rules across keys raise KeyedValueError so the error
names the key that has to change.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from config.base import Guid, Ipv4, KeyedValueError, Section

ZONE = Literal["1", "2", "3"]
# Every node pool spreads over these zones, so an autoscaled pool needs at least one node per zone.
NODE_POOL_ZONES: tuple[str, ...] = ("1", "2", "3")
# Ephemeral OS disks live on the VM's cache or temp disk, so they can be at most that big (GiB).
# The d-series sizes have no cache disk: the temp disk is the limit. Add a size here before using it.
EPHEMERAL_OS_DISK_MAX_GB: dict[str, int] = {
    "Standard_D2ds_v5": 75,
    "Standard_D4ds_v5": 150,
    "Standard_D8ds_v5": 300,
    "Standard_D16ds_v5": 600,
    "Standard_D4ads_v5": 150,
    "Standard_D8ads_v5": 300,
    "Standard_D16ads_v5": 600,
    "Standard_E4ds_v5": 150,
    "Standard_E8ds_v5": 300,
    "Standard_E16ds_v5": 600,
}
WEEKDAY = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class NodePool(Section):
    """What every node pool shares: an ephemeral OS disk that must fit the VM's temp disk."""

    vm_size: str = Field(
        pattern=r"^Standard_[A-Za-z0-9_]+$", description="VM size of the pool's nodes (one of EPHEMERAL_OS_DISK_MAX_GB)"
    )
    os_disk_size_gb: int = Field(ge=30, le=2048, description="Ephemeral OS disk per node (GiB), within the temp disk")
    # checkov CKV_AZURE_168 wants at least 50; Azure CNI Overlay allows up to 250.
    max_pods: int = Field(default=110, ge=50, le=250, description="Most pods one node runs")

    @model_validator(mode="after")
    def _ephemeral_disk_fits(self) -> NodePool:
        limit = EPHEMERAL_OS_DISK_MAX_GB.get(self.vm_size)
        if limit is None:
            raise KeyedValueError(
                "vm_size",
                self.vm_size,
                f"has no known temp disk size for an ephemeral OS disk; use one of {sorted(EPHEMERAL_OS_DISK_MAX_GB)} "
                "or add it to EPHEMERAL_OS_DISK_MAX_GB in config/services.py",
            )
        if self.os_disk_size_gb > limit:
            raise KeyedValueError(
                "os_disk_size_gb",
                self.os_disk_size_gb,
                f"the ephemeral OS disk must fit {self.vm_size}'s {limit} GiB temp disk",
            )
        return self


class SystemPool(NodePool):
    node_count: int = Field(ge=3, le=100, description="One node per zone at least")


class UserPool(NodePool):
    # Linux pool names are at most 12 characters; 9 leaves room for the "tmp" rotation pool.
    name: str = Field(pattern=r"^[a-z][a-z0-9]{0,8}$")
    min_count: int = Field(ge=len(NODE_POOL_ZONES), le=1000, description="At least one node per zone")
    max_count: int = Field(ge=len(NODE_POOL_ZONES), le=1000, description="The autoscaler's most nodes")

    @model_validator(mode="after")
    def _min_below_max(self) -> UserPool:
        if self.min_count > self.max_count:
            raise KeyedValueError("min_count", self.min_count, f"must not exceed max_count ({self.max_count})")
        return self


class MaintenanceWindow(Section):
    """A weekly planned-maintenance window (AKS requires at least 4 hours)."""

    day_of_week: WEEKDAY = Field(description="Day the weekly window opens")
    start_time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")
    duration_hours: int = Field(ge=4, le=24, description="How long the window stays open (hours)")
    utc_offset: str = Field(
        default="+00:00", pattern=r"^[+-](0\d|1[0-4]):[0-5]\d$", description="Time zone of start_time, e.g. +01:00"
    )


class AksConfig(Section):
    kubernetes_version: str = Field(
        pattern=r"^1\.\d{2}$", description="Kubernetes minor version (1.xx); automatic_upgrade_channel moves it on"
    )
    sku_tier: Literal["Free", "Standard", "Premium"] = Field(
        description="AKS pricing tier: Standard and Premium carry the uptime SLA, Free none"
    )
    # Entra groups ELIGIBLE (PIM, just in time) for Azure Kubernetes Service RBAC Cluster Admin on the subscription's
    # clusters; no standing cluster-admin binding (constructs/human_access.py, docs/security-model.md).
    admin_group_object_ids: tuple[Guid, ...] = Field(min_length=1)
    # Azure CNI Overlay always; the policy engine: Cilium (eBPF dataplane) or Azure Network Policy Manager.
    network_policy: Literal["cilium", "azure"]
    automatic_upgrade_channel: Literal["patch", "stable", "rapid"] = Field(
        description="How AKS upgrades the cluster's Kubernetes version by itself (inside auto_upgrade_window)"
    )
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch"] = Field(
        description="How AKS updates the nodes' OS: a new node image, or security patches only"
    )
    auto_upgrade_window: MaintenanceWindow = Field(description="When AKS may upgrade Kubernetes (weekly)")
    node_os_upgrade_window: MaintenanceWindow = Field(description="When AKS may update the nodes' OS (weekly)")
    image_cleaner_interval_hours: int = Field(
        default=48,
        ge=24,
        le=2160,
        description="How often Image Cleaner removes unused vulnerable images from the nodes",
    )
    system_pool: SystemPool = Field(description="The system node pool (zones 1-3, ephemeral OS disks)")
    user_pools: tuple[UserPool, ...] = Field(
        min_length=1, description="Autoscaled pools for the workloads, one pool resource each, in zones 1-3"
    )

    @model_validator(mode="after")
    def _unique_pool_names(self) -> AksConfig:
        seen = {"system"}
        for index, pool in enumerate(self.user_pools):
            if pool.name in seen:
                raise KeyedValueError(
                    f"user_pools.{index}.name", pool.name, "is already taken (the system pool is named 'system')"
                )
            seen.add(pool.name)
        return self


class RegistryConfig(Section):
    """Azure Container Registry Premium (private endpoints, zone redundancy and geo-replication need it)."""

    zone_redundancy_enabled: bool = Field(description="Zone-redundant registry in `location` (needs zones there)")
    # A replica in the environment's paired region keeps images pullable when the primary region fails.
    replicate_to_paired_region: bool
    # Zone redundancy of that replica: only where the paired region has availability zones (West US has none).
    replica_zone_redundancy_enabled: bool = False
    untagged_manifest_retention_days: int = Field(ge=0, le=365, description="0 deletes untagged manifests at once")


Hostname = Annotated[str, Field(pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")]


class AppGatewayConfig(Section):
    """Application Gateway WAF_v2 in front of the cluster's internal ingress."""

    zones: tuple[ZONE, ...] = Field(description="Zones of the gateway and its public IP; all three = zone-redundant")
    min_capacity: int = Field(ge=0, le=125, description="The gateway's autoscale floor (instances)")
    max_capacity: int = Field(ge=2, le=125, description="The gateway's autoscale ceiling (instances)")
    waf_mode: Literal["Prevention", "Detection"] = Field(
        description="WAF policy mode: Prevention blocks matching requests, Detection only logs them"
    )
    host_name: Hostname = Field(description="Public host name the HTTPS listener answers and its certificate names")
    # Issuer of the listener certificate Key Vault creates and renews: "Self" (self-signed) or a CA issuer
    # registered in the data key vault (e.g. a DigiCert or GlobalSign issuer).
    certificate_issuer: str = Field(default="Self", pattern=r"^[A-Za-z0-9-]{1,127}$")
    ingress_ip_address: Ipv4 = Field(description="Private IP of the cluster's internal ingress load balancer")
    # The name the gateway uses towards the ingress (host header, SNI, backend certificate, private DNS record).
    # Its parent domain becomes a private DNS zone linked to the environment's VNets, so it must be a domain
    # of its own (e.g. ingress.<env>.erp.example.com), never the company's public zone.
    backend_host_name: Hostname = Field(description="Internal host name of the ingress: TLS from the gateway")
    health_probe_path: str = Field(
        default="/healthz", pattern=r"^/[A-Za-z0-9._~/-]*$", description="HTTPS path the gateway probes on the ingress"
    )
    # False until the application answers behind the gateway: the edge alerts (unhealthy backend hosts,
    # availability web test) then notify the warning receivers instead of paging on-call.
    edge_live: bool = Field(description="The edge is in service: its alerts page on-call (critical)")

    @model_validator(mode="after")
    def _capacity_range(self) -> AppGatewayConfig:
        if self.min_capacity > self.max_capacity:
            raise KeyedValueError(
                "min_capacity", self.min_capacity, f"must not exceed max_capacity ({self.max_capacity})"
            )
        if len(set(self.zones)) != len(self.zones):
            raise KeyedValueError("zones", list(self.zones), "lists a zone twice")
        if self.edge_live and self.certificate_issuer == "Self":
            raise KeyedValueError(
                "edge_live",
                self.edge_live,
                "needs a CA-issued listener certificate (certificate_issuer other than 'Self'): the availability "
                "test checks TLS, so a self-signed certificate would page on-call around the clock",
            )
        if self.backend_host_name == self.host_name or self.backend_host_name.count(".") < 2:
            raise KeyedValueError(
                "backend_host_name",
                self.backend_host_name,
                "must be a host of its own with at least three labels (its parent domain becomes a private DNS "
                f"zone) and differ from host_name '{self.host_name}'",
            )
        return self

    @property
    def backend_dns_zone(self) -> str:
        """The private DNS zone holding the backend host's A record: the host name without its first label."""
        return self.backend_host_name.split(".", 1)[1]

    @property
    def backend_record_name(self) -> str:
        return self.backend_host_name.split(".", 1)[0]
