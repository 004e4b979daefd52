"""Run checkov on every synthesized stack and report passed/failed/skipped counts per stack.

Usage: python -m tools.checks.checkov_gate [SYNTH_DIR]   (default: cdktf.out; exit 1 when any check failed)

checkov pins packages that clash with the test dependencies, so it runs from its own tool venv
(.cache/tools/checkov, created by scripts/setup via scripts/tool-venv). It runs offline: no API key,
no policy download, and BC_SKIP_MAPPING stops it calling the vendor's mapping API. Suppressions live
in one reviewed file, .checkov.yaml, each with its reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHECKOV = PROJECT_ROOT / ".cache" / "tools" / "checkov" / "bin" / "checkov"
CONFIG_FILE = PROJECT_ROOT / ".checkov.yaml"


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


def run_checkov(stack_dir: Path) -> dict:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    env.pop("BC_API_KEY", None)
    completed = subprocess.run(
        [
            str(CHECKOV),
            "--config-file",
            str(CONFIG_FILE),
            "--framework",
            "terraform_json",
            "--file",
            str(stack_dir / "cdk.tf.json"),
            "--skip-download",
            "--compact",
            "--quiet",
            "--output",
            "json",
            "--soft-fail",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=600,
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(
            f"checkov gave no JSON report for {stack_dir}:\n{completed.stdout}\n{completed.stderr}"
        ) from None
    # A stack without any checkable resource yields a bare summary instead of a report.
    return report[0] if isinstance(report, list) else report


def check_stack(stack_dir: Path) -> StackResult:
    report = run_checkov(stack_dir)
    summary = report.get("summary", {})
    failed = report.get("results", {}).get("failed_checks", [])
    return StackResult(
        stack=stack_dir.name,
        passed=summary.get("passed", 0),
        failed=summary.get("failed", 0),
        skipped=summary.get("skipped", 0),
        failures=tuple(Failure(item["check_id"], item["resource"], item["check_name"]) for item in failed),
    )


def check_synth(synth_dir: Path) -> list[StackResult]:
    stack_dirs = sorted(path.parent for path in (synth_dir / "stacks").glob("*/cdk.tf.json"))
    if not stack_dirs:
        raise RuntimeError(f"no synthesized stacks under {synth_dir}/stacks")
    return [check_stack(stack_dir) for stack_dir in stack_dirs]


def configured_skips() -> list[str]:
    """Check ids skipped in .checkov.yaml; checkov leaves them out of its counts entirely."""
    return re.findall(r"^\s*-\s*(CKV\w+)", CONFIG_FILE.read_text(), flags=re.MULTILINE)


def format_results(results: list[StackResult]) -> str:
    lines = [
        f"{'stack':<24} {'passed':>7} {'failed':>7} {'skipped':>8}   (+ skipped everywhere by .checkov.yaml: "
        f"{', '.join(configured_skips()) or 'none'})"
    ]
    for result in results:
        lines.append(f"{result.stack:<24} {result.passed:>7} {result.failed:>7} {result.skipped:>8}")
        lines += [f"    FAILED {f.check_id} {f.resource}: {f.name}" for f in result.failures]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    synth_dir = Path(argv[0]) if argv else PROJECT_ROOT / "cdktf.out"
    results = check_synth(synth_dir)
    print(format_results(results))
    return 1 if any(result.failed for result in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
