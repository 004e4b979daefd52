"""tools.review.pr_comment: one body with the marker, the checks, plan summary, synth diff, and parity and
diagrams only where they change."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.docgen import cost_estimate
from tools.review import pr_comment


def test_comment_without_plans_has_the_offline_parts(synth_dir: Path) -> None:
    offline = pr_comment.offline_sections(synth_dir, synth_dir)
    body = pr_comment.build_comment(
        synth_dir, synth_dir, [], ["Plans skipped: no Azure credentials (fork)."], offline=offline
    )
    assert body.startswith(pr_comment.MARKER + "\n")
    assert body.count(pr_comment.MARKER) == 1
    assert "> Plans skipped: no Azure credentials (fork)." in body
    assert "### Terraform plan" not in body
    assert "No resource changes in any stack." in body
    assert "### Staging ↔ production parity" in body
    # Unchanged parity and diagrams are one line each, not the full lists (the comment was ~21 KB).
    assert "Unchanged by this pull request: no unexplained security differences" in body
    assert "**Allowlisted differences:**" not in body
    assert body.count("```mermaid") == 0 and "Diagrams unchanged: staging, production" in body
    production = f"{cost_estimate.estimate_all(synth_dir)['production'].total:,.0f}"
    assert (
        f"Cost estimate, priced part (USD/month, docs/cost-estimate.md): production {production} → {production} (±0)"
        in body
    )
    assert len(body.encode()) < 3_000


def test_the_cost_line_shows_the_estimate_change_per_environment(synth_dir: Path, tmp_path: Path) -> None:
    """The pull request turns production's hub firewall from Premium (priced, 1,277.50 a month) to Basic (no
    price in the table): production's priced estimate drops, staging's does not move."""
    head = tmp_path / "head"
    shutil.copytree(synth_dir, head)
    path = head / "stacks" / "production-infra" / "cdk.tf.json"
    infra = json.loads(path.read_text())
    for firewall in infra["resource"]["azurerm_firewall"].values():
        firewall["sku_tier"] = "Basic"
    path.write_text(json.dumps(infra))
    body = pr_comment.build_comment(synth_dir, head, [], [], offline="")
    before = cost_estimate.estimate_all(synth_dir)
    production, staging = before["production"].total, f"{before['staging'].total:,.0f}"
    assert (
        f"production {production:,.0f} → {production - 1277.5:,.0f} (-1,278); staging {staging} → {staging} (±0)"
        in body
    )


def test_comment_with_a_real_plan_puts_the_plan_first(synth_dir: Path, plans: dict[str, Path], tmp_path: Path) -> None:
    output = tmp_path / "comment.md"
    assert (
        pr_comment.main(
            [
                "--base",
                str(synth_dir),
                "--head",
                str(synth_dir),
                "--plan",
                f"staging-infra={plans['changed']}",
                "--output",
                str(output),
            ]
        )
        == 0
    )
    body = output.read_text()
    assert "| `staging-infra` | 1 | 1 | 1 | 1 | 0 | 0 | 0 |" in body
    assert body.index("### Terraform plan") < body.index("### Synth diff (offline)")


def test_missing_synth_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        pr_comment.main(["--base", str(tmp_path), "--head", str(tmp_path)])


def changed_synth(synth_dir: Path, tmp_path: Path) -> Path:
    """The synth with one production-only change that parity and the diagram both see: a new subnet."""
    head = tmp_path / "head"
    shutil.copytree(synth_dir / "stacks", head / "stacks")
    path = head / "stacks" / "production-infra" / "cdk.tf.json"
    stack = json.loads(path.read_text())
    subnets = stack["resource"]["azurerm_subnet"]
    name, body = next(iter(sorted(subnets.items())))
    metadata = {**body["//"], "metadata": {**body["//"]["metadata"], "path": body["//"]["metadata"]["path"] + "-extra"}}
    subnets[name + "_extra"] = {**body, "name": body["name"] + "-extra", "//": metadata}
    path.write_text(json.dumps(stack))
    return head


def test_changed_parity_and_diagram_are_shown(synth_dir: Path, tmp_path: Path) -> None:
    head = changed_synth(synth_dir, tmp_path)
    body = pr_comment.build_comment(synth_dir, head, [], [], offline=pr_comment.offline_sections(synth_dir, head))
    assert "Unchanged by this pull request" not in body
    assert "resources without a counterpart" in body  # the full parity report
    assert body.count("```mermaid") == 1 and "Diagram: production (changed)" in body
    assert "Diagrams unchanged: staging" in body


def write_steps(tmp_path: Path, name: str, outcomes: dict[str, str]) -> Path:
    """A job's `toJSON(steps)` as GitHub Actions writes it."""
    path = tmp_path / f"{name}.steps.json"
    path.write_text(
        json.dumps({step: {"outputs": {}, "outcome": o, "conclusion": o} for step, o in outcomes.items()}, indent=2)
    )
    return path


