"""Run checkov on every synthesized stack; fail on a failed check AND on anything checkov could not evaluate.

Usage: python -m tools.checks.checkov_gate [SYNTH_DIR]   (default: cdktf.out; exit 1 on any problem below)

checkov 3.3's terraform_json parser rejects a whole file that holds a `moved` block (the infra stacks
declare them for renamed constructs) and then reports `parsing_errors: 1` with 0 passed / 0 failed: a
silent pass. So the gate scans a *copy* of each stack with the top-level blocks checkov cannot parse
(`moved`, `import`, `removed`: they relate addresses in state and carry no resource settings) stripped,
and fails a stack when

- checkov failed a check,
- checkov reports a parse error, gave no JSON report, or the stack's cdk.tf.json is missing/unreadable,
- nothing in the stack was evaluated (0 passed + 0 failed), or
- a resource of a type checkov evaluates elsewhere in the run was not evaluated here (a partial parse).

checkov pins packages that clash with the test dependencies, so it runs from its own tool venv
(.cache/tools/checkov, created by scripts/setup via scripts/tool-venv). It runs offline: no API key,
no policy download, and BC_SKIP_MAPPING stops it calling the vendor's mapping API. Suppressions live
in one reviewed file, .checkov.yaml, each with its reason.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.synth_output import UnreadableSynth, read_stacks

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHECKOV = PROJECT_ROOT / ".cache" / "tools" / "checkov" / "bin" / "checkov"
CONFIG_FILE = PROJECT_ROOT / ".checkov.yaml"

# Top-level Terraform JSON blocks checkov's terraform_json parser cannot read; none holds resource settings.
UNPARSEABLE_BLOCKS = ("moved", "import", "removed")


@dataclass(frozen=True)
class Failure:
    check_id: str
    resource: str
    name: str


@dataclass(frozen=True)
class StackResult:
    stack: str
    passed: int
    failed: int
    skipped: int
    failures: tuple[Failure, ...] = field(default=())
    resources: int = 0  # resources in the stack
    evaluated: frozenset[str] = frozenset()  # resource names checkov ran at least one check on
    stripped: tuple[str, ...] = ()  # blocks removed from the scanned copy, e.g. "moved (12)"
    errors: tuple[str, ...] = ()  # could not evaluate: parse error, no report, missing input, nothing evaluated

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errors


def scannable_copy(stack_json: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The stack without the blocks checkov cannot parse, and what was stripped."""
    stripped = tuple(f"{key} ({len(stack_json[key])})" for key in UNPARSEABLE_BLOCKS if key in stack_json)
    return {key: value for key, value in stack_json.items() if key not in UNPARSEABLE_BLOCKS}, stripped


def run_checkov(stack_file: Path) -> dict[str, Any]:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    env.pop("BC_API_KEY", None)
    command = [str(CHECKOV), "--config-file", str(CONFIG_FILE), "--framework", "terraform_json"]
    command += ["--file", str(stack_file), "--skip-download", "--compact", "--output", "json", "--soft-fail"]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=600)
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(
            f"checkov gave no JSON report (exit {completed.returncode}): {completed.stderr[-500:]}"
        ) from None
    # A file without any checkable resource yields a bare summary instead of a report.
    report = report[0] if isinstance(report, list) else report
    if not isinstance(report, dict):
        raise RuntimeError(f"checkov gave an unexpected report: {str(report)[:200]}")
    return report


@functools.cache
def types_with_checks() -> frozenset[str]:
    """The resource types checkov has at least one Terraform check for (`checkov --list`, its own registry)."""
    completed = subprocess.run(
        [str(CHECKOV), "--list", "--framework", "terraform"], capture_output=True, text=True, timeout=300
    )
    types = frozenset(
        cells[4].strip()
        for line in completed.stdout.splitlines()
        if len(cells := line.split("|")) > 5 and cells[3].strip() == "resource"
    )
    if completed.returncode != 0 or not types:
        raise RuntimeError(
            f"checkov --list gave no check list (exit {completed.returncode}): {completed.stderr[-300:]}"
        )
    return types


def _stack_resources(stack_json: dict[str, Any]) -> dict[str, str]:
    """Resource name -> type (checkov's terraform_json names a resource `resource.<name>`)."""
    return {name: type_ for type_, items in stack_json.get("resource", {}).items() for name in items}


def resource_name(checkov_resource: str) -> str:
    """checkov names a resource `resource.<name>` (resource checks) or `<type>.<name>` (graph checks)."""
    return checkov_resource.split(".", 1)[-1]


