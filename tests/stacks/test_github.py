"""The `github` stack (stacks/github.py): the environments, the ruleset on main, CODEOWNERS and the variables the
workflows read; checked against the OIDC subjects bootstrap trusts and the environments the workflows name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from config.loader import load_all
from constructs.deployment import oidc_subjects
from stacks.github import GITHUB_DIR, OFFLINE_CHECK, codeowners, required_checks, third_party_actions
from tests.conftest import resources_of

WORKFLOWS = GITHUB_DIR / "workflows"


def environments_of(stacks) -> dict[str, dict]:
    return {env["environment"]: env for env in resources_of(stacks["github"], "github_repository_environment").values()}


def test_one_apply_and_one_plan_environment_per_config_environment(stacks) -> None:
    names = sorted(environments_of(stacks))
    assert names == sorted(
        n for config in load_all() for n in (config.name, f"{config.name}-plan", f"{config.name}-drills")
    )


def test_every_environment_admits_main_only_and_admins_cannot_bypass(stacks) -> None:
    environments = environments_of(stacks)
    policies = resources_of(stacks["github"], "github_repository_environment_deployment_policy").values()
    branches: dict[str, list[str]] = {}
    for policy in policies:
        key = re.fullmatch(r"\$\{github_repository_environment\.(.+)\.environment\}", policy["environment"]).group(1)
        branches.setdefault(resources_of(stacks["github"], "github_repository_environment")[key]["environment"], [])
        branches[resources_of(stacks["github"], "github_repository_environment")[key]["environment"]].append(
            policy["branch_pattern"]
        )
    for name, environment in environments.items():
        assert environment["deployment_branch_policy"] == {"custom_branch_policies": True, "protected_branches": False}
        assert environment["can_admins_bypass"] is False, name
        assert branches[name] == ["main"], name


def test_apply_environments_have_reviewers_who_cannot_approve_their_own_run(stacks) -> None:
    environments = environments_of(stacks)
    for config in load_all():
        apply_env = environments[config.name]
        if config.deployment.apply_requires_approval:
            teams = config.deployment.repository.approver_teams
            assert apply_env["prevent_self_review"] is True
            assert apply_env["reviewers"] == [{"teams": [f"${{data.github_team.team-{t}.id}}" for t in teams]}]
        else:
            assert "reviewers" not in apply_env
        assert "reviewers" not in environments[f"{config.name}-plan"]
    assert any(config.deployment.apply_requires_approval for config in load_all())  # production


def test_the_ruleset_on_main_requires_reviews_code_owners_and_the_review_checks(stacks) -> None:
    [ruleset] = resources_of(stacks["github"], "github_repository_ruleset").values()
    assert ruleset["enforcement"] == "active" and ruleset["target"] == "branch"
    assert ruleset["conditions"]["ref_name"]["include"] == ["~DEFAULT_BRANCH"]
    assert ruleset["bypass_actors"] == []
    rules = ruleset["rules"]
    assert rules["deletion"] is True and rules["non_fast_forward"] is True
    pull_request = rules["pull_request"]
    assert pull_request["require_code_owner_review"] is True
    assert pull_request["required_approving_review_count"] >= 1
    assert pull_request["dismiss_stale_reviews_on_push"] is True and pull_request["require_last_push_approval"] is True
    checks = [check["context"] for check in rules["required_status_checks"]["required_check"]]
    assert (
        checks == required_checks(load_all())
        and rules["required_status_checks"]["strict_required_status_checks_policy"]
    )


def test_the_required_checks_are_job_names_of_the_review_workflow() -> None:
    """A renamed job would leave a required check that never reports: every pull request blocked."""
    jobs = YAML(typ="safe").load((WORKFLOWS / "pull-request.yml").read_text())["jobs"]
    names = {jobs["offline"]["name"]} | {
        jobs["plan"]["name"].replace("${{ matrix.stack }}", row["stack"])
        for row in jobs["plan"]["strategy"]["matrix"]["include"]
    }
    assert OFFLINE_CHECK in names and set(required_checks(load_all())) == names


def test_codeowners_is_the_committed_file_and_covers_the_delivery_path() -> None:
    repository = load_all()[0].deployment.repository
    text = (GITHUB_DIR / "CODEOWNERS").read_text()
    assert text == codeowners(repository), "regenerate .github/CODEOWNERS from stacks.github.codeowners()"
    owned = {line.split()[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert {"/.github/", "/runner-image/", "/config/", "/stacks/bootstrap.py"} <= owned
    assert all(line.endswith(f"@{repository.owner}/{repository.code_owner_team}") for line in text.splitlines()[2:])


def test_variables_are_the_ids_the_workflows_read_and_no_secret_is_declared(stacks) -> None:
    declared = {
        v["variable_name"]
        for kind in ("github_actions_variable", "github_actions_environment_variable")
        for v in resources_of(stacks["github"], kind).values()
    }
    read = set()
    for path in WORKFLOWS.glob("*.yml"):
        read |= set(re.findall(r"vars\.([A-Z0-9_]+)", path.read_text()))
    assert read == declared
    assert not [t for t in stacks["github"]["resource"] if "secret" in t]  # secrets stay out of Terraform state
    for name, variable in stacks["github"]["variable"].items():
        assert name.endswith("_client_id") and not variable.get("sensitive"), name


def test_only_the_pinned_third_party_actions_are_allowed(stacks) -> None:
    [permissions] = resources_of(stacks["github"], "github_actions_repository_permissions").values()
    config = permissions["allowed_actions_config"]
    assert permissions["allowed_actions"] == "selected" and config["verified_allowed"] is False
    assert (
        config["patterns_allowed"] == third_party_actions() and "hashicorp/setup-terraform@*" in third_party_actions()
    )


def test_a_differing_repository_between_environments_is_refused() -> None:
    from cdktf import App

    from stacks.github import GitHubStack

    first, second = load_all()
    other = second.model_copy(
        update={
            "deployment": second.deployment.model_copy(
                update={"repository": second.deployment.repository.model_copy(update={"name": "fork"})}
            )
        }
    )
    with pytest.raises(ValueError, match="one repository deploys them all"):
        GitHubStack(App(), "github", environments=[first, other])


# --- OIDC: what bootstrap trusts, what the workflows name, what this stack declares ---------------------------


def workflow_environments() -> set[str]:
    """Every environment a workflow job names, its matrix rows and reusable-workflow callers resolved."""
    found = set()
    workflows = {p.name: YAML(typ="safe").load(p.read_text()) for p in WORKFLOWS.glob("*.yml")}
    for name, workflow in workflows.items():
        for job in workflow["jobs"].values():
            if "environment" not in job:
                continue
            matrix = job.get("strategy", {}).get("matrix", {})
            computed = [{"environment": config.name} for config in load_all()] if "environment" in matrix else []
            rows = (
                matrix.get("include")
                or computed
                or [
                    caller["with"]
                    for other in workflows.values()
                    for caller in other["jobs"].values()
                    if str(caller.get("uses", "")).endswith(f"workflows/{name}")
                ]
            )
            for row in rows:
                found.add(
                    re.sub(
                        r"\$\{\{\s*(?:matrix|inputs)\.([a-z-]+)\s*\}\}",
                        lambda match, row=row: str(row[match.group(1)]),  # environment, plan-environment
                        job["environment"],
                    )
                )
    return found


def test_the_workflows_name_only_declared_environments(stacks) -> None:
    named = workflow_environments()
    assert named == set(environments_of(stacks))  # and every declared one is used


def test_bootstrap_trusts_exactly_the_declared_environments(stacks) -> None:
    repository = load_all()[0].deployment.repository
    trusted = {
        credential["subject"]
        for credential in resources_of(stacks["bootstrap"], "azurerm_federated_identity_credential").values()
    }
    drills = {  # the drill identities are the infra stacks' (constructs/drills.py)
        credential["subject"]
        for name, stack in stacks.items()
        if name.endswith("-infra")
        for credential in resources_of(stack, "azurerm_federated_identity_credential").values()
    }
    environment_subjects = {s for s in trusted | drills if ":environment:" in s}
    assert {s.rsplit(":", 1)[1] for s in environment_subjects} == set(environments_of(stacks))
    for config in load_all():
        assert set(oidc_subjects(repository, config.name).values()) <= trusted


def test_the_plan_identities_trust_the_pull_request_subject(stacks) -> None:
    """Pull-request plans name no environment: GitHub's subject is `repo:<owner>/<repo>:pull_request`."""
    repository = load_all()[0].deployment.repository
    trusted = {
        credential["subject"]
        for credential in resources_of(stacks["bootstrap"], "azurerm_federated_identity_credential").values()
    }
    assert f"repo:{repository.slug}:pull_request" in trusted


