"""Summarise `terraform show -json <planfile>` output per stack, in the synth diff's markdown shape.

Counts of create / update / replace / delete per stack; replacements and deletions (stateful
resources first) are listed before anything else.

    python -m tools.plan_summary STACK=PLAN.json [STACK=PLAN.json ...] [--format markdown|text]
    python -m tools.plan_summary STACK=PLAN.json --format reduced > actions.json

`reduced` keeps only what the summary reads (addresses, types, actions, replace paths): CI passes that
between jobs instead of the whole plan, which holds prior state and attribute values.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.synth_diff import STATEFUL_TYPES

ACTION_KINDS = ("create", "update", "replace", "delete")


def action_kind(actions: list[str]) -> str | None:
    """Terraform's action list → one kind; None for no-op and read (nothing changes)."""
    if "delete" in actions and "create" in actions:
        return "replace"
    for kind in ("create", "update", "delete"):
        if actions == [kind]:
            return kind
    return None


@dataclass
class StackPlan:
    stack: str
    changes: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in ACTION_KINDS})
    replace_reasons: dict[str, list[str]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return len(self.changes[kind])


def summarise(stack: str, plan: dict[str, Any]) -> StackPlan:
    summary = StackPlan(stack)
    for change in plan.get("resource_changes", []):
        if change.get("mode") == "data":
            continue
        kind = action_kind(change["change"]["actions"])
        if kind is None:
            continue
        address = change["address"]
        summary.changes[kind].append(address)
        summary.types[address] = change["type"]
        if kind == "replace":
            paths = change["change"].get("replace_paths") or []
            summary.replace_reasons[address] = [".".join(str(part) for part in path) for path in paths]
    for addresses in summary.changes.values():
        addresses.sort()
    return summary


def reduce_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The part of a plan that `summarise` reads; no attribute values or state."""
    return {
        "resource_changes": [
            {
                "address": change["address"],
                "type": change["type"],
                "mode": change.get("mode"),
                "change": {
                    "actions": change["change"]["actions"],
                    "replace_paths": change["change"].get("replace_paths") or [],
                },
            }
            for change in plan.get("resource_changes", [])
        ]
    }


def warnings_of(summary: StackPlan) -> list[str]:
    """Replacements and deletions, stateful resource types first."""
    findings = []
    for kind in ("replace", "delete"):
        for address in summary.changes[kind]:
            reasons = summary.replace_reasons.get(address)
            because = f" (forced by {', '.join(f'`{r}`' for r in reasons)})" if reasons else ""
            stateful = summary.types[address] in STATEFUL_TYPES
            text = f"`{address}` is **{'replaced' if kind == 'replace' else 'deleted'}**{because}"
            findings.append((not stateful, ("stateful: " if stateful else "") + text))
    return [text for _, text in sorted(findings, key=lambda finding: finding[0])]


def render_markdown(summaries: list[StackPlan], title: str = "Terraform plan") -> str:
    lines = [f"### {title}", "", "| stack | create | update | replace | delete |", "|---|---|---|---|---|"]
    lines += [f"| `{s.stack}` | " + " | ".join(str(s.count(kind)) for kind in ACTION_KINDS) + " |" for s in summaries]
    lines.append("")
    for s in summaries:
        if not any(s.changes.values()):
            continue
        symbols = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}
        details = [f"{symbols[kind]} {address}" for kind in ACTION_KINDS for address in s.changes[kind]]
        lines += [f"#### `{s.stack}`", ""]
        lines += [f"- :warning: {warning}" for warning in warnings_of(s)]
        lines += [""] * bool(lines[-1]) + [
            "<details><summary>resources</summary>",
            "",
            "```diff",
            *details,
            "```",
            "</details>",
            "",
        ]
    return "\n".join(lines)


def render_text(summaries: list[StackPlan]) -> str:
    lines = []
    for s in summaries:
        lines.append(f"{s.stack}: " + " ".join(f"{kind} {s.count(kind)}" for kind in ACTION_KINDS))
        lines += [f"  ! {warning.replace('`', '').replace('**', '')}" for warning in warnings_of(s)]
    return "\n".join(lines) + "\n"


def parse_stack_plan(argument: str) -> tuple[str, Path]:
    stack, separator, path = argument.partition("=")
    if not separator or not stack or not path:
        raise argparse.ArgumentTypeError(f"{argument!r}: expected STACK=PLAN.json")
    return stack, Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "plans",
        nargs="+",
        type=parse_stack_plan,
        metavar="STACK=PLAN.json",
        help="output of `terraform show -json <planfile>` for a stack",
    )
    parser.add_argument("--format", choices=("markdown", "text", "reduced"), default="text")
    args = parser.parse_args(argv)
    if args.format == "reduced":
        if len(args.plans) != 1:
            parser.error("--format reduced takes exactly one STACK=PLAN.json")
        json.dump(reduce_plan(json.loads(args.plans[0][1].read_text())), sys.stdout, indent=1, sort_keys=True)
        return 0
    summaries = [summarise(stack, json.loads(path.read_text())) for stack, path in args.plans]
    sys.stdout.write(render_markdown(summaries) if args.format == "markdown" else render_text(summaries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