def check_stack(stack_dir: Path) -> StackResult:
    stack_file = stack_dir / "cdk.tf.json"
    try:
        stack_json = json.loads(stack_file.read_text())
    except (OSError, ValueError) as error:
        return StackResult(stack_dir.name, 0, 0, 0, errors=(f"cannot read {stack_file.name}: {error}",))
    scanned, stripped = scannable_copy(stack_json)
    with tempfile.TemporaryDirectory(prefix="checkov-") as scratch:
        copy = Path(scratch) / "cdk.tf.json"
        copy.write_text(json.dumps(scanned))
        try:
            report = run_checkov(copy)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            return StackResult(stack_dir.name, 0, 0, 0, stripped=stripped, errors=(str(error),))
    summary = report.get("summary", {})
    results = report.get("results", {})
    checked = [*results.get("passed_checks", []), *results.get("failed_checks", [])]
    errors = []
    if summary.get("parsing_errors") or results.get("parsing_errors"):
        errors.append(f"checkov could not parse the stack: {results.get('parsing_errors')}")
    resources = _stack_resources(stack_json)
    # Nothing evaluated is a failure where checkov has checks for the stack's types (a silent parse failure); a stack
    # of types no checkov check covers (the github provider's environments, rulesets, variables) has none to run.
    checkable = sorted({type_ for type_ in resources.values() if type_ in types_with_checks()})
    if checkable and not checked:
        errors.append(
            f"nothing evaluated: 0 checks ran on {len(resources)} resources ({', '.join(checkable)} have checks)"
        )
    return StackResult(
        stack=stack_dir.name,
        passed=summary.get("passed", 0),
        failed=summary.get("failed", 0),
        skipped=summary.get("skipped", 0),
        failures=tuple(
            Failure(item["check_id"], item["resource"], item["check_name"]) for item in results.get("failed_checks", [])
        ),
        resources=len(resources),
        evaluated=frozenset(resource_name(item["resource"]) for item in checked),
        stripped=stripped,
        errors=tuple(errors),
    )


def unevaluated(synth_dir: Path, results: list[StackResult]) -> dict[str, list[str]]:
    """Per stack, resources of a type checkov evaluated somewhere in this run that it did not evaluate here."""
    types: dict[str, dict[str, str]] = {}
    for result in results:
        try:
            types[result.stack] = _stack_resources(
                json.loads((synth_dir / "stacks" / result.stack / "cdk.tf.json").read_text())
            )
        except (OSError, ValueError):
            types[result.stack] = {}
    checked_types = {types[r.stack][name] for r in results for name in r.evaluated if name in types[r.stack]}
    return {
        result.stack: sorted(
            f"{type_}.{name}"
            for name, type_ in types[result.stack].items()
            if type_ in checked_types and name not in result.evaluated
        )
        for result in results
    }


def check_synth(synth_dir: Path) -> list[StackResult]:
    stack_dirs = sorted(path.parent for path in (synth_dir / "stacks").glob("*/cdk.tf.json"))
    if not stack_dirs:
        raise RuntimeError(f"no synthesized stacks under {synth_dir}/stacks")
    results = [check_stack(stack_dir) for stack_dir in stack_dirs]
    missed = unevaluated(synth_dir, results)
    return [
        result
        if not missed[result.stack]
        else StackResult(
            **{
                **result.__dict__,
                "errors": (
                    *result.errors,
                    f"not evaluated ({len(missed[result.stack])}): {', '.join(missed[result.stack][:5])}",
                ),
            }
        )
        for result in results
    ]


def configured_skips() -> list[str]:
    """Check ids skipped in .checkov.yaml; checkov leaves them out of its counts entirely."""
    return re.findall(r"^\s*-\s*(CKV\w+)", CONFIG_FILE.read_text(), flags=re.MULTILINE)


def format_results(results: list[StackResult]) -> str:
    lines = [
        f"{'stack':<20} {'resources':>9} {'evaluated':>9} {'passed':>7} {'failed':>7} {'skipped':>8}   "
        f"(+ skipped everywhere by .checkov.yaml: {', '.join(configured_skips()) or 'none'})"
    ]
    for result in results:
        lines.append(
            f"{result.stack:<20} {result.resources:>9} {len(result.evaluated):>9} {result.passed:>7} "
            f"{result.failed:>7} {result.skipped:>8}"
            + (f"   scanned without: {', '.join(result.stripped)}" if result.stripped else "")
        )
        lines += [f"    FAILED {f.check_id} {f.resource}: {f.name}" for f in result.failures]
        lines += [f"    NOT EVALUATED {error}" for error in result.errors]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    synth_dir = Path(argv[0]) if argv else PROJECT_ROOT / "cdktf.out"
    try:
        read_stacks(synth_dir)  # every stack readable before anything is scanned
        results = check_synth(synth_dir)
    except UnreadableSynth as error:
        print(f"checkov gate: could not read its input, failing: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"checkov gate: {error}", file=sys.stderr)
        return 1
    print(format_results(results))
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
