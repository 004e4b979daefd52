"""The AKS cluster: private (API in the spoke's private DNS zone), Entra ID-only with Azure RBAC (local
accounts off), workload identity, Azure CNI Overlay with a network policy engine, egress only through the
firewall (userDefinedRouting), ephemeral host-encrypted nodes whose disks use the platform's disk
encryption set, and the Azure Policy, Defender, Key Vault secrets provider, image cleaner and Container
Insights add-ons. Kubernetes secrets are encrypted in etcd with a Key Vault key (KMS) in a private vault,
which needs API server VNet integration (the API's internal load balancer in a delegated subnet).

Both identities are user-assigned, so their role assignments exist before the cluster does and the
cluster is created only after them (`depends_on`): AKS validates subnet, route table, DNS zone and
kubelet-identity permissions at creation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from cdktf import ITerraformDependable, TerraformResource
from cdktf_cdktf_provider_azurerm.kubernetes_cluster import (
    KubernetesCluster,
    KubernetesClusterApiServerAccessProfile,
    KubernetesClusterDefaultNodePool,
    KubernetesClusterIdentity,
    KubernetesClusterKeyManagementService,
    KubernetesClusterKeyVaultSecretsProvider,
    KubernetesClusterKubeletIdentity,
    KubernetesClusterMaintenanceWindowAutoUpgrade,
    KubernetesClusterMaintenanceWindowNodeOs,
    KubernetesClusterMicrosoftDefender,
    KubernetesClusterMonitorMetrics,
    KubernetesClusterNetworkProfile,
    KubernetesClusterOmsAgent,
    KubernetesClusterWebAppRouting,
)
from cdktf_cdktf_provider_azurerm.kubernetes_cluster import (
    KubernetesClusterAzureActiveDirectoryRoleBasedAccessControl as EntraIdRbac,
)
from cdktf_cdktf_provider_azurerm.kubernetes_cluster_node_pool import KubernetesClusterNodePool
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity

from config.services import NODE_POOL_ZONES, AksConfig, MaintenanceWindow
from constructs import Construct
from constructs.interfaces import DiagnosticsSink, RoleGrant, after_access, diagnostics, grant
from constructs.key_vault import EncryptionKey
from constructs.naming import Naming
from constructs.resource_providers import REQUIRED_FEATURES

Block = TypeVar("Block")

SYSTEM_POOL_NAME = "system"


@dataclass(frozen=True)
class ClusterNetwork:
    """Where the cluster sits: its subnets (ids that already depend on their route-table association),
    the spoke VNet and route table the control plane manages, the API's private DNS zone, and the
    cluster-internal ranges (Azure CNI Overlay)."""

    system_subnet_id: str
    user_subnet_id: str
    vnet_id: str
    route_table_id: str
    private_dns_zone_id: str  # privatelink.<region>.azmk8s.io
    api_server_subnet_id: str  # delegated to AKS: API server VNet integration (the API's internal load balancer)
    service_cidr: str
    dns_service_ip: str
    pod_cidr: str


@dataclass(frozen=True)
class AksClusterProps:
    config: AksConfig
    naming: Naming
    location: str
    resource_group_name: str
    tenant_id: str
    network: ClusterNetwork
    disk_encryption_set_id: str  # OS and data disks of every node pool
    registry_id: str  # the kubelet identity gets AcrPull here
    log_analytics_workspace_id: str  # Container Insights and Defender
    # KMS etcd encryption of Kubernetes secrets with this key, in a private vault (AKS reaches it over its own
    # private endpoint, which needs API server VNet integration).
    kms_key: EncryptionKey
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    # The firewall rules the nodes' egress needs (Network.egress_rules): the cluster is created after them.
    egress_rules: Sequence[ITerraformDependable] = ()


def _weekly(window: MaintenanceWindow, block: Callable[..., Block]) -> Block:
    return block(
        frequency="Weekly",
        interval=1,
        day_of_week=window.day_of_week,
        start_time=window.start_time,
        duration=window.duration_hours,
        utc_offset=window.utc_offset,
    )


class AksCluster(Construct):
    """Exposes `host` and `cluster_ca_certificate` (the cluster stack's kubernetes provider), `cluster_id`,
    `cluster_name`, `kubelet_identity_object_id`, `oidc_issuer_url`, `node_resource_group`,
    `control_plane_identity_principal_id` and `ingress_identity_principal_id` (application routing add-on)."""

    def __init__(self, scope: Construct, id: str, *, props: AksClusterProps) -> None:
        super().__init__(scope, id)
        config, naming, network = props.config, props.naming, props.network
        self.control_plane_identity = self._identity("control-plane-identity", naming.name("aks", "id"), props)
        self.kubelet_identity = self._identity("kubelet-identity", naming.name("aks-kubelet", "id"), props)
        control_plane = self.control_plane_identity.principal_id
        # Host encryption needs the subscription feature Microsoft.Compute/EncryptionAtHost Registered: the cluster
        # and its pools wait for the registration, which itself waits until Azure reports it Registered.
        self.feature_registrations = [
            TerraformResource(
                self,
                f"feature-{feature}",
                terraform_resource_type="azurerm_resource_provider_feature_registration",
            )
            for namespace, feature in REQUIRED_FEATURES
        ]
        for registration, (namespace, feature) in zip(self.feature_registrations, REQUIRED_FEATURES, strict=True):
            registration.add_override("provider_name", namespace)
            registration.add_override("name", feature)
        grants: list[RoleAssignment] = [
            grant(
                self,
                "vnet-network-contributor",
                RoleGrant(
                    network.vnet_id,
                    "Network Contributor",
                    control_plane,
                    "Join the node subnets and manage internal load balancers in the spoke VNet",
                ),
            ),
            grant(
                self,
                "route-table-network-contributor",
                RoleGrant(
                    network.route_table_id,
                    "Network Contributor",
                    control_plane,
                    "Read the firewall route (userDefinedRouting) on the node subnets",
                ),
            ),
            grant(
                self,
                "dns-zone-contributor",
                RoleGrant(
                    network.private_dns_zone_id,
                    "Private DNS Zone Contributor",
                    control_plane,
                    "Register the private API server in its private DNS zone",
                ),
            ),
            grant(
                self,
                "disk-encryption-set-reader",
                RoleGrant(
                    props.disk_encryption_set_id,
                    "Reader",
                    control_plane,
                    "Use the disk encryption set for node OS and data disks",
                ),
            ),
            grant(
                self,
                "kubelet-identity-operator",
                RoleGrant(
                    self.kubelet_identity.id,
                    "Managed Identity Operator",
                    control_plane,
                    "Assign the kubelet identity to the node pools",
                ),
            ),
            grant(
                self,
                "kms-key-crypto-user",
                RoleGrant(
                    props.kms_key.key_resource_id,
                    "Key Vault Crypto User",
                    control_plane,
                    "KMS: encrypt and decrypt the etcd data encryption keys with the key",
                ),
            ),
            grant(
                self,
                "kms-vault-contributor",
                RoleGrant(
                    props.kms_key.key_vault_id,
                    "Key Vault Contributor",
                    control_plane,
                    "KMS with a private vault: AKS creates its own private endpoint to the vault",
                ),
            ),
            grant(
                self,
                "kubelet-acr-pull",
                RoleGrant(
                    props.registry_id,
                    "AcrPull",
                    self.kubelet_identity.principal_id,
                    "Nodes pull images from the platform registry",
                ),
            ),
        ]
        system = config.system_pool
        self.cluster = KubernetesCluster(
            self,
            "cluster",
            name=naming.name("workloads", "aks"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            node_resource_group=naming.name("workloads-aks-nodes", "rg"),
            dns_prefix_private_cluster=naming.name("workloads", "aks"),
            kubernetes_version=config.kubernetes_version,
            sku_tier=config.sku_tier,
            private_cluster_enabled=True,
            private_cluster_public_fqdn_enabled=False,
            private_dns_zone_id=network.private_dns_zone_id,
            local_account_disabled=True,
            # The API server's endpoint is an internal load balancer in the delegated subnet (still private:
            # private_cluster_enabled); KMS with a private key vault works only this way (no Konnectivity).
            api_server_access_profile=KubernetesClusterApiServerAccessProfile(
                subnet_id=network.api_server_subnet_id, virtual_network_integration_enabled=True
            ),
            key_management_service=KubernetesClusterKeyManagementService(
                key_vault_key_id=props.kms_key.key_id, key_vault_network_access="Private"
            ),
            oidc_issuer_enabled=True,
            workload_identity_enabled=True,
            azure_active_directory_role_based_access_control=EntraIdRbac(
                azure_rbac_enabled=True,
                tenant_id=props.tenant_id,
                # No standing cluster-admin group: config.admin_group_object_ids are PIM-eligible for the Azure RBAC
                # Cluster Admin role instead (bootstrap, constructs/human_access.py).
                admin_group_object_ids=[],
            ),
            identity=KubernetesClusterIdentity(type="UserAssigned", identity_ids=[self.control_plane_identity.id]),
            kubelet_identity=KubernetesClusterKubeletIdentity(
                user_assigned_identity_id=self.kubelet_identity.id,
                client_id=self.kubelet_identity.client_id,
                object_id=self.kubelet_identity.principal_id,
            ),
            disk_encryption_set_id=props.disk_encryption_set_id,
            network_profile=KubernetesClusterNetworkProfile(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_policy=config.network_policy,
                # Cilium network policy runs on the Cilium (eBPF) dataplane only.
                network_data_plane="cilium" if config.network_policy == "cilium" else "azure",
                outbound_type="userDefinedRouting",  # the subnets' route table sends 0.0.0.0/0 to the firewall
                load_balancer_sku="standard",
                pod_cidr=network.pod_cidr,
                service_cidr=network.service_cidr,
                dns_service_ip=network.dns_service_ip,
            ),
            default_node_pool=KubernetesClusterDefaultNodePool(
                name=SYSTEM_POOL_NAME,
                temporary_name_for_rotation=f"{SYSTEM_POOL_NAME}tmp",
                vm_size=system.vm_size,
                node_count=system.node_count,
                zones=list(NODE_POOL_ZONES),
                only_critical_addons_enabled=True,
                vnet_subnet_id=network.system_subnet_id,
                os_disk_type="Ephemeral",
                os_disk_size_gb=system.os_disk_size_gb,
                max_pods=system.max_pods,
                host_encryption_enabled=True,
                node_public_ip_enabled=False,
            ),
            automatic_upgrade_channel=config.automatic_upgrade_channel,
            node_os_upgrade_channel=config.node_os_upgrade_channel,
            maintenance_window_auto_upgrade=_weekly(
                config.auto_upgrade_window, KubernetesClusterMaintenanceWindowAutoUpgrade
            ),
            maintenance_window_node_os=_weekly(config.node_os_upgrade_window, KubernetesClusterMaintenanceWindowNodeOs),
            azure_policy_enabled=True,
            image_cleaner_enabled=True,
            image_cleaner_interval_hours=config.image_cleaner_interval_hours,
            # Mounted secrets follow Key Vault rotation (polled every 2 minutes, Azure's default interval).
            key_vault_secrets_provider=KubernetesClusterKeyVaultSecretsProvider(secret_rotation_enabled=True),
            oms_agent=KubernetesClusterOmsAgent(
                log_analytics_workspace_id=props.log_analytics_workspace_id, msi_auth_for_monitoring_enabled=True
            ),
            microsoft_defender=KubernetesClusterMicrosoftDefender(
                log_analytics_workspace_id=props.log_analytics_workspace_id
            ),
            # Installs the managed Prometheus agent (ama-metrics); its data collection rule is in observability.
            monitor_metrics=KubernetesClusterMonitorMetrics(),
            # The ingress behind the App Gateway: the application routing add-on (managed NGINX). No default
            # controller ("None": the add-on's default would be a public load balancer); the cluster stack
            # declares an internal one at the gateway's backend address. No DNS zones: the backend record is
            # the App Gateway construct's.
            web_app_routing=KubernetesClusterWebAppRouting(dns_zone_ids=[], default_nginx_controller="None"),
            # Nodes boot only once their egress rules exist (mspnp/aks-baseline orders the same way).
            depends_on=[*after_access(self, "rbac-wait", grants), *self.feature_registrations, *props.egress_rules],
        )
        # Story 3.1's audit: kube-audit-admin, guard and the autoscaler (DIAGNOSTICS in constructs/diagnostics.py).
        diagnostics(self, "diagnostics", self.cluster, props.diagnostics)
        for pool in config.user_pools:
            KubernetesClusterNodePool(
                self,
                f"user-pool-{pool.name}",
                name=pool.name,
                temporary_name_for_rotation=f"{pool.name}tmp",
                kubernetes_cluster_id=self.cluster.id,
                mode="User",
                os_type="Linux",
                vm_size=pool.vm_size,
                auto_scaling_enabled=True,
                min_count=pool.min_count,
                max_count=pool.max_count,
                zones=list(NODE_POOL_ZONES),
                vnet_subnet_id=network.user_subnet_id,
                os_disk_type="Ephemeral",
                os_disk_size_gb=pool.os_disk_size_gb,
                max_pods=pool.max_pods,
                host_encryption_enabled=True,
                node_public_ip_enabled=False,
                depends_on=self.feature_registrations,
            )
        kube_config = self.cluster.kube_config.get(0)
        self.host = kube_config.host
        self.cluster_ca_certificate = kube_config.cluster_ca_certificate
        self.cluster_id = self.cluster.id
        self.cluster_name = self.cluster.name
        self.kubelet_identity_object_id = self.kubelet_identity.principal_id
        self.oidc_issuer_url = self.cluster.oidc_issuer_url
        self.node_resource_group = self.cluster.node_resource_group
        self.control_plane_identity_principal_id = control_plane
        # The add-on's managed identity (in the node resource group): reads the ingress certificate from Key Vault.
        self.ingress_identity_principal_id = self.cluster.web_app_routing.web_app_routing_identity.get(0).object_id

    def _identity(self, id: str, name: str, props: AksClusterProps) -> UserAssignedIdentity:
        return UserAssignedIdentity(
            self, id, name=name, location=props.location, resource_group_name=props.resource_group_name
        )
