"""The code checkers, run on the whole tree: a formatting, lint or type finding fails `scripts/test lint`.

Configured in pyproject.toml ([tool.ruff], [tool.mypy]); the same commands run as pre-commit hooks
(.pre-commit-config.yaml). docs/development.md "Code checks".
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lint  # run once (`scripts/test lint`), not in each of the suite runs

ROOT = Path(__file__).resolve().parent.parent


def run(*arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", *arguments]
    return subprocess.run(command, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=900)


def mypy_on(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """mypy with the repository's configuration on one file outside the tree (files given override `files`)."""
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    return run("mypy", str(probe))


def test_ruff_lint_is_clean() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = run("ruff", "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, f"run `.venv/bin/ruff format .`:\n{result.stdout}{result.stderr}"


def test_mypy_is_clean() -> None:
    result = run("mypy")  # files, search path and options: pyproject [tool.mypy]
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_reports_a_finding() -> None:
    """Failing example: the same command and configuration fails on code with an unused import."""
    result = run("ruff", "check", "--no-cache", "--stdin-filename", "tools/example.py", "-", stdin="import os\n")
    assert result.returncode != 0 and "F401" in result.stdout, result.stdout + result.stderr


def test_mypy_reports_an_optional_passed_where_a_value_is_required(tmp_path: Path) -> None:
    """Failing example: the fixed stacks/infrastructure.py finding, in small."""
    source = "def f(x: str) -> str:\n    return x\n\n\ndef g(y: str | None) -> str:\n    return f(y)\n"
    result = mypy_on(source, tmp_path)
    assert result.returncode != 0 and "[arg-type]" in result.stdout, result.stdout + result.stderr


def test_mypy_resolves_our_constructs_modules_next_to_the_library(tmp_path: Path) -> None:
    """constructs/ has no __init__.py (it extends the library's package): mypy must still read our modules.

    Failing example: a wrong type passed to one of our modules' classes is reported, so the module was read
    (an unresolved module would be an import error instead, or Any with no finding).
    """
    source = "from constructs import Construct\nfrom constructs.naming import Naming\n\nNaming(1, 2)\nConstruct\n"
    result = mypy_on(source, tmp_path)
    assert 'Argument 1 to "Naming" has incompatible type "int"' in result.stdout, result.stdout + result.stderr
    assert "import" not in result.stdout, result.stdout
