"""The repository's own protections as code: the `github` stack (one, for the repository of `[deployment.repository]`).

Whoever can run a job in a GitHub environment gets that environment's OIDC subject, so the environments, the
ruleset on `main` and who may approve are part of the security model (docs/delivery.md). Declared here:

- per environment `<env>` (applies, and the alerting stack's plan, apply identity; holds the webhook secrets and the
  plan key): required reviewers (config `approver_teams`) where `apply_requires_approval`, `prevent_self_review`,
  admins cannot bypass, deployment branch policy `main` only;
- per environment `<env>-plan` (deploy plans and drift, plan identity; holds the plan key): deployment branch
  policy `main` only, no reviewers. Pull-request plans name no environment (their OIDC
  subject is `repo:<owner>/<repo>:pull_request`), so no branch and no pull request can start a job here. GitHub
  checks a job's branch (for a pull request, its head branch) against these policies before the job is sent to a
  runner, and hands out the environment's secrets only then;
- the ruleset on `main`: pull requests only, `required_approvals` reviews, code-owner review (.github/CODEOWNERS,
  `codeowners()`), stale reviews dismissed, last push approved by someone else, the review checks (the plans of
  the stacks pull requests plan: not the alerting stacks) required and up to date, no force push, no deletion,
  and no bypass actor;
- repository variables `ERP_<ENV>_SUBSCRIPTION_ID`, `_TENANT_ID`, `_PLAN_CLIENT_ID`, `_APPLY_CLIENT_ID` (ids, not
  secrets): the client ids are variables of this stack, the bootstrap outputs `<env>-plan-client-id` and
  `<env>-apply-client-id`;
- Actions allowed: GitHub's own and the third-party actions the workflows pin (read from .github/), nothing else.

Secrets (the alert webhook URLs, PLAN_ARTIFACT_KEY) are NOT declared: Terraform state would keep them. The operator
sets them per environment with `gh secret set --env` (docs/delivery.md).

State: like bootstrap's, a local file outside cdktf.out (`.bootstrap-state/github.tfstate`) applied by the operator
in the bootstrap step (GITHUB_TOKEN of a repository admin), then migrated with bootstrap's into the state account
of the environment with `deployment.holds_bootstrap_state` (key `github.tfstate`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from cdktf import (
    AzurermBackend,
    LocalBackend,
    Precondition,
    TerraformLocal,
    TerraformResourceLifecycle,
    TerraformStack,
    TerraformVariable,
)
from cdktf_cdktf_provider_github.actions_environment_variable import ActionsEnvironmentVariable
from cdktf_cdktf_provider_github.actions_repository_permissions import (
    ActionsRepositoryPermissions,
    ActionsRepositoryPermissionsAllowedActionsConfig,
)
from cdktf_cdktf_provider_github.actions_variable import ActionsVariable
from cdktf_cdktf_provider_github.data_github_team import DataGithubTeam
from cdktf_cdktf_provider_github.provider import GithubProvider
from cdktf_cdktf_provider_github.repository_environment import (
    RepositoryEnvironment,
    RepositoryEnvironmentDeploymentBranchPolicy,
)
from cdktf_cdktf_provider_github.repository_environment_deployment_policy import RepositoryEnvironmentDeploymentPolicy
from cdktf_cdktf_provider_github.repository_ruleset import (
    RepositoryRuleset,
    RepositoryRulesetConditions,
    RepositoryRulesetConditionsRefName,
    RepositoryRulesetRules,
    RepositoryRulesetRulesPullRequest,
    RepositoryRulesetRulesRequiredStatusChecks,
    RepositoryRulesetRulesRequiredStatusChecksRequiredCheck,
)

from config.deployment import GitHubRepository
from config.schema import EnvironmentConfig
from constructs import Construct
from tools.maintenance.workflow_matrix import PLAN_KINDS, variables_prefix

GITHUB_STATE_FILE = "github.tfstate"
LOCAL_GITHUB_STATE = f"../../../.bootstrap-state/{GITHUB_STATE_FILE}"  # beside bootstrap's (stacks/bootstrap.py)
GITHUB_DIR = Path(__file__).resolve().parent.parent / ".github"
DEPLOY_BRANCH = "main"
# The review workflow's checks a pull request into main must pass (tests/tools/test_workflows.py checks that
# pull-request.yml has these job names): the offline job and one plan per stack.
OFFLINE_CHECK = "test, synth, checkov, parity, synth diff"
# What .github/CODEOWNERS gives to the code owner team: every path that changes who or what can deploy.
OWNED_PATHS = (
    "/.github/",
    "/runner-image/",
    "/config/",
    "/stacks/bootstrap.py",
    "/stacks/github.py",
    "/constructs/deployment.py",
    "/constructs/deployer_access.py",
    "/constructs/runner_registry.py",
    "/renovate.json",
)
PLACEHOLDER_ID_PREFIX = "00000000-0000-0000-0000-"  # config/base.toml's example subscription and tenant ids
CONFIG_IDS = "config_ids"  # the local the preconditions read (Terraform wants a condition that refers to something)
GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def environment_names(environment: str) -> dict[str, str]:
    """Role -> the GitHub environment its jobs run in (constructs/deployment.py `oidc_subjects` trusts these)."""
    return {"plan": f"{environment}-plan", "apply": environment, "drills": f"{environment}-drills"}


def required_checks(environments: Sequence[EnvironmentConfig]) -> list[str]:
    return [OFFLINE_CHECK] + [f"plan {config.name}-{kind}" for config in environments for kind in PLAN_KINDS]


def codeowners(repository: GitHubRepository) -> str:
    """The content of .github/CODEOWNERS (a test keeps the committed file equal to it)."""
    team = f"@{repository.owner}/{repository.code_owner_team}"
    lines = [
        "# Generated from config [deployment.repository] by stacks/github.py codeowners(): do not edit.",
        "# The ruleset on main requires the code owners' review (docs/delivery.md): who or what can deploy.",
        *(f"{path} {team}" for path in OWNED_PATHS),
    ]
    return "\n".join(lines) + "\n"


def third_party_actions(github_dir: Path = GITHUB_DIR) -> list[str]:
    """`owner/repo@*` of every action the workflows and local actions use that is not GitHub's own."""
    found = set()
    for path in sorted([*github_dir.glob("workflows/*.yml"), *github_dir.glob("actions/*/action.yml")]):
        for target in re.findall(r"^\s*(?:-\s*)?uses:\s*([^\s#]+)", path.read_text(), re.M):
            if target.startswith(("$/", "./")):
                continue
            owner_repo = "/".join(target.split("@")[0].split("/")[:2])
            if owner_repo.split("/")[0].lower() not in ("actions", "github"):
                found.add(f"{owner_repo}@*")
    return sorted(found)


