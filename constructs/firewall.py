"""Azure Firewall Premium in the hub: its public IP, a Premium policy (IDPS, threat intelligence, DNS
proxy) and the egress rules of the spoke as data (Story 3.1's rules plus what AKS and its add-ons need
with `userDefinedRouting`: https://learn.microsoft.com/azure/aks/outbound-rules-control-egress).
Story 3.1's `AzureCloud` TCP 443/53 network rule is deliberately absent (docs/platform/network.md)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import ITerraformDependable
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
from constructs.interfaces import DiagnosticsSink, diagnostics
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


# What the cluster's add-ons and extensions reach outside the VNet (learn.microsoft.com "Outbound network and
# FQDN rules for AKS clusters", sections per feature). PaaS the platform owns (registry, key vaults, storage,
# Event Hubs, PostgreSQL) is reached over private endpoints and never crosses the firewall.
AZURE_MONITOR = (  # Container insights (ama-logs), managed Prometheus (ama-metrics), Defender's data
    "dc.services.visualstudio.com",
    "*.ods.opinsights.azure.com",
    "*.oms.opinsights.azure.com",
    "*.monitoring.azure.com",
    "*.ingest.monitor.azure.com",
    "*.metrics.ingest.monitor.azure.com",
    "*.handler.control.monitor.azure.com",
    "global.handler.control.monitor.azure.com",
    # Application Insights ingestion and live metrics (workloads' telemetry while ingestion is public).
    "*.in.applicationinsights.azure.com",
    "*.livediagnostics.monitor.azure.com",
)
AZURE_POLICY = ("data.policy.core.windows.net", "store.policy.core.windows.net")
DEFENDER = ("*.cloud.defender.microsoft.com",)
# Managed identities and workload identity get their tokens here (also in the AKS FQDN tag; explicit for both).
ENTRA_ID = ("login.microsoftonline.com",)
# The cluster-extension service (AKS Backup) and the marketplace registry its images come from.
MARKETPLACE_REGISTRY_REGIONS = ("centralindia", "japaneast", "westus2", "westeurope", "eastus")


def cluster_extensions(location: str) -> tuple[str, ...]:
    return (
        f"{location}.dp.kubernetesconfiguration.azure.com",
        "arcmktplaceprod.azurecr.io",
        *(f"arcmktplaceprod.{region}.data.azurecr.io" for region in MARKETPLACE_REGISTRY_REGIONS),
        "*.ingestion.msftcloudes.com",
        "*.microsoftmetrics.com",
        "marketplaceapi.microsoft.com",
    )


def network_rules() -> tuple[NetworkRule, ...]:
    """No service tag here: a tag such as AzureCloud on 443 would open every Azure-hosted endpoint (anyone's
    storage account) before the FQDN application rules are evaluated. The API server tunnel rules (UDP 1194 /
    TCP 9000 to AzureCloud.<region>) are gone too: with API server VNet integration nodes reach the API inside
    the VNet."""
    return (
        NetworkRule("AKSToUbuntuRepos", ("TCP",), ("80", "443"), fqdns=UBUNTU_REPOSITORIES),
        NetworkRule("AKSTimeSync", ("UDP",), ("123",), fqdns=("ntp.ubuntu.com",)),
    )


def application_rules(company_registry_fqdn: str, location: str) -> tuple[ApplicationRule, ...]:
    return (
        ApplicationRule("ContainerRegistries", fqdns=(*CONTAINER_REGISTRIES, company_registry_fqdn)),
        ApplicationRule(
            "AKSRequiredEndpoints", fqdn_tags=("AzureKubernetesService",), protocols=(("Http", 80), ("Https", 443))
        ),
        ApplicationRule("AzureMonitor", fqdns=AZURE_MONITOR),
        ApplicationRule("AzurePolicy", fqdns=AZURE_POLICY),
        ApplicationRule("MicrosoftDefender", fqdns=DEFENDER),
        ApplicationRule("EntraId", fqdns=ENTRA_ID),
        ApplicationRule("ClusterExtensions", fqdns=cluster_extensions(location)),
    )


@dataclass(frozen=True)
class EgressFirewallProps:
    config: FirewallConfig
    naming: Naming
    location: str
    resource_group_name: str
    subnet_id: str  # the hub's AzureFirewallSubnet
    source_addresses: tuple[str, ...]  # who may leave through the rules (the spoke)
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)


class EgressFirewall(Construct):
    """Exposes `firewall_id`, `public_ip_id`, `private_ip`, `policy_id` and `egress_rules` (what traffic through it
    waits for)."""

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
        # One rule collection group: Azure serialises writes to a policy, so a second group would have to wait for
        # this one (a concurrent write fails with a conflict).
        rules = FirewallPolicyRuleCollectionGroup(
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
                        for rule in network_rules()
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
                        for rule in application_rules(config.company_registry_fqdn, props.location)
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
            depends_on=[rules],  # the firewall passes traffic only once its rules exist
        )
        diagnostics(self, "public-ip-diagnostics", public_ip, props.diagnostics)
        diagnostics(self, "firewall-diagnostics", firewall, props.diagnostics)
        self.firewall_id = firewall.id
        self.public_ip_id = public_ip.id
        self.private_ip = firewall.ip_configuration.get(0).private_ip_address
        self.policy_id = policy.id
        self.egress_rules: tuple[ITerraformDependable, ...] = (rules,)
