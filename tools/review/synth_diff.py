"""Offline diff of two synth outputs (e.g. the pull request's cdktf.out/ and main's).

Per stack, first the changes that act on state rather than on one resource, as warnings: the backend
(a renamed state container or key starts from another state file), required provider versions and
provider configuration, and new `moved` / `import` / `removed` blocks. Then resources added, removed
and changed (each changed attribute with its old → new value; values of sensitive-looking attributes
masked), changes that force Azure to replace a resource (from a small table of well-known immutable
arguments), and likely renames (a resource removed and an identical one added under another
address), which should get a `moved` block instead of a destroy/create.

    python -m tools.review.synth_diff BASE_DIR HEAD_DIR [--format markdown|text]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.resource_catalogue import FORCE_NEW, STATEFUL_TYPES
from tools.synth_output import main_guard, moved_blocks, read_stacks

StackResources = dict[str, dict[str, Any]]

# Attribute names whose values are secrets or secret-bearing URLs: shown as "(sensitive)" in the diff.
SENSITIVE_NAME = re.compile(
    r"(password|secret|token|private_key|access_key|connection_string|sas_|_sas|service_uri|webhook|"
    r"certificate_data|client_key|^value$|^content$)",
    re.IGNORECASE,
)
MASK = "(sensitive)"
MAX_VALUE = 80  # characters of one value shown in the diff
STATE_BLOCKS = ("moved", "import", "removed")


def strip_metadata(value: Any) -> Any:
    """The value without cdktf's `//` metadata keys (construct paths and ids are not infrastructure)."""
    if isinstance(value, dict):
        return {key: strip_metadata(item) for key, item in value.items() if key != "//"}
    if isinstance(value, list):
        return [strip_metadata(item) for item in value]
    return value


def stack_resources(stack_json: dict[str, Any]) -> StackResources:
    """Terraform address → body (metadata stripped) for every resource and data source of a stack."""
    addresses: StackResources = {}
    for resource_type, by_name in stack_json.get("resource", {}).items():
        for name, body in by_name.items():
            addresses[f"{resource_type}.{name}"] = strip_metadata(body)
    for data_type, by_name in stack_json.get("data", {}).items():
        for name, body in by_name.items():
            addresses[f"data.{data_type}.{name}"] = strip_metadata(body)
    return addresses


def load_stacks(synth_dir: Path) -> dict[str, dict[str, Any]]:
    """Stack name → its whole cdk.tf.json (metadata stripped), for every stack of a cdktf output folder."""
    return {name: strip_metadata(stack) for name, stack in read_stacks(synth_dir).items()}


def is_sensitive(path: str) -> bool:
    return any(SENSITIVE_NAME.search(part) for part in re.split(r"[.\[\]]+", path) if part and not part.isdigit())


def show_value(value: Any, path: str = "") -> str:
    """A value as one short line: JSON, truncated; masked when its attribute name looks sensitive."""
    if value is MISSING:
        return "(absent)"
    if is_sensitive(path):
        return MASK
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _block_text(block: dict[str, Any]) -> str:
    return ", ".join(f"{key} = {show_value(value, key)}" for key, value in sorted(block.items()))


def settings_warnings(base: dict[str, Any] | None, head: dict[str, Any] | None) -> list[str]:
    """Changes that act on a stack's state or providers rather than on one resource (markdown)."""
    if base is None or head is None:
        return []
    findings = []
    before_tf, after_tf = base.get("terraform", {}), head.get("terraform", {})
    for path, old, new in differences(before_tf.get("backend", {}), after_tf.get("backend", {})):
        findings.append(
            f"**backend** `{path}`: {show_value(old, path)} → {show_value(new, path)} "
            "(Terraform reads another state: migrate it with `terraform init -migrate-state`, "
            "or everything is created again)"
        )
    old_providers, new_providers = before_tf.get("required_providers", {}), after_tf.get("required_providers", {})
    for path, old, new in differences(old_providers, new_providers):
        findings.append(f"**provider** `{path}`: {show_value(old, path)} → {show_value(new, path)}")
    if before_tf.get("required_version") != after_tf.get("required_version"):
        findings.append(
            f"**terraform** `required_version`: {show_value(before_tf.get('required_version', MISSING))} → "
            f"{show_value(after_tf.get('required_version', MISSING))}"
        )
    for path, old, new in differences(base.get("provider", {}), head.get("provider", {})):
        findings.append(f"**provider configuration** `{path}`: {show_value(old, path)} → {show_value(new, path)}")
    for kind in STATE_BLOCKS:
        old_blocks = base.get(kind, [])
        for block in head.get(kind, []):
            if block not in old_blocks:
                note = ""
                if kind == "removed":
                    destroy = block.get("lifecycle", {}).get("destroy", True)
                    note = " (destroyed)" if destroy else " (forgotten: leaves Terraform's state, stays in Azure)"
                findings.append(f"**`{kind}` block**: {_block_text(block)}{note}")
    return findings


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()  # the side of a difference where a key does not exist


