"""The mutation table (docs/guards.md): every guard is clean on the real output and fails on its planted fault,
a missing synth and a truncated stack. Fails when a guard passes a fault or the page is stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.assurance.checkers import require_tool
from tests.assurance.guard_mutations import GUARDS, REGENERATE, TABLE, failures, render, run_all
from tests.assurance.test_kubernetes_manifests import KUBERNETES_VALIDATE
from tools.checks.checkov_gate import CHECKOV
from tools.checks.secret_scan import DETECT_SECRETS


@pytest.fixture(scope="module")
def results(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    for tool in (CHECKOV, DETECT_SECRETS, KUBERNETES_VALIDATE):
        require_tool(tool)
    return run_all(synth_dir, tmp_path_factory.mktemp("guards"))


def test_every_guard_is_clean_on_the_real_output_and_fails_on_each_fault(results: dict) -> None:
    assert [guard.name for guard in GUARDS] == list(results)
    assert failures(results) == []


def test_the_mutation_table_is_fresh(results: dict) -> None:
    assert TABLE.read_text() == render(results), f"{TABLE} is stale; regenerate with: {REGENERATE}"


def test_a_guard_that_passes_its_fault_is_reported(results: dict) -> None:
    """The table's own failing example: a guard whose planted fault changed nothing would be named."""
    from dataclasses import replace

    first = GUARDS[0].name
    broken = {name: dict(outcomes) for name, outcomes in results.items()}
    broken[first]["planted fault"] = replace(broken[first]["planted fault"], caught=False, code=0)
    assert [problem.split(":")[0] for problem in failures(broken)] == [f"{first} / planted fault"]
    assert "❌ passes (exit 0)" in render(broken)
