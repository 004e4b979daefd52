"""tools.review.plan_summary on real plan JSON (the `plans` fixture in tests/tools/conftest.py runs Terraform)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.review import plan_summary


def test_initial_plan_creates_every_resource(plans: dict[str, Path]) -> None:
    summary = plan_summary.summarise("first", json.loads(plans["initial"].read_text()))
    assert {kind: summary.count(kind) for kind in plan_summary.ACTION_KINDS} == {
        "create": 4,
        "update": 0,
        "replace": 0,
        "delete": 0,
        "move": 0,
        "import": 0,
        "forget": 0,
    }


def test_changed_plan_counts_each_action_and_skips_no_ops(plans: dict[str, Path]) -> None:
    summary = plan_summary.summarise("second", json.loads(plans["changed"].read_text()))
    assert summary.changes == {
        "create": ["terraform_data.created"],
        "update": ["terraform_data.updated"],
        "replace": ["terraform_data.replaced"],
        "delete": ["terraform_data.deleted"],
        "move": [],
        "import": [],
        "forget": [],
    }
    assert summary.replace_reasons == {"terraform_data.replaced": ["triggers_replace"]}


def test_markdown_lists_replacements_and_deletions_before_details(plans: dict[str, Path]) -> None:
    summary = plan_summary.summarise("staging-infra", json.loads(plans["changed"].read_text()))
    markdown = plan_summary.render_markdown([summary])
    assert "| `staging-infra` | 1 | 1 | 1 | 1 | 0 | 0 | 0 |" in markdown
    replaced = markdown.index("`terraform_data.replaced` is **replaced** (forced by `triggers_replace`)")
    deleted = markdown.index("`terraform_data.deleted` is **deleted**")
    assert replaced < deleted < markdown.index("```diff")


def test_stateful_types_are_flagged_first() -> None:
    summary = plan_summary.StackPlan("s")
    summary.changes["delete"] = ["terraform_data.a", "azurerm_storage_account.b"]
    summary.types = {"terraform_data.a": "terraform_data", "azurerm_storage_account.b": "azurerm_storage_account"}
    assert plan_summary.warnings_of(summary) == [
        "stateful: `azurerm_storage_account.b` is **deleted**",
        "`terraform_data.a` is **deleted**",
    ]


def test_cli_reads_stack_equals_path_arguments(plans: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_summary.main([f"production-infra={plans['changed']}", "--format", "text"]) == 0
    assert capsys.readouterr().out.startswith(
        "production-infra: create 1 update 1 replace 1 delete 1 move 0 import 0 forget 0\n"
    )


def test_cli_rejects_an_argument_without_stack_name() -> None:
    with pytest.raises(SystemExit):
        plan_summary.main(["plan.json"])


def test_reduced_plan_has_no_state_and_summarises_identically(
    plans: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan_summary.main([f"s={plans['changed']}", "--format", "reduced"]) == 0
    reduced_text = capsys.readouterr().out
    assert "gone soon" in plans["changed"].read_text() and "gone soon" not in reduced_text
    full = plan_summary.summarise("s", json.loads(plans["changed"].read_text()))
    assert plan_summary.summarise("s", json.loads(reduced_text)) == full


def test_moved_imported_and_forgotten_resources_are_counted(plans: dict[str, Path]) -> None:
    """Terraform 1.11's plan of `moved`, `import` and `removed { destroy = false }` blocks."""
    summary = plan_summary.summarise("s", json.loads(plans["state_actions"].read_text()))
    assert summary.changes == {
        "create": [],
        "update": ["terraform_data.imported", "terraform_data.secret"],  # Terraform counts both as "change"
        "replace": [],
        "delete": [],
        "move": ["terraform_data.new_name"],
        "import": ["terraform_data.imported"],
        "forget": ["terraform_data.forgotten"],
    }
    assert summary.moved_from == {"terraform_data.new_name": "terraform_data.old_name"}
    assert summary.import_ids == {"terraform_data.imported": "existing-id"}
    markdown = plan_summary.render_markdown([summary])
    assert "| `s` | 0 | 2 | 0 | 0 | 1 | 1 | 1 |" in markdown
    assert "`terraform_data.forgotten` is **forgotten**" in markdown
    assert "# moved: terraform_data.old_name → terraform_data.new_name" in markdown
    assert '# import: terraform_data.imported (id "existing-id")' in markdown
    assert "# forget: terraform_data.forgotten (removed block, destroy = false)" in markdown


def test_changed_values_are_shown_old_to_new_with_sensitive_ones_masked(plans: dict[str, Path]) -> None:
    changed = plan_summary.summarise("s", json.loads(plans["changed"].read_text()))
    assert changed.values["terraform_data.updated"] == [
        ("input", '"v1"', '"v2"'),
        ("output", '"v1"', "(known after apply)"),
    ]
    state = plan_summary.summarise("s", json.loads(plans["state_actions"].read_text()))
    assert state.values["terraform_data.secret"] == [
        ("input", "(sensitive)", "(sensitive)"),
        ("output", "(sensitive)", "(known after apply)"),
    ]
    for rendered in (plan_summary.render_markdown([state]), plan_summary.render_text([state])):
        assert "s3cret" not in rendered
        assert "    input: (sensitive) → (sensitive)" in rendered


def test_reduced_plan_keeps_moves_imports_forgets_and_no_secret(
    plans: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan_summary.main([f"s={plans['state_actions']}", "--format", "reduced"]) == 0
    reduced_text = capsys.readouterr().out
    assert "s3cret" in plans["state_actions"].read_text() and "s3cret" not in reduced_text
    full = plan_summary.summarise("s", json.loads(plans["state_actions"].read_text()))
    assert plan_summary.summarise("s", json.loads(reduced_text)) == full