def test_a_failed_check_shows_the_failing_step(synth_dir: Path, tmp_path: Path) -> None:
    offline = write_steps(
        tmp_path,
        "offline",
        {"setup": "success", "tests": "failure", "synth": "success", "checkov": "failure", "parity": "success"},
    )
    plan = write_steps(tmp_path, "plan", {"synth": "success", "init": "success", "plan": "failure"})
    output = tmp_path / "comment.md"
    argv = ["--base", str(synth_dir), "--head", str(synth_dir), "--output", str(output)]
    argv += ["--checks", f"offline=failure={offline}", "--checks", f"plan staging-infra=failure={plan}"]
    argv += ["--checks", "plan production-infra=success=" + str(tmp_path / "absent.json")]
    assert pr_comment.main([*argv, "--run-url", "https://github.com/o/r/actions/runs/1"]) == 0
    body = output.read_text()
    assert "❌ **2 of 3 checks failed** ([run](https://github.com/o/r/actions/runs/1))" in body
    assert "- ❌ **offline**: failed at step **Tests**, **Checkov**" in body
    assert "- ❌ **plan staging-infra**: failed at step **Terraform plan**" in body
    assert "- ✅ plan production-infra: success" in body
    assert body.index("❌") < body.index("### Synth diff (offline)")


def test_a_job_that_failed_before_its_steps_and_a_missing_synth_still_give_a_comment(tmp_path: Path) -> None:
    empty = tmp_path / "offline.steps.json"
    empty.write_text("")  # the job output is empty when the job never reached its steps
    body = pr_comment.build_comment(
        tmp_path / "none", tmp_path / "none", [], [], [pr_comment.parse_check(f"offline=failure={empty}")]
    )
    assert body.startswith(pr_comment.MARKER)
    assert "- ❌ **offline**: the job failed before its checks ran" in body
    assert "No synth output of this pull request" in body


def test_all_checks_passing_is_one_line(synth_dir: Path, tmp_path: Path) -> None:
    steps = write_steps(tmp_path, "offline", {"tests": "success", "synth": "success"})
    checks = [pr_comment.parse_check(f"offline=success={steps}"), pr_comment.parse_check("plan=skipped")]
    body = pr_comment.build_comment(synth_dir, synth_dir, [], [], checks)
    assert "✅ All checks passed: offline\n" in body and "❌" not in body


