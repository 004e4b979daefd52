"""The threat model of the delivery path (tools/checks/threat_model.py, issue #26 "Proof"): over the real
synthesized JSON and workflows no path leads from a pull-request author or a writer to production write access,
the apply identity, a runner credential or a state secret, except the named pending and open ones below; and each
path of the issue, planted in the real output or workflow text, is found and named."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from config.loader import ENVIRONMENTS, load_environment
from tests.assurance.test_state_secrets import ALERTING_SECRETS, plant_plan_reader
from tools.checks.threat_model import Inputs, Model, load, main

WORKFLOWS = Path(".github/workflows")


def _workflows(replace: tuple[str, str, str] | None = None) -> dict[str, dict]:
    yaml = YAML(typ="safe")
    found = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text()
        if replace and path.name == replace[0]:
            assert replace[1] in text, f"{path.name} does not contain {replace[1]!r}"
            text = text.replace(replace[1], replace[2])
        found[path.name] = yaml.load(text)
    return found


def _approvals() -> dict[str, bool]:
    return {e: load_environment(e).deployment.apply_requires_approval for e in ENVIRONMENTS}


def _model(stacks, workflows=None, github: dict | str | None = "real") -> Model:
    """The model over `stacks` and the workflows; `github` the real github stack unless given (None: none)."""
    github_stack = stacks.get("github") if github == "real" else github
    return Model(Inputs(copy.deepcopy(dict(stacks)), workflows or _workflows(), github_stack, _approvals()))


def _names(model: Model) -> set[str]:
    return {finding.name for finding in model.findings()}


def protected_github_stack() -> dict:
    """What the `github` stack must declare (built on the delivery-github branch; this is its compliant shape):
    per environment `<env>` reviewers, prevent-self-review and branch policy `main`; `<env>-plan` exists; an active
    ruleset on the default branch requiring an approving review, without bypass."""
    environments, policies = {}, {}
    for environment in ENVIRONMENTS:
        environments[environment] = {
            "environment": environment,
            "reviewers": [{"teams": [1]}],
            "prevent_self_review": True,
            "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
        }
        environments[f"{environment}-plan"] = {"environment": f"{environment}-plan"}
        # a reference, as cdktf writes it when the policy names the environment resource
        policies[environment] = {
            "environment": f"${{github_repository_environment.{environment}.environment}}",
            "branch_pattern": "main",
        }
    return {
        "resource": {
            "github_repository_environment": environments,
            "github_repository_environment_deployment_policy": policies,
            "github_repository_ruleset": {
                "main": {
                    "target": "branch",
                    "enforcement": "active",
                    "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
                    "rules": {"pull_request": {"required_approving_review_count": 1}},
                }
            },
        }
    }


def test_the_real_output_has_only_the_pending_and_open_paths(synth_dir: Path) -> None:
    model = Model(load(synth_dir, WORKFLOWS))
    assert model.inputs.github is not None  # the github stack declares the environments' protections
    assert _names(model) == set()
    assert {p.label for p in model.pools} == {
        pool.label for e in ENVIRONMENTS for pool in load_environment(e).deployment.runner.pools.values()
    }
    assert {(i.environment, i.kind) for i in model.identities} == {
        (name, kind) for e in ENVIRONMENTS for name, kind in ((f"{e}-plan", "plan"), (e, "apply"))
    } | {("", "plan")}  # the plan identities also trust the pull_request subject (no environment)


def test_with_the_github_stack_no_writer_reaches_the_apply_identity(stacks) -> None:
    names = _names(_model(stacks, github=protected_github_stack()))
    assert not any(n.startswith("TM-APPLY-OWN-IDENTITY") for n in names)
    assert not any(n.startswith("TM-ENVIRONMENT") for n in names)
    assert not any(n.startswith("TM-STATE-SECRET: writer") for n in names)


def test_missing_input_is_a_failure_not_clean(tmp_path: Path, synth_dir: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing", WORKFLOWS)
    empty = tmp_path / "workflows"
    empty.mkdir()
    with pytest.raises(FileNotFoundError):
        load(synth_dir, empty)
    assert main([str(tmp_path / "nothing"), str(WORKFLOWS)]) == 2
    without_bootstrap = tmp_path / "out"
    shutil.copytree(synth_dir / "stacks" / "staging-infra", without_bootstrap / "stacks" / "staging-infra")
    with pytest.raises(FileNotFoundError):
        load(without_bootstrap, WORKFLOWS)


def test_an_identity_the_model_cannot_place_is_an_error_not_clean(stacks) -> None:
    renamed = copy.deepcopy(stacks)
    for identity in renamed["bootstrap"]["resource"]["azurerm_user_assigned_identity"].values():
        identity["name"] = identity["name"].replace("-terraform-plan-", "-terraform-reader-")
    with pytest.raises(ValueError, match="neither plan nor apply"):
        _model(renamed, github=protected_github_stack())


# --- failing examples, each planted in the real output or workflow text ---------------------------------------------


def test_the_runner_key_in_state_and_in_a_job_secret_readable_by_contributor(stacks) -> None:
    planted = copy.deepcopy(stacks)
    bootstrap = planted["bootstrap"]
    # the old design: a sensitive variable, the job's secret by value, bootstrap state in the environment's container
    bootstrap["variable"] = {"staging_github_app_private_key": {"type": "string", "sensitive": True}}
    for key, job in bootstrap["resource"]["azurerm_container_app_job"].items():
        if key.startswith("staging-"):
            job["secret"] = [{"name": "github-app-key", "value": "${var.staging_github_app_private_key}"}]
    # ...and the apply identity's Contributor on the whole subscription
    _apply_assignment(planted, "staging", "Reader")["role_definition_name"] = "Contributor"
    staging = load_environment("staging").state_backend
    bootstrap["terraform"]["backend"] = {
        "azurerm": {"storage_account_name": staging.storage_account_name, "container_name": staging.container_name}
    }
    new = _names(_model(planted))
    assert any(
        n.startswith(
            "TM-STATE-SECRET: pr-author -> a pull-request job in staging-plan -> plan identity "
            "stg-terraform-plan-id-001 -> bootstrap state -> azurerm_container_app_job.staging-runners_"
        )
        for n in new
    ), new
    assert any(
        n.startswith("TM-RUNNER-KEY-JOB-SECRET: stg-terraform-apply-id-001 -> listSecrets on job stg-runner-")
        and n.endswith("=> runner credential")
        for n in new
    ), new
    # the path this design closed: Contributor on the subscription covers the group holding the apply identity
    assert (
        "TM-APPLY-OWN-IDENTITY: apply identity stg-terraform-apply-id-001 -> Contributor on /subscriptions/"
        f"{load_environment('staging').subscription_id} -> federatedIdentityCredentials/write on its own identity "
        "=> persistence: any OIDC subject (a pull request) as the apply identity"
    ) in new


def test_the_key_in_the_runner_container(stacks) -> None:
    planted = copy.deepcopy(stacks)
    for key, job in planted["bootstrap"]["resource"]["azurerm_container_app_job"].items():
        if key.startswith("production-runners_plan"):
            job["template"]["container"][0]["env"].append({"name": "APP_PRIVATE_KEY", "secret_name": "github-app-key"})
    assert _names(_model(planted)) == {
        "TM-RUNNER-KEY-IN-JOB: pr-author -> a job on label erp-production-plan -> container env from secret "
        "github-app-key (runner: run-jit) => runner credential"
    }


def test_the_key_holding_init_container_running_the_runner(stacks) -> None:
    # The modes come from runner-image/entrypoint.sh: run-jit starts run.sh, so the job's steps would see the key.
    planted = copy.deepcopy(stacks)
    for key, job in planted["bootstrap"]["resource"]["azurerm_container_app_job"].items():
        if key.startswith("staging-runners_apply"):
            job["template"]["init_container"][0]["args"] = ["run-jit"]
    assert _names(_model(planted)) == {
        "TM-RUNNER-KEY-IN-JOB: pr-author -> a job on label erp-staging-apply -> container env from secret "
        "github-app-key (register: run-jit) => runner credential"
    }


def test_the_key_holding_container_calling_a_mode_the_entrypoint_lacks(stacks) -> None:
    planted = copy.deepcopy(stacks)  # unknown: what it runs cannot be shown, so it counts as running job code
    for key, job in planted["bootstrap"]["resource"]["azurerm_container_app_job"].items():
        if key.startswith("staging-runners_plan"):
            job["template"]["init_container"][0]["args"] = ["register-and-run"]
    assert _names(_model(planted)) == {
        "TM-RUNNER-KEY-IN-JOB: pr-author -> a job on label erp-staging-plan -> container env from secret "
        "github-app-key (register: register-and-run) => runner credential"
    }


def _apply_assignment(planted, environment: str, role: str) -> dict:
    """The apply identity's (first, by address) assignment of `role`."""
    return next(
        a
        for k, a in sorted(planted["bootstrap"]["resource"]["azurerm_role_assignment"].items())
        if k.startswith(f"{environment}-identities_apply-") and a.get("role_definition_name") == role
    )


