"""tools.review.pr_comment: one body with the marker, the checks, plan summary, synth diff, and parity and
diagrams only where they change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools.review import pr_comment


def test_comment_without_plans_has_the_offline_parts(synth_dir: Path) -> None:
    body = pr_comment.build_comment(synth_dir, synth_dir, [], ["Plans skipped: no Azure credentials (fork)."])
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
    assert len(body.encode()) < 3_000


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
    body = pr_comment.build_comment(synth_dir, changed_synth(synth_dir, tmp_path), [], [])
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
