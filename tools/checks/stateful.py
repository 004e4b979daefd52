"""Address-stability guard: the Terraform addresses of stateful resources must not change silently.

A construct id is part of a Terraform address; renaming or moving a construct makes Terraform destroy the
resource at the old address and create an empty one at the new. For a database, a storage account, a vault,
a key or a cluster that is data loss, and nothing but a snapshot update stands in the way. So:

- `tests/stacks/stateful_addresses.json` is the committed list of the stateful addresses of every stack
  (the types in `STATEFUL_TYPES`, shared with the synth diff);
- `address_problems()` (run by tests/stacks/test_address_stability.py) fails when a listed address is gone
  from the synthesized JSON without a `moved` block from it to an address that exists (or a `removed` block with
  `destroy = false` while another stack imports a resource of its type: a hand-over between stacks), and when a new
  stateful address is not listed yet (review it, then regenerate the list);
- the synth diff (tools/review/synth_diff.py `flag_unmoved_renames`) reports a stateful resource renamed
  without a `moved` block as replaced, and drop the "looks like a rename" hint where the block is declared.

    python -m tools.checks.stateful cdktf.out            # check against the committed list
    python -m tools.checks.stateful cdktf.out --write    # rewrite the list after a reviewed, intended change

A `moved` block in cdktf: `new_resource.move_from_id("azurerm_postgresql_flexible_server.<old address>")`
(docs/development.md "Code checks").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tools.resource_catalogue import STATEFUL_TYPES
from tools.synth_output import forgotten_addresses, imported_addresses, main_guard, moved_blocks, read_stacks

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "tests" / "stacks" / "stateful_addresses.json"
StackJson = dict[str, Any]


def stateful_addresses(stack: StackJson) -> list[str]:
    """`type.name` of every resource of a stateful type in one synthesized stack, sorted."""
    return sorted(
        f"{kind}.{name}"
        for kind, by_name in stack.get("resource", {}).items()
        if kind in STATEFUL_TYPES
        for name in by_name
    )


def all_addresses(stack: StackJson) -> set[str]:
    return {f"{kind}.{name}" for kind, by_name in stack.get("resource", {}).items() for name in by_name}


def address_problems(committed: dict[str, list[str]], stacks: dict[str, StackJson]) -> list[str]:
    problems = []
    for stack_name in sorted(committed.keys() | stacks.keys()):
        stack = stacks.get(stack_name)
        if stack is None:
            problems.append(f"{stack_name}: stack is gone; its stateful resources would be destroyed with it")
            continue
        present, moves = all_addresses(stack), moved_blocks(stack)
        listed = set(committed.get(stack_name, []))
        for address in sorted(listed):
            if address in present:
                continue
            target = moves.get(address)
            if address in forgotten_addresses(stack):
                kind = address.split(".", 1)[0]
                if not any(a.startswith(f"{kind}.") for other in stacks.values() for a in imported_addresses(other)):
                    problems.append(
                        f"{stack_name}: {address} is forgotten (`removed`, destroy = false) but no stack imports a "
                        f"{kind}: nothing would manage it any more"
                    )
                continue
            if target is None:
                problems.append(
                    f"{stack_name}: {address} is gone without a `moved` block: Terraform would destroy it and "
                    "create an empty one (restore the construct id, or declare the move with move_from_id)"
                )
            elif target not in present:
                problems.append(f"{stack_name}: {address} moves to {target}, which does not exist")
        for address in sorted(set(stateful_addresses(stack)) - listed - set(moves.values())):
            problems.append(
                f"{stack_name}: new stateful address {address} is not in {COMMITTED.relative_to(ROOT)}: "
                "review it, then run `python -m tools.checks.stateful cdktf.out --write`"
            )
    return problems


def load_stacks(synth_dir: Path) -> dict[str, StackJson]:
    return read_stacks(synth_dir)  # raises UnreadableSynth: no stack is a failure, not "stable"


def committed_list(path: Path = COMMITTED) -> dict[str, list[str]]:
    return json.loads(path.read_text())


def current_list(stacks: dict[str, StackJson]) -> dict[str, list[str]]:
    return {name: stateful_addresses(stack) for name, stack in sorted(stacks.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synth_dir", type=Path, help="cdktf output folder (cdktf.out)")
    parser.add_argument("--write", action="store_true", help=f"rewrite {COMMITTED.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    return main_guard(lambda: _run(args.synth_dir, write=args.write), "address guard")


def _run(synth_dir: Path, *, write: bool) -> int:
    stacks = load_stacks(synth_dir)
    if write:
        COMMITTED.write_text(json.dumps(current_list(stacks), indent=2) + "\n")
        return 0
    problems = address_problems(committed_list(), stacks)
    sys.stdout.write("".join(f"{problem}\n" for problem in problems) or "stateful addresses: stable\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