def test_the_github_stack_state_stays_beside_bootstraps(stacks) -> None:
    assert stacks["github"]["terraform"]["backend"] == {"local": {"path": "../../../.bootstrap-state/github.tfstate"}}
    assert Path(".gitignore").read_text().count(".bootstrap-state") >= 1


def test_placeholder_ids_are_refused_at_plan_by_terraform(stacks, tmp_path: Path) -> None:
    """The subscription and tenant variables carry a precondition; Terraform itself evaluates it (on a built-in
    terraform_data resource with the same lifecycle): config's placeholder fails the plan, a real id passes."""
    import json
    import os
    import shutil
    import subprocess

    if shutil.which("terraform") is None:
        pytest.fail("terraform (>= 1.7) must be on PATH (docs/development.md)")
    variables = resources_of(stacks["github"], "github_actions_variable")
    guarded = {v["variable_name"]: v["lifecycle"] for v in variables.values() if "lifecycle" in v}
    assert sorted(guarded) == sorted(
        f"ERP_{config.name.upper()}_{suffix}" for config in load_all() for suffix in ("SUBSCRIPTION_ID", "TENANT_ID")
    )
    lifecycle = guarded["ERP_STAGING_TENANT_ID"]

    def plan(condition: str) -> subprocess.CompletedProcess[str]:
        folder = tmp_path / str(abs(hash(condition)))
        folder.mkdir()
        config = {
            "locals": stacks["github"]["locals"],
            "resource": {"terraform_data": {"id": {"input": "x", "lifecycle": {**lifecycle}}}},
        }
        config["resource"]["terraform_data"]["id"]["lifecycle"]["precondition"] = [
            {**lifecycle["precondition"][0], "condition": condition}
        ]
        (folder / "main.tf.json").write_text(json.dumps(config))
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
        subprocess.run(["terraform", "init", "-input=false"], cwd=folder, env=env, capture_output=True, check=True)
        return subprocess.run(
            ["terraform", "plan", "-input=false", "-no-color"], cwd=folder, env=env, capture_output=True, text=True
        )

    refused = plan(lifecycle["precondition"][0]["condition"])
    assert refused.returncode == 1 and "ERP_STAGING_TENANT_ID is config's placeholder" in refused.stderr
    real = lifecycle["precondition"][0]["condition"].replace("ERP_STAGING_TENANT_ID", "REAL")
    stacks["github"]["locals"]["config_ids"]["REAL"] = "7f3c2b1a-0000-4000-8000-123456789abc"
    try:
        assert plan(real).returncode == 0
    finally:
        del stacks["github"]["locals"]["config_ids"]["REAL"]
