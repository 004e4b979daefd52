"""Network settings: the hub and spoke address plans, the AKS overlay ranges and the egress firewall.

Every address-plan rule Azure would only reject at apply time (or that would silently break routing)
is checked here, at config load, with KeyedValueError so the message names the key to change.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from config.base import Cidr, Ipv4, KeyedValueError, Section

ZONE = Literal["1", "2", "3"]
# Azure's reserved subnets: the exact name it requires and the largest prefix length it accepts.
RESERVED_SUBNETS: dict[str, tuple[str, int]] = {
    "firewall": ("AzureFirewallSubnet", 26),
    # Azure Firewall Basic's management NIC (deployment network): https://learn.microsoft.com/azure/firewall/management-nic
    "firewall_management": ("AzureFirewallManagementSubnet", 26),
    "gateway": ("GatewaySubnet", 27),
    "bastion": ("AzureBastionSubnet", 26),
}
RESERVED_NAMES = frozenset(name for name, _ in RESERVED_SUBNETS.values())


def _network(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


class Subnet(Section):
    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,78}[A-Za-z0-9_]$",
        description="The subnet's name in Azure; a reserved subnet takes Azure's exact name (e.g. AzureFirewallSubnet)",
    )
    address_prefix: Cidr = Field(description="The subnet's range, inside its network's address_space")


class VirtualNetworkPlan(Section):
    """Checks shared by both virtual networks: subnets inside the address space, unique names, no overlaps."""

    address_space: Cidr = Field(description="The virtual network's range (CIDR): every subnet lies inside it")

    def subnets(self) -> dict[str, Subnet]:
        return {key: value for key, value in self if isinstance(value, Subnet)}

    @model_validator(mode="after")
    def _subnets_fit(self) -> VirtualNetworkPlan:
        space = _network(self.address_space)
        placed: dict[str, ipaddress.IPv4Network] = {}
        names: dict[str, str] = {}
        for key, subnet in self.subnets().items():
            prefix = _network(subnet.address_prefix)
            if not prefix.subnet_of(space):
                raise KeyedValueError(
                    f"{key}.address_prefix",
                    subnet.address_prefix,
                    f"must lie inside the address space {self.address_space}",
                )
            for other_key, other in placed.items():
                if prefix.overlaps(other):
                    raise KeyedValueError(
                        f"{key}.address_prefix", subnet.address_prefix, f"overlaps {other_key}.address_prefix {other}"
                    )
            if subnet.name in names:
                raise KeyedValueError(f"{key}.name", subnet.name, f"is already the name of {names[subnet.name]}")
            reserved = RESERVED_SUBNETS.get(key)
            if reserved is None and subnet.name in RESERVED_NAMES:
                raise KeyedValueError(f"{key}.name", subnet.name, "is reserved by Azure for its own service subnet")
            if reserved is not None:
                required_name, largest_prefix = reserved
                if subnet.name != required_name:
                    raise KeyedValueError(
                        f"{key}.name", subnet.name, f"Azure requires this subnet to be named exactly '{required_name}'"
                    )
                if prefix.prefixlen > largest_prefix:
                    raise KeyedValueError(
                        f"{key}.address_prefix",
                        subnet.address_prefix,
                        f"{required_name} must be /{largest_prefix} or larger (Azure's minimum size)",
                    )
            placed[key] = prefix
            names[subnet.name] = key
        return self


class HubNetwork(VirtualNetworkPlan):
    firewall: Subnet = Field(description="AzureFirewallSubnet: the egress firewall the spoke's routes point to")
    gateway: Subnet = Field(description="GatewaySubnet, kept free for a VPN or ExpressRoute gateway (none deployed)")
    bastion: Subnet = Field(description="AzureBastionSubnet: Azure Bastion, the operators' way in")
    shared_services: Subnet = Field(
        description="Operators' jump hosts (none provisioned), reached through Bastion; they reach the private APIs"
    )


# API server VNet integration: AKS's smallest accepted subnet (learn.microsoft.com "API Server VNet Integration").
API_SERVER_SUBNET_LARGEST_PREFIX = 28


class SpokeNetwork(VirtualNetworkPlan):
    aks_system: Subnet = Field(description="AKS system node pool; egress through the hub firewall")
    aks_user: Subnet = Field(description="AKS user node pools and the internal ingress load balancer")
    private_endpoints: Subnet  # private endpoint network policies are disabled on it
    app_gateway: Subnet = Field(description="The Application Gateway (clients on 443, GatewayManager)")
    # Delegated to AKS for API server VNet integration (KMS with a private key vault needs it).
    api_server: Subnet

    @model_validator(mode="after")
    def _api_server_subnet_size(self) -> SpokeNetwork:
        prefix = _network(self.api_server.address_prefix)
        if prefix.prefixlen > API_SERVER_SUBNET_LARGEST_PREFIX:
            raise KeyedValueError(
                "api_server.address_prefix",
                self.api_server.address_prefix,
                f"must be /{API_SERVER_SUBNET_LARGEST_PREFIX} or larger (AKS API server VNet integration's minimum)",
            )
        return self


class DisasterRecoveryNetwork(VirtualNetworkPlan):
    """The landing zone in the paired region (`paired_location`): private endpoints to the geo-DR Event Hubs
    namespace and the geo key vault, and room for a PostgreSQL geo-restore and a rebuilt AKS cluster."""

    private_endpoints: Subnet  # private endpoint network policies are disabled on it
    postgres: Subnet  # delegated to PostgreSQL flexible servers: a VNet-integrated geo-restore lands here
    aks_system: Subnet  # reserved for a rebuilt cluster's system pool
    aks_user: Subnet  # reserved for a rebuilt cluster's user pools


class FirewallConfig(Section):
    """Azure Firewall Premium and its policy. The rules themselves are data in constructs/firewall_rules.py."""

    zones: tuple[ZONE, ...] = Field(default=("1", "2", "3"), description="Zones of the firewall and its public IP")
    idps_mode: Literal["Alert", "Deny"] = Field(
        default="Deny", description="Premium IDPS: Deny blocks matching traffic, Alert only logs it"
    )
    threat_intel_mode: Literal["Alert", "Deny"] = Field(
        default="Deny", description="Threat-intelligence filtering: Deny blocks known-malicious hosts, Alert only logs"
    )
    company_registry_fqdn: str = Field(
        pattern=r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$",
        description="The company's container registry host (may start with *.): the nodes may pull from it",
    )


class NetworkConfig(Section):
    hub: HubNetwork = Field(description="The hub VNet: firewall, Bastion, gateway room, shared services")
    spoke: SpokeNetwork = Field(description="The AKS spoke VNet, peered with the hub both ways")
    dr: DisasterRecoveryNetwork  # in the paired region, peered with the hub
    # AKS Azure CNI Overlay: cluster-internal ranges, never routed in the VNets, so they must not overlap them.
    aks_service_cidr: Cidr
    aks_dns_service_ip: Ipv4 = Field(description="Cluster DNS service address, inside aks_service_cidr")
    aks_pod_cidr: Cidr = Field(description="Pod range of the overlay (never routed in the VNets)")
    firewall: FirewallConfig
    bastion_zones: tuple[ZONE, ...] = Field(default=(), description="Zones of Bastion and its public IP; () none")

    def address_spaces(self) -> dict[str, str]:
        return {
            "hub.address_space": self.hub.address_space,
            "spoke.address_space": self.spoke.address_space,
            "dr.address_space": self.dr.address_space,
        }

    @model_validator(mode="after")
    def _ranges_do_not_collide(self) -> NetworkConfig:
        hub, spoke = _network(self.hub.address_space), _network(self.spoke.address_space)
        if hub.overlaps(spoke):
            raise KeyedValueError("spoke.address_space", self.spoke.address_space, f"overlaps hub.address_space {hub}")
        dr = _network(self.dr.address_space)
        for key, space in (("hub.address_space", hub), ("spoke.address_space", spoke)):
            if dr.overlaps(space):
                raise KeyedValueError(
                    "dr.address_space",
                    self.dr.address_space,
                    f"overlaps {key} {space}; the DR VNet is peered with the hub",
                )
        service = _network(self.aks_service_cidr)
        for key in ("aks_service_cidr", "aks_pod_cidr"):
            cidr = _network(getattr(self, key))
            for space_key, space_cidr in self.address_spaces().items():
                if cidr.overlaps(_network(space_cidr)):
                    raise KeyedValueError(
                        key, str(cidr), f"overlaps {space_key} {space_cidr}; AKS needs a range outside every VNet"
                    )
        if _network(self.aks_pod_cidr).overlaps(service):
            raise KeyedValueError("aks_pod_cidr", self.aks_pod_cidr, f"overlaps aks_service_cidr {service}")
        dns_ip = ipaddress.IPv4Address(self.aks_dns_service_ip)
        if dns_ip not in service:
            raise KeyedValueError(
                "aks_dns_service_ip", self.aks_dns_service_ip, f"must lie inside aks_service_cidr {service}"
            )
        if dns_ip in (service.network_address, service.network_address + 1, service.broadcast_address):
            raise KeyedValueError(
                "aks_dns_service_ip",
                self.aks_dns_service_ip,
                "must not be the network, broadcast or first address of aks_service_cidr "
                "(kubernetes.default uses the first)",
            )
        return self


def overlapping_environments(networks: dict[Path, NetworkConfig]) -> list[str]:
    """Problems where two environments' VNets overlap (they may be peered or connected later)."""
    problems = []
    items = [
        (path, key, _network(space))
        for path, network in networks.items()
        for key, space in network.address_spaces().items()
    ]
    for index, (path, key, space) in enumerate(items):
        for other_path, other_key, other_space in items[index + 1 :]:
            if path != other_path and space.overlaps(other_space):
                problems.append(
                    f"{path}: network.{key} {space} overlaps {other_path}: network.{other_key} {other_space}; "
                    "environments need non-overlapping address plans"
                )
    return problems