_OWN = "federatedIdentityCredentials/write on its own identity => persistence: any OIDC subject (a pull request)"


def test_a_delegation_that_may_give_the_apply_identity_contributor(stacks) -> None:
    planted = copy.deepcopy(stacks)
    delegation = _apply_assignment(planted, "production", "Role Based Access Control Administrator")
    condition = delegation["condition"]
    start = condition.index(" AND ((@Request[Microsoft.Authorization/roleAssignments:PrincipalId]")
    end = condition.index("))", condition.index("ForAnyOfAllValues:GuidNotEquals {b24988ac")) + 2
    delegation["condition"] = condition[:start] + condition[end:]  # the allow-list without the principal clause
    assert _names(_model(planted)) == {
        "TM-APPLY-OWN-IDENTITY: apply identity prd-terraform-apply-id-001 -> Role Based Access Control Administrator "
        f"on /subscriptions/{load_environment('production').subscription_id} may assign Contributor to itself -> "
        f"{_OWN} as the apply identity"
    }


@pytest.mark.parametrize("fault", ["no lock", "lock role on the subscription"])
def test_an_identity_the_apply_identity_creates_given_contributor(stacks, fault: str) -> None:
    """The allow-list holds Contributor (policy remediation): a principal the apply identity creates could get it on
    the subscription. Only the ReadOnly lock, out of the apply identity's reach, keeps that from its own identity."""
    planted = copy.deepcopy(stacks)
    bootstrap = planted["bootstrap"]["resource"]
    if fault == "no lock":
        del bootstrap["azurerm_management_lock"][
            next(
                k
                for k in bootstrap["azurerm_management_lock"]
                if k.startswith("staging-identities_apply-identity-lock")
            )
        ]
    else:
        locks = next(
            a
            for k, a in sorted(bootstrap["azurerm_role_assignment"].items())
            if k.startswith("staging-identities_apply-locks-")
        )
        locks["scope"] = f"/subscriptions/{load_environment('staging').subscription_id}"
    assert _names(_model(planted)) == {
        "TM-APPLY-OWN-IDENTITY: apply identity stg-terraform-apply-id-001 -> Role Based Access Control Administrator "
        f"on /subscriptions/{load_environment('staging').subscription_id} may assign Contributor to an identity it "
        f"creates (trusting any subject) -> {_OWN} as the apply identity"
    }


