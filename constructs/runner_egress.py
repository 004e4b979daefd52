"""What the deploy runners may reach on the internet, and the Azure Firewall Basic that enforces it.

`RUNNER_EGRESS` is the ONE list of host names a runner job (and the Container Apps platform under it) may open:
each entry says who needs it and why. The bootstrap's `DeploymentNetwork` turns it into the application rules of
the runners' firewall; README "Zero to running" and the handbook print it from here; tools/deployability.py checks
the synthesized policy allows every entry and nothing more (no `*`).

Everything else a runner talks to is private and never reaches the firewall: the state account and the runner
image registry through private endpoints in the deployment network, the Key Vaults and the AKS API through the
spoke's private endpoints over the peering (README "Zero to running").
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
from constructs.naming import Naming

FIREWALL_TIER = "Basic"
HTTPS_PORT = 443
# Basic has no IDPS and threat intelligence in alert mode only (learn.microsoft.com "Azure Firewall features by
# SKU"): the policy says Alert, the only mode Basic accepts; the allow list is the control (.checkov.yaml).
BASIC_THREAT_INTELLIGENCE_MODE = "Alert"
RULE_COLLECTION_GROUP = "runner-egress"
RULE_COLLECTION = "RunnerEgress"


@dataclass(frozen=True)
class EgressHost:
    fqdn: str  # a host name, or `*.` + a domain (Azure Firewall matches the wildcard on any subdomain)
    group: str  # the application rule it lands in (one rule per group)
    why: str  # who needs it: a workflow step, the runner, or the platform under the job


GITHUB = "GitHub"
PACKAGES = "PackageSources"
AZURE = "AzureControlPlane"
PLATFORM = "ContainerAppsPlatform"

# GitHub: docs.github.com "Self-hosted runners reference", Communication; the package sources: what
# scripts/setup and the actions of .github/actions/terraform-azure download; Azure: what azurerm, az and kubelogin
# call; Container Apps: learn.microsoft.com "Integrate with Azure Firewall" (Container Apps), application rules.
RUNNER_EGRESS: tuple[EgressHost, ...] = (
    EgressHost("github.com", GITHUB, "runner registration and job messages; actions/checkout (git over HTTPS)"),
    EgressHost(
        "api.github.com",
        GITHUB,
        "REST API: the KEDA github-runner scaler's queue polling, the GitHub App's registration token, "
        "artifact and cache metadata",
    ),
    EgressHost(
        "*.actions.githubusercontent.com",
        GITHUB,
        "Actions service (broker, pipelines, action downloads at pkg.actions...) and the OIDC issuer "
        "token.actions.githubusercontent.com that azure/login exchanges for an Entra token",
    ),
    EgressHost(
        "results-receiver.actions.githubusercontent.com",
        GITHUB,
        "job logs, step summaries and artifacts (the saved plan between plan and apply); GitHub lists it apart",
    ),
    EgressHost("codeload.github.com", GITHUB, "the archives of the actions a workflow `uses:`"),
    EgressHost(
        "*.blob.core.windows.net",
        GITHUB,
        "GitHub's own storage for logs, summaries, artifacts and caches: GitHub requires it and publishes no "
        "account names (a wildcard over every storage account: the one broad entry; our state account resolves to "
        "its private endpoint and never reaches the firewall)",
    ),
    EgressHost(
        "objects.githubusercontent.com",
        GITHUB,
        "GitHub release downloads (kubelogin for Azure/use-kubelogin, Python builds for setup-python, runner updates)",
    ),
    EgressHost(
        "release-assets.githubusercontent.com",
        GITHUB,
        "where github.com/<owner>/<repo>/releases/download redirects now (as objects.githubusercontent.com)",
    ),
    EgressHost("raw.githubusercontent.com", GITHUB, "setup-python's versions manifest (actions/python-versions)"),
    EgressHost("ghcr.io", GITHUB, "GitHub Container Registry: container actions and service images"),
    EgressHost("pkg-containers.githubusercontent.com", GITHUB, "ghcr.io's image layers"),
    EgressHost("pypi.org", PACKAGES, "scripts/setup: pip resolves the pinned Python dependencies"),
    EgressHost("files.pythonhosted.org", PACKAGES, "scripts/setup: pip downloads the Python packages"),
    EgressHost("registry.npmjs.org", PACKAGES, "scripts/setup: npm ci installs the CDKTF/jsii JavaScript packages"),
    EgressHost("nodejs.org", PACKAGES, "Node.js release index and downloads (the CDKTF toolchain's runtime)"),
    EgressHost(
        "registry.terraform.io", PACKAGES, "terraform init: provider discovery for hashicorp/azurerm, kubernetes, time"
    ),
    EgressHost(
        "releases.hashicorp.com",
        PACKAGES,
        "hashicorp/setup-terraform's terraform binary and the provider packages registry.terraform.io points to",
    ),
    EgressHost("management.azure.com", AZURE, "Azure Resource Manager: every plan and apply (azurerm, az)"),
    EgressHost(
        "login.microsoftonline.com",
        AZURE,
        "Entra ID tokens: azure/login's federated credential, azurerm's and kubelogin's tokens, managed identities",
    ),
    EgressHost("mcr.microsoft.com", PLATFORM, "Microsoft Container Registry: the platform's system containers"),
    EgressHost("*.data.mcr.microsoft.com", PLATFORM, "MCR's storage (image layers)"),
    EgressHost(
        "packages.aks.azure.com", PLATFORM, "the environment's underlying AKS nodes: Kubernetes and CNI binaries"
    ),
    EgressHost("acs-mirror.azureedge.net", PLATFORM, "the same binaries' mirror (all scenarios in Microsoft's list)"),
    EgressHost("*.identity.azure.net", PLATFORM, "managed identity: the job's identity (registry pull) gets tokens"),
    EgressHost("*.login.microsoftonline.com", PLATFORM, "managed identity: Entra ID endpoints Microsoft lists"),
    EgressHost("*.login.microsoft.com", PLATFORM, "managed identity: Entra ID endpoints Microsoft lists"),
)
# Deliberately absent: graph.microsoft.com (no stack uses the azuread provider or Graph), Docker Hub (the runner
# image comes from the private registry), NTP (no FQDN network rules on Basic: it has no DNS proxy; Azure hosts
# give their VMs the time). Network rules: none. Microsoft documents application rules OR service tags for the
# platform's needs; the names above are narrower than AzureActiveDirectory / AzureResourceManager / AzureCloud.


def egress_groups() -> dict[str, tuple[str, ...]]:
    """Application rule name -> its host names, in `RUNNER_EGRESS` order."""
    groups: dict[str, tuple[str, ...]] = {}
    for host in RUNNER_EGRESS:
        groups[host.group] = (*groups.get(host.group, ()), host.fqdn)
    return groups


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
        self.private_ip: str = private_ip
        self.firewall_id: str = firewall.id
        self.policy_id: str = policy.id
        self.runners_subnet_id: str = association.subnet_id
