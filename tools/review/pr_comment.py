"""Assemble the ONE pull-request review comment: the checks (❌ with the failing step), plan summaries
(when plans ran), the offline synth diff, and the parity report and diagrams only where this pull
request changes them (otherwise one line each). The hidden marker lets the workflow find and update
the same comment on every run, including failed ones, instead of adding one per push.

    python -m tools.review.pr_comment --base BASE_SYNTH --head HEAD_SYNTH [--plan STACK=PLAN.json ...]
                               [--checks NAME=RESULT=STEPS.json ...] [--run-url URL]
                               [--note TEXT] [--output FILE]

`--checks`: a job's result (`needs.<job>.result`) and its steps (`toJSON(steps)` written to a file;
missing or empty when the job never ran). A missing synth folder (synth failed) is reported, not fatal.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.checks import parity
from tools.docgen import diagram
from tools.review import plan_summary, synth_diff

MARKER = "<!-- erp-platform-review -->"
# GitHub rejects comment bodies over 65,536 characters.
MAX_BODY = 65_000
# Step ids of .github/workflows/pull-request.yml → what the reviewer reads.
STEP_TITLES = {
    "checkout": "Checkout",
    "checkout_base": "Checkout of the base branch",
    "login": "Toolchain and Azure login",
    "setup": "Setup",
    "tests": "Tests",
    "synth": "Synth",
    "checkov": "Checkov",
    "parity": "Parity between declared pairs",
    "base_synth": "Synth the base branch",
    "synth_diff": "Synth diff",
    "init": "Terraform init",
    "plan": "Terraform plan",
    "summary": "Plan summary",
}
ICONS = {"success": "✅", "failure": "❌", "cancelled": "⚪", "skipped": "⏭️"}


@dataclass(frozen=True)
class Check:
    name: str
    result: str
    steps: dict[str, Any]

    def failed_steps(self) -> list[str]:
        return [
            STEP_TITLES.get(step_id, step_id)
            for step_id, step in self.steps.items()
            if isinstance(step, dict) and step.get("outcome") == "failure"
        ]

    @property
    def failed(self) -> bool:
        """The steps decide when they are known (a matrix job's result is that of all its stacks)."""
        return bool(self.failed_steps()) or (self.result == "failure" and not self.steps)


def parse_check(argument: str) -> Check:
    name, _, rest = argument.partition("=")
    result, _, steps_path = rest.partition("=")
    if not name or not result:
        raise argparse.ArgumentTypeError(f"{argument!r}: expected NAME=RESULT[=STEPS.json]")
    steps: dict[str, Any] = {}
    if steps_path and Path(steps_path).is_file():
        text = Path(steps_path).read_text().strip()
        try:
            steps = json.loads(text) if text else {}
        except json.JSONDecodeError:
            steps = {}
    return Check(name, result, steps if isinstance(steps, dict) else {})


def render_checks(checks: list[Check], run_url: str | None) -> list[str]:
    if not checks:
        return []
    run = f" ([run]({run_url}))" if run_url else ""
    failed = [check for check in checks if check.failed]
    if not failed:
        ran = [check.name for check in checks if check.result != "skipped"]
        return [f"✅ All checks passed: {', '.join(ran)}{run}", ""]
    lines = [f"❌ **{len(failed)} of {len(checks)} checks failed**{run}", ""]
    for check in checks:
        steps = check.failed_steps()
        if steps:
            lines.append(f"- ❌ **{check.name}**: failed at step " + ", ".join(f"**{step}**" for step in steps))
        elif check.failed:
            lines.append(f"- ❌ **{check.name}**: the job failed before its checks ran (see the run)")
        else:
            lines.append(f"- {ICONS.get(check.result, '❔')} {check.name}: {check.result}")
    return [*lines, ""]


def _has_synth(folder: Path) -> bool:
    return any(Path(folder).glob("stacks/*/cdk.tf.json"))


def parity_section(base: Path, head: Path) -> list[str]:
    """Per declared pair (config parity_with): the full report when it differs from the base branch's (or has
    security findings); else one line."""
    allowlist = parity.load_allowlist(parity.DEFAULT_ALLOWLIST)
    lines: list[str] = []
    for names in parity.declared_pairs():

        def report(folder: Path, names: tuple[str, str] = names) -> parity.ParityReport:
            return parity.compare(
                parity.environment_resources(folder, names[0]),
                parity.environment_resources(folder, names[1]),
                allowlist,
                names,
            )

        head_report = report(head)
        rendered = parity.render_markdown(head_report)
        if head_report.failed or not _has_synth(base) or parity.render_markdown(report(base)) != rendered:
            lines.append(rendered)
            continue
        lines += [
            f"### {names[0].capitalize()} ↔ {names[1]} parity",
            "",
            f"Unchanged by this pull request: no unexplained security differences, {len(head_report.allowed)} "
            f"allowlisted, {len(head_report.sizing)} sizing differences (`python -m tools.checks.parity cdktf.out`).",
            "",
        ]
    return lines


def diagram_section(base: Path, head: Path) -> list[str]:
    """Each environment's diagram when this pull request changes it (collapsed); else one line."""
    lines, unchanged = [], []
    for environment in diagram.ENVIRONMENTS:
        after = diagram.environment_diagram(head, environment)
        before = diagram.environment_diagram(base, environment) if _has_synth(base) else None
        if before == after:
            unchanged.append(environment)
            continue
        lines += [
            f"<details><summary>Diagram: {environment} (changed)</summary>",
            "",
            f"```mermaid\n{after}```",
            "</details>",
            "",
        ]
    if unchanged:
        lines += [f"Diagrams unchanged: {', '.join(unchanged)} (docs/diagrams/).", ""]
    return lines


def build_comment(
    base: Path,
    head: Path,
    plans: list[tuple[str, Path]],
    notes: list[str],
    checks: list[Check] | None = None,
    run_url: str | None = None,
) -> str:
    sections = [MARKER, "## Infrastructure review", ""]
    sections += render_checks(checks or [], run_url)
    for note in notes:
        sections += [f"> {note}", ""]
    if plans:
        summaries = [plan_summary.summarise(stack, json.loads(path.read_text())) for stack, path in plans]
        sections.append(plan_summary.render_markdown(summaries))
    if not _has_synth(head):
        sections += ["> ❌ No synth output of this pull request: no synth diff, parity or diagrams.", ""]
    else:
        if _has_synth(base):
            sections.append(synth_diff.render_markdown(synth_diff.diff_dirs(base, head)))
        else:
            sections += ["> The base branch did not synthesize: no synth diff.", ""]
        sections += parity_section(base, head)
        sections += diagram_section(base, head)
    body = "\n".join(sections)
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + "\n\n… truncated (GitHub comment limit); the full reports are in the job log.\n"
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="synth output of the base branch")
    parser.add_argument("--head", type=Path, required=True, help="synth output of the pull request")
    parser.add_argument(
        "--plan",
        action="append",
        default=[],
        type=plan_summary.parse_stack_plan,
        metavar="STACK=PLAN.json",
        help="`terraform show -json` output (or its reduced form) of a stack's plan",
    )
    parser.add_argument(
        "--checks",
        action="append",
        default=[],
        type=parse_check,
        metavar="NAME=RESULT=STEPS.json",
        help="a job's result and its `toJSON(steps)`: failed steps are named in the comment",
    )
    parser.add_argument("--run-url", help="link to the workflow run")
    parser.add_argument(
        "--note", action="append", default=[], help="line shown at the top (e.g. why plans are missing)"
    )
    parser.add_argument("--output", type=Path, help="write the body here instead of stdout")
    args = parser.parse_args(argv)
    if not _has_synth(args.head) and not args.checks:
        parser.error(f"{args.head}: no stacks/*/cdk.tf.json (run scripts/synth first)")
    try:
        body = build_comment(args.base, args.head, args.plan, args.note, args.checks, args.run_url)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    if args.output:
        args.output.write_text(body)
    else:
        sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
