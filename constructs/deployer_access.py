"""What the environment's deploy runners and identities need from the infra stack (docs/zero-to-running.md).

- **Network path**: the spoke (where every private endpoint and the private AKS API live) is peered both ways
  with the environment's deployment network (bootstrap's, looked up by its config-derived id, never through
  bootstrap's state). VNet peering is not transitive, so peering the hub alone would not reach the spoke's
  endpoints without routing runner traffic through the firewall.
- **Name resolution**: the privatelink zone of the AKS API (the cluster stack) is linked to the deployment network.
  The blob and vault zones are not: the deployment network has its own (bootstrap's: the state account, the
  runner-credential vault), and a VNet cannot be linked to two zones of the same name. So each of this stack's
  vaults (Key Vault keys and certificates are written through their data plane) gets an A record in bootstrap's
  `privatelink.vaultcore.azure.net` zone, pointing at its private endpoint. Terraform reaches no other storage
  data plane (`data_plane_available = false`).
- **RBAC as code**: on every cluster the apply identity is *Azure Kubernetes Service RBAC Cluster Admin* and
  the plan identity bootstrap's custom `<short>-kubernetes-plan-reader-role-001` (every object but Secrets: the
  built-in RBAC Reader cannot read the Roles and bindings the cluster stack manages) and *Cluster User Role*
  (refreshing the cluster lists its user credentials); on every key vault the plan identity is *Key Vault
  Reader* (plans refresh keys and certificates). The apply identity's Key Vault data roles are granted where
  the objects are created (`KeyVault`, `AppGateway`: `administrator_principal_id`), so the keys wait for them.

The identities' principal ids come from data sources by name: Reader (the plan identity) can read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_azurerm.data_azurerm_user_assigned_identity import DataAzurermUserAssignedIdentity
from cdktf_cdktf_provider_azurerm.private_dns_a_record import PrivateDnsARecord
from cdktf_cdktf_provider_azurerm.private_dns_zone_virtual_network_link import PrivateDnsZoneVirtualNetworkLink
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.virtual_network_peering import VirtualNetworkPeering

from constructs import Construct
from constructs.deployment import VAULT_ZONE, DeploymentNames
from constructs.interfaces import RoleGrant, grant
from constructs.private_endpoint import link_private_dns_zone

# The zones whose names Terraform's own calls resolve from the runner (keys of Network.private_dns_zone_ids).
RUNNER_RESOLVED_ZONES = ("aks",)
# Names the deployment VNet resolves through bootstrap's zone of that name: an A record per endpoint here.
RUNNER_RECORDED_ZONES = {"key_vault": VAULT_ZONE}
RECORD_TTL_SECONDS = 10  # what a private endpoint's DNS zone group writes
APPLY_CLUSTER_ROLE = "Azure Kubernetes Service RBAC Cluster Admin"  # the cluster stack creates namespaces, RBAC, jobs
# Reading an azurerm_kubernetes_cluster lists the user credentials (kube_config attributes): Reader lacks
# listClusterUserCredential/action, Contributor (apply) has it.
PLAN_CLUSTER_CREDENTIALS_ROLE = "Azure Kubernetes Service Cluster User Role"
PLAN_KEY_VAULT_ROLE = "Key Vault Reader"  # key, certificate and rotation-policy metadata; no key material
APPLY_KEY_VAULT_ROLES = ("Key Vault Crypto Officer", "Key Vault Certificates Officer")


@dataclass(frozen=True)
class DeployerIdentitiesProps:
    names: DeploymentNames


class DeployerIdentities(Construct):
    """Looks up the plan and apply identities that bootstrap created. Exposes `principal_ids` by role."""

    def __init__(self, scope: Construct, id: str, *, props: DeployerIdentitiesProps) -> None:
        super().__init__(scope, id)
        names = {"plan": props.names.plan_identity, "apply": props.names.apply_identity}
        self.principal_ids: dict[str, str] = {
            role: DataAzurermUserAssignedIdentity(
                self, f"{role}-identity", name=name, resource_group_name=props.names.resource_group
            ).principal_id
            for role, name in names.items()
        }


@dataclass(frozen=True)
class DeployerAccessProps:
    names: DeploymentNames
    subscription_id: str
    principal_ids: Mapping[str, str]  # DeployerIdentities.principal_ids
    spoke_vnet_id: str
    spoke_vnet_name: str
    spoke_resource_group_name: str
    # zone key -> (zone name, resource group) for the zones in RUNNER_RESOLVED_ZONES
    private_dns_zones: Mapping[str, tuple[str, str]]
    key_vault_ids: Sequence[str]
    # (vault name, its private endpoint's IP) per vault: the A records in bootstrap's vault zone
    key_vault_records: Sequence[tuple[str, str]]
    cluster_ids: Sequence[str]
    # Other networks holding endpoints the runner writes through (e.g. the DR landing zone with the geo key
    # vault's endpoint): key -> (VNet id, VNet name, resource group). Peering is not transitive.
    other_endpoint_vnets: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)


class DeployerAccess(Construct):
    """Exposes `zone_links` (zone key -> link), `records` (zone key -> A records in bootstrap's zones), `peerings`
    and `grants` (what data-plane writes wait for)."""

    def __init__(self, scope: Construct, id: str, *, props: DeployerAccessProps) -> None:
        super().__init__(scope, id)
        missing = set(RUNNER_RESOLVED_ZONES) - set(props.private_dns_zones)
        if missing:
            raise ValueError(f"deployer access: no private DNS zone given for {sorted(missing)}")
        deployment_vnet_id = props.names.virtual_network_id(props.subscription_id)
        # Both directions of each pairing; the runner only reaches endpoints, nothing is forwarded through it.
        pairings = [
            (
                "spoke-to-deployment",
                "aks-to-deployment-peering",
                props.spoke_resource_group_name,
                props.spoke_vnet_name,
                deployment_vnet_id,
            ),
            (
                "deployment-to-spoke",
                "deployment-to-aks-peering",
                props.names.resource_group,
                props.names.virtual_network,
                props.spoke_vnet_id,
            ),
        ]
        for key, (vnet_id, vnet_name, resource_group) in sorted(props.other_endpoint_vnets.items()):
            pairings += [
                (f"{key}-to-deployment", f"{key}-to-deployment-peering", resource_group, vnet_name, deployment_vnet_id),
                (
                    f"deployment-to-{key}",
                    f"deployment-to-{key}-peering",
                    props.names.resource_group,
                    props.names.virtual_network,
                    vnet_id,
                ),
            ]
        self.peerings = [
            VirtualNetworkPeering(
                self,
                peering_id,
                name=name,
                resource_group_name=resource_group,
                virtual_network_name=vnet_name,
                remote_virtual_network_id=remote_id,
                allow_virtual_network_access=True,
                allow_forwarded_traffic=False,
            )
            for peering_id, name, resource_group, vnet_name, remote_id in pairings
        ]
        self.records: dict[str, list[PrivateDnsARecord]] = {
            "key_vault": [
                PrivateDnsARecord(
                    self,
                    f"dns-key-vault-{index}-deployment",
                    name=vault_name,
                    zone_name=RUNNER_RECORDED_ZONES["key_vault"],
                    resource_group_name=props.names.resource_group,
                    ttl=RECORD_TTL_SECONDS,
                    records=[address],
                )
                for index, (vault_name, address) in enumerate(props.key_vault_records)
            ]
        }
        self.zone_links: dict[str, PrivateDnsZoneVirtualNetworkLink] = {}
        for key in RUNNER_RESOLVED_ZONES:
            zone_name, resource_group = props.private_dns_zones[key]
            self.zone_links[key] = link_private_dns_zone(
                self,
                f"dns-{key}-deployment",
                zone_name=zone_name,
                resource_group_name=resource_group,
                link_name="deployment-link",
                virtual_network_id=deployment_vnet_id,
            )
        self.grants: list[RoleAssignment] = []
        for index, cluster_id in enumerate(props.cluster_ids):
            # Plans refresh the cluster stack's objects, (Cluster)Roles and bindings included: the built-in RBAC
            # Reader cannot read those, so the plan identity gets bootstrap's custom read-all-but-Secrets role.
            cluster_roles = {"apply": APPLY_CLUSTER_ROLE, "plan": props.names.kubernetes_plan_role}
            for role, role_name in cluster_roles.items():
                self.grants.append(
                    grant(
                        self,
                        f"cluster-{index}-{role}",
                        RoleGrant(
                            cluster_id,
                            role_name,
                            props.principal_ids[role],
                            f"The {role} identity runs the cluster stack's terraform {role} (Kubernetes RBAC).",
                        ),
                    )
                )
            self.grants.append(
                grant(
                    self,
                    f"cluster-{index}-plan-credentials",
                    RoleGrant(
                        cluster_id,
                        PLAN_CLUSTER_CREDENTIALS_ROLE,
                        props.principal_ids["plan"],
                        "Plans refresh the cluster, which lists its user credentials (kube_config).",
                    ),
                )
            )
        for index, vault_id in enumerate(props.key_vault_ids):
            self.grants.append(
                grant(
                    self,
                    f"key-vault-{index}-plan",
                    RoleGrant(
                        vault_id,
                        PLAN_KEY_VAULT_ROLE,
                        props.principal_ids["plan"],
                        "Plans refresh this vault's keys and certificates (metadata only).",
                    ),
                )
            )
