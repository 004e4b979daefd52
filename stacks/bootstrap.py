"""Per environment: the resource provider registrations, the deployment network, the private remote-state
account, the deploy identities, the runners' private image registry and the self-hosted runners
(docs/zero-to-running.md).

An operator with Owner runs it once per subscription pair. Its own state starts as a local file outside
cdktf.out (a clean build cannot delete it) and is then migrated into the state account of the environment
whose config says `deployment.holds_bootstrap_state = true` (`terraform init -migrate-state`), into its own
container `bootstrap-tfstate`, which only the operators' group (`deployment.operators_group_object_id`) can read.
No secret is in it: the runners' GitHub App keys are Key Vault secrets the operator creates (docs/security-model.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import AzurermBackend, LocalBackend, TerraformOutput, TerraformStack

from config.schema import EnvironmentConfig
from constructs import Construct
from constructs.deployment import (
    VAULT_ZONE,
    DeployIdentities,
    DeployIdentitiesProps,
    DeploymentNetwork,
    DeploymentNetworkProps,
    GitHubRunners,
    GitHubRunnersProps,
    RunnerCredentials,
    RunnerCredentialsProps,
    RunnerImage,
    assigned_role_ids,
    deployment_names,
    deployment_writes,
    subscription_writes,
)
from constructs.diagnostics import DiagnosticsCoverage
from constructs.human_access import EligibleAccess, EligibleAccessProps
from constructs.naming import Naming
from constructs.platform_groups import PlatformGroups, PlatformGroupsProps, platform_groups
from constructs.resource_providers import required_resource_providers
from constructs.runner_registry import RUNNER_IMAGE_REPOSITORY, RunnerRegistry, RunnerRegistryProps, runner_image_tag
from constructs.state_storage import BOOTSTRAP_CONTAINER, StateStorage, StateStorageProps
from stacks.common import apply_environment_aspects, azurerm_provider

BOOTSTRAP_STATE_FILE = "bootstrap.tfstate"
# Relative to cdktf.out/stacks/bootstrap/: the repository's .bootstrap-state/ folder (git-ignored), which
# survives `rm -rf cdktf.out` and a renamed output folder.
LOCAL_BOOTSTRAP_STATE = f"../../../.bootstrap-state/{BOOTSTRAP_STATE_FILE}"


def bootstrap_backend(
    stack: TerraformStack, environments: Sequence[EnvironmentConfig]
) -> LocalBackend | AzurermBackend:
    """Local until one environment holds bootstrap's state; then that environment's (private) state account."""
    holders = [config for config in environments if config.deployment.holds_bootstrap_state]
    if not holders:
        return LocalBackend(stack, path=LOCAL_BOOTSTRAP_STATE)
    holder = holders[0]
    backend = holder.state_backend
    return AzurermBackend(
        stack,
        resource_group_name=backend.resource_group_name,
        storage_account_name=backend.storage_account_name,
        container_name=BOOTSTRAP_CONTAINER,  # the operators' container: no pipeline identity reads it
        key=BOOTSTRAP_STATE_FILE,
        subscription_id=holder.subscription_id,
        tenant_id=holder.tenant_id,
        use_azuread_auth=True,
    )


class BootstrapStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, environments: Sequence[EnvironmentConfig]) -> None:
        super().__init__(scope, id)
        bootstrap_backend(self, environments)
        self.identities: dict[str, DeployIdentities] = {}
        self._deployment_targets: dict[str, dict[str, str]] = {}
        for config in environments:
            # A new subscription has almost nothing registered: this provider (run by the Owner operator)
            # registers every namespace the stacks use when it starts, before any resource is created.
            provider = azurerm_provider(self, config, alias=config.name, register=required_resource_providers())
            naming = Naming(config.short_name, config.unique_suffix)
            names = deployment_names(naming, config.deployment)
            network = DeploymentNetwork(
                self,
                f"{config.name}-deployment",
                props=DeploymentNetworkProps(
                    config=config.deployment,
                    names=names,
                    naming=naming,
                    location=config.location,
                    provider=provider,
                ),
            )
            storage = StateStorage(
                self,
                f"{config.name}-state",
                props=StateStorageProps(
                    backend=config.state_backend,
                    location=config.location,
                    provider=provider,
                    private_endpoint=network.private_endpoints,
                    private_dns_zone_id=network.blob_private_dns_zone_id,
                    diagnostics=network.diagnostics,
                    operators_group_object_id=config.deployment.operators_group_object_id,
                ),
            )
            # The infra stack's resource groups: the apply identity's Contributor goes on these only.
            groups = PlatformGroups(
                self,
                f"{config.name}-platform-groups",
                props=PlatformGroupsProps(
                    groups=platform_groups(config),
                    subscription_id=config.subscription_id,
                    adopt=config.deployment.adopt_platform_groups,
                    provider=provider,
                ),
            )
            identities = DeployIdentities(
                self,
                f"{config.name}-identities",
                props=DeployIdentitiesProps(
                    repository=config.deployment.repository,
                    environment=config.name,
                    names=names,
                    location=config.location,
                    resource_group_name=network.resource_group_name,
                    subscription_id=config.subscription_id,
                    state_container_scope=storage.container_scope,
                    alerting_state_container_scope=storage.alerting_container_scope,
                    platform_group_ids=groups.ids,
                    provider=provider,
                ),
            )
            self.identities[config.name] = identities
            registry = RunnerRegistry(
                self,
                f"{config.name}-runner-registry",
                props=RunnerRegistryProps(
                    naming=naming,
                    location=config.location,
                    resource_group_name=network.resource_group_name,
                    virtual_network_id=network.virtual_network_id,
                    private_endpoint=network.private_endpoints,
                    diagnostics=network.diagnostics,
                    provider=provider,
                ),
            )
            # The GitHub App's private key: a Key Vault secret the operator creates (docs/security-model.md); the
            # jobs reference it by URL with their own identity. No variable carries it, so no state holds it.
            credentials = RunnerCredentials(
                self,
                f"{config.name}-runner-credentials",
                props=RunnerCredentialsProps(
                    naming=naming,
                    location=config.location,
                    resource_group_name=network.resource_group_name,
                    tenant_id=config.tenant_id,
                    virtual_network_id=network.virtual_network_id,
                    private_endpoint=network.private_endpoints,
                    key_secret_name=config.deployment.runner.github_app.key_secret_name,
                    diagnostics=network.diagnostics,
                    provider=provider,
                ),
            )
            tag = runner_image_tag(config.deployment.runner.version)
            runners = GitHubRunners(
                self,
                f"{config.name}-runners",
                props=GitHubRunnersProps(
                    runner=config.deployment.runner,
                    repository=config.deployment.repository,
                    names=names,
                    naming=naming,
                    location=config.location,
                    resource_group_name=network.resource_group_name,
                    subnet_id=network.runners_subnet_id,
                    image=RunnerImage(
                        server=registry.login_server,
                        reference=f"{registry.login_server}/{RUNNER_IMAGE_REPOSITORY}:{tag}",
                        identity_id=registry.pull_identity_id,
                        pull_grant=registry.pull_grant,
                    ),
                    credentials=credentials,
                    diagnostics=network.diagnostics,
                    provider=provider,
                ),
            )
            # The GitHub environment variables AZURE_PLAN_CLIENT_ID / AZURE_APPLY_CLIENT_ID (not secrets).
            for role, client_id in identities.client_ids.items():
                TerraformOutput(self, f"{config.name}-{role}-client-id", value=client_id)
            # No standing human admin: cluster admins and operators are PIM-eligible (constructs/human_access.py).
            human_access = EligibleAccess(
                self,
                f"{config.name}-human-access",
                props=EligibleAccessProps(
                    subscription_id=config.subscription_id,
                    cluster_admin_group_ids=config.aks.admin_group_object_ids,
                    operators_group_id=config.deployment.operators_group_object_id,
                    provider=provider,
                ),
            )
            # What the infra stack may write in the deployment group: the VNet (peerings, zone links), the vault zone.
            self._deployment_targets[config.name] = {
                "vnet": network.virtual_network_id,
                VAULT_ZONE: credentials.private_dns_zone_id,
            }
            for construct in (network, storage, groups, identities, registry, credentials, runners, human_access):
                apply_environment_aspects(construct, config)
        # AZ-DIAG-1 here too: every diagnosable resource of the deployment path logs to its environment's workspace.
        self.node.add_validation(DiagnosticsCoverage(self))

    def delegate(self, config: EnvironmentConfig, stacks: Sequence[TerraformStack]) -> None:
        """Give the environment's apply identity Role Based Access Control Administrator for exactly the roles its
        `stacks` assign, and the writes they make outside the platform resource groups (build_app calls this once
        they are built): the allow-list and the writes are derived, never written twice."""
        identities = self.identities[config.name]
        custom = {config_name: role.role_definition_id for config_name, role in identities.custom_roles.items()}
        identities.delegate(assigned_role_ids(stacks, custom))
        names = deployment_names(Naming(config.short_name, config.unique_suffix), config.deployment)
        targets = self._deployment_targets[config.name]
        writes = deployment_writes(stacks, names, config.subscription_id)
        unknown = sorted(set(writes) - set(targets))
        if unknown:
            raise ValueError(
                f"{config.name}: the stacks write {unknown} in the deployment group; bootstrap grants none"
            )
        scoped = {target: (targets[target], role) for target, role in writes.items()}
        identities.allow_writes(subscription_writes(stacks, config.subscription_id), scoped)
