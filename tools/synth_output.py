"""The one reader of a cdktf output folder (`cdktf.out`): stacks, their state blocks, their dependencies.

Standard library only: the pull-request comment runs on a bare runner Python. A folder without stacks is an
error, never an empty (and so "clean") result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

StackJson = dict[str, Any]


class SynthOutputError(Exception):
    """The folder is not a cdktf output: no manifest or no stack."""


def stack_files(synth_dir: Path) -> dict[str, Path]:
    """Stack name → its cdk.tf.json, sorted by name; raises SynthOutputError when there is none."""
    files = {path.parent.name: path for path in sorted(Path(synth_dir).glob("stacks/*/cdk.tf.json"))}
    if not files:
        raise SynthOutputError(f"{synth_dir}: no stacks/*/cdk.tf.json (run scripts/synth first)")
    return files


def read_stacks(synth_dir: Path) -> dict[str, StackJson]:
    """Stack name → its whole cdk.tf.json, for every stack of a cdktf output folder."""
    return {name: json.loads(path.read_text()) for name, path in stack_files(synth_dir).items()}


def moved_blocks(stack: StackJson) -> dict[str, str]:
    """`from` → `to` of the stack's `moved` blocks (cdktf's move_from_id / move_to)."""
    return {block["from"]: block["to"] for block in stack.get("moved", [])}
