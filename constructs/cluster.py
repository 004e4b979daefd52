"""The AKS cluster: private, Entra ID-only (local accounts off), workload identity."""
from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.kubernetes_cluster import (
    KubernetesCluster,
    KubernetesClusterAzureActiveDirectoryRoleBasedAccessControl,
    KubernetesClusterDefaultNodePool,
    KubernetesClusterIdentity,
)
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct

from config.services import AksConfig
from constructs.naming import Naming

ZONES = ["1", "2", "3"]


@dataclass(frozen=True)
class AksClusterProps:
    config: AksConfig
    naming: Naming
    location: str
    resource_group_name: str
    tenant_id: str


class AksCluster(Construct):
    """Exposes `host` and `cluster_ca_certificate` for the cluster stack's kubernetes provider."""

    def __init__(self, scope: Construct, id: str, *, props: AksClusterProps) -> None:
        super().__init__(scope, id)
        config = props.config
        self.control_plane_identity = UserAssignedIdentity(
            self,
            "control-plane-identity",
            name=props.naming.name("aks", "id"),
            location=props.location,
            resource_group_name=props.resource_group_name,
        )
        self.cluster = KubernetesCluster(
            self,
            "cluster",
            name=props.naming.name("workloads", "aks"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            dns_prefix_private_cluster=props.naming.name("workloads", "aks"),
            kubernetes_version=config.kubernetes_version,
            sku_tier=config.sku_tier,
            private_cluster_enabled=True,
            local_account_disabled=True,
            oidc_issuer_enabled=True,
            workload_identity_enabled=True,
            azure_active_directory_role_based_access_control=KubernetesClusterAzureActiveDirectoryRoleBasedAccessControl(
                azure_rbac_enabled=True,
                tenant_id=props.tenant_id,
                admin_group_object_ids=list(config.admin_group_object_ids),
            ),
            identity=KubernetesClusterIdentity(type="UserAssigned", identity_ids=[self.control_plane_identity.id]),
            default_node_pool=KubernetesClusterDefaultNodePool(
                name="system",
                vm_size=config.system_pool.vm_size,
                node_count=config.system_pool.node_count,
                zones=ZONES,
                only_critical_addons_enabled=True,
            ),
        )
        kube_config = self.cluster.kube_config.get(0)
        self.host = kube_config.host
        self.cluster_ca_certificate = kube_config.cluster_ca_certificate