def differences(before: Any, after: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(dotted path, before, after) where two JSON values differ (list items as `[i]`, a whole list when its
    length changes); a side without the key gives `MISSING`."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys()):
            child = f"{prefix}.{key}" if prefix else key
            yield from differences(before.get(key, MISSING), after.get(key, MISSING), child)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from differences(old, new, f"{prefix}[{index}]")
    elif before != after:
        yield prefix, before, after


def changed_paths(before: Any, after: Any) -> list[str]:
    return [path for path, _, _ in differences(before, after)]


def resource_type_of(address: str) -> str:
    parts = address.split(".")
    return parts[1] if parts[0] == "data" else parts[0]


def forcing_replacement(address: str, paths: list[str]) -> list[str]:
    """The changed paths that are ForceNew arguments of the resource's type (never for data sources)."""
    if address.startswith("data."):
        return []
    resource_type = resource_type_of(address)
    provider_wide = FORCE_NEW.get("*" + resource_type.split("_", 1)[0], frozenset())
    immutable = provider_wide | FORCE_NEW.get(resource_type, frozenset())
    return [path for path in paths if _argument_of(path) in immutable or _top_level(path) in immutable]


def _argument_of(path: str) -> str:
    return re.sub(r"\[\d+\]", "", path)


def _top_level(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


@dataclass
class StackDiff:
    stack: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    replaced: dict[str, list[str]] = field(default_factory=dict)
    moved: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)
    settings: list[str] = field(default_factory=list)
    stack_added: bool = False
    stack_removed: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.moved or self.settings)


def diff_stack(stack: str, base: StackResources, head: StackResources) -> StackDiff:
    result = StackDiff(stack)
    removed = sorted(base.keys() - head.keys())
    added = sorted(head.keys() - base.keys())
    # A removed resource with an identical body under a new address of the same type is a rename.
    for old in list(removed):
        match = next(
            (new for new in added if resource_type_of(new) == resource_type_of(old) and head[new] == base[old]),
            None,
        )
        if match is not None:
            result.moved.append((old, match))
            removed.remove(old)
            added.remove(match)
    result.added, result.removed = added, removed
    # References to a moved resource change text only: compare them as if the base already used the new address.
    renamed = base
    if result.moved:
        text = json.dumps(base)
        for old, new in result.moved:
            text = text.replace("${" + old + ".", "${" + new + ".")
        renamed = json.loads(text)
    for address in sorted(base.keys() & head.keys()):
        changes = list(differences(renamed[address], head[address]))
        paths = [path for path, _, _ in changes]
        if paths:
            result.changed[address] = paths
            result.values[address] = changes
            forced = forcing_replacement(address, paths)
            if forced:
                result.replaced[address] = forced
    return result


def diff_synth(
    base: dict[str, StackResources],
    head: dict[str, StackResources],
    base_stacks: dict[str, dict[str, Any]] | None = None,
    head_stacks: dict[str, dict[str, Any]] | None = None,
) -> list[StackDiff]:
    """Per-stack diffs; with the whole stacks (`load_stacks`) also the backend/provider/block warnings."""
    diffs = []
    for stack in sorted(base.keys() | head.keys()):
        stack_diff = diff_stack(stack, base.get(stack, {}), head.get(stack, {}))
        stack_diff.stack_added, stack_diff.stack_removed = stack not in base, stack not in head
        stack_diff.settings = settings_warnings((base_stacks or {}).get(stack), (head_stacks or {}).get(stack))
        diffs.append(stack_diff)
    return diffs


def flag_unmoved_renames(diffs: list[StackDiff], head_dir: Path) -> None:
    """Adjust the synth diff with the head's declared `moved` blocks.

    A stateful resource that looks renamed (same body, new address) without a `moved` block is a replacement:
    it is reported as replaced. A rename that has its `moved` block is listed as a change, not as a hint.
    """
    head = read_stacks(head_dir)
    for stack_diff in diffs:
        moves = moved_blocks(head.get(stack_diff.stack, {}))
        kept = []
        for old, new in stack_diff.moved:
            if moves.get(old) == new:  # declared: Terraform moves it in state; listed, not hinted
                stack_diff.changed[new] = [f"moved from {old} (moved block)"]
                continue
            if old.split(".")[0] in STATEFUL_TYPES:
                stack_diff.replaced[new] = [f"renamed from {old} without a moved block"]
            kept.append((old, new))
        stack_diff.moved = kept


