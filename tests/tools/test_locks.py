"""Reproducible Python installs: requirements.lock (and one lock per checker venv) pins every package with
its hashes, agrees with pyproject.toml's pins, and scripts/setup installs them with --require-hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(text: str) -> dict[str, str]:
    return {normalised(name): version for name, version in PIN.findall(text)}


def unhashed(text: str) -> list[str]:
    """Requirements of a lock without any --hash (pip --require-hashes refuses them)."""
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    return [entry.split()[0] for entry in entries if PIN.match(entry) and "--hash=sha256:" not in entry]


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return {normalised(name): version for name, version in (req.split("==") for req in requirements)}


def disagreements(pins: dict[str, str], lock_text: str) -> list[str]:
    locked = lock_pins(lock_text)
    return [
        f"{name}=={version} (lock: {locked.get(name)})" for name, version in pins.items() if locked.get(name) != version
    ]


def test_requirements_lock_agrees_with_pyproject() -> None:
    """After changing a pin in pyproject.toml, run scripts/lock."""
    assert disagreements(pyproject_pins(), (ROOT / "requirements.lock").read_text()) == []


@pytest.mark.parametrize(
    "lock", ["requirements.lock", *sorted(p.name for p in (ROOT / "requirements-tools").glob("*.lock"))]
)
def test_every_locked_package_has_hashes(lock: str) -> None:
    path = ROOT / lock if lock == "requirements.lock" else ROOT / "requirements-tools" / lock
    text = path.read_text()
    # a truncated lock is caught: the app's holds many packages, a checker's at least what its .in pins
    source = path.with_suffix(".in")
    assert len(lock_pins(text)) >= (len(lock_pins(source.read_text())) if source.exists() else 5) >= 1
    assert unhashed(text) == []


def test_a_stale_or_unhashed_lock_is_caught() -> None:
    lock = "pytest==9.1.0 \\\n    --hash=sha256:00\nruff==0.17.6\n"
    assert disagreements({"pytest": "9.2.0", "ruff": "0.17.6"}, lock) == ["pytest==9.2.0 (lock: 9.1.0)"]
    assert unhashed(lock) == ["ruff==0.17.6"]


def test_setup_installs_every_lock_with_require_hashes() -> None:
    setup = (ROOT / "scripts" / "setup").read_text()
    tool_venv = (ROOT / "scripts" / "tool-venv").read_text()
    assert "--require-hashes --no-deps -r requirements.lock" in setup
    assert '--require-hashes --no-deps -r "$lock"' in tool_venv and "lock=requirements-tools/$name.lock" in tool_venv
    tools = re.findall(r"^scripts/tool-venv (\S+)$", setup, re.M)
    assert sorted(tools) == sorted(p.stem for p in (ROOT / "requirements-tools").glob("*.lock"))
    # each checker's pin (requirements-tools/NAME.in) is what its lock holds
    for name in tools:
        pins = lock_pins((ROOT / "requirements-tools" / f"{name}.in").read_text())
        assert disagreements(pins, (ROOT / "requirements-tools" / f"{name}.lock").read_text()) == []