# --- The comment job as the workflow runs it, and what the comment says --------------------------------------

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "pull-request.yml"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def comment_step_script() -> str:
    from ruamel.yaml import YAML

    steps = YAML(typ="safe").load(WORKFLOW.read_text())["jobs"]["comment"]["steps"]
    [step] = [step for step in steps if "python -m tools.review.pr_comment" in step.get("run", "")]
    assert "setup-python" in " ".join(s.get("uses", "") for s in steps)  # a bare Python, nothing pip-installed
    assert not [s for s in steps if "pip install" in s.get("run", "")]
    return step["run"]


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv of the base interpreter with nothing installed: what actions/setup-python gives the job."""
    venv = tmp_path_factory.mktemp("bare-python")
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)  # type: ignore[attr-defined]
    probe = subprocess.run([venv / "bin" / "python", "-c", "import pydantic"], capture_output=True, check=False)
    assert probe.returncode != 0  # really bare: the project's dependencies are not importable
    return venv / "bin"


def artifacts(tmp_path: Path, synth_dir: Path, head: Path | None = None) -> Path:
    """$ARTIFACTS as actions/download-artifact lays it out: synth/{base,head}/cdktf.out, review/, plan-<stack>/."""
    root = tmp_path / "artifacts"
    for side, source in (("base", synth_dir), ("head", head or synth_dir)):
        target = root / "synth" / side / "cdktf.out"
        shutil.copytree(source / "stacks", target / "stacks", ignore=shutil.ignore_patterns("*.tf.json.*"))
        if (source / "manifest.json").exists():
            shutil.copy(source / "manifest.json", target / "manifest.json")
    (root / "review").mkdir(parents=True)
    return root


def plan_artifact(root: Path, stack: str, outcomes: dict[str, str], plan: dict | None, log: str | None) -> None:
    from tools.review.plan_summary import reduce_plan

    folder = root / f"plan-{stack}"
    folder.mkdir()
    write_steps(folder, stack, outcomes)
    if plan is not None:
        (folder / f"{stack}.json").write_text(json.dumps(reduce_plan(plan)))  # --format reduced, as the plan job
    if log is not None:
        (folder / f"{stack}.plan.log").write_text(log)


def run_comment_step(bin_dir: Path, root: Path, tmp_path: Path, plan_result: str, offline_steps: dict) -> str:
    """The workflow's step script, in bash -e (GitHub's default shell), with only the bare Python on PATH."""
    script = tmp_path / "step.sh"
    script.write_text(comment_step_script())
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "ARTIFACTS": str(root),
        "OFFLINE_RESULT": "success",
        "OFFLINE_STEPS": json.dumps(offline_steps),
        "PLAN_RESULT": plan_result,
        "HEAD_SHA": "0123456789abcdef0123456789abcdef01234567",
        "RUN_URL": "https://github.com/o/r/actions/runs/7",
    }
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", str(script)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return (runner_temp / "comment.md").read_text()


def assert_balanced(body: str) -> None:
    fences = [line for line in body.splitlines() if line.strip().startswith("```")]
    assert len(fences) % 2 == 0, "a code fence is left open"
    assert body.count("<details") == body.count("</details>"), "a <details> is left open"


OFFLINE_OK = {step: {"outcome": "success", "conclusion": "success", "outputs": {}} for step in ("tests", "synth")}
PLAN_ERROR = """Planning failed. Terraform encountered an error while generating this plan.

Error: retrieving Storage Account (Subscription: "x"): unexpected status 403 (403 Forbidden)
  with azurerm_storage_account.data_storage_account_D5690619,
  on cdk.tf.json line 1000, in resource.azurerm_storage_account.data_storage_account_D5690619:
