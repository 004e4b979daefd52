"""The deploy runners' Azure Firewall Basic (bootstrap, `DeploymentNetwork`): it lets out HTTPS to the host names
of `constructs/egress_hosts.py` (`RUNNER_EGRESS`, the one allow list) from the runners subnet and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_azurerm.firewall import Firewall, FirewallIpConfiguration, FirewallManagementIpConfiguration
from cdktf_cdktf_provider_azurerm.firewall_policy import FirewallPolicy
from cdktf_cdktf_provider_azurerm.firewall_policy_rule_collection_group import (
    FirewallPolicyRuleCollectionGroup,
    FirewallPolicyRuleCollectionGroupApplicationRuleCollection,
    FirewallPolicyRuleCollectionGroupApplicationRuleCollectionRule,
    FirewallPolicyRuleCollectionGroupApplicationRuleCollectionRuleProtocols,
)
from cdktf_cdktf_provider_azurerm.public_ip import PublicIp
from cdktf_cdktf_provider_azurerm.route_table import RouteTable, RouteTableRoute
from cdktf_cdktf_provider_azurerm.subnet_route_table_association import SubnetRouteTableAssociation

from constructs import Construct
from constructs.egress_hosts import HTTPS_PORT, egress_groups
from constructs.interfaces import DiagnosticsSink, diagnostics
from constructs.naming import Naming

FIREWALL_TIER = "Basic"
# Basic has no IDPS and threat intelligence in alert mode only (learn.microsoft.com "Azure Firewall features by
# SKU"): the policy says Alert, the only mode Basic accepts; the allow list is the control (.checkov.yaml).
BASIC_THREAT_INTELLIGENCE_MODE = "Alert"
RULE_COLLECTION_GROUP = "runner-egress"
RULE_COLLECTION = "RunnerEgress"


@dataclass(frozen=True)
class RunnerFirewallProps:
    naming: Naming
    location: str
    resource_group_name: str
    subnet_id: str  # AzureFirewallSubnet
    management_subnet_id: str  # AzureFirewallManagementSubnet
    public_ip_id: str  # the runners' one static egress address
    runners_subnet_id: str
    runners_prefix: str  # the only source the rules allow
    zones: tuple[str, ...]
    diagnostics: DiagnosticsSink  # the deployment network's workspace: "which host did the job try?"
    provider: TerraformProvider


class RunnerFirewall(Construct):
    """Azure Firewall Basic for the runners: a Basic policy whose one rule collection group allows `RUNNER_EGRESS`
    on HTTPS from the runners subnet (anything else ends at the firewall's implicit deny), and the runners subnet's
    route table sending 0.0.0.0/0 to it. Exposes `private_ip`, `firewall_id`, `policy_id` and `runners_subnet_id`
    (the route table association's: the Container Apps environment waits for the route, the firewall and its
    rules, so the platform's first pulls are not blocked)."""

    def __init__(self, scope: Construct, id: str, *, props: RunnerFirewallProps) -> None:
        super().__init__(scope, id)
        naming, provider = props.naming, props.provider
        management_ip = PublicIp(
            self,
            "management-ip",  # Basic's management NIC: Azure talks to the firewall here, no runner traffic
            name=naming.name("runners-firewall-mgmt", "pip"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            allocation_method="Static",
            sku="Standard",
            zones=list(props.zones),
            provider=provider,
        )
        diagnostics(self, "management-ip-diagnostics", management_ip, props.diagnostics, provider=provider)
        policy = FirewallPolicy(
            self,
            "policy",
            name=naming.name("runners", "fwpolicy"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            sku=FIREWALL_TIER,
            threat_intelligence_mode=BASIC_THREAT_INTELLIGENCE_MODE,
            provider=provider,
        )
        https = [FirewallPolicyRuleCollectionGroupApplicationRuleCollectionRuleProtocols(type="Https", port=HTTPS_PORT)]
        rules = FirewallPolicyRuleCollectionGroup(
            self,
            "rules",
            name=RULE_COLLECTION_GROUP,
            firewall_policy_id=policy.id,
            priority=200,
            application_rule_collection=[
                FirewallPolicyRuleCollectionGroupApplicationRuleCollection(
                    name=RULE_COLLECTION,
                    priority=200,
                    action="Allow",
                    rule=[
                        FirewallPolicyRuleCollectionGroupApplicationRuleCollectionRule(
                            name=group,
                            source_addresses=[props.runners_prefix],
                            destination_fqdns=list(fqdns),
                            protocols=https,
                        )
                        for group, fqdns in egress_groups().items()
                    ],
                )
            ],
            provider=provider,
        )
        firewall = Firewall(
            self,
            "firewall",
            name=naming.name("runners", "firewall"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            sku_name="AZFW_VNet",
            sku_tier=FIREWALL_TIER,
            firewall_policy_id=policy.id,
            zones=list(props.zones),
            ip_configuration=[
                FirewallIpConfiguration(
                    name="firewallIpConfig", subnet_id=props.subnet_id, public_ip_address_id=props.public_ip_id
                )
            ],
            management_ip_configuration=FirewallManagementIpConfiguration(
                name="firewallManagementIpConfig",
                subnet_id=props.management_subnet_id,
                public_ip_address_id=management_ip.id,
            ),
            # Azure serialises policy writes and the runners must not boot before their rules exist (issue #16).
            depends_on=[rules],
            provider=provider,
        )
        private_ip = firewall.ip_configuration.get(0).private_ip_address
        # Only the default route goes to the firewall. The VNet's own range (private endpoints) and the peered
        # networks (the spoke's Key Vaults and AKS API, the DR spoke) keep their more specific system routes and
        # stay direct: private traffic never crosses the firewall, and the firewall's public IP is the runners'
        # one egress address.
        routes = RouteTable(
            self,
            "routes",
            name=naming.name("runners", "rt"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            bgp_route_propagation_enabled=False,
            route=[
                RouteTableRoute(
                    name="default-via-firewall",
                    address_prefix="0.0.0.0/0",
                    next_hop_type="VirtualAppliance",
                    next_hop_in_ip_address=private_ip,
                )
            ],
            provider=provider,
        )
        association = SubnetRouteTableAssociation(
            self,
            "routes-association",
            subnet_id=props.runners_subnet_id,
            route_table_id=routes.id,
            provider=provider,
        )
        # Every denied and allowed connection in resource-specific tables (AZFWApplicationRule, AZFWNetworkRule, ...).
        diagnostics(self, "diagnostics", firewall, props.diagnostics, provider=provider)
        self.private_ip: str = private_ip
        self.firewall_id: str = firewall.id
        self.policy_id: str = policy.id
        self.runners_subnet_id: str = association.subnet_id
