"""The one reader of a cdktf output folder (`cdktf.out`): stacks, their state blocks; for a guard, anything it
cannot read is a failure, never "nothing found". Standard library only (the PR comment runs on a bare Python).


A guard that globs `stacks/*/cdk.tf.json` and finds none, or skips a file it cannot parse, reports 0 findings:
a silent pass. `read_stacks` raises `UnreadableSynth` instead when the folder is missing, holds no stack, a
stack that `manifest.json` lists has no cdk.tf.json, or a cdk.tf.json is not a JSON object. Each guard's command
prints the reason and exits 2 (`main_guard`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


class UnreadableSynth(Exception):
    """The guard could not read its input: a failure, not a pass."""


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UnreadableSynth(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableSynth(f"{path}: not readable JSON ({error})") from None


def read_stacks(synth_dir: Path) -> dict[str, dict[str, Any]]:
    """Stack name -> its whole cdk.tf.json, for every stack of a cdktf output folder (and every one it lists)."""
    synth_dir = Path(synth_dir)
    if not synth_dir.is_dir():
        raise UnreadableSynth(f"{synth_dir}: no such folder (synth missing or failed)")
    names = {path.parent.name for path in synth_dir.glob("stacks/*/cdk.tf.json")}
    manifest = synth_dir / "manifest.json"
    if manifest.exists():
        listed = read_json(manifest).get("stacks", {})
        names |= set(listed)
    if not names:
        raise UnreadableSynth(f"{synth_dir}: no stacks/*/cdk.tf.json (synth missing or failed)")
    stacks = {}
    for name in sorted(names):
        stack = read_json(synth_dir / "stacks" / name / "cdk.tf.json")
        if not isinstance(stack, dict):
            raise UnreadableSynth(f"{synth_dir}/stacks/{name}/cdk.tf.json: not a JSON object")
        stacks[name] = stack
    return stacks


def main_guard(guard: Callable[[], int], name: str) -> int:
    """Run a guard's main body; an unreadable input prints why and exits 2."""
    try:
        return guard()
    except UnreadableSynth as error:
        print(f"{name}: could not read its input, failing: {error}", file=sys.stderr)
        return 2


def moved_blocks(stack: dict[str, Any]) -> dict[str, str]:
    """`from` → `to` of the stack's `moved` blocks (cdktf's move_from_id / move_to)."""
    return {block["from"]: block["to"] for block in stack.get("moved", [])}


def forgotten_addresses(stack: dict[str, Any]) -> set[str]:
    """The addresses of the stack's `removed` blocks with `lifecycle { destroy = false }`: Terraform forgets them
    (another stack imports them); a `removed` block without it destroys the object."""
    return {
        block["from"]
        for block in stack.get("removed", [])
        if isinstance(block.get("lifecycle"), dict) and block["lifecycle"].get("destroy") is False
    }


def imported_addresses(stack: dict[str, Any]) -> set[str]:
    """The `to` addresses of the stack's `import` blocks (cdktf's import_from)."""
    return {block["to"] for block in stack.get("import", [])}
