"""Azure Firewall Premium in the hub: its public IP, a Premium policy (IDPS, threat intelligence, DNS
proxy) and the egress rules of the spoke as data (Story 3.1's rules plus what AKS needs to come up
with `userDefinedRouting`: https://learn.microsoft.com/azure/aks/outbound-rules-control-egress)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.firewall import Firewall as AzureFirewall
from cdktf_cdktf_provider_azurerm.firewall import FirewallIpConfiguration
from cdktf_cdktf_provider_azurerm.firewall_policy import (
    FirewallPolicy,
    FirewallPolicyDns,
    FirewallPolicyIntrusionDetection,
)
from cdktf_cdktf_provider_azurerm.firewall_policy_rule_collection_group import (
    FirewallPolicyRuleCollectionGroup,
    FirewallPolicyRuleCollectionGroupApplicationRuleCollection,
    FirewallPolicyRuleCollectionGroupApplicationRuleCollectionRule,
    FirewallPolicyRuleCollectionGroupApplicationRuleCollectionRuleProtocols,
    FirewallPolicyRuleCollectionGroupNetworkRuleCollection,
    FirewallPolicyRuleCollectionGroupNetworkRuleCollectionRule,
)
from cdktf_cdktf_provider_azurerm.public_ip import PublicIp

from config.network import FirewallConfig
from constructs import Construct
from constructs.naming import Naming

UBUNTU_REPOSITORIES = ("archive.ubuntu.com", "security.ubuntu.com", "azure.archive.ubuntu.com")
# Docker Hub serves image layers from Cloudflare, outside *.docker.io; pulls fail without it.
CONTAINER_REGISTRIES = (
    "*.azurecr.io",
    "mcr.microsoft.com",
    "*.data.mcr.microsoft.com",
    "*.docker.io",
    "production.cloudflare.docker.com",
)


@dataclass(frozen=True)
class NetworkRule:
    name: str
    protocols: tuple[str, ...]
    ports: tuple[str, ...]
    addresses: tuple[str, ...] = ()  # IPs, CIDRs or service tags
    fqdns: tuple[str, ...] = ()  # resolved by the firewall's DNS proxy


@dataclass(frozen=True)
class ApplicationRule:
    name: str
    fqdns: tuple[str, ...] = ()
    fqdn_tags: tuple[str, ...] = ()
    protocols: tuple[tuple[str, int], ...] = (("Https", 443),)


def network_rules(location: str) -> tuple[NetworkRule, ...]:
    return (
        NetworkRule("AKSToAzureServices", ("TCP",), ("443", "53"), addresses=("AzureCloud",)),
        NetworkRule("AKSToUbuntuRepos", ("TCP",), ("80", "443"), fqdns=UBUNTU_REPOSITORIES),
        # AKS: tunnel to the control plane (UDP 1194 / TCP 9000) and time sync.
        NetworkRule("AKSApiServerTunnelUdp", ("UDP",), ("1194",), addresses=(f"AzureCloud.{location}",)),
        NetworkRule("AKSApiServerTunnelTcp", ("TCP",), ("9000",), addresses=(f"AzureCloud.{location}",)),
        NetworkRule("AKSTimeSync", ("UDP",), ("123",), fqdns=("ntp.ubuntu.com",)),
    )


def application_rules(company_registry_fqdn: str) -> tuple[ApplicationRule, ...]:
    return (
        ApplicationRule("ContainerRegistries", fqdns=(*CONTAINER_REGISTRIES, company_registry_fqdn)),
        ApplicationRule(
            "AKSRequiredEndpoints", fqdn_tags=("AzureKubernetesService",), protocols=(("Http", 80), ("Https", 443))
        ),
    )


@dataclass(frozen=True)
class EgressFirewallProps:
    config: FirewallConfig
    naming: Naming
    location: str
    resource_group_name: str
    subnet_id: str  # the hub's AzureFirewallSubnet
    source_addresses: tuple[str, ...]  # who may leave through the rules (the spoke)


class EgressFirewall(Construct):
    """Exposes `firewall_id`, `private_ip` and `policy_id`."""

    def __init__(self, scope: Construct, id: str, *, props: EgressFirewallProps) -> None:
        super().__init__(scope, id)
        naming, config = props.naming, props.config
        public_ip = PublicIp(
            self,
            "public-ip",
            name=naming.name("firewall", "pip"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            allocation_method="Static",
            sku="Standard",
            zones=list(config.zones),
        )
        policy = FirewallPolicy(
            self,
            "policy",
            name=naming.name("hub", "fwpolicy"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            sku="Premium",
            threat_intelligence_mode=config.threat_intel_mode,
            intrusion_detection=FirewallPolicyIntrusionDetection(mode=config.idps_mode),
            # Network rules with FQDNs resolve them through the proxy; the spoke uses it as its DNS server.
            dns=FirewallPolicyDns(proxy_enabled=True),
        )
        sources = list(props.source_addresses)
        FirewallPolicyRuleCollectionGroup(
            self,
            "egress-rules",
            name="spoke-egress",
            firewall_policy_id=policy.id,
            priority=200,
            network_rule_collection=[
                FirewallPolicyRuleCollectionGroupNetworkRuleCollection(
                    name="ProductionNetworkRules",
                    priority=100,
                    action="Allow",
                    rule=[
                        FirewallPolicyRuleCollectionGroupNetworkRuleCollectionRule(
                            name=rule.name,
                            protocols=list(rule.protocols),
                            destination_ports=list(rule.ports),
                            source_addresses=sources,
                            destination_addresses=list(rule.addresses) or None,
                            destination_fqdns=list(rule.fqdns) or None,
                        )
                        for rule in network_rules(props.location)
                    ],
                )
            ],
            application_rule_collection=[
                FirewallPolicyRuleCollectionGroupApplicationRuleCollection(
                    name="ProductionApplicationRules",
                    priority=200,
                    action="Allow",
                    rule=[
                        FirewallPolicyRuleCollectionGroupApplicationRuleCollectionRule(
                            name=rule.name,
                            source_addresses=sources,
                            destination_fqdns=list(rule.fqdns) or None,
                            destination_fqdn_tags=list(rule.fqdn_tags) or None,
                            protocols=[
                                FirewallPolicyRuleCollectionGroupApplicationRuleCollectionRuleProtocols(
                                    type=kind, port=port
                                )
                                for kind, port in rule.protocols
                            ],
                        )
                        for rule in application_rules(config.company_registry_fqdn)
                    ],
                )
            ],
        )
        firewall = AzureFirewall(
            self,
            "firewall",
            name=naming.name("hub", "firewall"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            sku_name="AZFW_VNet",
            sku_tier="Premium",
            firewall_policy_id=policy.id,
            zones=list(config.zones),
            ip_configuration=[
                FirewallIpConfiguration(
                    name="firewallIpConfig",
                    subnet_id=props.subnet_id,
                    public_ip_address_id=public_ip.id,
                )
            ],
        )
        self.firewall_id = firewall.id
        self.private_ip = firewall.ip_configuration.get(0).private_ip_address
        self.policy_id = policy.id
