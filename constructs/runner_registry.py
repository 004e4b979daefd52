"""The deployment runners' private image registry, per environment (bootstrap stack; docs/zero-to-running.md).

- `RunnerRegistry`: an Azure Container Registry Premium with admin user, anonymous pull and public network access
  off, reachable from the deployment network through a private endpoint (sub-resource `registry`) in its
  private-endpoints subnet, resolved through `privatelink.azurecr.io` linked to the deployment VNet; a
  user-assigned *pull* identity holding AcrPull on it, which the runners' Container Apps job pulls with.
- `runner_image_tag()`: `<runner version>-<12 hex digits of a SHA-256 over runner-image/>`: a changed Dockerfile or
  script is a new tag, so the job's image changes in the bootstrap plan; `tools/maintenance/runner_image.py` prints the
  `az acr build` command that pushes exactly this tag.

How the image gets in (Microsoft Learn: "ACR Tasks overview", "Manage network bypass policy for tasks"): `az acr
build` sends the build context to the registry's Tasks service; the build runs in Azure, outside the deployment
network, and pushes to the registry. With public network access off that push is a Tasks bypass of the network
rules: it needs trusted services (`network_rule_bypass_option = "AzureServices"`) AND, since 1 June 2025, the
explicit `networkRuleBypassAllowedForTasks` (unset means denied, 403). azurerm has
`network_rule_bypass_for_tasks_enabled` (4.81.0 schema) but the 4.55 bindings do not, hence an override. The
documented alternative without any bypass is a dedicated Tasks agent pool in the VNet (`az acr agentpool create
--vnet`, `az acr build --agent-pool`): a billed pool per environment, not built.

No delete lock: the registry holds nothing a rebuild loses (the image is rebuilt from runner-image/ by one command),
so `LOCKED_TYPES`' "holds the images a rebuild of the clusters deploys" does not apply; the bootstrap stack has no
`LockCoverage` (constructs/locks.py), and a test asserts this registry stays unlocked.

The deployment VNet resolves `privatelink.azurecr.io` through THIS zone; a VNet cannot be linked to two zones of
one name, so the infra stack never links its workloads registry's zone to the deployment network (it needs not:
`az acr import` there is a Resource Manager call).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cdktf import TerraformProvider
from cdktf_cdktf_provider_azurerm.container_registry import ContainerRegistry
from cdktf_cdktf_provider_azurerm.private_dns_zone import PrivateDnsZone
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity

from constructs import Construct
from constructs.interfaces import DiagnosticsSink, RoleGrant, diagnostics, grant
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement, link_private_dns_zone

REGISTRY_ZONE = "privatelink.azurecr.io"
RUNNER_IMAGE_DIR = Path(__file__).resolve().parent.parent / "runner-image"
RUNNER_IMAGE_REPOSITORY = "github-runner"
UNTAGGED_MANIFEST_RETENTION_DAYS = 7


def runner_image_tag(version: str, context: Path = RUNNER_IMAGE_DIR) -> str:
    """`<version>-<hash>`: the hash covers every file of the build context (relative path and bytes, sorted)."""
    digest = hashlib.sha256()
    files = sorted(path for path in context.rglob("*") if path.is_file())
    if not files:
        raise ValueError(f"{context}: the runner image's build context has no files")
    for path in files:
        relative = path.relative_to(context).as_posix().encode()
        content = path.read_bytes()
        digest.update(len(relative).to_bytes(8, "big") + relative + len(content).to_bytes(8, "big") + content)
    return f"{version}-{digest.hexdigest()[:12]}"


def runner_registry_name(naming: Naming) -> str:
    """Globally unique and alphanumeric; the login server is `<name>.azurecr.io`."""
    return naming.compact("runners", "acr")


@dataclass(frozen=True)
class RunnerRegistryProps:
    naming: Naming
    location: str
    resource_group_name: str
    virtual_network_id: str  # the deployment VNet: the zone is linked here, the runners resolve through it
    private_endpoint: PrivateEndpointPlacement  # the deployment network's private-endpoints subnet
    diagnostics: DiagnosticsSink  # the deployment network's workspace: logins and pushes (who built which tag)
    provider: TerraformProvider


class RunnerRegistry(Construct):
    """Exposes `registry_id`, `login_server`, `pull_identity_id` (the user-assigned identity the job pulls with)
    and `pull_grant` (its AcrPull assignment: the job waits for it)."""

    def __init__(self, scope: Construct, id: str, *, props: RunnerRegistryProps) -> None:
        super().__init__(scope, id)
        naming, provider = props.naming, props.provider
        self.registry = ContainerRegistry(
            self,
            "registry",
            name=runner_registry_name(naming),
            location=props.location,
            resource_group_name=props.resource_group_name,
            sku="Premium",  # private endpoints need Premium
            admin_enabled=False,  # Entra ID only: the job pulls with its identity, Tasks push with their own token
            anonymous_pull_enabled=False,
            public_network_access_enabled=False,
            export_policy_enabled=False,
            # Trusted services (ACR Tasks, Defender scanning) over the backbone; Tasks also need the override below.
            network_rule_bypass_option="AzureServices",
            data_endpoint_enabled=True,  # a private IP per data endpoint; registries with private endpoints get them
            zone_redundancy_enabled=True,
            retention_policy_in_days=UNTAGGED_MANIFEST_RETENTION_DAYS,
            provider=provider,
        )
        # azurerm 4.81.0 (stacks/common.py AZURERM_VERSION) has it; the 4.55 bindings do not (module docstring).
        self.registry.add_override("network_rule_bypass_for_tasks_enabled", True)
        diagnostics(self, "diagnostics", self.registry, props.diagnostics, provider=provider)

        zone = PrivateDnsZone(
            self, "dns-registry", name=REGISTRY_ZONE, resource_group_name=props.resource_group_name, provider=provider
        )
        link_private_dns_zone(
            self,
            "dns-registry-link",
            zone_name=zone.name,
            resource_group_name=props.resource_group_name,
            link_name="deployment-link",
            virtual_network_id=props.virtual_network_id,
            provider=provider,
        )
        # Registers <name>.azurecr.io and <name>.<region>.data.azurecr.io.
        props.private_endpoint.connect(
            self,
            "private-endpoint",
            name=naming.name("runners-acr", "pe"),
            resource_id=self.registry.id,
            subresource="registry",
            private_dns_zone_id=zone.id,
        )
        identity = UserAssignedIdentity(
            self,
            "pull-identity",
            name=naming.name("runner-pull", "id"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            provider=provider,
        )
        self.pull_grant: RoleAssignment = grant(
            self,
            "pull-role",
            RoleGrant(
                scope=self.registry.id,
                role="AcrPull",
                principal_id=identity.principal_id,
                why="The runners' Container Apps job pulls the runner image through the private endpoint.",
            ),
            provider=provider,
        )
        self.registry_id: str = self.registry.id
        self.login_server: str = self.registry.login_server
        self.pull_identity_id: str = identity.id
