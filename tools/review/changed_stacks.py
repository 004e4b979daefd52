"""Which stacks to plan and apply: those whose synthesized JSON differs between two synth outputs, and every
stack that depends on one of them (deploy and the pull request's plans skip the rest).

cdktf's `//` metadata (construct paths, versions) is ignored: it is not infrastructure. A stack present
only in HEAD counts as changed; a missing or empty BASE folder makes every stack changed (nothing to
compare with). Stacks only in BASE are not listed: deleting a stack is an operator action.

Dependents come from HEAD's `manifest.json` (cdktf records `<env>-cluster` -> `<env>-infra` from the
cross-stack references): a change to the infra stack's outputs (AKS host, CA) must reach the cluster stack
even when the cluster stack's own JSON is unchanged. A HEAD without a readable manifest fails (exit 2):
without it the dependents are unknown.

The alerting stacks (`<env>-alerting`) are listed, and deployed, but never planned on a pull request
(`NOT_PLANNED_ON_PULL_REQUESTS`): the printed line and the PR comment say so and why.

    python -m tools.review.changed_stacks BASE_DIR HEAD_DIR [--github-output FILE]
      writes `stacks=<JSON list>` (changed and dependents) and `matrix=<JSON list of {stack, environment}>`
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tools.review.synth_diff import strip_metadata
from tools.synth_output import UnreadableSynth, main_guard, read_json

# Stack kind -> why a pull request does not plan it (docs/security-model.md "Alert webhook addresses").
NOT_PLANNED_ON_PULL_REQUESTS = {
    "alerting": "not planned on pull requests: its state holds the alert webhook addresses, which only the apply "
    "identity reads; review its synth diff here, its plan in the `<env>` deploy job before approving the apply",
}


def not_planned_on_pull_requests(stack: str) -> str | None:
    """Why a pull request does not plan `stack`; None when it does."""
    return NOT_PLANNED_ON_PULL_REQUESTS.get(stack.rpartition("-")[2]) if environment_of(stack) else None


def _stack_json(synth_dir: Path) -> dict[str, Any]:
    return {
        path.parent.name: strip_metadata(json.loads(path.read_text()))
        for path in sorted(Path(synth_dir).glob("stacks/*/cdk.tf.json"))
    }


def dependencies(synth_dir: Path) -> dict[str, list[str]]:
    """Stack -> the stacks it depends on, from the synth output's manifest.json."""
    manifest = read_json(Path(synth_dir) / "manifest.json")
    stacks = manifest.get("stacks") if isinstance(manifest, dict) else None
    if not isinstance(stacks, dict):
        raise UnreadableSynth(f"{synth_dir}/manifest.json: no `stacks` mapping")
    return {name: list(body.get("dependencies", [])) for name, body in stacks.items()}


def with_dependents(changed: list[str], depends_on: dict[str, list[str]]) -> dict[str, str]:
    """Changed stacks and, transitively, every stack depending on one: stack -> why it is listed."""
    reasons = {stack: "changed" for stack in changed}
    grew = True
    while grew:
        grew = False
        for stack, needs in sorted(depends_on.items()):
            upstream = [need for need in needs if need in reasons]
            if stack not in reasons and upstream:
                reasons[stack] = f"depends on {', '.join(upstream)}"
                grew = True
    return reasons


def changed_stacks(base: Path, head: Path, depends_on: dict[str, list[str]] | None = None) -> list[str]:
    """Stacks whose JSON changed, with their dependents when `depends_on` is given; in HEAD's (name) order."""
    before, after = _stack_json(base), _stack_json(head)
    changed = [stack for stack, body in after.items() if before.get(stack) != body]
    if depends_on is None:
        return changed
    listed = with_dependents(changed, depends_on)
    return [stack for stack in after if stack in listed]


def environment_of(stack: str) -> str | None:
    """`<env>-alerting` / `<env>-infra` / `<env>-cluster` -> env; the bootstrap stack (operator-applied) has none."""
    head, separator, _ = stack.rpartition("-")
    return head if separator else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="synth output of the previous commit (may be missing)")
    parser.add_argument("head", type=Path, help="synth output of this commit")
    parser.add_argument("--github-output", type=Path, help="append `stacks=<JSON list>` to this file")
    args = parser.parse_args(argv)
    if not any(args.head.glob("stacks/*/cdk.tf.json")):
        parser.error(f"{args.head}: no stacks/*/cdk.tf.json (run scripts/synth first)")
    return main_guard(lambda: _run(args.base, args.head, args.github_output), "changed stacks")


def _run(base: Path, head: Path, github_output: Path | None) -> int:
    depends_on = dependencies(head)
    before, after = _stack_json(base), _stack_json(head)
    reasons = with_dependents([stack for stack, body in after.items() if before.get(stack) != body], depends_on)
    stacks = [stack for stack in after if stack in reasons]
    print("changed stacks: " + (", ".join(f"{stack} ({reasons[stack]})" for stack in stacks) or "none"))
    for stack in stacks:
        if why := not_planned_on_pull_requests(stack):
            print(f"{stack}: {why}")
    if github_output:
        matrix = [{"stack": s, "environment": environment_of(s)} for s in stacks if environment_of(s)]
        with github_output.open("a") as output:
            output.write(f"stacks={json.dumps(stacks)}\n")
            output.write(f"matrix={json.dumps(matrix)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
