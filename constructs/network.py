"""Hub-spoke network of one environment (Story 3.1): hub VNet (firewall, gateway, Bastion, shared
services) and AKS spoke VNet peered both ways, forced egress of the AKS subnets through Azure Firewall
Premium, deny-by-default NSGs on every workload subnet, Bastion, and the private DNS zones every PaaS
service's private endpoint registers in (linked to both VNets; later constructs take their ids from here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cdktf import ITerraformDependable, TerraformProvider
from cdktf_cdktf_provider_azurerm.bastion_host import BastionHost, BastionHostIpConfiguration
from cdktf_cdktf_provider_azurerm.network_security_group import NetworkSecurityGroup
from cdktf_cdktf_provider_azurerm.network_security_rule import NetworkSecurityRule
from cdktf_cdktf_provider_azurerm.private_dns_zone import PrivateDnsZone
from cdktf_cdktf_provider_azurerm.private_dns_zone_virtual_network_link import PrivateDnsZoneVirtualNetworkLink
from cdktf_cdktf_provider_azurerm.public_ip import PublicIp
from cdktf_cdktf_provider_azurerm.route_table import RouteTable, RouteTableRoute
from cdktf_cdktf_provider_azurerm.subnet import Subnet, SubnetDelegation, SubnetDelegationServiceDelegation
from cdktf_cdktf_provider_azurerm.subnet_network_security_group_association import SubnetNetworkSecurityGroupAssociation
from cdktf_cdktf_provider_azurerm.subnet_route_table_association import SubnetRouteTableAssociation
from cdktf_cdktf_provider_azurerm.virtual_network import VirtualNetwork
from cdktf_cdktf_provider_azurerm.virtual_network_peering import VirtualNetworkPeering

from config.network import RESERVED_SUBNETS, NetworkConfig, VirtualNetworkPlan
from constructs import Construct
from constructs.data_paths import DATA_PATHS
from constructs.firewall import EgressFirewall, EgressFirewallProps
from constructs.interfaces import DiagnosticsSink, diagnostics
from constructs.naming import Naming
from constructs.private_endpoint import link_private_dns_zone

# Subnets whose traffic to anywhere leaves through the firewall.
FORCED_EGRESS_SUBNETS = ("aks_system", "aks_user")
# Subnet key → the service it is delegated to (AKS API server VNet integration).
DELEGATIONS = {"api_server": "Microsoft.ContainerService/managedClusters"}


def private_dns_zones(location: str) -> dict[str, str]:
    return {
        "aks": f"privatelink.{location}.azmk8s.io",
        "key_vault": "privatelink.vaultcore.azure.net",
        "blob": "privatelink.blob.core.windows.net",
        "eventhub": "privatelink.servicebus.windows.net",
        "postgres": "privatelink.postgres.database.azure.com",
        "acr": "privatelink.azurecr.io",
    }


@dataclass(frozen=True)
class SecurityRule:
    name: str
    priority: int
    ports: tuple[str, ...]
    sources: tuple[str, ...]
    protocol: str = "*"
    direction: str = "Inbound"
    access: str = "Allow"
    destinations: tuple[str, ...] = ("*",)


DENY_ALL_INBOUND = SecurityRule("DenyAllInbound", 4096, ("*",), ("*",), access="Deny")
LOAD_BALANCER_PROBES = SecurityRule("AllowAzureLoadBalancerInbound", 300, ("*",), ("AzureLoadBalancer",))
# Azure Bastion's required rules: https://learn.microsoft.com/azure/bastion/bastion-nsg
BASTION_RULES = (
    SecurityRule("AllowHttpsInbound", 120, ("443",), ("Internet",), "Tcp"),
    SecurityRule("AllowGatewayManagerInbound", 130, ("443",), ("GatewayManager",), "Tcp"),
    SecurityRule("AllowAzureLoadBalancerInbound", 140, ("443",), ("AzureLoadBalancer",), "Tcp"),
    SecurityRule(
        "AllowBastionHostCommunication", 150, ("8080", "5701"), ("VirtualNetwork",), destinations=("VirtualNetwork",)
    ),
    SecurityRule(
        "AllowSshRdpOutbound", 100, ("22", "3389"), ("*",), direction="Outbound", destinations=("VirtualNetwork",)
    ),
    SecurityRule("AllowAzureCloudOutbound", 110, ("443",), ("*",), "Tcp", "Outbound", destinations=("AzureCloud",)),
    SecurityRule(
        "AllowBastionCommunication",
        120,
        ("8080", "5701"),
        ("VirtualNetwork",),
        direction="Outbound",
        destinations=("VirtualNetwork",),
    ),
    SecurityRule("AllowHttpOutbound", 130, ("80",), ("*",), direction="Outbound", destinations=("Internet",)),
)


# Data-path targets (constructs/data_paths.py) that live in the spoke -> the subnet admitting them.
SPOKE_TARGET_SUBNETS = {"aks_api": "api_server", "key_vault": "private_endpoints"}
DATA_PATH_FIRST_PRIORITY = 120  # after each subnet's own 100/110 rules, before the load balancer's 300


def data_path_rules(config: NetworkConfig, peer_sources: Mapping[str, str]) -> dict[str, tuple[SecurityRule, ...]]:
    """Spoke subnet key -> one inbound allow per data path ending there (constructs/data_paths.py). Sources:
    `nodes` are the node pool subnets; any other source is looked up in `peer_sources` (e.g. `runners`: the
    deployment network's runners subnet); a path whose source is unknown here gets no rule (the deployability
    model then names the path it finds blocked)."""
    sources: dict[str, tuple[str, ...]] = {
        "nodes": (config.spoke.aks_system.address_prefix, config.spoke.aks_user.address_prefix)
    }
    sources |= {key: (prefix,) for key, prefix in peer_sources.items()}
    rules: dict[str, list[SecurityRule]] = {}
    for data_path in DATA_PATHS:
        subnet = SPOKE_TARGET_SUBNETS.get(data_path.target)
        if subnet is None or data_path.source not in sources:
            continue
        placed = rules.setdefault(subnet, [])
        priority = DATA_PATH_FIRST_PRIORITY + 10 * len(placed)
        placed.append(SecurityRule(data_path.rule_name, priority, data_path.ports, sources[data_path.source], "Tcp"))
    return {key: tuple(value) for key, value in rules.items()}


def security_rules(
    config: NetworkConfig, peer_sources: Mapping[str, str] | None = None
) -> dict[str, tuple[SecurityRule, ...]]:
    """Explicit allows per workload subnet; everything else inbound ends at DenyAllInbound. The firewall and
    gateway subnets get no NSG: Azure rejects one on AzureFirewallSubnet and it breaks gateways. The data paths'
    rules (`data_path_rules`) are added to the subnets they end in."""
    hub, spoke = config.hub, config.spoke
    derived = data_path_rules(config, peer_sources or {})
    vnets = (hub.address_space, spoke.address_space)
    operators = (hub.bastion.address_prefix, hub.shared_services.address_prefix)
    aks = (
        # Azure CNI Overlay: pods talk to pods on other nodes with their own (pod CIDR) addresses.
        SecurityRule("AllowClusterInbound", 100, ("*",), (spoke.address_space, config.aks_pod_cidr)),
        SecurityRule("AllowOperatorsInbound", 110, ("22", "443"), operators, "Tcp"),
        LOAD_BALANCER_PROBES,
    )
    return {
        "bastion": BASTION_RULES,
        "shared_services": (
            SecurityRule("AllowBastionInbound", 100, ("22", "3389"), (hub.bastion.address_prefix,), "Tcp"),
            SecurityRule("AllowVnetsInbound", 110, ("*",), vnets),
        ),
        "aks_system": aks,
        "aks_user": aks,
        # The API server's internal load balancer (VNet integration): operators on 443, nodes (443, 4443) and
        # the deploy runners through the data paths; AKS's own private endpoint to the KMS key vault is reached
        # from here (outbound to the VNet is allowed).
        "api_server": (
            SecurityRule("AllowOperatorsInbound", 110, ("443",), operators, "Tcp"),
            *derived.get("api_server", ()),
            LOAD_BALANCER_PROBES,
        ),
        # Endpoint network policies are disabled here (Story 3.1), so Azure does not apply this NSG to the
        # endpoints today; the rules still say who may reach them, should the policies be enabled.
        "private_endpoints": (
            SecurityRule("AllowVnetsInbound", 100, ("*",), vnets, "Tcp"),
            *derived.get("private_endpoints", ()),
        ),
        # App Gateway v2 needs GatewayManager on 65200-65535 and Azure's probes; clients reach it on 443.
        "app_gateway": (
            SecurityRule("AllowGatewayManagerInbound", 100, ("65200-65535",), ("GatewayManager",), "Tcp"),
            SecurityRule("AllowHttpsInbound", 110, ("443",), ("Internet",), "Tcp"),
            LOAD_BALANCER_PROBES,
        ),
    }


@dataclass(frozen=True)
class NetworkProps:
    config: NetworkConfig
    naming: Naming
    location: str
    hub_resource_group_name: str  # hub VNet, firewall, Bastion, private DNS zones
    spoke_resource_group_name: str  # spoke VNet, route table, spoke NSGs
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    # Address prefixes of data-path sources outside this network (constructs/data_paths.py), e.g. "runners": the
    # deployment network's runners subnet; the NSGs of the subnets those paths end in admit them.
    peer_sources: Mapping[str, str] = field(default_factory=dict)


class Network(Construct):
    """Exposes `subnet_ids`, `private_dns_zone_ids`, `firewall_private_ip`, `firewall_id`, `bastion_id`, `egress_rules`,
    `hub_vnet_id`, `spoke_vnet_id`, `route_table_id`, `public_ip_ids` and `network_security_group_ids` (their key
    names are an interface other constructs rely on)."""

    def __init__(self, scope: Construct, id: str, *, props: NetworkProps) -> None:
        super().__init__(scope, id)
        config, naming = props.config, props.naming
        hub_rg, spoke_rg = props.hub_resource_group_name, props.spoke_resource_group_name

        hub = VirtualNetwork(
            self,
            "hub-vnet",
            name=naming.name("hub", "vnet"),
            location=props.location,
            resource_group_name=hub_rg,
            address_space=[config.hub.address_space],
        )
        subnets = self._subnets("hub", hub, hub_rg, config.hub)
        firewall = EgressFirewall(
            self,
            "firewall",
            props=EgressFirewallProps(
                config=config.firewall,
                naming=naming,
                location=props.location,
                resource_group_name=hub_rg,
                subnet_id=subnets["firewall"].id,
                source_addresses=(config.spoke.address_space,),
                diagnostics=props.diagnostics,
            ),
        )
        spoke = VirtualNetwork(
            self,
            "spoke-vnet",
            name=naming.name("aks", "vnet"),
            location=props.location,
            resource_group_name=spoke_rg,
            address_space=[config.spoke.address_space],
            # The firewall's DNS proxy resolves for the spoke, so FQDN network rules see the same answers.
            dns_servers=[firewall.private_ip],
        )
        subnets |= self._subnets("spoke", spoke, spoke_rg, config.spoke)
        diagnostics(self, "hub-vnet-diagnostics", hub, props.diagnostics)
        diagnostics(self, "spoke-vnet-diagnostics", spoke, props.diagnostics)

        VirtualNetworkPeering(
            self,
            "hub-to-spoke",
            name="hub-to-aks-peering",
            resource_group_name=hub_rg,
            virtual_network_name=hub.name,
            remote_virtual_network_id=spoke.id,
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            allow_gateway_transit=True,
            use_remote_gateways=False,
        )
        VirtualNetworkPeering(
            self,
            "spoke-to-hub",
            name="aks-to-hub-peering",
            resource_group_name=spoke_rg,
            virtual_network_name=spoke.name,
            remote_virtual_network_id=hub.id,
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            allow_gateway_transit=False,
            # No gateway exists in the hub yet; set to true once one is deployed.
            use_remote_gateways=False,
        )

        route_table = RouteTable(
            self,
            "egress-routes",
            name=naming.name("aks", "rt"),
            location=props.location,
            resource_group_name=spoke_rg,
            bgp_route_propagation_enabled=False,
            route=[
                RouteTableRoute(
                    name="default-via-firewall",
                    address_prefix="0.0.0.0/0",
                    next_hop_type="VirtualAppliance",
                    next_hop_in_ip_address=firewall.private_ip,
                )
            ],
        )
        # Each attribute read is a kernel round trip: read once, use many times.
        plain_subnet_ids = {key: subnet.id for key, subnet in subnets.items()}
        subnet_ids = dict(plain_subnet_ids)
        route_table_id = route_table.id
        for key in FORCED_EGRESS_SUBNETS:
            association = SubnetRouteTableAssociation(
                self, f"{key}-routes", subnet_id=plain_subnet_ids[key], route_table_id=route_table_id
            )
            # AKS with userDefinedRouting checks the route at creation: consumers of these ids wait for it.
            subnet_ids[key] = association.subnet_id

        security_group_ids: dict[str, str] = {}
        for key, rules in security_rules(config, props.peer_sources).items():
            resource_group = hub_rg if key in config.hub.subnets() else spoke_rg
            security_group_ids[key] = subnet_security_group(
                self,
                key,
                name=naming.name(key.replace("_", "-"), "nsg"),
                subnet_id=plain_subnet_ids[key],
                rules=rules,
                location=props.location,
                resource_group=resource_group,
                sink=props.diagnostics,
            ).id

        bastion_ip = PublicIp(
            self,
            "bastion-public-ip",
            name=naming.name("bastion", "pip"),
            location=props.location,
            resource_group_name=hub_rg,
            allocation_method="Static",
            sku="Standard",
            zones=list(config.bastion_zones),
        )
        bastion = BastionHost(
            self,
            "bastion",
            name=naming.name("hub", "bas"),
            location=props.location,
            resource_group_name=hub_rg,
            sku="Standard",
            zones=list(config.bastion_zones),
            ip_configuration=BastionHostIpConfiguration(
                name="bastionIpConfig", subnet_id=plain_subnet_ids["bastion"], public_ip_address_id=bastion_ip.id
            ),
        )
        diagnostics(self, "bastion-public-ip-diagnostics", bastion_ip, props.diagnostics)
        diagnostics(self, "bastion-diagnostics", bastion, props.diagnostics)

        zone_ids, zone_names = {}, {}
        self.private_dns_zone_links: dict[str, list[PrivateDnsZoneVirtualNetworkLink]] = {}
        vnet_ids = {"hub": hub.id, "spoke": spoke.id}
        for key, zone_name in private_dns_zones(props.location).items():
            zone = PrivateDnsZone(self, f"dns-{key}", name=zone_name, resource_group_name=hub_rg)
            linked_zone_name = zone_names[key] = zone.name
            self.private_dns_zone_links[key] = links = []
            for vnet_key, vnet_id in vnet_ids.items():
                link = link_private_dns_zone(
                    self,
                    f"dns-{key}-{vnet_key}",
                    zone_name=linked_zone_name,
                    resource_group_name=hub_rg,
                    link_name=f"{vnet_key}-link",
                    virtual_network_id=vnet_id,
                )
                links.append(link)
            zone_ids[key] = zone.id

        self.subnet_ids: Mapping[str, str] = subnet_ids
        self.private_dns_zone_ids: Mapping[str, str] = zone_ids
        self.private_dns_zone_names: Mapping[str, str] = zone_names  # in hub_resource_group_name
        self.spoke_vnet_name: str = spoke.name
        self.firewall_private_ip: str = firewall.private_ip
        self.firewall_id: str = firewall.firewall_id
        self.bastion_id: str = bastion.id
        # The public IPs (key → id) and NSGs (subnet key → id): the AMBA alerts watch them.
        self.public_ip_ids: Mapping[str, str] = {"firewall": firewall.public_ip_id, "bastion": bastion_ip.id}
        self.network_security_group_ids: Mapping[str, str] = security_group_ids
        self.egress_rules: tuple[ITerraformDependable, ...] = firewall.egress_rules
        self.hub_vnet_id: str = vnet_ids["hub"]
        self.spoke_vnet_id: str = vnet_ids["spoke"]
        self.route_table_id: str = route_table_id

    def _subnets(
        self, prefix: str, vnet: VirtualNetwork, resource_group: str, plan: VirtualNetworkPlan
    ) -> dict[str, Subnet]:
        vnet_name = vnet.name
        return {
            key: Subnet(
                self,
                f"{prefix}-{key}-subnet",
                name=subnet.name,
                resource_group_name=resource_group,
                virtual_network_name=vnet_name,
                address_prefixes=[subnet.address_prefix],
                # Story 3.1: endpoints ignore NSGs/UDRs on this subnet (explicit, not left to the provider default).
                private_endpoint_network_policies="Disabled" if key == "private_endpoints" else None,
                # Workload subnets get no implicit internet access; Azure's own service subnets keep the default.
                default_outbound_access_enabled=None if key in RESERVED_SUBNETS else False,
                delegation=[
                    SubnetDelegation(
                        name=key,
                        service_delegation=SubnetDelegationServiceDelegation(
                            name=DELEGATIONS[key], actions=["Microsoft.Network/virtualNetworks/subnets/join/action"]
                        ),
                    )
                ]
                if key in DELEGATIONS
                else None,
            )
            for key, subnet in plan.subnets().items()
        }


def subnet_security_group(
    owner: Construct,
    key: str,
    *,
    name: str,
    subnet_id: str,
    rules: tuple[SecurityRule, ...],
    location: str,
    resource_group: str,
    sink: DiagnosticsSink,
    provider: TerraformProvider | None = None,  # the bootstrap's per-environment provider; else the stack default
) -> NetworkSecurityGroup:
    """An NSG with `rules` and a final DenyAllInbound, associated with the subnet, and its diagnostic setting
    (construct ids `<key>-nsg…`)."""
    group = NetworkSecurityGroup(
        owner, f"{key}-nsg", name=name, location=location, resource_group_name=resource_group, provider=provider
    )
    diagnostics(owner, f"{key}-nsg-diagnostics", group, sink, provider=provider)
    group_name = group.name
    for rule in (*rules, DENY_ALL_INBOUND):
        NetworkSecurityRule(
            owner,
            f"{key}-nsg-{rule.name}",
            name=rule.name,
            resource_group_name=resource_group,
            network_security_group_name=group_name,
            priority=rule.priority,
            direction=rule.direction,
            access=rule.access,
            protocol=rule.protocol,
            source_port_range="*",
            **_one_or_many("source_address_prefix", rule.sources),
            **_one_or_many("destination_address_prefix", rule.destinations),
            **_one_or_many("destination_port_range", rule.ports),
            provider=provider,
        )
    SubnetNetworkSecurityGroupAssociation(
        owner, f"{key}-nsg-association", subnet_id=subnet_id, network_security_group_id=group.id, provider=provider
    )
    return group


def _one_or_many(argument: str, values: tuple[str, ...]) -> dict[str, Any]:
    """NSG rules take a single value or a plural list, never both."""
    if len(values) == 1:
        return {argument: values[0]}
    plural = f"{argument}es" if argument.endswith("prefix") else f"{argument}s"
    return {plural: list(values)}
