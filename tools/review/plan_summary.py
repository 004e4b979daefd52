"""Summarise `terraform show -json <planfile>` output per stack, in the synth diff's markdown shape.

Counts per stack of every action Terraform plans: create / update / replace / delete, and the
state-only actions move (a `moved` block), import (an `import` block) and forget (a `removed` block
with `destroy = false`: the object leaves the state and stays in Azure), as Terraform counts them
(an imported or moved resource that also changes counts in both). Replacements, deletions and
forgets (stateful resources first) are listed before anything else; updates and replacements show
each changed attribute as old → new, with Terraform's sensitive values masked and unknown values
shown as "(known after apply)".

    python -m tools.review.plan_summary STACK=PLAN.json [STACK=PLAN.json ...] [--format markdown|text]
    python -m tools.review.plan_summary STACK=PLAN.json --format reduced > actions.json

`reduced` keeps only what the summary shows (addresses, types, actions, replace paths, previous
addresses, import ids and the masked changed values): CI passes that between jobs instead of the
whole plan, which holds prior state and every attribute value.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.review.synth_diff import MISSING, STATEFUL_TYPES, show_value
from tools.synth_output import UnreadableSynth, main_guard, read_json

ACTION_KINDS = ("create", "update", "replace", "delete", "move", "import", "forget")
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}
UNKNOWN = "(known after apply)"
MASK = "(sensitive)"


def action_kind(actions: list[str]) -> str | None:
    """Terraform's action list → one kind; None for no-op and read (nothing changes)."""
    if "delete" in actions and "create" in actions:
        return "replace"
    for kind in ("create", "update", "delete", "forget"):
        if actions == [kind]:
            return kind
    return None


def _child(structure: Any, key: str | int) -> Any:
    """The part of a before_sensitive / after_unknown structure under `key` (True covers everything below)."""
    if structure is True:
        return True
    if isinstance(structure, dict) and isinstance(key, str):
        return structure.get(key, False)
    if isinstance(structure, list) and isinstance(key, int) and key < len(structure):
        return structure[key]
    return False


def _sensitive_values(value: Any, sensitive: Any) -> set[str]:
    """The string values at sensitive positions (Terraform marks an attribute, not the copies of its value)."""
    if sensitive is True:
        if isinstance(value, (dict, list)):
            return _sensitive_values(
                value, {k: True for k in value} if isinstance(value, dict) else [True] * len(value)
            )
        return {str(value)} if value not in (None, "", MISSING) and not isinstance(value, bool) else set()
    if isinstance(value, dict):
        return set().union(*(_sensitive_values(item, _child(sensitive, key)) for key, item in value.items()))
    if isinstance(value, list):
        return set().union(*(_sensitive_values(item, _child(sensitive, index)) for index, item in enumerate(value)))
    return set()


def attribute_changes(change: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path, old, new) for every attribute an update or replace changes, values shown masked: Terraform's
    sensitive marks, attribute names that look secret, and any value that contains a sensitive one (a
    derived attribute such as terraform_data's `output` repeats its input unmarked)."""
    found: list[tuple[str, str, str]] = []
    secrets = _sensitive_values(change.get("before"), change.get("before_sensitive")) | _sensitive_values(
        change.get("after"), change.get("after_sensitive")
    )

    def show(value: Any, path: str) -> str:
        shown = show_value(value, path)
        full = json.dumps(value, sort_keys=True) if value is not MISSING else ""
        return MASK if any(secret in full for secret in secrets if len(secret) >= 4) else shown

    def walk(before: Any, after: Any, sensitive: Any, unknown: Any, path: str) -> None:
        if unknown is True:
            found.append((path, MASK if sensitive is True else show(before, path), UNKNOWN))
            return
        if sensitive is True:
            if before != after:
                found.append((path, MASK, MASK))
            return
        if isinstance(before, dict) and isinstance(after, dict):
            for key in sorted(before.keys() | after.keys()):
                child_path = f"{path}.{key}" if path else key
                walk(
                    before.get(key, MISSING),
                    after.get(key, MISSING),
                    _child(sensitive, key),
                    _child(unknown, key),
                    child_path,
                )
        elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
            for index, (old, new) in enumerate(zip(before, after, strict=True)):
                walk(old, new, _child(sensitive, index), _child(unknown, index), f"{path}[{index}]")
        elif isinstance(unknown, (dict, list)) and unknown and after in (None, MISSING):
            found.append((path, show(before, path), UNKNOWN))
        elif before != after:
            found.append((path, show(before, path), show(after, path)))

    sensitive = _merge_sensitive(change.get("before_sensitive"), change.get("after_sensitive"))
    walk(change.get("before") or {}, change.get("after") or {}, sensitive, change.get("after_unknown") or {}, "")
    return found


def _merge_sensitive(before: Any, after: Any) -> Any:
    """Sensitive on either side masks both sides."""
    if before is True or after is True:
        return True
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}
        return {key: _merge_sensitive(before.get(key), after.get(key)) for key in before.keys() | after.keys()}
    if isinstance(before, list) or isinstance(after, list):
        before, after = before if isinstance(before, list) else [], after if isinstance(after, list) else []
        length = max(len(before), len(after))
        return [_merge_sensitive(_child(before, i), _child(after, i)) for i in range(length)]
    return False


