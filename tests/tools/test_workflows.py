"""The GitHub Actions workflows: valid against the workflow schema, no zizmor findings, pinned actions,
deploy order and state concurrency."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from config.loader import load_all

GITHUB = Path(__file__).resolve().parents[2] / ".github"
WORKFLOWS = GITHUB / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
ACTION_FILES = sorted(GITHUB.glob("actions/*/action.yml"))
BIN = Path(sys.executable).parent  # check-jsonschema and zizmor come with the `test` extra


def load(name: str) -> dict:
    return YAML(typ="safe").load((WORKFLOWS / name).read_text())


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_workflows_exist() -> None:
    assert {path.name for path in WORKFLOW_FILES} >= {"pull-request.yml", "deploy.yml", "deploy-stack.yml", "drift.yml"}


def test_workflows_validate_against_the_github_workflow_schema() -> None:
    result = run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOW_FILES)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    result = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions", *map(str, ACTION_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("persona", ["regular", "pedantic", "auditor"])
def test_zizmor_offline_has_no_findings(persona: str) -> None:
    """The auditor persona too: its only findings (self-hosted runners) carry inline ignores with their reason."""
    result = run(str(BIN / "zizmor"), "--offline", "--persona", persona, str(GITHUB))  # workflows and actions
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


@pytest.mark.parametrize("path", WORKFLOW_FILES + ACTION_FILES, ids=lambda path: path.parent.name + "/" + path.name)
def test_every_remote_action_is_pinned_by_commit_sha_with_its_tag(path: Path) -> None:
    uses = re.findall(r"uses:\s*(\S+)(.*)", path.read_text())
    for target, comment in uses:
        if target.startswith("$/"):
            continue  # a workflow of this repository, same commit
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", target), f"{path.name}: {target} is not pinned by SHA"
        assert re.search(r"#\s*v\d", comment), f"{path.name}: {target} has no `# vX.Y.Z` tag comment"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_no_default_permissions_and_checkout_keeps_no_credentials(path: Path) -> None:
    workflow = YAML(typ="safe").load(path.read_text())
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_only_the_comment_job_may_write_to_pull_requests() -> None:
    jobs = load("pull-request.yml")["jobs"]
    writers = {name for name, job in jobs.items() if job.get("permissions", {}).get("pull-requests") == "write"}
    assert writers == {"comment"}
    assert {name for name, job in jobs.items() if "id-token" in job.get("permissions", {})} == {"plan"}


def test_deploy_runs_the_stacks_in_order_with_production_behind_its_environment() -> None:
    jobs = load("deploy.yml")["jobs"]
    configs = load_all()
    order = [f"{config.name}-{kind}" for config in configs for kind in ("alerting", "infra", "cluster")]
    assert list(jobs) == ["changes", *order]
    assert jobs["production-alerting"]["needs"] == ["changes", "staging-cluster"]  # config: production after staging
    for config in configs:
        alerting, infra, cluster = (f"{config.name}-{kind}" for kind in ("alerting", "infra", "cluster"))
        waits = [f"{previous}-cluster" for previous in config.deploy_after]
        assert jobs[alerting]["needs"] == (["changes", *waits] if waits else "changes")
        # the infra stack's alerts name the alerting stack's action groups by id: that stack is applied first
        assert jobs[infra]["needs"] == ["changes", alerting]
        assert jobs[cluster]["needs"] == ["changes", infra]
        for stack in (cluster, infra, alerting) if waits else (cluster, infra):
            # an unchanged (skipped) earlier stack lets this one run; a failed one stops it
            assert "!failure()" in jobs[stack]["if"] and "!cancelled()" in jobs[stack]["if"]
        for stack in (alerting, infra, cluster):
            assert f"contains(fromJSON(needs.changes.outputs.stacks), '{stack}')" in jobs[stack]["if"]
            assert jobs[stack]["with"]["environment"] == config.name
    assert "bootstrap" not in str(jobs)


def test_applies_to_one_state_never_race_or_cancel() -> None:
    apply_job = load("deploy-stack.yml")["jobs"]["apply"]
    assert apply_job["concurrency"] == {"group": "tfstate-${{ inputs.stack }}", "cancel-in-progress": False}
    assert apply_job["environment"] == "${{ inputs.environment }}"


def test_zizmor_does_report_an_unsafe_workflow(tmp_path: Path) -> None:
    """Guards the check above: zizmor runs and finds an unpinned action and persisted credentials."""
    (tmp_path / "bad.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n"
    )
    result = run(str(BIN / "zizmor"), "--offline", str(tmp_path / "bad.yml"))
    assert result.returncode != 0 and "unpinned-uses" in result.stdout and "artipacked" in result.stdout


# --- Terraform variables: every plan gets every variable without a default ---------------------------


def terraform_jobs(workflow: dict) -> dict[str, dict]:
    """Jobs with a step that runs `terraform plan` or `terraform apply`."""
    return {
        name: job
        for name, job in workflow["jobs"].items()
        if any(re.search(r"terraform (plan|apply)\b", step.get("run", "")) for step in job.get("steps", []))
    }


# The workflows that plan with the plan identity: never the alerting stack (tools/maintenance/workflow_matrix.py).
PLAN_IDENTITY_WORKFLOWS = ("pull-request.yml", "drift.yml")


def required_variables(stacks: dict[str, dict], workflow: str = "deploy-stack.yml") -> dict[str, bool]:
    """Variable name → sensitive, for every variable without a default (a plan fails without it) of the stacks
    `workflow` plans: every stack but bootstrap and github, which an operator applies by hand
    (docs/zero-to-running.md, docs/delivery.md; their variables come from the operator's shell), and but the
    alerting stacks in the workflows that plan with the plan identity."""
    return {
        name: bool(body.get("sensitive"))
        for stack_name, stack in stacks.items()
        if stack_name not in ("bootstrap", "github")
        and not (workflow in PLAN_IDENTITY_WORKFLOWS and stack_name.endswith("-alerting"))
        for name, body in stack.get("variable", {}).items()
        if "default" not in body
    }


# What a pull-request plan gets instead of a secret: a URL that resolves nowhere (RFC 6761 `.invalid`).
PLACEHOLDER = r"https://[a-z0-9-]+\.invalid/[\w-]+"


def unsupplied_variables(workflow: dict, job: dict, required: dict[str, bool], *, review: bool = False) -> list[str]:
    """Required variables a job does not set from the GitHub environment (sensitive ones: from secrets).
    A job that only applies a saved plan needs none: the plan file holds the values it was made with.
    A review job (`review=True`: pull-request plans) must NOT get the secrets: a `.invalid` placeholder each."""
    commands = "\n".join(step.get("run", "") for step in job.get("steps", []))
    if "terraform plan" not in commands and re.search(r"terraform apply\b[^\n]*\btfplan\b", commands):
        return []
    env = {**workflow.get("env", {}), **job.get("env", {})}
    missing = []
    for name, sensitive in sorted(required.items()):
        value = str(env.get(f"TF_VAR_{name}", ""))
        if review:
            source = PLACEHOLDER if sensitive else rf"{PLACEHOLDER}|\$\{{\{{\s*vars\.\w+\s*\}}\}}"
        else:
            source = r"\$\{\{\s*secrets\.\w+\s*\}\}" if sensitive else r"\$\{\{\s*(secrets|vars)\.\w+\s*\}\}"
        if not re.fullmatch(source, value):
            missing.append(name)
    return missing


def test_the_stacks_have_variables_without_default(stacks: dict[str, dict]) -> None:
    """Guards the check below: it is about the alert webhooks, which are sensitive."""
    assert required_variables(stacks) == {"critical_alert_webhook_url": True, "warning_alert_webhook_url": True}
    # only the alerting stacks hold them: what the plan identity plans needs none, and gets none
    for name in PLAN_IDENTITY_WORKFLOWS:
        assert required_variables(stacks, name) == {}
        assert "WEBHOOK" not in (WORKFLOWS / name).read_text()
        rows = load(name)["jobs"]["plan"]["strategy"]["matrix"]["include"]
        assert rows and not [row for row in rows if row["stack"].endswith("-alerting")]


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_every_plan_and_apply_job_supplies_every_variable_without_default(path: Path, stacks: dict[str, dict]) -> None:
    workflow = YAML(typ="safe").load(path.read_text())
    required = required_variables(stacks, path.name)
    for name, job in terraform_jobs(workflow).items():
        review = path.name == "pull-request.yml"
        assert unsupplied_variables(workflow, job, required, review=review) == [], f"{path.name} job {name!r}"


def test_the_workflows_with_plans_are_all_checked() -> None:
    checked = {(path.name, name) for path in WORKFLOW_FILES for name in terraform_jobs(load(path.name))}
    assert checked == {
        ("pull-request.yml", "plan"),
        ("deploy-stack.yml", "plan"),
        ("deploy-stack.yml", "apply"),
        ("drift.yml", "plan"),
    }


def test_a_plan_job_without_one_webhook_secret_is_caught(stacks: dict[str, dict]) -> None:
    required = required_variables(stacks)
    workflow = load("deploy-stack.yml")
    del workflow["jobs"]["plan"]["env"]["TF_VAR_warning_alert_webhook_url"]
    assert unsupplied_variables(workflow, workflow["jobs"]["plan"], required) == ["warning_alert_webhook_url"]
    # a webhook from a plain variable is not a secret
    workflow["jobs"]["plan"]["env"]["TF_VAR_warning_alert_webhook_url"] = "${{ vars.WARNING_ALERT_WEBHOOK_URL }}"
    assert unsupplied_variables(workflow, workflow["jobs"]["plan"], required) == ["warning_alert_webhook_url"]
    # an apply that plans itself (no saved plan) needs them too
    apply_job = load("deploy-stack.yml")["jobs"]["apply"]
    apply_job["steps"][-1]["run"] = "terraform apply -input=false -auto-approve"
    assert unsupplied_variables(workflow, apply_job, required) == sorted(required)


# --- Apply exactly the reviewed plan ----------------------------------------------------------------


def test_the_plan_is_made_and_shown_before_the_approval_and_the_apply_uses_it() -> None:
    jobs = load("deploy-stack.yml")["jobs"]
    plan, apply_job = jobs["plan"], jobs["apply"]
    # The plan job has no reviewers (its own `-plan` environment, deploy.yml's `plan-environment`; the alerting
    # stack's, planned by the apply identity, is `<env>`: test_plans_run_on_the_plan_pool...); the apply job waits.
    assert plan["environment"] == "${{ inputs.plan-environment }}"
    assert apply_job["environment"] == "${{ inputs.environment }}" and apply_job["needs"] == "plan"
    assert apply_job["if"] == "needs.plan.outputs.changes == 'true'"  # nothing to change, nothing to approve
    plan_runs = "\n".join(step.get("run", "") for step in plan["steps"])
    assert "-detailed-exitcode -out=tfplan" in plan_runs and "tools.review.plan_summary" in plan_runs
    uploaded = next(step for step in plan["steps"] if step.get("uses", "").startswith("actions/upload-artifact@"))
    downloaded = next(
        step for step in apply_job["steps"] if step.get("uses", "").startswith("actions/download-artifact@")
    )
    assert uploaded["with"]["name"] == downloaded["with"]["name"] == "tfplan-${{ inputs.stack }}"
    # the stack folder with its assets and lock file, the plan only encrypted
    assert uploaded["with"]["path"].splitlines() == [
        "cdktf.out/stacks/${{ inputs.stack }}/",
        "!cdktf.out/stacks/${{ inputs.stack }}/.terraform/",
        "!cdktf.out/stacks/${{ inputs.stack }}/tfplan",
    ]
    assert uploaded["with"]["include-hidden-files"] is True
    assert any("-out tfplan.enc" in step.get("run", "") for step in plan["steps"])
    apply_runs = [step.get("run", "") for step in apply_job["steps"]]
    assert apply_runs[-1] == "terraform apply -input=false tfplan"
    assert not any("terraform plan" in run or "scripts/synth" in run for run in apply_runs)


def test_drift_detection_plans_nightly_with_the_read_only_identity() -> None:
    workflow = load("drift.yml")
    assert workflow["on"]["schedule"] and "workflow_dispatch" in workflow["on"]
    plan = workflow["jobs"]["plan"]
    assert plan["environment"] == "${{ matrix.environment }}-plan"
    assert {entry["stack"] for entry in plan["strategy"]["matrix"]["include"]} == {
        f"{config.name}-{kind}" for config in load_all() for kind in ("infra", "cluster")
    }
    assert "-lock=false -detailed-exitcode" in "\n".join(step.get("run", "") for step in plan["steps"])
    assert workflow["jobs"]["issues"]["permissions"] == {"issues": "write"}


def test_the_review_comment_is_posted_after_any_outcome() -> None:
    jobs = load("pull-request.yml")["jobs"]
    assert jobs["comment"]["if"] == "${{ always() }}"
    # every check step has an id, so the comment can name the failing step
    for step in jobs["offline"]["steps"]:
        if "run" in step:
            assert "id" in step, step["name"]
    assert jobs["offline"]["outputs"]["steps"] == "${{ toJSON(steps) }}"


def test_azure_sign_in_is_in_one_place() -> None:
    action = "$/.github/actions/terraform-azure"
    for path in WORKFLOW_FILES:
        assert "azure/login@" not in path.read_text(), f"{path.name}: use .github/actions/terraform-azure"
    for name, job in privileged_jobs().items():
        assert [step.get("uses") for step in job["steps"] if "terraform-azure" in step.get("uses", "")] == [action], (
            name
        )


def test_a_merge_is_compared_with_the_previous_main_and_deploys_only_changed_stacks() -> None:
    changes = load("deploy.yml")["jobs"]["changes"]
    base_checkout = next(step for step in changes["steps"] if step.get("with", {}).get("path") == "base")
    assert base_checkout["with"]["ref"] == "${{ github.event.before }}"
    runs = [step.get("run", "") for step in changes["steps"]]
    assert (
        '.venv/bin/python -m tools.review.changed_stacks ../base/cdktf.out cdktf.out --github-output "$GITHUB_OUTPUT"'
        in runs
    )
    assert changes["outputs"]["stacks"] == "${{ steps.changed.outputs.stacks }}"


# --- Pull requests, pools and the supply chain of the privileged jobs (issue #26, docs/delivery.md) ---------


def privileged_jobs() -> dict[str, dict]:
    """`<workflow>:<job>` → job, for every job that may request an OIDC token (Azure sign-in)."""
    return {
        f"{path.name}:{name}": job
        for path in WORKFLOW_FILES
        for name, job in load(path.name)["jobs"].items()
        if job.get("permissions", {}).get("id-token") == "write" and "steps" in job
    }


DOWNLOADERS = ("actions/setup-python@", "hashicorp/setup-terraform@", "azure/use-kubelogin@", "azure/login@")


def test_the_privileged_jobs_are_the_plans_applies_and_drift() -> None:
    assert sorted(privileged_jobs()) == [
        "deploy-stack.yml:apply",
        "deploy-stack.yml:plan",
        "dr-drills.yml:drills",
        "drift.yml:plan",
        "pull-request.yml:plan",
    ]


def downloads(steps: list[dict]) -> list[str]:
    return [step["uses"] for step in steps if str(step.get("uses", "")).lower().startswith(DOWNLOADERS)]


def test_privileged_jobs_run_only_the_runner_image_s_tools() -> None:
    """No setup-python / setup-terraform / use-kubelogin / azure/login in a privileged job or its sign-in action:
    the runner image's verified Terraform, kubelogin, Python and Node (check-tools.sh refuses another image)."""
    action = YAML(typ="safe").load((GITHUB / "actions" / "terraform-azure" / "action.yml").read_text())
    assert all("uses" not in step for step in action["runs"]["steps"]), "the sign-in action runs scripts only"
    for name, job in privileged_jobs().items():
        assert downloads(job["steps"]) == [], name
    # the check is not vacuous: the old sign-in action, planted back into the plan job, is found
    job = privileged_jobs()["pull-request.yml:plan"]
    job["steps"].insert(1, {"uses": "hashicorp/setup-terraform@dfe3c3f87815947d99a8997f908cb6525fc44e9e"})
    assert downloads(job["steps"]) == ["hashicorp/setup-terraform@dfe3c3f87815947d99a8997f908cb6525fc44e9e"]


def test_pull_request_jobs_get_no_secret_and_no_environment() -> None:
    text = (WORKFLOWS / "pull-request.yml").read_text()
    assert "secrets." not in text  # no webhook URL, no plan key: a pull request can print whatever it gets
    assert all("environment" not in job for job in load("pull-request.yml")["jobs"].values())
    # the plan key exists where plans are saved and applied only
    holders = {path.name for path in WORKFLOW_FILES if "PLAN_ARTIFACT_KEY" in path.read_text()}
    assert holders == {"deploy-stack.yml"}


def test_the_environments_with_secrets_are_used_by_main_only_workflows() -> None:
    """`<env>-plan` and `<env>` hold the secrets; the workflows naming them run on pushes to main, the schedule
    (main) or by hand; the environments' branch policy (stacks/github.py) refuses any other branch."""
    for path in WORKFLOW_FILES:
        workflow = load(path.name)
        if not any("environment" in job for job in workflow["jobs"].values()):
            continue
        triggers = set(workflow["on"])
        assert "pull_request" not in triggers and "pull_request_target" not in triggers, path.name
        if "push" in triggers:
            assert workflow["on"]["push"]["branches"] == ["main"], path.name


def test_every_job_with_steps_has_a_timeout() -> None:
    """GitHub's default is 6 hours: a hung apply would hold the state lease and a runner that long."""
    missing = [
        f"{path.name}:{name}"
        for path in WORKFLOW_FILES
        for name, job in load(path.name)["jobs"].items()
        if "steps" in job and "timeout-minutes" not in job
    ]
    assert missing == []


def test_plans_run_on_the_plan_pool_and_applies_on_the_apply_pool() -> None:
    from tools.maintenance.workflow_matrix import runner_labels

    for name in ("pull-request.yml", "drift.yml"):
        job = load(name)["jobs"]["plan"]
        assert job["runs-on"] == ["self-hosted", "${{ matrix.runner }}"]
        for row in job["strategy"]["matrix"]["include"]:
            assert row["runner"] == runner_labels(row["environment"])["plan"], (name, row)
    stack = load("deploy-stack.yml")["jobs"]
    assert stack["plan"]["runs-on"] == ["self-hosted", "${{ inputs.plan-runner }}"]
    assert stack["apply"]["runs-on"] == ["self-hosted", "${{ inputs.apply-runner }}"]
    for config in load_all():
        for kind in ("alerting", "infra", "cluster"):
            caller = load("deploy.yml")["jobs"][f"{config.name}-{kind}"]["with"]
            # the alerting stack is planned by the apply identity, in `<env>`, on the apply pool
            role = "apply" if kind == "alerting" else "plan"
            assert caller["plan-runner"] == runner_labels(config.name)[role]
            assert caller["plan-environment"] == (config.name if role == "apply" else f"{config.name}-plan")
            assert caller["plan-client-id"].endswith(f"_{role.upper()}_CLIENT_ID }}}}")
            assert caller["apply-runner"] == runner_labels(config.name)["apply"]
    # the apply label is named nowhere but in deploy.yml's calls (the apply job's input)
    users = {path.name for path in WORKFLOW_FILES if re.search(r"erp-[a-z0-9-]+-apply", path.read_text())}
    assert users == {"deploy.yml"}


# --- zizmor on faults planted into copies of the real workflows ------------------------------------------------


def planted_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of .github/ whose workflow `name` has `old` replaced by `new` (which must occur)."""
    import shutil

    copy = tmp_path / ".github"
    shutil.copytree(GITHUB, copy)
    text = (copy / "workflows" / name).read_text()
    assert old in text, f"{name} no longer has {old!r}: update the planted fault"
    (copy / "workflows" / name).write_text(text.replace(old, new, 1))
    return copy


def zizmor_audits(path: Path, persona: str = "auditor") -> tuple[int, set[str]]:
    result = run(str(BIN / "zizmor"), "--offline", "--persona", persona, "--format", "json", str(path))
    import json

    return result.returncode, {finding["ident"] for finding in json.loads(result.stdout or "[]")}


def test_zizmor_finds_a_pull_request_title_injected_into_the_plan_job(tmp_path: Path) -> None:
    copy = planted_copy(
        tmp_path,
        "pull-request.yml",
        "          terraform plan -input=false -lock=false -no-color -out=tfplan > plan.log",
        '          echo "${{ github.event.pull_request.title }}"; terraform plan -input=false -lock=false -no-color '
        "-out=tfplan > plan.log",
    )
    code, audits = zizmor_audits(copy)
    assert code != 0 and "template-injection" in audits


def test_zizmor_finds_pull_request_target_with_the_head_checked_out(tmp_path: Path) -> None:
    copy = planted_copy(
        tmp_path,
        "pull-request.yml",
        "        uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n"
        "        with:\n          persist-credentials: false\n      - id: login",
        "        uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n"
        "        with:\n          persist-credentials: false\n"
        "          ref: ${{ github.event.pull_request.head.sha }}\n      - id: login",
    )
    text = (copy / "workflows" / "pull-request.yml").read_text()
    (copy / "workflows" / "pull-request.yml").write_text(text.replace("  pull_request:\n", "  pull_request_target:\n"))
    code, audits = zizmor_audits(copy)
    assert code != 0 and "dangerous-triggers" in audits


def test_zizmor_finds_a_self_hosted_runner_without_its_reasoned_ignore(tmp_path: Path) -> None:
    copy = planted_copy(
        tmp_path,
        "pull-request.yml",
        " # zizmor: ignore[self-hosted-runner] ephemeral plan pool, read-only identity, no secrets (docs/delivery.md)",
        "",
    )
    code, audits = zizmor_audits(copy)
    assert code != 0 and audits == {"self-hosted-runner"}


# --- The runner release: new enough for the workflows' syntax ----------------------------------------------------

SELF_REFERENCE_RUNNER = (2, 336, 0)  # the first runner release that runs `uses: $/...`


def test_the_pinned_runner_release_runs_the_self_repository_references() -> None:
    uses_self = [path.name for path in WORKFLOW_FILES if re.search(r"uses:\s*\$/", path.read_text())]
    assert uses_self, "no workflow uses `$/`: the check below would be about nothing"
    for config in load_all():
        version = tuple(int(part) for part in config.deployment.runner.version.split("."))
        assert version >= SELF_REFERENCE_RUNNER, f"{config.name}: runner {version} cannot run {uses_self}"


def test_a_runner_older_than_the_syntax_is_caught() -> None:
    old = load_all()[0].deployment.runner.model_copy(update={"version": "2.329.0"})
    assert tuple(int(part) for part in old.version.split(".")) < SELF_REFERENCE_RUNNER
