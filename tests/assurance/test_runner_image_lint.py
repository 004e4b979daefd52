"""The runner image's scripts pass ShellCheck and its Dockerfile passes hadolint (both from their tool venvs,
requirements-tools/{shellcheck,hadolint}.lock); each checker catches a planted mistake."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "runner-image"
SHELLCHECK = ROOT / ".cache" / "tools" / "shellcheck" / "bin" / "shellcheck"
HADOLINT = ROOT / ".cache" / "tools" / "hadolint" / "bin" / "hadolint"

pytestmark = [pytest.mark.requires_tool(SHELLCHECK), pytest.mark.requires_tool(HADOLINT)]


def _shellcheck(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SHELLCHECK), "--format=gcc", *map(str, paths)], capture_output=True, text=True)


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, cwd=path.parent)


def test_the_runner_image_scripts_pass_shellcheck() -> None:
    scripts = sorted(IMAGE.glob("*.sh"))
    assert [p.name for p in scripts] == ["entrypoint.sh", "install-terraform.sh"]
    result = _shellcheck(*scripts)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_catches_an_unquoted_variable(tmp_path: Path) -> None:
    planted = tmp_path / "planted.sh"
    planted.write_text('#!/usr/bin/env bash\nkey=$1\ncurl -H "x" $key\n')
    result = _shellcheck(planted)
    assert result.returncode != 0 and "SC2086" in result.stdout


def test_the_runner_image_dockerfile_passes_hadolint() -> None:
    result = _hadolint(IMAGE / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_floating_base_image_and_root(tmp_path: Path) -> None:
    planted = tmp_path / "Dockerfile"
    planted.write_text("FROM ubuntu:latest\nRUN cd /tmp && apt-get install -y curl\nUSER root\n")
    result = _hadolint(planted)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag
    assert "DL3003" in result.stdout  # cd instead of WORKDIR