def diff_dirs(base_dir: Path, head_dir: Path) -> list[StackDiff]:
    """diff_synth of two cdktf output folders (with the backend/provider/block warnings), the head's `moved`
    blocks applied."""
    base, head = load_stacks(base_dir), load_stacks(head_dir)
    diffs = diff_synth(
        {stack: stack_resources(body) for stack, body in base.items()},
        {stack: stack_resources(body) for stack, body in head.items()},
        base,
        head,
    )
    flag_unmoved_renames(diffs, head_dir)
    return diffs


def value_lines(stack_diff: StackDiff, address: str) -> list[str]:
    return [
        f"    {path}: {show_value(old, path)} → {show_value(new, path)}"
        for path, old, new in stack_diff.values.get(address, [])
    ]


def _is_stateful(address: str) -> bool:
    return not address.startswith("data.") and resource_type_of(address) in STATEFUL_TYPES


def warnings_of(stack_diff: StackDiff) -> list[str]:
    """Destructive findings, stateful resources first: what a reviewer must read before anything else."""
    findings = [
        (not _is_stateful(address), f"`{address}` is **replaced** (ForceNew: {', '.join(f'`{p}`' for p in paths)})")
        for address, paths in stack_diff.replaced.items()
    ] + [(not _is_stateful(address), f"`{address}` is **deleted**") for address in stack_diff.removed]
    return [
        ("stateful: " if not non_stateful else "") + text
        for non_stateful, text in sorted(findings, key=lambda finding: finding[0])
    ]


def render_markdown(diffs: list[StackDiff], title: str = "Synth diff (offline)") -> str:
    lines = [f"### {title}", ""]
    if all(stack_diff.empty for stack_diff in diffs):
        return "\n".join([*lines, "No resource changes in any stack.", ""])
    # State-level changes first, for every stack: they are the most dangerous and the easiest to miss.
    lines += [f"- :rotating_light: `{d.stack}`: {warning}" for d in diffs for warning in d.settings]
    lines += [""] * bool(lines[-1])
    lines += ["| stack | added | removed | changed | replaced | moved |", "|---|---|---|---|---|---|"]
    for d in diffs:
        note = " (new stack)" if d.stack_added else " (stack removed)" if d.stack_removed else ""
        lines.append(
            f"| `{d.stack}`{note} | {len(d.added)} | {len(d.removed)} | {len(d.changed)} "
            f"| {len(d.replaced)} | {len(d.moved)} |"
        )
    lines.append("")
    for d in diffs:
        if d.empty:
            continue
        lines += [f"#### `{d.stack}`", ""]
        lines += [f"- :warning: {warning}" for warning in warnings_of(d)]
        lines += [
            f"- :recycle: `{old}` → `{new}` looks like a rename: add `moved {{ from = {old}, to = {new} }}` "
            f'(cdktf: `.move_from_id("{old}")` on the new resource) to keep it'
            for old, new in d.moved
        ]
        details = [f"+ {address}" for address in d.added] + [f"- {address}" for address in d.removed]
        for address in d.changed:
            details += [f"~ {address}", *value_lines(d, address)]
        if details:
            lines += [""] * bool(lines[-1]) + [
                "<details><summary>resources</summary>",
                "",
                "```diff",
                *details,
                "```",
                "</details>",
            ]
        lines.append("")
    return "\n".join(lines)


def render_text(diffs: list[StackDiff]) -> str:
    lines = [f"! {d.stack}: {re.sub(r'[`*]', '', warning)}" for d in diffs for warning in d.settings]
    for d in diffs:
        lines.append(
            f"{d.stack}: +{len(d.added)} -{len(d.removed)} ~{len(d.changed)} "
            f"replace {len(d.replaced)} moved {len(d.moved)}"
        )
        lines += [f"  ! {re.sub(r'[`*]', '', warning)}" for warning in warnings_of(d)]
        lines += [f"  > {old} -> {new} (likely rename: add a moved block)" for old, new in d.moved]
        lines += [f"  + {address}" for address in d.added]
        lines += [f"  - {address}" for address in d.removed]
        for address in d.changed:
            lines += [f"  ~ {address}", *(f"  {line}" for line in value_lines(d, address))]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="synth output before the change (e.g. main's cdktf.out)")
    parser.add_argument("head", type=Path, help="synth output after the change (e.g. the PR's cdktf.out)")
    parser.add_argument("--format", choices=("markdown", "text"), default="text")
    args = parser.parse_args(argv)

    def run() -> int:
        diffs = diff_dirs(args.base, args.head)  # an unreadable base or head fails (exit 2), never diffs as empty
        sys.stdout.write(render_markdown(diffs) if args.format == "markdown" else render_text(diffs))
        return 0

    return main_guard(run, "synth diff")


if __name__ == "__main__":
    raise SystemExit(main())
