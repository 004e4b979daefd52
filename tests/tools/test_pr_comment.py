"""tools.pr_comment: one body with the marker, plan summary, synth diff, parity and diagrams."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import pr_comment


def test_comment_without_plans_has_the_offline_parts(synth_dir: Path) -> None:
    body = pr_comment.build_comment(synth_dir, synth_dir, [], ["Plans skipped: no Azure credentials (fork)."])
    assert body.startswith(pr_comment.MARKER + "\n")
    assert body.count(pr_comment.MARKER) == 1
    assert "> Plans skipped: no Azure credentials (fork)." in body
    assert "### Terraform plan" not in body
    assert "No resource changes in any stack." in body
    assert "### Staging ↔ production parity" in body
    assert body.count("```mermaid") == 2


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
    assert "| `staging-infra` | 1 | 1 | 1 | 1 |" in body
    assert body.index("### Terraform plan") < body.index("### Synth diff (offline)")


def test_missing_synth_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        pr_comment.main(["--base", str(tmp_path), "--head", str(tmp_path)])
