"""Where and as whom Terraform runs for one environment (docs/zero-to-running.md).

- `DeploymentNetwork`: a VNet with a runners subnet (delegated to Container Apps; its default route goes to an
  Azure Firewall Basic in the same VNet (constructs/runner_egress.py) that lets out HTTPS to the host names of
  `constructs/egress_hosts.py` only; an NSG that lets out only HTTPS and in nothing but Azure's load-balancer probes
  and the subnet itself), the firewall's two subnets and a private-endpoints subnet; the
  `privatelink.blob.core.windows.net` zone linked to it, so the state account resolves privately; and the
  deployment path's small Log Analytics workspace, which every diagnosable resource of the bootstrap logs to.
- `DeployIdentities`: a read-only *plan* identity (the `<env>-plan` GitHub environment: Reader, Storage Blob Data
  Reader on the state container) and an *apply* identity (the protected `<env>` environment: Contributor, Resource
  Policy Contributor, the custom lock role, and Role Based Access Control Administrator allowed exactly the role ids
  the environment's stacks assign, `delegate()` / `assigned_role_ids()`), user-assigned identities trusted through
  GitHub OIDC federated credentials.
- `RunnerCredentials`: the environment's runner-credential vault (private, RBAC-only, purge-protected) holding the
  GitHub App key the operator stores there (never Terraform), and the identity the runner jobs read it with.
- `GitHubRunners`: ephemeral GitHub Actions runners, one event-driven Container Apps job per pool (`plan`: pull-request
  plans and drift; `apply`: merge applies) scaled by KEDA's `github-runner` scaler (zero replicas while no job
  waits), in an internal workload-profile environment; the App key reaches only each execution's `register` init
  container; the image comes from the environment's private registry (constructs/runner_registry.py) pulled with a
  managed identity.
- bootstrap's providers register exactly the namespaces of `constructs/resource_providers.py`
  (docs/zero-to-running.md, step 4).

`deployment_names()` is the one place the names come from: the infra stack looks the network and the
identities up by these names (never through bootstrap's state).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cdktf import ITerraformDependable, TerraformProvider, TerraformResource, Token
from cdktf_cdktf_provider_azurerm.container_app_environment import (
    ContainerAppEnvironment,
    ContainerAppEnvironmentWorkloadProfile,
)
from cdktf_cdktf_provider_azurerm.container_app_job import (
    ContainerAppJob,
    ContainerAppJobEventTriggerConfig,
    ContainerAppJobEventTriggerConfigScale,
    ContainerAppJobEventTriggerConfigScaleRules,
    ContainerAppJobEventTriggerConfigScaleRulesAuthentication,
    ContainerAppJobIdentity,
    ContainerAppJobRegistry,
    ContainerAppJobSecret,
    ContainerAppJobTemplate,
    ContainerAppJobTemplateContainer,
    ContainerAppJobTemplateContainerEnv,
    ContainerAppJobTemplateContainerVolumeMounts,
    ContainerAppJobTemplateInitContainer,
    ContainerAppJobTemplateInitContainerEnv,
    ContainerAppJobTemplateInitContainerVolumeMounts,
    ContainerAppJobTemplateVolume,
)
from cdktf_cdktf_provider_azurerm.key_vault import KeyVault, KeyVaultNetworkAcls
from cdktf_cdktf_provider_azurerm.log_analytics_workspace import LogAnalyticsWorkspace
from cdktf_cdktf_provider_azurerm.private_dns_zone import PrivateDnsZone
from cdktf_cdktf_provider_azurerm.public_ip import PublicIp
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.role_definition import RoleDefinition, RoleDefinitionPermissions
from cdktf_cdktf_provider_azurerm.subnet import Subnet, SubnetDelegation, SubnetDelegationServiceDelegation
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from cdktf_cdktf_provider_azurerm.virtual_network import VirtualNetwork

from config.deployment import RUNNER_POOLS, DeploymentConfig, GitHubRepository, RunnerConfig, RunnerPool
from constructs import Construct
from constructs.federation import federated_identity, github_trust
from constructs.interfaces import DiagnosticsSink, RoleGrant, diagnostics, grant, lock
from constructs.naming import Naming
from constructs.network import SecurityRule, subnet_security_group
from constructs.private_endpoint import PrivateEndpointPlacement, link_private_dns_zone
from constructs.resource_types import resource_type
from constructs.runner_egress import RunnerFirewall, RunnerFirewallProps

BLOB_ZONE = "privatelink.blob.core.windows.net"
# The deployment VNet resolves every Key Vault through THIS zone (bootstrap's): a VNet cannot be linked to two zones
# of one name, so the infra stack writes its vaults' A records here instead of linking its own zone.
VAULT_ZONE = "privatelink.vaultcore.azure.net"
SECRET_READER_ROLE = "Key Vault Secrets User"
CONTAINER_APPS_DELEGATION = "Microsoft.App/environments"
WORKLOAD_PROFILE = "Consumption"

# Roles the apply identity may never hand out, whatever the stacks assign (Owner, User Access Administrator, Role
# Based Access Control Administrator): a stack that assigns one of them fails the synth.
PRIVILEGED_ROLE_IDS = (
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",  # Owner
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",  # User Access Administrator
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168",  # Role Based Access Control Administrator
)
DELEGATION_ROLE = "Role Based Access Control Administrator"
ROLES_REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "roles.json"
_ROLE_ID = "Microsoft.Authorization/roleAssignments:RoleDefinitionId"
_PRINCIPAL_ID = "Microsoft.Authorization/roleAssignments:PrincipalId"


# Built-in roles whose actions include Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/
# write (Contributor: `*`): held by a deploy identity on its own scope, it could trust any OIDC subject.
IDENTITY_WRITER_ROLE_IDS = (
    "b24988ac-6180-42a0-ab88-20f7382dd24c",  # Contributor
    "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",  # Managed Identity Contributor
)


def constrained_delegation(role_ids: Sequence[str], protected_principals: Sequence[str] = ()) -> str:
    """The ABAC condition (version 2.0) of the apply identity's Role Based Access Control Administrator: it may create
    and delete assignments of exactly `role_ids` (Microsoft Learn, "Delegate Azure role assignment management to
    others with conditions", constrain roles); to `protected_principals` (the deploy identities, which the infra
    stack gives data roles) none of IDENTITY_WRITER_ROLE_IDS ("constrain roles and principals"): the allow-list
    holds Contributor (policy remediation), which the apply identity must not give itself."""
    if not role_ids:
        raise ValueError("constrained delegation: no role ids (the stacks assign no role?)")
    allowed = "{" + ", ".join(role_ids) + "}"
    writers = sorted(set(IDENTITY_WRITER_ROLE_IDS) & set(role_ids))
    principals = (
        f" AND ((@Request[{_PRINCIPAL_ID}] ForAnyOfAllValues:GuidNotEquals {{{', '.join(protected_principals)}}})"
        f" OR (@Request[{_ROLE_ID}] ForAnyOfAllValues:GuidNotEquals {{{', '.join(writers)}}}))"
        if protected_principals and writers
        else ""
    )
    return (
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        f"(@Request[{_ROLE_ID}] ForAnyOfAnyValues:GuidEquals {allowed}{principals}))"
        " AND "
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
        f"(@Resource[{_ROLE_ID}] ForAnyOfAnyValues:GuidEquals {allowed}))"
    )


@dataclass(frozen=True)
class DeploymentNames:
    """Names of the deployment resources of one environment, derived from config only."""

    resource_group: str
    virtual_network: str
    runners_subnet: str
    private_endpoints_subnet: str
    plan_identity: str
    apply_identity: str
    runner_environment: str
    runner_jobs: dict[str, str]  # pool ("plan", "apply") -> Container Apps job name
    kubernetes_plan_role: str  # custom role: read every Kubernetes object except Secrets (plans refresh RBAC too)
    lock_role: str  # custom role: the apply identity writes and deletes the stacks' management locks
    subscription_writer_role: str  # custom role: the subscription-scope resources the stacks write (derived)

    def virtual_network_id(self, subscription_id: str) -> str:
        return (
            f"/subscriptions/{subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Network/virtualNetworks/{self.virtual_network}"
        )


def runner_vault_name(naming: Naming) -> str:
    """The runner-credential vault: globally unique, at most 24 characters."""
    return naming.global_name("runners", "kv")


def deployment_names(naming: Naming, config: DeploymentConfig) -> DeploymentNames:
    return DeploymentNames(
        resource_group=naming.name("deployment", "rg"),
        virtual_network=naming.name("deployment", "vnet"),
        runners_subnet=config.network.runners.name,
        private_endpoints_subnet=config.network.private_endpoints.name,
        plan_identity=naming.name("terraform-plan", "id"),
        apply_identity=naming.name("terraform-apply", "id"),
        runner_environment=naming.name("runners", "cae"),
        runner_jobs={pool: naming.name(f"runner-{pool}", "job") for pool in RUNNER_POOLS},
        kubernetes_plan_role=naming.name("kubernetes-plan-reader", "role"),
        lock_role=naming.name("deploy-locks", "role"),
        subscription_writer_role=naming.name("deploy-subscription-writer", "role"),
    )


VERBS = ("read", "write", "delete")
# The built-in "Azure Kubernetes Service RBAC Reader" cannot read (Cluster)Roles and (Cluster)RoleBindings, which
# the cluster stack manages, so a plan's refresh would fail; no built-in read-only role can. This one reads every
# object but Secrets (the cluster stack manages none).
KUBERNETES_PLAN_DATA_ACTIONS = ("Microsoft.ContainerService/managedClusters/*/read",)
KUBERNETES_PLAN_NOT_DATA_ACTIONS = ("Microsoft.ContainerService/managedClusters/secrets/read",)
LOCK_ACTIONS = (
    "Microsoft.Authorization/locks/read",
    "Microsoft.Authorization/locks/write",
    "Microsoft.Authorization/locks/delete",
)
# What each resource type the stacks create at subscription scope needs (the apply identity holds Contributor on the
# platform resource groups only). Policy definitions and assignments are Resource Policy Contributor's, role
# assignments the delegation's. A resource naming a `subscription_id` of a type in neither table fails the synth
# (`subscription_writes`); a type without that argument (Defender plans, features) must be listed by hand.
SUBSCRIPTION_SCOPE_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "azurerm_consumption_budget_subscription": tuple(f"Microsoft.Consumption/budgets/{v}" for v in VERBS),
    "azurerm_cost_anomaly_alert": tuple(f"Microsoft.CostManagement/scheduledActions/{v}" for v in VERBS),
    "azurerm_security_center_subscription_pricing": (
        "Microsoft.Security/pricings/read",
        "Microsoft.Security/pricings/write",
    ),
    "azurerm_security_center_contact": tuple(f"Microsoft.Security/securityContacts/{v}" for v in VERBS),
    "azurerm_resource_provider_feature_registration": (
        "Microsoft.Features/features/read",
        "Microsoft.Features/providers/features/read",
        "Microsoft.Features/providers/features/register/action",
        "Microsoft.Features/providers/features/unregister/action",
    ),
    # only a setting whose target is the subscription itself (the activity log export)
    "azurerm_monitor_diagnostic_setting": tuple(f"Microsoft.Insights/diagnosticSettings/{v}" for v in VERBS),
}
# Policy and role-assignment types are written through the apply identity's other subscription roles.
SUBSCRIPTION_SCOPE_ELSEWHERE = frozenset(
    {
        "azurerm_policy_definition",
        "azurerm_policy_set_definition",
        "azurerm_subscription_policy_assignment",
        "azurerm_role_assignment",
    }
)


# Defence in depth under the firewall (constructs/runner_egress.py filters by host name; an NSG cannot): the
# runners subnet lets in only Azure's load balancer and itself, and lets out HTTPS and traffic inside the subnet.
# The NSG sees the original destination, not the firewall: "Internet 443" here, the names there. Container Apps
# workload-profile environments need the subnet to talk to itself (learn.microsoft.com "Securing a virtual network
# in Azure Container Apps"). DNS uses Azure's platform resolver, which NSGs and routes do not touch.
def runner_security_rules(runners_prefix: str) -> tuple[SecurityRule, ...]:
    return (
        SecurityRule("AllowLoadBalancerInbound", 100, ("*",), ("AzureLoadBalancer",)),
        SecurityRule("AllowRunnersSubnetInbound", 110, ("*",), (runners_prefix,)),
        # Private endpoints here and in the peered spoke (state, registry, Key Vaults, AKS API).
        SecurityRule("AllowVnetOutbound", 100, ("443",), ("*",), "Tcp", "Outbound", destinations=("VirtualNetwork",)),
        SecurityRule(
            "AllowRunnersSubnetOutbound",
            110,
            ("*",),
            (runners_prefix,),
            direction="Outbound",
            destinations=(runners_prefix,),
        ),
        SecurityRule("AllowHttpsOutbound", 140, ("443",), ("*",), "Tcp", "Outbound", destinations=("Internet",)),
        SecurityRule("DenyAllOutbound", 4096, ("*",), ("*",), direction="Outbound", access="Deny"),
    )


PRIVATE_ENDPOINT_SECURITY_RULES = (SecurityRule("AllowVnetHttpsInbound", 100, ("443",), ("VirtualNetwork",), "Tcp"),)
# Zones of the runners' firewall and its two public IPs.
FIREWALL_ZONES = ("1", "2", "3")
DEPLOYMENT_LOG_RETENTION_DAYS = 30  # enough to debug a blocked host or a 403 on state; not an audit archive


@dataclass(frozen=True)
class DeploymentNetworkProps:
    config: DeploymentConfig
    names: DeploymentNames
    naming: Naming
    location: str
    provider: TerraformProvider


class DeploymentNetwork(Construct):
    """Exposes `resource_group_name`, `virtual_network_id`, `runners_subnet_id` (the route table association's),
    `private_endpoints_subnet_id`, `firewall_private_ip`, `blob_private_dns_zone_id` and `diagnostics` (the
    deployment workspace's sink, for the other bootstrap constructs)."""

    def __init__(self, scope: Construct, id: str, *, props: DeploymentNetworkProps) -> None:
        super().__init__(scope, id)
        plan, names, provider = props.config.network, props.names, props.provider
        group = ResourceGroup(
            self,
            "resource-group",
            name=names.resource_group,
            location=props.location,
            provider=provider,
        )
        group_name = group.name
        # The deployment path's own small workspace (the platform's comes later, from the infra stack the runners
        # deploy): the firewall's allowed and denied connections, the NSGs, who read or wrote the state blobs.
        workspace = LogAnalyticsWorkspace(
            self,
            "log-analytics",
            name=props.naming.name("deployment", "log"),
            location=props.location,
            resource_group_name=group_name,
            sku="PerGB2018",
            retention_in_days=DEPLOYMENT_LOG_RETENTION_DAYS,
            local_authentication_enabled=False,  # Entra ID queries only
            provider=provider,
        )
        sink = DiagnosticsSink(log_analytics_workspace_id=workspace.id)
        diagnostics(self, "log-analytics-diagnostics", workspace, sink, provider=provider)
        vnet = VirtualNetwork(
            self,
            "vnet",
            name=names.virtual_network,
            location=props.location,
            resource_group_name=group_name,
            address_space=[plan.address_space],
            provider=provider,
        )
        diagnostics(self, "vnet-diagnostics", vnet, sink, provider=provider)
        vnet_name, vnet_id = vnet.name, vnet.id
        runners = Subnet(
            self,
            "runners-subnet",
            name=plan.runners.name,
            resource_group_name=group_name,
            virtual_network_name=vnet_name,
            address_prefixes=[plan.runners.address_prefix],
            default_outbound_access_enabled=False,  # egress only through the firewall below
            delegation=[
                SubnetDelegation(
                    name="container-apps",
                    service_delegation=SubnetDelegationServiceDelegation(
                        name=CONTAINER_APPS_DELEGATION,
                        actions=["Microsoft.Network/virtualNetworks/subnets/join/action"],
                    ),
                )
            ],
            provider=provider,
        )
        endpoints = Subnet(
            self,
            "private-endpoints-subnet",
            name=plan.private_endpoints.name,
            resource_group_name=group_name,
            virtual_network_name=vnet_name,
            address_prefixes=[plan.private_endpoints.address_prefix],
            default_outbound_access_enabled=False,
            private_endpoint_network_policies="Enabled",  # the NSG below applies to the endpoints too
            provider=provider,
        )
        firewall_subnets = {
            key: Subnet(
                self,
                f"{key.replace('_', '-')}-subnet",
                name=subnet.name,
                resource_group_name=group_name,
                virtual_network_name=vnet_name,
                address_prefixes=[subnet.address_prefix],
                provider=provider,
            ).id
            for key, subnet in (("firewall", plan.firewall), ("firewall_management", plan.firewall_management))
        }
        runners_id, endpoints_id = runners.id, endpoints.id
        for key, subnet_id, rules in (
            ("runners", runners_id, runner_security_rules(plan.runners.address_prefix)),
            ("private-endpoints", endpoints_id, PRIVATE_ENDPOINT_SECURITY_RULES),
        ):
            subnet_security_group(
                self,
                key,
                name=props.naming.name(f"deployment-{key}", "nsg"),
                subnet_id=subnet_id,
                rules=rules,
                location=props.location,
                resource_group=group_name,
                sink=sink,
                provider=provider,
            )

        # The runners' one static egress address: the firewall's public IP (GitHub organisation IP allow lists and
        # package mirrors can name it).
        egress_ip = PublicIp(
            self,
            "egress-ip",
            name=props.naming.name("runners-egress", "pip"),
            location=props.location,
            resource_group_name=group_name,
            allocation_method="Static",
            sku="Standard",
            zones=list(FIREWALL_ZONES),
            provider=provider,
        )
        diagnostics(self, "egress-ip-diagnostics", egress_ip, sink, provider=provider)
        firewall = RunnerFirewall(
            self,
            "firewall",
            props=RunnerFirewallProps(
                naming=props.naming,
                location=props.location,
                resource_group_name=group_name,
                subnet_id=firewall_subnets["firewall"],
                management_subnet_id=firewall_subnets["firewall_management"],
                public_ip_id=egress_ip.id,
                runners_subnet_id=runners_id,
                runners_prefix=plan.runners.address_prefix,
                zones=FIREWALL_ZONES,
                diagnostics=sink,
                provider=provider,
            ),
        )

        zone = PrivateDnsZone(self, "dns-blob", name=BLOB_ZONE, resource_group_name=group_name, provider=provider)
        link_private_dns_zone(
            self,
            "dns-blob-link",
            zone_name=zone.name,
            resource_group_name=group_name,
            link_name="deployment-link",
            virtual_network_id=vnet_id,
            provider=provider,
        )
        self.resource_group_name: str = group_name
        self.resource_group_id: str = group.id
        self.virtual_network_id: str = vnet_id
        self.runners_subnet_id: str = firewall.runners_subnet_id  # through the route: runners wait for egress
        self.firewall_private_ip: str = firewall.private_ip
        self.private_endpoints_subnet_id: str = endpoints_id
        self.blob_private_dns_zone_id: str = zone.id
        self.diagnostics: DiagnosticsSink = sink
        # Where the bootstrap's private endpoints go (state account, runner registry): this VNet's endpoints subnet.
        self.private_endpoints = PrivateEndpointPlacement(
            subnet_id=endpoints_id, location=props.location, resource_group_name=group_name, provider=provider
        )


@dataclass(frozen=True)
class DeployIdentitiesProps:
    repository: GitHubRepository
    environment: str  # the GitHub environment whose deployments may sign in as the apply identity
    names: DeploymentNames
    location: str
    resource_group_name: str
    subscription_id: str
    state_container_scope: str  # ARM id of the state container (blob data role for the backend)
    # ARM id of the alerting stack's state container: the apply identity's only, the plan identity has no role on it.
    alerting_state_container_scope: str
    platform_group_ids: Mapping[str, str]  # the platform resource groups (bootstrap's): the apply identity's writes
    provider: TerraformProvider


def oidc_subjects(repository: GitHubRepository, environment: str) -> dict[str, str]:
    """The OIDC `sub` claims each identity trusts through an environment. A job in a GitHub environment gets the
    environment's subject: deploy plans and drift run in `<env>-plan`, applies in `<env>` (required reviewers);
    both environments admit `main` only (stacks/github.py)."""
    return {
        "plan": f"repo:{repository.slug}:environment:{environment}-plan",
        "apply": f"repo:{repository.slug}:environment:{environment}",
    }


def pull_request_subject(repository: GitHubRepository) -> str:
    """The subject of a pull-request job that names no environment (the PR plan job, docs/delivery.md): trusted by
    the read-only plan identity only, so a pull request never holds an environment's secrets or the apply identity."""
    return f"repo:{repository.slug}:pull_request"


class DeployIdentities(Construct):
    """Exposes `client_ids` and `principal_ids` by role ("plan", "apply")."""

    def __init__(self, scope: Construct, id: str, *, props: DeployIdentitiesProps) -> None:
        super().__init__(scope, id)
        subscription = f"/subscriptions/{props.subscription_id}"
        names = {"plan": props.names.plan_identity, "apply": props.names.apply_identity}
        subjects = oidc_subjects(props.repository, props.environment)
        # role -> the roles it holds and why (scope, role, why). The apply identity's Role Based Access Control
        # Administrator comes from `delegate()`, once the environment's stacks are built (its allow-list is theirs).
        roles: dict[str, tuple[tuple[str, str, str], ...]] = {
            "plan": (
                (subscription, "Reader", "Plans read every resource of the subscription (refresh)."),
                (
                    props.state_container_scope,
                    "Storage Blob Data Reader",
                    "Plans read the state; they run with -lock=false and write nothing.",
                ),
            ),
            "apply": (
                # Contributor on the platform resource groups only: none on the deployment group, which holds this
                # identity and its federated credentials (docs/security-model.md "The apply identity's own identity").
                (subscription, "Reader", "Applies refresh what the stacks read outside their resource groups."),
                *(
                    (group_id, "Contributor", f"Applies create and change the platform's resources ({key} group).")
                    for key, group_id in sorted(props.platform_group_ids.items())
                ),
                (
                    subscription,
                    "Resource Policy Contributor",
                    "The infra stack writes policy definitions and initiatives and assigns them on the subscription "
                    "and the clusters.",
                ),
                (
                    props.state_container_scope,
                    "Storage Blob Data Contributor",
                    "Applies read and write the state and its lease.",
                ),
                (
                    props.alerting_state_container_scope,
                    "Storage Blob Data Contributor",
                    "The alerting stack (webhook addresses in its state) is planned and applied by this identity only.",
                ),
            ),
        }
        self.client_ids: dict[str, str] = {}
        self.principal_ids: dict[str, str] = {}
        for role, name in names.items():
            trusts_of_role = [github_trust(f"{role}-github", f"github-{role}", subjects[role])]
            if role == "plan":  # pull-request plans: no environment, the read-only identity
                trusts_of_role.append(
                    github_trust(
                        "plan-github-pull-request", "github-plan-pull-request", pull_request_subject(props.repository)
                    )
                )
            identity, trusts = federated_identity(
                self,
                f"{role}-identity",
                name=name,
                location=props.location,
                resource_group_name=props.resource_group_name,
                trusts=trusts_of_role,
                provider=props.provider,
            )
            # ReadOnly: nobody adds a federated credential (a subject it controls) to a deploy identity, not even a
            # principal holding Contributor on the subscription (the apply identity may give Contributor to one it
            # creates: the policy remediation identities need it). Only Owner and User Access Administrator delete
            # locks here: the apply identity's lock role covers the platform groups only. The operator removes the
            # lock before changing a trust (docs/security-model.md "Operator steps").
            lock(
                self,
                f"{role}-identity-lock",
                resource_id=identity.id,
                name="trust-read-only",
                why="The GitHub OIDC trust of this deploy identity changes only through bootstrap, by an operator.",
                level="ReadOnly",
                depends_on=trusts,
                provider=props.provider,
            )
            principal_id = identity.principal_id
            for index, (scope_id, role_name, why) in enumerate(roles[role]):
                grant(
                    self,
                    f"{role}-role-{index}",
                    RoleGrant(scope=scope_id, role=role_name, principal_id=principal_id, why=why),
                    provider=props.provider,
                )
            self.client_ids[role] = identity.client_id
            self.principal_ids[role] = principal_id
        # Defined here (the operator is Owner), assigned on each cluster by the infra stack (deployer_access.py).
        self.kubernetes_plan_role = RoleDefinition(
            self,
            "kubernetes-plan-role",
            name=props.names.kubernetes_plan_role,
            scope=subscription,
            description="Terraform plans of the cluster stack: read every Kubernetes object except Secrets.",
            assignable_scopes=[subscription],
            permissions=[
                RoleDefinitionPermissions(
                    data_actions=list(KUBERNETES_PLAN_DATA_ACTIONS),
                    not_data_actions=list(KUBERNETES_PLAN_NOT_DATA_ACTIONS),
                )
            ],
            provider=props.provider,
        )
        # Contributor excludes Microsoft.Authorization/*/write and /delete; Role Based Access Control Administrator
        # adds role assignments only. The stacks' delete locks need exactly this (constructs/locks.py).
        self.lock_role = RoleDefinition(
            self,
            "lock-role",
            name=props.names.lock_role,
            scope=subscription,
            description="Terraform applies: read, write and delete the stacks' management locks (nothing else).",
            assignable_scopes=[subscription],
            permissions=[RoleDefinitionPermissions(actions=list(LOCK_ACTIONS))],
            provider=props.provider,
        )
        for key, group_id in sorted(props.platform_group_ids.items()):  # not the deployment group's locks
            grant(
                self,
                f"apply-locks-{key}",
                RoleGrant(
                    scope=group_id,
                    role=props.names.lock_role,
                    principal_id=self.principal_ids["apply"],
                    why=f"Applies create and remove the stacks' CanNotDelete locks ({key} group).",
                    role_id=self.lock_role.role_definition_resource_id,
                ),
                provider=props.provider,
            )
        # Custom roles by name (what the stacks' assignments name): their ids enter the delegation's allow-list.
        self.custom_roles: dict[str, RoleDefinition] = {props.names.kubernetes_plan_role: self.kubernetes_plan_role}
        self._subscription = subscription
        self._names = props.names
        self._provider = props.provider

    def delegate(self, role_ids: Sequence[str]) -> RoleAssignment:
        """The apply identity's Role Based Access Control Administrator on the subscription, allowed to assign and
        remove exactly `role_ids` (derived from the environment's stacks by `assigned_role_ids`), to anyone but the
        deploy identities themselves."""
        return grant(
            self,
            "apply-delegation",
            RoleGrant(
                scope=self._subscription,
                role=DELEGATION_ROLE,
                principal_id=self.principal_ids["apply"],
                why="Applies create the stacks' role assignments; the condition allows exactly the roles they assign.",
                condition=constrained_delegation(role_ids, sorted(self.principal_ids.values())),
            ),
            provider=self._provider,
        )

    def allow_writes(self, subscription_actions: Sequence[str], scoped: Mapping[str, tuple[str, str]]) -> None:
        """The apply identity's writes outside its resource groups, derived from the environment's stacks:
        `subscription_actions` (`subscription_writes`) as a custom role on the subscription, and `scoped`
        (target -> (scope, built-in role), from `deployment_writes`) on single resources of the deployment group."""
        if subscription_actions:
            writer = RoleDefinition(
                self,
                "subscription-writer-role",
                name=self._names.subscription_writer_role,
                scope=self._subscription,
                description="Terraform applies: the subscription-scope resources the stacks write (nothing else).",
                assignable_scopes=[self._subscription],
                permissions=[RoleDefinitionPermissions(actions=list(subscription_actions))],
                provider=self._provider,
            )
            grant(
                self,
                "apply-subscription-writes",
                RoleGrant(
                    scope=self._subscription,
                    role=self._names.subscription_writer_role,
                    principal_id=self.principal_ids["apply"],
                    why="Applies write the stacks' subscription-scope resources (budget, Defender plans, features).",
                    role_id=writer.role_definition_resource_id,
                ),
                provider=self._provider,
            )
        for target, (scope, role) in sorted(scoped.items()):
            grant(
                self,
                f"apply-deployment-{target.replace('.', '-')}",
                RoleGrant(
                    scope=scope,
                    role=role,
                    principal_id=self.principal_ids["apply"],
                    why="The infra stack peers with the runners' network and registers its vaults in their zone.",
                ),
                provider=self._provider,
            )


def assigned_role_ids(stacks: Sequence[Construct], custom_role_ids: Mapping[str, str]) -> tuple[str, ...]:
    """The role definition ids the `stacks` assign, read from their role assignments (the same objects cdktf
    synthesizes): built-in roles by name through reference/roles.json, custom roles through `custom_role_ids`
    (name -> id). A role of neither kind, an assignment by an unresolved id or a privileged role fails here."""
    built_in: dict[str, str] = json.loads(ROLES_REFERENCE.read_text(encoding="utf-8"))["roles"]
    found: set[str] = set()
    for stack in stacks:
        for node in stack.node.find_all():
            if not isinstance(node, RoleAssignment):
                continue
            name, by_id = node.role_definition_name_input, node.role_definition_id_input
            if name is not None and name in custom_role_ids:
                found.add(custom_role_ids[name])
            elif name is not None and name in built_in:
                found.add(built_in[name])
            elif by_id is not None and not Token.is_unresolved(by_id):
                found.add(by_id.rstrip("/").rsplit("/", 1)[-1])
            else:
                raise ValueError(
                    f"{node.node.path}: role {name or by_id!r} has no known id: add the built-in role to "
                    f"reference/roles.json or assign a custom role bootstrap defines"
                )
    privileged = found & set(PRIVILEGED_ROLE_IDS)
    if privileged:
        raise ValueError(f"the stacks assign privileged roles {sorted(privileged)}: the apply identity may not")
    return tuple(sorted(found))


def _resources(stacks: Sequence[Construct]) -> list[TerraformResource]:
    return [node for stack in stacks for node in stack.node.find_all() if isinstance(node, TerraformResource)]


def subscription_writes(stacks: Sequence[Construct], subscription_id: str) -> tuple[str, ...]:
    """The actions the `stacks`' subscription-scope resources need (SUBSCRIPTION_SCOPE_ACTIONS), read from the same
    objects cdktf synthesizes. A resource naming a `subscription_id` whose type is in neither table fails here (it
    would fail the first apply with a 403)."""
    subscription = f"/subscriptions/{subscription_id}"
    found: set[str] = set()
    for node in _resources(stacks):
        kind = resource_type(node)  # per class, not a kernel read per resource
        if kind == "azurerm_monitor_diagnostic_setting":
            if getattr(node, "target_resource_id_input", None) == subscription:
                found.update(SUBSCRIPTION_SCOPE_ACTIONS[kind])
        elif kind in SUBSCRIPTION_SCOPE_ACTIONS:
            found.update(SUBSCRIPTION_SCOPE_ACTIONS[kind])
        elif getattr(node, "subscription_id_input", None) is not None and kind not in SUBSCRIPTION_SCOPE_ELSEWHERE:
            raise ValueError(
                f"{node.node.path}: {kind} is written at subscription scope: add it to "
                "SUBSCRIPTION_SCOPE_ACTIONS (constructs/deployment.py)"
            )
    return tuple(sorted(found))


# What the infra stack writes in (or links to) the deployment resource group, and the built-in role on that one
# resource that allows it: its peerings with the runners' VNet and its zone links to it (virtualNetworks/peer and
# join, and the peering's own write), its vaults' A records in the runners' vault zone.
DEPLOYMENT_WRITE_ROLES = {
    "azurerm_virtual_network_peering": "Network Contributor",
    "azurerm_private_dns_zone_virtual_network_link": "Network Contributor",
    "azurerm_private_dns_a_record": "Private DNS Zone Contributor",
}


def deployment_writes(stacks: Sequence[Construct], names: DeploymentNames, subscription_id: str) -> dict[str, str]:
    """Target in the deployment group ("vnet" or a private DNS zone's name) -> the built-in role the `stacks` need on
    it. A write of another kind into the deployment group fails here: the apply identity has no write there."""
    vnet_id = names.virtual_network_id(subscription_id)
    found: dict[str, str] = {}
    for node in _resources(stacks):
        kind = resource_type(node)  # per class, not a kernel read per resource
        in_group = getattr(node, "resource_group_name_input", None) == names.resource_group
        links = vnet_id in (
            getattr(node, "remote_virtual_network_id_input", None),
            getattr(node, "virtual_network_id_input", None),
        )
        if not (in_group or links):
            continue
        role = DEPLOYMENT_WRITE_ROLES.get(kind)
        if role is None:
            raise ValueError(f"{node.node.path}: {kind} writes into the deployment group {names.resource_group}")
        target = (
            str(getattr(node, "zone_name_input", "")) if kind == "azurerm_private_dns_a_record" and in_group else "vnet"
        )
        found[target] = role
    return found


@dataclass(frozen=True)
class RunnerImage:
    """Where the job pulls the runner image from: `<login server>/github-runner:<tag>` with the pull identity."""

    server: str  # the registry's login server
    reference: str  # <server>/<repository>:<tag>
    identity_id: str  # the user-assigned identity holding AcrPull on the registry
    pull_grant: ITerraformDependable  # its role assignment: the job waits for it


@dataclass(frozen=True)
class RunnerCredentialsProps:
    naming: Naming
    location: str
    resource_group_name: str
    tenant_id: str
    virtual_network_id: str  # the deployment VNet: the vault's privatelink zone is linked here
    private_endpoint: PrivateEndpointPlacement  # the deployment network's private-endpoints subnet
    key_secret_name: str  # config deployment.runner.github_app.key_secret_name
    diagnostics: DiagnosticsSink  # every read of the key (AuditEvent), by which identity
    provider: TerraformProvider


class RunnerCredentials(Construct):
    """The environment's runner-credential vault and the identity the runner jobs read the App key with.

    The vault is RBAC-only, purge-protected, reachable only through its private endpoint in the deployment
    network (`privatelink.vaultcore.azure.net`, linked to the deployment VNet; the infra stack registers its own
    vaults in this zone, constructs/deployer_access.py). Terraform creates the vault, never the secret: the operator
    runs `az keyvault secret set` (docs/security-model.md), so the key is in no variable, plan or state. The job
    identity holds Key Vault Secrets User on this vault (it holds nothing else) and no other role.

    Exposes `vault_id`, `secret_id` (versionless URL of the App key: `key_vault_secret_id`), `identity_id`,
    `identity_principal_id` and `secret_read_grant` (the jobs wait for it).
    """

    def __init__(self, scope: Construct, id: str, *, props: RunnerCredentialsProps) -> None:
        super().__init__(scope, id)
        provider = props.provider
        vault = KeyVault(
            self,
            "vault",
            name=runner_vault_name(props.naming),
            location=props.location,
            resource_group_name=props.resource_group_name,
            tenant_id=props.tenant_id,
            sku_name="standard",
            rbac_authorization_enabled=True,  # no access policies: Entra RBAC only
            purge_protection_enabled=True,
            soft_delete_retention_days=90,
            public_network_access_enabled=False,
            network_acls=KeyVaultNetworkAcls(default_action="Deny", bypass="None"),
            provider=provider,
        )
        diagnostics(self, "vault-diagnostics", vault, props.diagnostics, provider=provider)
        zone = PrivateDnsZone(
            self, "dns-vault", name=VAULT_ZONE, resource_group_name=props.resource_group_name, provider=provider
        )
        link_private_dns_zone(
            self,
            "dns-vault-link",
            zone_name=zone.name,
            resource_group_name=props.resource_group_name,
            link_name="deployment-link",
            virtual_network_id=props.virtual_network_id,
            provider=provider,
        )
        props.private_endpoint.connect(
            self,
            "vault-endpoint",
            name=props.naming.name("runners-kv", "pe"),
            resource_id=vault.id,
            subresource="vault",
            private_dns_zone_id=zone.id,
        )
        identity = UserAssignedIdentity(
            self,
            "identity",
            name=props.naming.name("runner-credentials", "id"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            provider=provider,
        )
        vault_id = vault.id
        # On the vault, which holds nothing but the App key: a grant on the secret's own scope would have to wait for
        # the operator's `az keyvault secret set` (the scope must exist), which comes after this apply.
        self.secret_read_grant = grant(
            self,
            "secret-reader",
            RoleGrant(
                scope=vault_id,
                role=SECRET_READER_ROLE,
                principal_id=identity.principal_id,
                why="The runner jobs' Key Vault reference reads the GitHub App key (the vault holds nothing else).",
            ),
            provider=provider,
        )
        self.vault_id: str = vault_id
        self.secret_id: str = f"{vault.vault_uri}secrets/{props.key_secret_name}"
        self.identity_id: str = identity.id
        self.identity_principal_id: str = identity.principal_id
        self.private_dns_zone_id: str = zone.id


@dataclass(frozen=True)
class GitHubRunnersProps:
    runner: RunnerConfig
    repository: GitHubRepository
    names: DeploymentNames
    naming: Naming
    location: str
    resource_group_name: str
    subnet_id: str
    image: RunnerImage
    credentials: RunnerCredentials  # the App key by Key Vault reference (never a value)
    diagnostics: DiagnosticsSink  # the deployment network's workspace: the runners' console and KEDA's events
    provider: TerraformProvider


def runner_scale_metadata(repository: GitHubRepository, runner: RunnerConfig, pool: RunnerPool) -> dict[str, str]:
    """KEDA github-runner scaler settings: one job per queued workflow job that asks for the pool's label, read as
    the GitHub App (`applicationID`/`installationID` + the `appKey` secret)."""
    return {
        "githubApiURL": "https://api.github.com",
        "owner": repository.owner,
        "runnerScope": "repo",
        "repos": repository.name,
        "labels": pool.label,
        "targetWorkflowQueueLength": "1",
        "applicationID": str(runner.github_app.app_id),
        "installationID": str(runner.github_app.installation_id),
    }


class GitHubRunners(Construct):
    """Exposes `job_ids` (by pool) and `environment_id`.

    One internal Container Apps environment, one event-driven job per pool (config `deployment.runner.plan` /
    `.apply`), each answering to its pool's label only. Each execution has two containers of the runner image:
    - `register` (init container): the only one given the App key (a Key Vault reference read with the credential
      identity); runs `runner-entrypoint.sh jit-config`, which asks GitHub for a just-in-time configuration of ONE
      ephemeral runner with the pool's label (`POST /repos/{repo}/actions/runners/generate-jitconfig`) and writes
      it to the execution's own `EmptyDir` volume;
    - `runner`: `runner-entrypoint.sh run-jit` starts the runner from that file. It has no secret in its
      environment or volumes, so the job's code (pull-request code on the plan pool) cannot read the App key and
      cannot register a runner with another label.
    """

    APP_KEY_SECRET = "github-app-key"
    CONFIG_VOLUME = "runner-config"
    CONFIG_PATH = "/runner-config"

    def __init__(self, scope: Construct, id: str, *, props: GitHubRunnersProps) -> None:
        super().__init__(scope, id)
        runner, repository, provider, image = props.runner, props.repository, props.provider, props.image
        credentials = props.credentials
        environment = ContainerAppEnvironment(
            self,
            "environment",
            name=props.names.runner_environment,
            location=props.location,
            resource_group_name=props.resource_group_name,
            infrastructure_subnet_id=props.subnet_id,
            infrastructure_resource_group_name=props.naming.name("runners-infra", "rg"),
            internal_load_balancer_enabled=True,
            public_network_access="Disabled",
            # Console and system logs leave through the diagnostic setting below (not the environment's own
            # Log Analytics link, which would need the workspace's shared key).
            logs_destination="azure-monitor",
            zone_redundancy_enabled=True,
            workload_profile=[
                ContainerAppEnvironmentWorkloadProfile(name=WORKLOAD_PROFILE, workload_profile_type=WORKLOAD_PROFILE)
            ],
            provider=provider,
        )
        diagnostics(self, "environment-diagnostics", environment, props.diagnostics, provider=provider)
        jit_file = f"{self.CONFIG_PATH}/jitconfig"
        self.job_ids: dict[str, str] = {}
        for pool_name, pool in runner.pools.items():
            settings: Mapping[str, str] = {  # runner-image/entrypoint.sh's settings
                "APP_ID": str(runner.github_app.app_id),
                "APP_INSTALLATION_ID": str(runner.github_app.installation_id),
                "REPOSITORY": repository.slug,
                "RUNNER_LABELS": pool.label,
                "RUNNER_JITCONFIG_FILE": jit_file,
            }
            mounts = [ContainerAppJobTemplateContainerVolumeMounts(name=self.CONFIG_VOLUME, path=self.CONFIG_PATH)]
            job = ContainerAppJob(
                self,
                f"{pool_name}-job",
                name=props.names.runner_jobs[pool_name],
                location=props.location,
                resource_group_name=props.resource_group_name,
                container_app_environment_id=environment.id,
                workload_profile_name=WORKLOAD_PROFILE,
                replica_timeout_in_seconds=pool.timeout_minutes * 60,
                replica_retry_limit=0,  # an ephemeral runner that failed is replaced by the next queued job's replica
                identity=ContainerAppJobIdentity(
                    type="UserAssigned", identity_ids=[image.identity_id, credentials.identity_id]
                ),
                # pulled through the registry's private endpoint with the identity's AcrPull (no registry password)
                registry=[ContainerAppJobRegistry(server=image.server, identity=image.identity_id)],
                # A Key Vault reference: the platform reads the secret with the credential identity; no value here.
                secret=[
                    ContainerAppJobSecret(
                        name=self.APP_KEY_SECRET,
                        identity=credentials.identity_id,
                        key_vault_secret_id=credentials.secret_id,
                    )
                ],
                event_trigger_config=ContainerAppJobEventTriggerConfig(
                    parallelism=1,
                    scale=[
                        ContainerAppJobEventTriggerConfigScale(
                            min_executions=0,  # scale to zero
                            max_executions=pool.max_executions,
                            polling_interval_in_seconds=30,
                            rules=[
                                ContainerAppJobEventTriggerConfigScaleRules(
                                    name="github-runner",
                                    custom_rule_type="github-runner",
                                    metadata=runner_scale_metadata(repository, runner, pool),
                                    authentication=[
                                        ContainerAppJobEventTriggerConfigScaleRulesAuthentication(
                                            secret_name=self.APP_KEY_SECRET, trigger_parameter="appKey"
                                        )
                                    ],
                                )
                            ],
                        )
                    ],
                ),
                template=ContainerAppJobTemplate(
                    volume=[ContainerAppJobTemplateVolume(name=self.CONFIG_VOLUME, storage_type="EmptyDir")],
                    init_container=[
                        ContainerAppJobTemplateInitContainer(
                            name="register",
                            image=image.reference,
                            args=["jit-config"],
                            cpu=0.5,
                            memory="1Gi",
                            env=[
                                ContainerAppJobTemplateInitContainerEnv(
                                    name="APP_PRIVATE_KEY", secret_name=self.APP_KEY_SECRET
                                ),
                                *(
                                    ContainerAppJobTemplateInitContainerEnv(name=k, value=v)
                                    for k, v in settings.items()
                                ),
                            ],
                            volume_mounts=[
                                ContainerAppJobTemplateInitContainerVolumeMounts(
                                    name=self.CONFIG_VOLUME, path=self.CONFIG_PATH
                                )
                            ],
                        )
                    ],
                    container=[
                        ContainerAppJobTemplateContainer(
                            name="runner",
                            image=image.reference,
                            args=["run-jit"],
                            cpu=pool.cpu_cores,
                            memory=f"{pool.cpu_cores * 2}Gi",
                            env=[
                                ContainerAppJobTemplateContainerEnv(name="RUNNER_JITCONFIG_FILE", value=jit_file),
                            ],
                            volume_mounts=mounts,
                        )
                    ],
                ),
                depends_on=[image.pull_grant, credentials.secret_read_grant],
                provider=provider,
            )
            self.job_ids[pool_name] = job.id
        self.environment_id: str = environment.id
