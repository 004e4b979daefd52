"""tools.review.changed_stacks: the deploy applies only stacks whose synthesized JSON changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools.review import changed_stacks


def write_synth(root: Path, stacks: dict[str, dict], depends_on: dict[str, list[str]] | None = None) -> Path:
    for name, body in stacks.items():
        (root / "stacks" / name).mkdir(parents=True)
        (root / "stacks" / name / "cdk.tf.json").write_text(json.dumps(body))
    manifest = {"stacks": {name: {"dependencies": (depends_on or {}).get(name, [])} for name in stacks}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_only_changed_and_new_stacks_are_listed(tmp_path: Path) -> None:
    base = write_synth(tmp_path / "base", {"a": {"resource": {"x": 1}}, "b": {"resource": {"y": 1}}})
    head = write_synth(
        tmp_path / "head",
        {
            "a": {"resource": {"x": 1}, "//": {"metadata": "a newer cdktf"}},  # metadata only: unchanged
            "b": {"resource": {"y": 2}},
            "c": {"resource": {}},
        },
    )
    assert changed_stacks.changed_stacks(base, head) == ["b", "c"]


def test_no_change_lists_nothing_and_a_missing_base_lists_everything(tmp_path: Path) -> None:
    head = write_synth(tmp_path / "head", {"a": {"resource": {"x": 1}}})
    assert changed_stacks.changed_stacks(head, head) == []
    assert changed_stacks.changed_stacks(tmp_path / "absent", head) == ["a"]


def test_cli_writes_the_github_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = write_synth(tmp_path / "head", {"a": {}, "b": {}})
    output = tmp_path / "github_output"
    assert changed_stacks.main([str(tmp_path / "none"), str(head), "--github-output", str(output)]) == 0
    assert output.read_text() == 'stacks=["a", "b"]\nmatrix=[]\n'
    assert capsys.readouterr().out == "changed stacks: a (changed), b (changed)\n"
    with pytest.raises(SystemExit):
        changed_stacks.main([str(head), str(tmp_path / "none")])


def test_a_changed_stack_brings_its_dependents_transitively(tmp_path: Path) -> None:
    stacks = {"bootstrap": {}, "staging-infra": {"output": {"host": 1}}, "staging-cluster": {}, "staging-apps": {}}
    depends_on = {"staging-cluster": ["staging-infra"], "staging-apps": ["staging-cluster"]}
    base = write_synth(tmp_path / "base", stacks, depends_on)
    head = write_synth(tmp_path / "head", {**stacks, "staging-infra": {"output": {"host": 2}}}, depends_on)
    assert changed_stacks.changed_stacks(base, head) == ["staging-infra"]  # its own JSON only
    assert changed_stacks.changed_stacks(base, head, changed_stacks.dependencies(head)) == [
        "staging-apps",
        "staging-cluster",
        "staging-infra",
    ]
    output = tmp_path / "github_output"
    assert changed_stacks.main([str(base), str(head), "--github-output", str(output)]) == 0
    lines = output.read_text().splitlines()
    assert lines[0] == 'stacks=["staging-apps", "staging-cluster", "staging-infra"]'
    assert json.loads(lines[1].removeprefix("matrix=")) == [
        {"stack": "staging-apps", "environment": "staging"},
        {"stack": "staging-cluster", "environment": "staging"},
        {"stack": "staging-infra", "environment": "staging"},
    ]


def test_an_infra_output_change_in_the_real_synth_plans_and_deploys_the_cluster_stack(
    synth_dir: Path, tmp_path: Path
) -> None:
    """The fault of issue #28: the cluster stack's JSON is unchanged, but the infra outputs it reads changed."""
    head = tmp_path / "head"
    shutil.copytree(synth_dir, head)
    path = head / "stacks" / "staging-infra" / "cdk.tf.json"
    stack = json.loads(path.read_text())
    name = sorted(stack["output"])[0]
    stack["output"][name]["value"] = "${azurerm_resource_group.moved-elsewhere.id}"
    path.write_text(json.dumps(stack))
    assert changed_stacks.changed_stacks(synth_dir, head) == ["staging-infra"]
    assert changed_stacks.changed_stacks(synth_dir, head, changed_stacks.dependencies(head)) == [
        "staging-cluster",
        "staging-infra",
    ]


def test_a_head_without_its_manifest_fails(tmp_path: Path) -> None:
    head = write_synth(tmp_path / "head", {"a": {}})
    (head / "manifest.json").unlink()
    assert changed_stacks.main([str(head), str(head)]) == 2  # dependents unknown: not "nothing changed"


def test_the_pull_request_plans_only_the_listed_stacks() -> None:
    from ruamel.yaml import YAML

    workflow = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "pull-request.yml"
    jobs = YAML(typ="safe").load(workflow.read_text())["jobs"]
    step = next(step for step in jobs["offline"]["steps"] if step.get("id") == "plan_stacks")
    assert "tools.review.changed_stacks ../base/cdktf.out cdktf.out --github-output" in step["run"]
    assert jobs["offline"]["outputs"]["plan_stacks"] == "${{ steps.plan_stacks.outputs.stacks }}"
    listed = "contains(fromJSON(needs.offline.outputs.plan_stacks || '[]'), matrix.stack)"
    for plan_step in jobs["plan"]["steps"]:
        if plan_step.get("id") in ("checkout", "login", "synth", "init", "plan", "summary"):
            assert listed in plan_step["if"], plan_step["id"]
        else:  # the outcomes are recorded for every stack: an unlisted stack shows as skipped in the comment
            assert plan_step["if"] == "${{ always() }}"


def test_the_alerting_stacks_are_deployed_but_never_planned_on_pull_requests() -> None:
    from tools.maintenance.workflow_matrix import PLAN_KINDS

    assert changed_stacks.environment_of("staging-alerting") == "staging"  # deploy.yml applies it
    assert "webhook" in (changed_stacks.not_planned_on_pull_requests("production-alerting") or "")
    assert changed_stacks.not_planned_on_pull_requests("production-infra") is None
    assert changed_stacks.not_planned_on_pull_requests("bootstrap") is None
    # what the pull request's plan matrix leaves out is exactly what the comment names
    assert not set(PLAN_KINDS) & set(changed_stacks.NOT_PLANNED_ON_PULL_REQUESTS)