def test_user_access_administrator_and_a_custom_role_with_authorization_writes(stacks) -> None:
    planted = copy.deepcopy(stacks)
    delegation = _apply_assignment(planted, "production", "Role Based Access Control Administrator")
    delegation["role_definition_name"] = "User Access Administrator"
    new = _names(_model(planted))
    assert any(
        n.startswith("TM-APPLY-ESCALATION: apply identity prd-terraform-apply-id-001 -> User Access Administrator on")
        for n in new
    ), new
    planted = copy.deepcopy(stacks)
    [lock_role] = [
        d
        for k, d in planted["bootstrap"]["resource"]["azurerm_role_definition"].items()
        if k.startswith("production-identities_lock-role")
    ]
    lock_role["permissions"][0]["actions"].append("Microsoft.Authorization/*")
    new = _names(_model(planted))
    assert any("TM-APPLY-ESCALATION" in n and "allows Microsoft.Authorization/*" in n for n in new), new


def test_a_delegation_that_allows_a_privileged_role_or_has_no_allow_list(stacks) -> None:
    planted = copy.deepcopy(stacks)
    delegation = _apply_assignment(planted, "staging", "Role Based Access Control Administrator")
    delegation["condition"] = delegation["condition"].replace(
        "GuidEquals {", "GuidEquals {8e3af657-a8ff-443c-a75c-2fe8c4bcb635, ", 1
    )
    assert any("allow-list includes privileged roles" in n for n in _names(_model(planted)))
    delegation["condition"] = None
    assert any("without an allow-list condition" in n for n in _names(_model(planted)))