def github_backend(stack: TerraformStack, environments: Sequence[EnvironmentConfig]) -> LocalBackend | AzurermBackend:
    """Where bootstrap's state is (stacks/bootstrap.py bootstrap_backend), under its own key."""
    holders = [config for config in environments if config.deployment.holds_bootstrap_state]
    if not holders:
        return LocalBackend(stack, path=LOCAL_GITHUB_STATE)
    holder = holders[0]
    return AzurermBackend(
        stack,
        resource_group_name=holder.state_backend.resource_group_name,
        storage_account_name=holder.state_backend.storage_account_name,
        container_name=holder.state_backend.container_name,
        key=GITHUB_STATE_FILE,
        subscription_id=holder.subscription_id,
        tenant_id=holder.tenant_id,
        use_azuread_auth=True,
    )


class GitHubStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, environments: Sequence[EnvironmentConfig]) -> None:
        super().__init__(scope, id)
        repositories = {config.deployment.repository for config in environments}
        if len(repositories) != 1:
            raise ValueError(
                f"[deployment.repository] differs between environments ({sorted(r.slug for r in repositories)}): "
                "one repository deploys them all"
            )
        repository = repositories.pop()
        github_backend(self, environments)
        GithubProvider(self, "github", owner=repository.owner)
        name = repository.name

        teams = {
            slug: DataGithubTeam(self, f"team-{slug}", slug=slug)
            for slug in sorted({*repository.approver_teams, repository.code_owner_team})
        }
        TerraformLocal(
            self,
            CONFIG_IDS,
            {
                f"{variables_prefix(config.name)}_{suffix}": value
                for config in environments
                for suffix, value in (("SUBSCRIPTION_ID", config.subscription_id), ("TENANT_ID", config.tenant_id))
            },
        )
        main_only = RepositoryEnvironmentDeploymentBranchPolicy(protected_branches=False, custom_branch_policies=True)
        for config in environments:
            github_environments = self._environments(config, name, main_only)
            if config.deployment.apply_requires_approval:
                # `reviewers` is a list of blocks in the github 6.9 bindings (cdktf) and one block in 6.13's (CDK
                # Terrain): the same block to Terraform, whose JSON syntax takes both; written once, as a list.
                apply_env = github_environments["apply"]
                apply_env.add_override("reviewers", [{"teams": [teams[slug].id for slug in repository.approver_teams]}])
            self._drills_variables(config, name, github_environments["drills"])
            for role, environment in github_environments.items():
                RepositoryEnvironmentDeploymentPolicy(
                    self,
                    f"environment-{config.name}-{role}-branch",
                    repository=name,
                    environment=environment.environment,
                    branch_pattern=DEPLOY_BRANCH,
                )
            self._repository_variables(config, name)

        RepositoryRuleset(
            self,
            "main-ruleset",
            name="main",
            repository=name,
            target="branch",
            enforcement="active",
            conditions=RepositoryRulesetConditions(
                ref_name=RepositoryRulesetConditionsRefName(include=["~DEFAULT_BRANCH"], exclude=[])
            ),
            bypass_actors=[],  # nobody, admins included: the environments trust what reaches main
            rules=RepositoryRulesetRules(
                deletion=True,
                non_fast_forward=True,
                pull_request=RepositoryRulesetRulesPullRequest(
                    required_approving_review_count=repository.required_approvals,
                    require_code_owner_review=True,
                    dismiss_stale_reviews_on_push=True,
                    require_last_push_approval=True,
                    required_review_thread_resolution=True,
                ),
                required_status_checks=RepositoryRulesetRulesRequiredStatusChecks(
                    required_check=[
                        RepositoryRulesetRulesRequiredStatusChecksRequiredCheck(context=check)
                        for check in required_checks(environments)
                    ],
                    strict_required_status_checks_policy=True,
                ),
            ),
        )
        ActionsRepositoryPermissions(
            self,
            "actions-permissions",
            repository=name,
            enabled=True,
            allowed_actions="selected",
            allowed_actions_config=ActionsRepositoryPermissionsAllowedActionsConfig(
                github_owned_allowed=True, verified_allowed=False, patterns_allowed=third_party_actions()
            ),
        )

    def _environments(
        self, config: EnvironmentConfig, repository: str, main_only: RepositoryEnvironmentDeploymentBranchPolicy
    ) -> dict[str, RepositoryEnvironment]:
        """The apply, plan and drills environments, all `main` only, no admin bypass. The drills' environment is
        the subject constructs/drills.py trusts: main only, so no branch can sign in as the drill identity by
        naming it; the weekly schedule runs without a reviewer."""
        names = environment_names(config.name)
        return {
            role: RepositoryEnvironment(
                self,
                f"environment-{config.name}" + ("" if role == "apply" else f"-{role}"),
                repository=repository,
                environment=names[role],
                can_admins_bypass=False,
                prevent_self_review=config.deployment.apply_requires_approval if role == "apply" else None,
                deployment_branch_policy=main_only,
            )
            for role in ("apply", "plan", "drills")
        }

    def _client_id(self, variable: str, description: str) -> str:
        """A Terraform variable for an identity's client id (an output of another stack), checked to be a GUID."""
        return TerraformVariable(
            self,
            variable,
            type="string",
            nullable=False,
            description=description,
            validation=[
                {"condition": f"can(regex({GUID!r}, var.{variable}))", "errorMessage": "must be a client id (GUID)"}
            ],
        ).string_value

    def _drills_variables(self, config: EnvironmentConfig, repository: str, drills: RepositoryEnvironment) -> None:
        """The drills job reads its ids from its environment (dr-drills.yml): the drill identity is the infra stack's
        (`terraform output` of <env>-infra), the tenant and subscription config's."""
        client_id = self._client_id(
            f"{config.name}_drills_client_id",
            f"Client id of the {config.name} restore-drill identity: `terraform output` of {config.name}-infra, "
            "drills-client-id",
        )
        for variable, value in (
            ("AZURE_DRILLS_CLIENT_ID", client_id),
            ("AZURE_TENANT_ID", config.tenant_id),
            ("AZURE_SUBSCRIPTION_ID", config.subscription_id),
        ):
            ActionsEnvironmentVariable(
                self,
                f"drills-variable-{config.name}-{variable}".lower(),
                repository=repository,
                environment=drills.environment,
                variable_name=variable,
                value=value,
            )

    def _repository_variables(self, config: EnvironmentConfig, repository: str) -> None:
        """ERP_<ENV>_SUBSCRIPTION_ID, _TENANT_ID (from config) and _PLAN_CLIENT_ID, _APPLY_CLIENT_ID (bootstrap's)."""
        prefix = variables_prefix(config.name)
        values = {"SUBSCRIPTION_ID": config.subscription_id, "TENANT_ID": config.tenant_id}
        for role in ("plan", "apply"):
            values[f"{role.upper()}_CLIENT_ID"] = self._client_id(
                f"{config.name}_{role}_client_id",
                f"Client id of the {config.name} {role} identity: `terraform output` of bootstrap, "
                f"{config.name}-{role}-client-id",
            )
        for suffix, value in values.items():
            ActionsVariable(
                self,
                f"variable-{prefix}_{suffix}".lower(),
                repository=repository,
                variable_name=f"{prefix}_{suffix}",
                value=value,
                lifecycle=_not_a_placeholder(f"{prefix}_{suffix}")
                if suffix in ("SUBSCRIPTION_ID", "TENANT_ID")
                else None,
            )


def _not_a_placeholder(variable: str) -> TerraformResourceLifecycle:
    """config's ids are placeholders unless ERP_<ENV>_SUBSCRIPTION_ID / _TENANT_ID were set when this was synthesized:
    refuse to publish a placeholder the workflows would then sign in with."""
    return TerraformResourceLifecycle(
        precondition=[
            Precondition(
                condition=f'${{!startswith(local.{CONFIG_IDS}["{variable}"], "{PLACEHOLDER_ID_PREFIX}")}}',
                error_message=f"{variable} is config's placeholder: set it in the environment (config/base.toml) and "
                "synthesize again",
            )
        ]
    )
