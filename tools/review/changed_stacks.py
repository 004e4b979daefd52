"""Which stacks' synthesized JSON differs between two synth outputs (deploy: skip unchanged stacks).

cdktf's `//` metadata (construct paths, versions) is ignored: it is not infrastructure. A stack present
only in HEAD counts as changed; a missing or empty BASE folder makes every stack changed (nothing to
compare with). Stacks only in BASE are not listed: deleting a stack is an operator action.

    python -m tools.review.changed_stacks BASE_DIR HEAD_DIR [--github-output FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tools.review.synth_diff import strip_metadata


def _stack_json(synth_dir: Path) -> dict[str, Any]:
    return {
        path.parent.name: strip_metadata(json.loads(path.read_text()))
        for path in sorted(Path(synth_dir).glob("stacks/*/cdk.tf.json"))
    }


def changed_stacks(base: Path, head: Path) -> list[str]:
    before, after = _stack_json(base), _stack_json(head)
    return [stack for stack, body in after.items() if before.get(stack) != body]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="synth output of the previous commit (may be missing)")
    parser.add_argument("head", type=Path, help="synth output of this commit")
    parser.add_argument("--github-output", type=Path, help="append `stacks=<JSON list>` to this file")
    args = parser.parse_args(argv)
    if not any(args.head.glob("stacks/*/cdk.tf.json")):
        parser.error(f"{args.head}: no stacks/*/cdk.tf.json (run scripts/synth first)")
    stacks = changed_stacks(args.base, args.head)
    print("changed stacks: " + (", ".join(stacks) or "none"))
    if args.github_output:
        with args.github_output.open("a") as output:
            output.write(f"stacks={json.dumps(stacks)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