"""


def test_the_comment_job_runs_on_a_bare_python_and_reports_each_stack_on_its_own(
    synth_dir: Path, tmp_path: Path, bare_python: Path
) -> None:
    """One stack's plan fails (its error text is shown), the other stacks' plans succeed (one with drift and output
    changes from a real plan): the matrix result is `failure`, but only the failing stack is ❌."""
    from tests.tools.terraform_plans import drifted_plan

    root = artifacts(tmp_path, synth_dir)
    (root / "review" / "sections.md").write_text(pr_comment.offline_sections(synth_dir, synth_dir))
    plan_artifact(root, "staging-infra", {"synth": "success", "init": "success", "plan": "failure"}, None, PLAN_ERROR)
    plan_artifact(
        root, "staging-cluster", {"synth": "success", "init": "success", "plan": "success", "summary": "success"},
        drifted_plan(tmp_path / "terraform"), None,
    )  # fmt: skip
    body = run_comment_step(bare_python, root, tmp_path, "failure", OFFLINE_OK)
    assert body.startswith(pr_comment.MARKER)
    assert "## Infrastructure review of `0123456789ab`" in body
    assert "❌ **1 of 3 checks failed**" in body
    assert "- ❌ **plan staging-infra**: failed at step **Terraform plan**" in body
    assert "- ✅ plan staging-cluster: success" in body
    assert "unexpected status 403 (403 Forbidden)" in body  # the plan's error text, in a collapsed block
    assert "`terraform_data.changed` was **changed outside Terraform**" in body
    assert '# output aks_host (update): "https://aks-1.example" → "https://aks-2.example"' in body
    assert "### Staging ↔ production parity" in body  # rendered by the offline job, read here
    assert "Cost estimate, priced part (USD/month" in body  # the estimate runs on the bare Python too
    assert_balanced(body)


def test_without_the_offline_sections_the_comment_says_so(synth_dir: Path, tmp_path: Path, bare_python: Path) -> None:
    root = artifacts(tmp_path, synth_dir)
    body = run_comment_step(bare_python, root, tmp_path, "skipped", OFFLINE_OK)
    assert "Parity and diagrams: not rendered" in body
    assert "> Plans skipped: no Azure credentials (fork) or no synth." in body
    assert_balanced(body)


def test_an_oversized_diff_is_cut_with_every_fence_and_details_closed(synth_dir: Path, tmp_path: Path) -> None:
    head = tmp_path / "head"
    shutil.copytree(synth_dir, head)
    for path in head.glob("stacks/*/cdk.tf.json"):  # every resource changes a tag: a synth diff far over 65 KB
        stack = json.loads(path.read_text())
        for resources in stack.get("resource", {}).values():
            for body in resources.values():
                if isinstance(body.get("tags"), dict):
                    body["tags"] = {**body["tags"], "cost-center": "ERP-" + "x" * 60, "owner": "team-" + "y" * 60}
        path.write_text(json.dumps(stack))
    full = synth_diff_markdown(synth_dir, head)
    assert len(full) > pr_comment.MAX_BODY  # really oversized
    body = pr_comment.build_comment(synth_dir, head, [], [], offline="", run_url="https://run")
    assert len(body) <= pr_comment.MAX_BODY
    assert "… truncated (GitHub comment limit)" in body and "[run](https://run)" in body
    assert_balanced(body)


def synth_diff_markdown(base: Path, head: Path) -> str:
    from tools.review import synth_diff

    return synth_diff.render_markdown(synth_diff.diff_dirs(base, head))


@pytest.mark.parametrize("cut", range(1, 30))
def test_fit_closes_what_the_cut_leaves_open(cut: int) -> None:
    first = ["# title", "<details><summary>a</summary>", "", "```diff", *[f"+ line {i}" for i in range(20)], "```"]
    second = ["</details>", "", "  <details><summary>b</summary>", "  ```text", "  log", "  ```", "  </details>"]
    body = "\n".join([*first, *second])
    limit = 110 + cut * 8  # from just over the truncation note to the whole body
    fitted = pr_comment.fit(body, limit)
    assert len(fitted) <= limit or fitted == body
    assert_balanced(fitted)


def test_log_tail_cannot_close_the_fence() -> None:
    tail = pr_comment.log_tail("\x1b[31mError:\x1b[0m bad\n```\nmore")
    assert "```" not in tail and "\x1b" not in tail and tail.startswith("Error: bad")


def test_apply_results_go_back_to_the_merged_pull_request() -> None:
    """apply-report.yml comments each stack's plan/apply result of a finished deploy run on the merged PR; the job
    names it filters on are the ones deploy-stack.yml gives its jobs when deploy.yml calls it per stack."""
    from ruamel.yaml import YAML

    workflows = PROJECT_ROOT / ".github" / "workflows"
    report = YAML(typ="safe").load((workflows / "apply-report.yml").read_text())
    stack_jobs = YAML(typ="safe").load((workflows / "deploy-stack.yml").read_text())["jobs"]
    assert report["on"]["workflow_run"] == {"workflows": ["deploy"], "types": ["completed"]}
    [job] = report["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert not [step for step in job["steps"] if "checkout" in step.get("uses", "") or "run" in step]
    script = job["steps"][0]["with"]["script"]
    assert "listPullRequestsAssociatedWithCommit" in script and "pr.merged_at" in script
    assert {stack_jobs["plan"]["name"], stack_jobs["apply"]["name"]} == {
        "plan ${{ inputs.stack }}",
        "apply ${{ inputs.stack }}",
    }
    assert r"/ \/ (plan|apply) /" in script  # "<caller job> / apply <stack>"


def test_a_changed_alerting_stack_is_named_as_not_planned_on_pull_requests(synth_dir: Path, tmp_path: Path) -> None:
    head = tmp_path / "head"
    shutil.copytree(synth_dir, head)
    path = head / "stacks" / "staging-alerting" / "cdk.tf.json"
    stack = json.loads(path.read_text())
    for group in stack["resource"]["azurerm_monitor_action_group"].values():
        group["short_name"] = "changed"
    path.write_text(json.dumps(stack))
    body = pr_comment.build_comment(synth_dir, head, [], [], offline="")
    assert "> `staging-alerting` changed, not planned on pull requests: its state holds the alert webhook" in body
    assert "production-alerting" not in body.split("### ")[0]  # unchanged: no note
    assert "not planned on pull requests" not in pr_comment.build_comment(synth_dir, synth_dir, [], [], offline="")
