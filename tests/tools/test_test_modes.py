"""Tests run at one level each: CI (.ci/run) and the pull-request workflow run the same named modes of
scripts/test, lint runs once outside the suite runs, and every script runs the venv PYTHON / ERP_FRAMEWORK select."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]


def modes_in(text: str) -> list[str]:
    return re.findall(r"scripts/test (\w+)", text)


def test_ci_and_the_pull_request_workflow_run_the_same_modes() -> None:
    workflow = YAML(typ="safe").load((ROOT / ".github" / "workflows" / "pull-request.yml").read_text())
    runs = "\n".join(step.get("run", "") for step in workflow["jobs"]["offline"]["steps"])
    ci_run = "\n".join(line for line in (ROOT / ".ci" / "run").read_text().splitlines() if not line.startswith("#"))
    assert modes_in(runs) == modes_in(ci_run) == ["lint", "ci"]


def test_every_mode_is_documented_and_handled() -> None:
    script = (ROOT / "scripts" / "test").read_text()
    for mode in ("lint", "quick", "ci", "full"):
        assert f"#   scripts/test {mode}" in script
        assert re.search(rf"^  {mode}\)$", script, re.M), mode
    assert 'exec "$(python_of)" -m pytest "$@"' in script  # any other arguments go to pytest


def test_the_suite_runs_leave_lint_out_and_lint_runs_it() -> None:
    script = (ROOT / "scripts" / "test").read_text()
    ci = script[script.index("  ci)") : script.index("  full)")]
    assert ci.count("-m pytest") == 3 and ci.count("not lint") == 3
    assert "-m pytest -q -m lint" in script
    marked = [
        path.name for path in (ROOT / "tests").glob("test_*.py") if "pytestmark = pytest.mark.lint" in path.read_text()
    ]
    assert sorted(marked) == ["test_code_checks.py", "test_test_ids.py"]


def test_every_test_a_ci_step_leaves_out_is_named_with_its_reason_and_the_run_cache_is_removed() -> None:
    script = (ROOT / "scripts" / "test").read_text()
    ci = script[script.index("  ci)") : script.index("  full)")]
    variables = dict(re.findall(r"^    (\w+)=(tests/\S+)$", ci, re.M))
    left_out = {variables.get(name.lstrip("$"), name) for name in re.findall(r'--deselect "?([^\s"]+)', ci)}
    assert left_out == {
        "tests/stacks/test_snapshots.py",
        "tests/stacks/test_third_environment.py",
        "tests/test_determinism.py",
    }
    development = (ROOT / "docs" / "development.md").read_text()
    why = development[development.index("### What CI runs, and why not more") : development.index("## Code checks")]
    assert [path for path in sorted(left_out) if f"`{path}` (" not in why] == []
    assert "export ERP_TEST_CACHE" in ci and "trap 'rm -rf \"$ERP_TEST_CACHE\"' EXIT" in ci


@pytest.mark.parametrize(
    ("python", "framework", "venv"),
    [(None, None, ".venv"), ("python3.13", None, ".venv-3.13"), (None, "cdktn", ".venv-cdktn")],
)
def test_setup_names_the_venv_the_variables_select(python: str | None, framework: str | None, venv: str) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHON", "ERP_FRAMEWORK", "VENV")}
    env |= {"PYTHON": python} if python else {}
    env |= {"ERP_FRAMEWORK": framework} if framework else {}
    completed = subprocess.run(
        [str(ROOT / "scripts" / "setup"), "--venv-path"], env=env, capture_output=True, text=True, check=False
    )
    if python and completed.returncode == 2 and "no Python interpreter" in completed.stderr:
        pytest.fail(f"{python} is not installed: scripts/test ci needs it")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == venv


@pytest.mark.parametrize("script", ["synth", "test"])
def test_scripts_run_the_selected_venv_not_a_fixed_one(script: str) -> None:
    """`PYTHON=python3.13 scripts/synth` used to build .venv-3.13 and then run .venv/bin/python."""
    text = (ROOT / "scripts" / script).read_text()
    assert "scripts/setup --venv-path" in text
    assert not [line for line in text.splitlines() if ".venv/bin/python" in line and not line.lstrip().startswith("#")]


def test_synth_installs_the_app_only() -> None:
    """Plan and drift runners synthesize: they get the app's venv and Node, not the ~590 MB of checker venvs."""
    synth = (ROOT / "scripts" / "synth").read_text()
    setup = (ROOT / "scripts" / "setup").read_text()
    assert "scripts/setup --app" in synth
    app_exit = setup.index('if [ "${1:-}" = --app ]; then')
    assert app_exit < setup.index("scripts/tool-venv checkov") and app_exit < setup.index(".cache/tools/renovate")
