"""What `python main.py` (scripts/synth) prints: one line per stack and the total time on success; one
clear error per rule violation, and exit code 1, when an Aspect or a validation rejects the app.

cdktf itself would stop at the first stack with an error annotation and raise a ~50-line traceback
that ends with advice to skip validation. Instead, `CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS` (set by
`prepare()` before the jsii kernel starts, as the cdktf CLI does) lets every stack synthesize and
record its annotations in `manifest.json`; this module reads them, prints every violation of every
stack, and deletes the output of the stacks that have one (so no one plans a configuration that
breaks a rule). Validation failures (`node.add_validation`, raised by `app.synth()`) are read from the
error's `[construct path] message` lines. Any other error is a bug and keeps its traceback.

Rule messages start with the rule id, the resource type and the quoted construct path
(`AZ-AKS-1 azurerm_kubernetes_cluster 'staging-infra/aks/cluster': ...`, constructs/aspects/).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

CONTINUE_ON_ERRORS = "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS"
ERROR_LEVEL = "@cdktf/error"  # cdktf's AnnotationMetadataEntryType.ERROR
RULE_MESSAGE = re.compile(
    r"(?P<rule>[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+) (?P<type>\w+) '(?P<path>[^']+)':? (?P<detail>.+)", re.S
)
VALIDATION_LINE = re.compile(r"^\s*\[(?P<path>[^\]]+)\] (?P<message>.+)$", re.M)
HOW_TO_FIX = (
    "Change the value named in each error (config/<environment>.toml or the construct at that path); "
    "the rules and their reasons are in constructs/aspects/."
)


def prepare() -> None:
    """Before the jsii kernel starts: every stack records its error annotations instead of raising."""
    os.environ.setdefault(CONTINUE_ON_ERRORS, "1")


@dataclass(frozen=True)
class Violation:
    stack: str
    path: str
    message: str

    def render(self) -> str:
        """One line: `error: [RULE] path (type): what is wrong and what the rule wants`."""
        match = RULE_MESSAGE.fullmatch(self.message.strip())
        if match:
            detail = " ".join(match["detail"].split())
            return f"error: [{match['rule']}] {match['path']} ({match['type']}): {detail}"
        return f"error: {self.path}: {' '.join(self.message.split())}"


def annotation_errors(outdir: Path) -> list[Violation]:
    """Error annotations of every stack, from the manifest cdktf writes."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    return [
        Violation(name, annotation["constructPath"], str(annotation["message"]))
        for name, stack in sorted(manifest["stacks"].items())
        for annotation in stack.get("annotations", [])
        if annotation.get("level") == ERROR_LEVEL
    ]


def validation_errors(message: str) -> list[Violation]:
    """`[construct path] message` lines of a cdktf validation error (stack or app level)."""
    if "validation failed" not in message.lower() and "Encountered Annotations" not in message:
        return []
    return [
        Violation(match["path"].split("/", 1)[0], match["path"], match["message"])
        for match in VALIDATION_LINE.finditer(message)
    ]


def resource_count(stack_json: dict[str, Any]) -> int:
    return sum(len(by_name) for by_name in stack_json.get("resource", {}).values())


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def stack_lines(outdir: Path) -> list[str]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    rows = []
    for name, stack in sorted(manifest["stacks"].items()):
        path = outdir / stack["synthesizedStackPath"]
        rows.append((name, resource_count(json.loads(path.read_text())), _shown(path)))
    width = max((len(name) for name, _, _ in rows), default=0)
    return [f"{name:<{width}}  {count:>4} resources  {path}" for name, count, path in rows]


def report_violations(violations: list[Violation], err: TextIO) -> None:
    for violation in violations:
        print(violation.render(), file=err)
    stacks = sorted({violation.stack for violation in violations})
    print(
        f"synth failed: {len(violations)} rule violation{'s' * (len(violations) != 1)} "
        f"in {', '.join(stacks)}. {HOW_TO_FIX}",
        file=err,
    )


def synth(app: Any, started: float, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Synthesize `app`; print the stacks or the violations; 0 on success, 1 on violations."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        app.synth()
    except RuntimeError as error:
        violations = validation_errors(str(error))
        if not violations:
            raise
        report_violations(violations, err)
        return 1
    outdir = Path(app.outdir)
    violations = annotation_errors(outdir)
    if violations:
        manifest = json.loads((outdir / "manifest.json").read_text())
        for stack in sorted({violation.stack for violation in violations}):
            (outdir / manifest["stacks"][stack]["synthesizedStackPath"]).unlink(missing_ok=True)
        report_violations(violations, err)
        return 1
    lines = stack_lines(outdir)
    for line in lines:
        print(line, file=out)
    print(f"synthesized {len(lines)} stacks into {_shown(outdir)} in {time.monotonic() - started:.1f} s", file=out)
    return 0
