"""Deployment settings: where Terraform runs for an environment and who it runs as (docs/zero-to-running.md).

Per environment the bootstrap stack builds a *deployment network* (self-hosted GitHub runners + the state
account's private endpoint), a read-only *plan* identity and an *apply* identity trusted by the GitHub
repository through OIDC. The infra stack peers the environment's spoke with that network and links the
private DNS zones a runner must resolve, looking both up by the names derived from this section.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, model_validator

from config.base import Guid, KeyedValueError, Section
from config.network import Subnet, VirtualNetworkPlan

# Container Apps environments with workload profiles need a delegated subnet of /27 or larger.
RUNNER_SUBNET_LARGEST_PREFIX = 27


# A GitHub team slug (the last part of github.com/orgs/<owner>/teams/<slug>).
TEAM_SLUG = r"^[a-z0-9][a-z0-9_-]{0,99}$"


class GitHubRepository(Section):
    """The repository whose workflows may sign in as the deploy identities (OIDC subject `repo:<owner>/<name>:...`),
    and who guards it (the `github` stack, stacks/github.py; docs/delivery.md)."""

    owner: str = Field(
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,37}[A-Za-z0-9])?$", description="The GitHub organisation or user"
    )
    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,100}$", description="The repository's name (without the owner)")
    # Teams of `owner` whose members approve an apply in an environment with `apply_requires_approval` (GitHub
    # allows six reviewers per environment; one approval suffices; never the person who started the run).
    approver_teams: tuple[str, ...] = Field(min_length=1, max_length=6)
    # The team that owns the delivery path (.github/CODEOWNERS): workflows, actions, bootstrap, config, runner image.
    code_owner_team: str = Field(pattern=TEAM_SLUG)
    # Approving reviews a pull request into main needs (the ruleset), besides the code owners' one.
    required_approvals: int = Field(default=1, ge=1, le=10)

    @model_validator(mode="after")
    def _teams_are_slugs(self) -> GitHubRepository:
        for index, team in enumerate(self.approver_teams):
            if not re.fullmatch(TEAM_SLUG, team):
                raise KeyedValueError(
                    f"approver_teams.{index}", team, "must be a team slug (lower case, digits, - or _)"
                )
        if len(set(self.approver_teams)) != len(self.approver_teams):
            raise KeyedValueError("approver_teams", self.approver_teams, "must not repeat a team")
        return self

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"


class GitHubApp(Section):
    """The environment's own GitHub App, which registers its runners (docs/security-model.md, "Operator steps").

    One App per environment: a leaked staging key registers no production runner. Ids, not secrets: the App's
    private key is a Key Vault secret the operator creates outside Terraform (`az keyvault secret set --vault-name
    <env runner vault> --name <key_secret_name> --file <key>.pem`); the runner jobs reference it by URL
    (`key_vault_secret_id`) with their own identity, so it is in no Terraform variable, plan or state.
    """

    app_id: int = Field(ge=1, description="The App's numeric id (its settings page: 'App ID')")
    installation_id: int = Field(ge=1, description="The id of its installation on the repository")
    # The Key Vault secret (in the environment's runner-credential vault) holding the App's private key (PEM).
    key_secret_name: str = Field(default="github-app-private-key", pattern=r"^[0-9A-Za-z-]{1,127}$")


class RunnerPool(Section):
    """One pool of ephemeral runners: its own Container Apps job, answering to exactly one label."""

    # The one label its jobs ask for: `erp-<env>-plan` (pull-request plans and drift, plan identity only) or
    # `erp-<env>-apply` (merge applies only). The workflows use exactly these labels.
    label: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    max_executions: int = Field(default=4, ge=1, le=20, description="Concurrent runner jobs at most")
    cpu_cores: int = Field(
        default=2, ge=1, le=4, description="vCPUs per runner (Consumption profile: memory 2 GiB/vCPU)"
    )
    timeout_minutes: int = Field(default=120, ge=10, le=1440, description="A runner replica is stopped after this")


RUNNER_POOLS = ("plan", "apply")


class RunnerConfig(Section):
    """Ephemeral GitHub Actions runners: per pool a Container Apps job started by KEDA's github-runner scaler,
    running the image built from runner-image/ into the environment's private registry.

    Two pools that share nothing a job can read: `plan` runs pull-request plans and drift (pull-request code),
    `apply` runs merge applies only. Neither runner container sees the App key (docs/security-model.md)."""

    # GitHub's runner release: the tag of ghcr.io/actions/actions-runner the image builds on (a pinned x.y.z).
    version: str = Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")
    github_app: GitHubApp
    plan: RunnerPool
    apply: RunnerPool

    @property
    def pools(self) -> dict[str, RunnerPool]:
        return {"plan": self.plan, "apply": self.apply}

    @model_validator(mode="after")
    def _pools_apart(self) -> RunnerConfig:
        if self.plan.label == self.apply.label:
            raise KeyedValueError(
                "apply.label", self.apply.label, "must differ from plan.label (pull requests never reach apply runners)"
            )
        return self


class DeploymentNetwork(VirtualNetworkPlan):
    runners: Subnet  # delegated to Microsoft.App/environments (the runners' Container Apps environment)
    # The runners' egress firewall (Azure Firewall Basic): Azure fixes both names and wants /26 or larger
    # (VirtualNetworkPlan checks both through RESERVED_SUBNETS).
    firewall: Subnet  # AzureFirewallSubnet
    firewall_management: Subnet  # AzureFirewallManagementSubnet: Basic's management NIC (its own public IP)
    private_endpoints: Subnet  # the state account's blob private endpoint

    @model_validator(mode="after")
    def _runner_subnet_is_large_enough(self) -> DeploymentNetwork:
        prefix = ipaddress.IPv4Network(self.runners.address_prefix)
        if prefix.prefixlen > RUNNER_SUBNET_LARGEST_PREFIX:
            raise KeyedValueError(
                "runners.address_prefix",
                self.runners.address_prefix,
                f"must be /{RUNNER_SUBNET_LARGEST_PREFIX} or larger (Container Apps workload-profile environments)",
            )
        return self


class DeploymentConfig(Section):
    repository: GitHubRepository
    network: DeploymentNetwork = Field(description="Bootstrap's deployment VNet: runners and the state endpoint")
    runner: RunnerConfig
    # The bootstrap stack's own state: false = a local file outside cdktf.out (first run); true = migrated into
    # THIS environment's state account (key bootstrap.tfstate). At most one environment may hold it.
    holds_bootstrap_state: bool = False
    # Bootstrap creates the infra stack's resource groups (constructs/platform_groups.py). true = the groups exist
    # already (created by an infra stack before bootstrap took them over): bootstrap adopts them with `import` blocks.
    # false = a new environment: bootstrap creates them (an import of a group that does not exist would fail).
    adopt_platform_groups: bool = False
    # The operators' Entra group (they run bootstrap with Owner): the only principal with a data role on the state
    # account's bootstrap container, which no pipeline identity can read (docs/security-model.md).
    operators_group_object_id: Guid
    # The GitHub environment <name> (the apply job) has required reviewers (`repository.approver_teams`), who approve
    # the saved plan they read. Declared by the github stack (stacks/github.py); the handbook documents it from here.
    apply_requires_approval: bool = True
