"""The disaster-recovery landing zone in the paired region: a minimal network that stands before the
primary region fails, so the DR runbook (docs/dr-runbook-<env>.md) can run when it does (RTO 4 h).

- a VNet in `paired_location` with a private-endpoint subnet (the geo-DR Event Hubs namespace's and the
  geo key vault's endpoints live here, next to the resources they serve), a subnet delegated to PostgreSQL
  flexible servers (a VNet-integrated geo-restore) and two subnets reserved for a rebuilt AKS cluster;
- an NSG on every subnet (VNet traffic and load balancer probes in, everything else denied);
- links from the platform's privatelink DNS zones (global names, held in the hub) to this VNet, so the
  endpoints resolve here as they do in the primary region (the AKS zone is regional: a rebuilt cluster
  brings `privatelink.<paired region>.azmk8s.io`);
- peering with the primary hub (both directions): operators and runners that reach the hub reach the DR
  endpoints through it while the primary region is up, and the hub's DNS zones are the DR zones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import Fn
from cdktf_cdktf_provider_azurerm.private_dns_zone_virtual_network_link import PrivateDnsZoneVirtualNetworkLink
from cdktf_cdktf_provider_azurerm.subnet import Subnet, SubnetDelegation, SubnetDelegationServiceDelegation
from cdktf_cdktf_provider_azurerm.virtual_network import VirtualNetwork
from cdktf_cdktf_provider_azurerm.virtual_network_peering import VirtualNetworkPeering

from config.network import DisasterRecoveryNetwork
from constructs import Construct
from constructs.interfaces import DiagnosticsSink, diagnostics
from constructs.naming import Naming
from constructs.network import LOAD_BALANCER_PROBES, SecurityRule, subnet_security_group
from constructs.private_endpoint import link_private_dns_zone

POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
# Regional zones (the AKS API's) cannot serve the paired region; every other privatelink zone is global.
REGIONAL_ZONES = frozenset({"aks"})
DR_RULES = (
    SecurityRule("AllowVnetInbound", 100, ("*",), ("VirtualNetwork",)),  # the DR VNet and its peered hub
    LOAD_BALANCER_PROBES,
)


@dataclass(frozen=True)
class DrLandingZoneProps:
    config: DisasterRecoveryNetwork
    naming: Naming
    location: str  # the paired region
    resource_group_name: str  # in the paired region
    hub_vnet_id: str  # the primary hub (name and resource group are read from the id: the peering waits for it)
    private_dns_zone_ids: Mapping[str, str]  # the network construct's zones (key → id)
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)


class DrLandingZone(Construct):
    """Exposes `vnet_id`, `vnet_name`, `resource_group_name`, `subnet_ids` (config keys),
    `private_endpoint_subnet_id` and `private_dns_zone_links` (zone key → link)."""

    def __init__(self, scope: Construct, id: str, *, props: DrLandingZoneProps) -> None:
        super().__init__(scope, id)
        config, naming, rg = props.config, props.naming, props.resource_group_name
        vnet = VirtualNetwork(
            self,
            "vnet",
            name=naming.name("dr", "vnet"),
            location=props.location,
            resource_group_name=rg,
            address_space=[config.address_space],
        )
        diagnostics(self, "vnet-diagnostics", vnet, props.diagnostics)
        vnet_name, vnet_id = vnet.name, vnet.id
        subnet_ids: dict[str, str] = {}
        for key, subnet in config.subnets().items():
            created = Subnet(
                self,
                f"{key}-subnet",
                name=subnet.name,
                resource_group_name=rg,
                virtual_network_name=vnet_name,
                address_prefixes=[subnet.address_prefix],
                private_endpoint_network_policies="Disabled" if key == "private_endpoints" else None,
                default_outbound_access_enabled=False,
                delegation=[
                    SubnetDelegation(
                        name="postgres-flexible-servers",
                        service_delegation=SubnetDelegationServiceDelegation(
                            name=POSTGRES_DELEGATION,
                            actions=["Microsoft.Network/virtualNetworks/subnets/join/action"],
                        ),
                    )
                ]
                if key == "postgres"
                else None,
            )
            subnet_ids[key] = created.id
            subnet_security_group(
                self,
                key,
                name=naming.name(f"dr-{key.replace('_', '-')}", "nsg"),
                subnet_id=subnet_ids[key],
                rules=DR_RULES,
                location=props.location,
                resource_group=rg,
                sink=props.diagnostics,
            )
        self.private_dns_zone_links: dict[str, PrivateDnsZoneVirtualNetworkLink] = {}
        for key, zone_id in sorted(props.private_dns_zone_ids.items()):
            if key in REGIONAL_ZONES:
                continue
            # Zone ids end in .../resourceGroups/<rg>/providers/Microsoft.Network/privateDnsZones/<name>.
            parts = Fn.split("/", zone_id)
            self.private_dns_zone_links[key] = link_private_dns_zone(
                self,
                f"dns-{key}",
                zone_name=Fn.element(parts, 8),
                resource_group_name=Fn.element(parts, 4),
                link_name="dr-link",
                virtual_network_id=vnet_id,
            )
        VirtualNetworkPeering(
            self,
            "dr-to-hub",
            name="dr-to-hub-peering",
            resource_group_name=rg,
            virtual_network_name=vnet_name,
            remote_virtual_network_id=props.hub_vnet_id,
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            allow_gateway_transit=False,
            use_remote_gateways=False,
        )
        hub = Fn.split("/", props.hub_vnet_id)
        VirtualNetworkPeering(
            self,
            "hub-to-dr",
            name="hub-to-dr-peering",
            resource_group_name=Fn.element(hub, 4),
            virtual_network_name=Fn.element(hub, 8),
            remote_virtual_network_id=vnet_id,
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            allow_gateway_transit=False,
            use_remote_gateways=False,
        )
        self.vnet_id, self.vnet_name, self.resource_group_name = vnet_id, vnet_name, rg
        self.subnet_ids: Mapping[str, str] = subnet_ids
        self.private_endpoint_subnet_id = subnet_ids["private_endpoints"]
