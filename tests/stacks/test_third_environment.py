"""Adding an environment is one command, and the suite holds with three: a copy of the project gets `qa` from
`tools.maintenance.add_environment`, then the environment-dependent tests run there (they derive the
environment set from config/, none names staging and production as the only ones)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The tests that read the environment set, the generated files or the stacks' list (each once failed with three).
ENVIRONMENT_DEPENDENT = [
    "tests/config",
    "tests/stacks/test_app.py",
    "tests/stacks/test_bootstrap.py",
    "tests/stacks/test_snapshots.py",
    "tests/stacks/test_address_stability.py",
    "tests/reference/test_provider_schema.py",
    "tests/tools/test_handbook.py",
    "tests/tools/test_workflows.py",
    "tests/tools/test_dr_runbook.py",
    "tests/tools/test_diagram.py",
    "tests/tools/test_evidence_matrix.py",
    "tests/tools/test_config_reference.py",
    "tests/constructs/test_observability.py",
    "tests/assurance/test_checkov.py::test_every_firewall_takes_threat_intelligence_deny_from_its_policy",
    "tests/assurance/test_checkov.py::test_every_event_hubs_primary_is_in_a_region_with_zones",
    "tests/test_main_output.py",
    "tests/test_docs.py",
]


def _copy_project(target: Path) -> None:
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = PROJECT_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for shared in (".venv", "node_modules"):  # installed once, used read-only
        (target / shared).symlink_to(PROJECT_ROOT / shared)
    (target / ".cache").mkdir()
    (target / ".cache" / "tools").symlink_to(PROJECT_ROOT / ".cache" / "tools")
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)  # tests list tracked files
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)


@pytest.mark.slow
def test_a_third_environment_added_by_the_one_command_passes_the_environment_dependent_tests(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    _copy_project(project)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ERP_CONFIG_DIR", "PYTEST_"))}
    python = sys.executable  # this run's interpreter and venv (3.11 or 3.13); the project files are the copy's
    added = subprocess.run(
        [python, "-m", "tools.maintenance.add_environment", "qa", "--deploy-after", "staging"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    assert (project / "config" / "qa.toml").is_file() and (project / "docs" / "handbook-qa.md").is_file()
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)  # what a user commits after the command
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *ENVIRONMENT_DEPENDENT],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
