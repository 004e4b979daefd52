"""tools.review.changed_stacks: the deploy applies only stacks whose synthesized JSON changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.review import changed_stacks


def write_synth(root: Path, stacks: dict[str, dict]) -> Path:
    for name, body in stacks.items():
        (root / "stacks" / name).mkdir(parents=True)
        (root / "stacks" / name / "cdk.tf.json").write_text(json.dumps(body))
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
    assert output.read_text() == 'stacks=["a", "b"]\n'
    assert capsys.readouterr().out == "changed stacks: a, b\n"
    with pytest.raises(SystemExit):
        changed_stacks.main([str(head), str(tmp_path / "none")])