@dataclass
class StackPlan:
    stack: str
    changes: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in ACTION_KINDS})
    replace_reasons: dict[str, list[str]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    moved_from: dict[str, str] = field(default_factory=dict)
    import_ids: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # Objects changed outside Terraform (the refresh found them different from state): address -> kind, values.
    drift: dict[str, str] = field(default_factory=dict)
    drift_values: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # Root module outputs the apply changes: name -> (kind, old, new), values masked when sensitive.
    outputs: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return len(self.changes[kind])

    @property
    def empty(self) -> bool:
        return not any(self.changes.values()) and not self.drift and not self.outputs


def summarise(stack: str, plan: dict[str, Any]) -> StackPlan:
    """From a full plan (`terraform show -json`) or a reduced one (`reduce_plan`)."""
    summary = StackPlan(stack)
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "data":
            _add_resource_change(summary, change)
    for addresses in summary.changes.values():
        addresses.sort()
    for change in plan.get("resource_drift", []):
        _add_drift(summary, change)
    for name, body in sorted(plan.get("output_changes", {}).items()):
        kind = action_kind(body["actions"])
        if kind:
            old, new = output_values(body)
            summary.outputs[name] = (kind, old, new)
    return summary


def _changed_values(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    values = body["attribute_changes"] if "attribute_changes" in body else attribute_changes(body)
    return [tuple(item) for item in values]


def _add_resource_change(summary: StackPlan, change: dict[str, Any]) -> None:
    """One resource's change: its kind, and a move or an import riding on it."""
    address, body = change["address"], change["change"]
    kind = action_kind(body["actions"])
    kinds = [kind] if kind else []
    if change.get("previous_address") and change["previous_address"] != address:
        kinds.append("move")
        summary.moved_from[address] = change["previous_address"]
    if body.get("importing") is not None:
        kinds.append("import")
        summary.import_ids[address] = str(body["importing"].get("id", ""))
    if not kinds:
        return
    summary.types[address] = change["type"]
    for each in kinds:
        summary.changes[each].append(address)
    if kind == "replace":
        paths = body.get("replace_paths") or []
        summary.replace_reasons[address] = [".".join(str(part) for part in path) for path in paths]
    if kind in ("update", "replace"):
        summary.values[address] = _changed_values(body)


def _add_drift(summary: StackPlan, change: dict[str, Any]) -> None:
    body = change["change"]
    summary.drift[change["address"]] = "delete" if body["actions"] == ["delete"] else "update"
    summary.types.setdefault(change["address"], change["type"])
    summary.drift_values[change["address"]] = _changed_values(body)


def output_values(change: dict[str, Any]) -> tuple[str, str]:
    """(old, new) of an output change (full or reduced plan), masked when either side is sensitive."""
    if "shown" in change:
        old, new = change["shown"]
        return str(old), str(new)
    masked = bool(change.get("before_sensitive")) or bool(change.get("after_sensitive"))
    created = change["actions"] == ["create"]
    deleted = change["actions"] == ["delete"]
    old = "(none)" if created else MASK if masked else show_value(change.get("before"))
    if change.get("after_unknown") is True:
        new = UNKNOWN
    else:
        new = "(none)" if deleted else MASK if masked else show_value(change.get("after"))
    return old, new


def reduce_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The part of a plan that `summarise` shows: no prior state, only changed values, masked."""
    reduced = []
    for change in plan.get("resource_changes", []):
        body = change["change"]
        entry: dict[str, Any] = {
            "address": change["address"],
            "type": change["type"],
            "mode": change.get("mode"),
            "change": {"actions": body["actions"], "replace_paths": body.get("replace_paths") or []},
        }
        if change.get("previous_address"):
            entry["previous_address"] = change["previous_address"]
        if body.get("importing") is not None:
            entry["change"]["importing"] = {"id": body["importing"].get("id")}
        if action_kind(body["actions"]) in ("update", "replace"):
            entry["change"]["attribute_changes"] = [list(item) for item in attribute_changes(body)]
        reduced.append(entry)
    drift = [
        {
            "address": change["address"],
            "type": change["type"],
            "change": {
                "actions": change["change"]["actions"],
                "attribute_changes": attribute_changes(change["change"]),
            },
        }
        for change in plan.get("resource_drift", [])
    ]
    outputs = {
        name: {"actions": body["actions"], "shown": list(output_values(body))}
        for name, body in plan.get("output_changes", {}).items()
        if action_kind(body["actions"])
    }
    return {
        "format_version": plan.get("format_version", "reduced"),
        "resource_changes": reduced,
        "resource_drift": drift,
        "output_changes": outputs,
    }


def warnings_of(summary: StackPlan) -> list[str]:
    """Replacements, deletions and forgets, stateful resource types first."""
    findings = []
    for kind in ("replace", "delete", "forget"):
        for address in summary.changes[kind]:
            reasons = summary.replace_reasons.get(address)
            because = f" (forced by {', '.join(f'`{r}`' for r in reasons)})" if reasons else ""
            stateful = summary.types[address] in STATEFUL_TYPES
            verb = {"replace": "replaced", "delete": "deleted", "forget": "forgotten"}[kind]
            text = f"`{address}` is **{verb}**{because}"
            if kind == "forget":
                text += " (leaves Terraform's state; the object stays and is no longer managed)"
            findings.append((not stateful, ("stateful: " if stateful else "") + text))
    for address, kind in summary.drift.items():
        stateful = summary.types[address] in STATEFUL_TYPES
        verb = "deleted" if kind == "delete" else "changed"
        text = f"`{address}` was **{verb} outside Terraform** (this plan sets it back to the code)"
        findings.append((not stateful, ("stateful: " if stateful else "") + text))
    return [text for _, text in sorted(findings, key=lambda finding: finding[0])]


def detail_lines(summary: StackPlan) -> list[str]:
    lines = []
    for kind in ("create", "update", "replace", "delete"):
        for address in summary.changes[kind]:
            lines.append(f"{SYMBOLS[kind]} {address}")
            lines += [f"    {path}: {old} → {new}" for path, old, new in summary.values.get(address, [])]
    lines += [f"# moved: {summary.moved_from[address]} → {address}" for address in summary.changes["move"]]
    lines += [
        f"# import: {address} (id {json.dumps(summary.import_ids[address])})" for address in summary.changes["import"]
    ]
    lines += [f"# forget: {address} (removed block, destroy = false)" for address in summary.changes["forget"]]
    for address, kind in summary.drift.items():
        lines.append(f"# changed outside Terraform ({kind}): {address}")
        lines += [f"#     {path}: {old} → {new}" for path, old, new in summary.drift_values.get(address, [])]
    lines += [f"# output {name} ({kind}): {old} → {new}" for name, (kind, old, new) in summary.outputs.items()]
    return lines


def render_markdown(summaries: list[StackPlan], title: str = "Terraform plan") -> str:
    lines = [
        f"### {title}",
        "",
        "| stack | " + " | ".join(ACTION_KINDS) + " |",
        "|---|" + "---|" * len(ACTION_KINDS),
    ]
    lines += [f"| `{s.stack}` | " + " | ".join(str(s.count(kind)) for kind in ACTION_KINDS) + " |" for s in summaries]
    lines.append("")
    for s in summaries:
        if s.empty:
            continue
        lines += [f"#### `{s.stack}`", ""]
        lines += [f"- :warning: {warning}" for warning in warnings_of(s)]
        lines += [""] * bool(lines[-1]) + [
            "<details><summary>resources</summary>",
            "",
            "```diff",
            *detail_lines(s),
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
        lines += [f"  {line}" for line in detail_lines(s)]
    return "\n".join(lines) + "\n"


def read_plan(path: Path) -> dict[str, Any]:
    """`terraform show -json` output; anything else (empty, truncated, an errored plan) cannot be summarised."""
    plan = read_json(path)
    if not isinstance(plan, dict) or "format_version" not in plan:
        raise UnreadableSynth(f"{path}: not the output of `terraform show -json <planfile>`")
    if plan.get("errored"):
        raise UnreadableSynth(f"{path}: Terraform marks this plan as errored (incomplete)")
    return plan


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
    if args.format == "reduced" and len(args.plans) != 1:
        parser.error("--format reduced takes exactly one STACK=PLAN.json")

    def run() -> int:
        plans = [(stack, read_plan(path)) for stack, path in args.plans]
        if args.format == "reduced":
            json.dump(reduce_plan(plans[0][1]), sys.stdout, indent=1, sort_keys=True)
            return 0
        summaries = [summarise(stack, plan) for stack, plan in plans]
        sys.stdout.write(render_markdown(summaries) if args.format == "markdown" else render_text(summaries))
        return 0

    return main_guard(run, "plan summary")


if __name__ == "__main__":
    raise SystemExit(main())
