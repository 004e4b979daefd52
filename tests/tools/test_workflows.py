"""The GitHub Actions workflows: valid against the workflow schema, no zizmor findings, pinned actions,
deploy order and state concurrency."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
BIN = Path(sys.executable).parent  # check-jsonschema and zizmor come with the `test` extra


def load(name: str) -> dict:
    return YAML(typ="safe").load((WORKFLOWS / name).read_text())


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_workflows_exist() -> None:
    assert {path.name for path in WORKFLOW_FILES} >= {"pull-request.yml", "deploy.yml", "deploy-stack.yml"}


def test_workflows_validate_against_the_github_workflow_schema() -> None:
    result = run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOW_FILES)
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_offline_has_no_findings(persona: str) -> None:
    result = run(str(BIN / "zizmor"), "--offline", "--persona", persona, str(WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
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
    order = ["staging-infra", "staging-cluster", "production-infra", "production-cluster"]
    assert list(jobs) == order
    for previous, stack in itertools.pairwise(order):
        assert jobs[stack]["needs"] == previous
    assert {stack: jobs[stack]["with"]["environment"] for stack in order} == {
        "staging-infra": "staging",
        "staging-cluster": "staging",
        "production-infra": "production",
        "production-cluster": "production",
    }
    assert "bootstrap" not in str(jobs)


def test_applies_to_one_state_never_race_or_cancel() -> None:
    apply_job = load("deploy-stack.yml")["jobs"]["apply"]
    assert apply_job["concurrency"] == {"group": "tfstate-${{ inputs.stack }}", "cancel-in-progress": False}
    assert apply_job["environment"] == "${{ inputs.environment }}"
    assert apply_job["env"]["ARM_USE_OIDC"] == "true" and apply_job["env"]["ARM_USE_AZUREAD"] == "true"


def test_zizmor_does_report_an_unsafe_workflow(tmp_path: Path) -> None:
    """Guards the check above: zizmor runs and finds an unpinned action and persisted credentials."""
    (tmp_path / "bad.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n"
    )
    result = run(str(BIN / "zizmor"), "--offline", str(tmp_path / "bad.yml"))
    assert result.returncode != 0 and "unpinned-uses" in result.stdout and "artipacked" in result.stdout