def test_a_blob_writer_plan_identity(stacks) -> None:
    planted = copy.deepcopy(stacks)
    [reader] = [
        a
        for k, a in planted["bootstrap"]["resource"]["azurerm_role_assignment"].items()
        if k.startswith("production-identities_plan-") and a.get("role_definition_name") == "Storage Blob Data Reader"
    ]
    reader["role_definition_name"] = "Storage Blob Data Contributor"
    new = _names(_model(planted))
    assert {n.split(" -> plan identity")[0] for n in new} == {
        f"TM-PLAN-WRITE: pr-author -> {job}"
        for job in ("a pull-request job in production-plan", "a pull-request job (subject pull_request)")
    }
    assert all("prd-terraform-plan-id-001 -> Storage Blob Data Contributor on" in n for n in new)
    assert all(n.endswith("=> state write") for n in new)


def test_a_pull_request_on_the_apply_runners(stacks) -> None:
    workflows = _workflows(
        (
            "pull-request.yml",
            'runs-on: [self-hosted, "${{ matrix.runner }}"]',
            'runs-on: [self-hosted, "erp-${{ matrix.environment }}-apply"]',
        )
    )
    new = _names(_model(stacks, workflows))
    assert {n for n in new if n.startswith("TM-PR-ON-APPLY")} == {
        f"TM-PR-ON-APPLY: pr-author -> pull-request.yml job plan -> runs on ['erp-{e}-apply'] => apply runners"
        for e in ENVIRONMENTS
    }


def test_a_pull_request_job_in_the_apply_environment(stacks) -> None:
    workflows = _workflows(
        (
            "pull-request.yml",
            'runs-on: [self-hosted, "${{ matrix.runner }}"]',
            'runs-on: [self-hosted, "${{ matrix.runner }}"]\n    environment: ${{ matrix.environment }}',
        )
    )
    assert {n for n in _names(_model(stacks, workflows)) if n.startswith("TM-PR-APPLY-ENV")} == {
        f"TM-PR-APPLY-ENV: pr-author -> pull-request.yml job plan -> environment {e} => apply identity"
        for e in ENVIRONMENTS
    }


def test_an_environment_without_reviewers_or_branch_policy_and_main_without_review(stacks) -> None:
    github = protected_github_stack()
    github["resource"]["github_repository_environment"]["production"]["reviewers"] = []
    assert _names(_model(stacks, github=github)) & {
        "TM-ENVIRONMENT: writer -> a workflow naming environment: production -> no required reviewers => apply "
        "identity prd-terraform-apply-id-001 (production write)"
    }
    github = protected_github_stack()
    github["resource"]["github_repository_environment"]["production"]["prevent_self_review"] = False
    assert any("prevent_self_review off" in n for n in _names(_model(stacks, github=github)))
    github = protected_github_stack()
    del github["resource"]["github_repository_environment_deployment_policy"]["staging"]
    assert any(
        n.startswith("TM-ENVIRONMENT: writer -> a workflow naming environment: staging -> no deployment branch policy")
        for n in _names(_model(stacks, github=github))
    )
    github = protected_github_stack()
    github["resource"]["github_repository_ruleset"]["main"]["bypass_actors"] = [{"actor_type": "RepositoryRole"}]
    names = _names(_model(stacks, github=github))
    assert sum(n.startswith("TM-ENVIRONMENT") and "main accepts unreviewed pushes" in n for n in names) == len(
        ENVIRONMENTS
    )


def test_one_app_shared_by_two_environments(stacks) -> None:
    planted = copy.deepcopy(stacks)
    ids = set()
    for job in planted["bootstrap"]["resource"]["azurerm_container_app_job"].values():
        rule = job["event_trigger_config"]["scale"][0]["rules"][0]
        ids.add(rule["metadata"]["applicationID"])
        rule["metadata"]["applicationID"] = "1"
    assert len(ids) == len(ENVIRONMENTS)  # the real output: one App per environment
    assert any(n.startswith("TM-RUNNER-KEY-SHARED") for n in _names(_model(planted)))


def test_a_deploy_identity_that_reads_the_runner_vault(stacks) -> None:
    planted = copy.deepcopy(stacks)
    assignments = planted["bootstrap"]["resource"]["azurerm_role_assignment"]
    [(_, reader)] = [(k, a) for k, a in assignments.items() if k.startswith("staging-runner-credentials_secret-reader")]
    plan = [
        k
        for k, a in planted["bootstrap"]["resource"]["azurerm_user_assigned_identity"].items()
        if a["name"] == "stg-terraform-plan-id-001"
    ]
    assignments["planted"] = {**reader, "principal_id": f"${{azurerm_user_assigned_identity.{plan[0]}.principal_id}}"}
    assert any(
        n.startswith("TM-RUNNER-KEY-VAULT: stg-terraform-plan-id-001 -> Key Vault Secrets User on")
        for n in _names(_model(planted))
    )


def test_a_plan_role_that_reads_kubernetes_secrets(stacks) -> None:
    """The plan identity's Kubernetes reader must keep excluding Secrets (a PR would read every Secret of the
    cluster); the cluster stack must therefore manage none a plan has to refresh (issue #27)."""
    planted = copy.deepcopy(stacks)
    [role] = [
        d
        for k, d in planted["bootstrap"]["resource"]["azurerm_role_definition"].items()
        if k.startswith("staging-identities_kubernetes-plan-role")
    ]
    role["permissions"][0]["not_data_actions"] = []
    new = _names(_model(planted))
    assert {n.split(" -> plan identity")[0] for n in new} == {
        f"TM-PLAN-SECRETS: pr-author -> {job}"
        for job in ("a pull-request job in staging-plan", "a pull-request job (subject pull_request)")
    }
    assert all("stg-terraform-plan-id-001 -> custom:stg-kubernetes-plan-reader-role-001 on" in n for n in new)


def test_contributor_on_the_deployment_group_is_the_own_identity_path(stacks) -> None:
    """Scoping Contributor to the deployment resource group (where the identities live) is the same path."""
    planted = copy.deepcopy(stacks)
    contributor = _apply_assignment(planted, "staging", "Contributor")
    [group] = [
        k
        for k, g in planted["bootstrap"]["resource"]["azurerm_resource_group"].items()
        if g["name"] == "stg-deployment-rg-001"
    ]
    contributor["scope"] = f"${{azurerm_resource_group.{group}.id}}"
    assert any(
        n.startswith("TM-APPLY-OWN-IDENTITY: apply identity stg-terraform-apply-id-001 -> Contributor on ${")
        for n in _names(_model(planted))
    )


def test_state_secrets_in_a_container_only_the_apply_identity_reads(stacks) -> None:
    """The alerting stacks hold the webhook addresses (docs/security-model.md "Alert webhook addresses") in a
    container only the apply identity reads: no path from a pull-request author, nor from a writer while `<env>` is
    protected; a plan identity's reader role on that container (planted) brings the paths back."""
    assert {finding.split(": ", 1)[0] for finding in ALERTING_SECRETS} == {f"{e}-alerting" for e in ENVIRONMENTS}
    assert not any(n.startswith("TM-STATE-SECRET") for n in _names(_model(stacks, github=protected_github_stack())))

    planted = copy.deepcopy(stacks)
    plant_plan_reader(planted, "staging")
    names = _names(_model(planted, github=protected_github_stack()))
    state = {n for n in names if n.startswith("TM-STATE-SECRET")}
    assert len(state) == 6  # three secrets, two pull-request jobs
    assert all("stg-terraform-plan-id-001 -> staging-alerting state ->" in n for n in state)
