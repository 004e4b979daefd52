"""Assemble the ONE pull-request review comment: the commit it describes, the checks (per job and per
stack: ❌ with the failing step and the tail of its log), plan summaries (when plans ran: changes, drift,
output changes), the offline synth diff, and the parity report and diagrams only where this pull request
changes them (otherwise one line each). The hidden marker lets the workflow find and update the same
comment on every run, including failed ones, instead of adding one per push.

The comment job runs this on the runner's bare Python: the module and what it imports use the standard
library only (tests/tools/test_pr_comment.py runs it in a fresh venv). The parity report and diagrams need
the config models (pydantic): the offline job renders them with `--write-sections` in the project venv and
the comment job reads that file with `--sections`.

    python -m tools.review.pr_comment --base BASE_SYNTH --head HEAD_SYNTH [--head-sha SHA] [--sections FILE]
                               [--plan STACK=PLAN.json ...] [--checks NAME=RESULT=STEPS.json ...]
                               [--log CHECK:STEP=LOG ...] [--run-url URL] [--note TEXT] [--output FILE]
    python -m tools.review.pr_comment --base BASE_SYNTH --head HEAD_SYNTH --write-sections FILE   (project venv)

`--checks`: a job's result (`needs.<job>.result`) and its steps (`toJSON(steps)` written to a file;
missing or empty when the job never ran). For a matrix job (one plan per stack) each stack is its own
check whose status comes from its own steps, not from the matrix result. `--log CHECK:STEP=LOG`: a
step's captured output; its tail is shown when that step failed. A missing synth folder (synth failed) is reported.
The body stays under GitHub's limit; a cut never leaves a code fence or `<details>` open.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.docgen import cost_estimate
from tools.review import changed_stacks, plan_summary, synth_diff
from tools.synth_output import UnreadableSynth

MARKER = "<!-- erp-platform-review -->"
# GitHub rejects comment bodies over 65,536 characters.
MAX_BODY = 65_000
# Step ids of .github/workflows/pull-request.yml → what the reviewer reads.
STEP_TITLES = {
    "checkout": "Checkout",
    "checkout_base": "Checkout of the base branch",
    "login": "Toolchain and Azure login",
    "setup": "Setup",
    "lint": "Lint (ruff, mypy, test ids)",
    "tests": "Tests",
    "synth": "Synth",
    "checkov": "Checkov",
    "parity": "Parity between declared pairs",
    "base_synth": "Synth the base branch",
    "synth_diff": "Synth diff",
    "review_sections": "Parity and diagram sections",
    "plan_stacks": "Stacks to plan",
    "init": "Terraform init",
    "plan": "Terraform plan",
    "summary": "Plan summary",
}
ICONS = {"success": "✅", "failure": "❌", "cancelled": "⚪", "skipped": "⏭️"}
LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class Check:
    name: str
    result: str
    steps: dict[str, Any]

    def failed_step_ids(self) -> list[str]:
        return [
            step_id
            for step_id, step in self.steps.items()
            if isinstance(step, dict) and step.get("outcome") == "failure"
        ]

    def failed_steps(self) -> list[str]:
        return [STEP_TITLES.get(step_id, step_id) for step_id in self.failed_step_ids()]

    @property
    def failed(self) -> bool:
        """The steps decide when they are known (a matrix job's result is that of all its stacks)."""
        return bool(self.failed_steps()) or (self.result == "failure" and not self.steps)

    @property
    def status(self) -> str:
        """This check's own outcome: from its steps when known, else the job's result."""
        if not self.steps:
            return self.result
        outcomes = {step.get("outcome") for step in self.steps.values() if isinstance(step, dict)}
        for outcome in ("failure", "cancelled"):
            if outcome in outcomes:
                return outcome
        return "success" if "success" in outcomes else "skipped"


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


def log_tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a step's output, without terminal colours and with no way to close our code fence."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    return "\n".join(text.rstrip().splitlines()[-lines:]).replace("```", "`\u200b``")


def render_checks(checks: list[Check], run_url: str | None, logs: dict[str, str] | None = None) -> list[str]:
    if not checks:
        return []
    logs = logs or {}
    run = f" ([run]({run_url}))" if run_url else ""
    failed = [check for check in checks if check.failed]
    if not failed:
        ran = [check.name for check in checks if check.status != "skipped"]
        return [f"✅ All checks passed: {', '.join(ran)}{run}", ""]
    lines = [f"❌ **{len(failed)} of {len(checks)} checks failed**{run}", ""]
    for check in checks:
        steps = check.failed_steps()
        if steps:
            lines.append(f"- ❌ **{check.name}**: failed at step " + ", ".join(f"**{step}**" for step in steps))
        elif check.failed:
            lines.append(f"- ❌ **{check.name}**: the job failed before its checks ran (see the run)")
        else:
            lines.append(f"- {ICONS.get(check.status, '❔')} {check.name}: {check.status}")
        for step_id in check.failed_step_ids() if check.failed else []:
            log = logs.get(f"{check.name}:{step_id}", "")
            if not log.strip():
                continue
            lines += [
                "",
                f"  <details><summary>{STEP_TITLES.get(step_id, step_id)}: last lines of the output</summary>",
                "",
                "  ```text",
                *(f"  {line}" for line in log_tail(log).splitlines()),
                "  ```",
                "  </details>",
                "",
            ]
    return [*lines, ""]


def _has_synth(folder: Path) -> bool:
    return any(Path(folder).glob("stacks/*/cdk.tf.json"))


def parity_section(base: Path, head: Path) -> list[str]:
    """Per declared pair (config parity_with): the full report when it differs from the base branch's (or has
    security findings); else one line. Needs the project venv (config models)."""
    from tools.checks import parity

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
    """Each environment's diagram when this pull request changes it (collapsed); else one line. Needs the project
    venv (config models)."""
    from tools.docgen import diagram

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


def offline_sections(base: Path, head: Path) -> str:
    """The parity report and diagrams (offline job, project venv): written with --write-sections."""
    return "\n".join([*parity_section(base, head), *diagram_section(base, head)])


TRUNCATED = "… truncated (GitHub comment limit); the full reports are in the job summary of the {run}."


def fit(body: str, limit: int = MAX_BODY, run_url: str | None = None) -> str:
    """The body cut at a line boundary to fit `limit` characters, closing every code fence and `<details>` the
    cut leaves open (innermost first), then the truncation note."""
    if len(body) <= limit:
        return body
    note = "\n" + TRUNCATED.format(run=f"[run]({run_url})" if run_url else "workflow run") + "\n"
    kept: list[str] = []
    open_blocks: list[str] = []  # closers, innermost last
    size = 0
    for line in body.splitlines():
        stripped = line.strip()
        opens = closes = None
        if open_blocks and open_blocks[-1].strip() == "```" and stripped.startswith("```"):
            closes = True
        elif stripped.startswith("```"):
            opens = line[: len(line) - len(line.lstrip())] + "```"
        elif not (open_blocks and open_blocks[-1].strip() == "```"):
            if stripped.startswith("<details"):
                opens = line[: len(line) - len(line.lstrip())] + "</details>"
            elif stripped == "</details>" and open_blocks:
                closes = True
        closing = sum(len(closer) + 1 for closer in open_blocks) + (len(opens) + 1 if opens else 0)
        if size + len(line) + 1 + closing + len(note) > limit:
            break
        kept.append(line)
        size += len(line) + 1
        if opens:
            open_blocks.append(opens)
        elif closes:
            open_blocks.pop()
    return "\n".join([*kept, *reversed(open_blocks)]) + "\n" + note


def _plan_sections(plans: list[tuple[str, Path]]) -> list[str]:
    summaries, unreadable = [], []
    for stack, path in plans:
        try:
            summaries.append(plan_summary.summarise(stack, plan_summary.read_plan(path)))
        except UnreadableSynth as error:
            unreadable.append(f"> ❌ `{stack}`: plan not readable, not summarised ({error})")
    lines = [plan_summary.render_markdown(summaries)] if summaries else []
    return [*lines, *(f"{line}\n" for line in unreadable)]


def _unplanned_notes(base: Path, head: Path) -> list[str]:
    """One note per changed stack a pull request never plans (the alerting stacks), with why."""
    if not _has_synth(head):
        return []
    notes = []
    for stack in changed_stacks.changed_stacks(base, head):
        if why := changed_stacks.not_planned_on_pull_requests(stack):
            notes += [f"> `{stack}` changed, {why}.", ""]
    return notes


def build_comment(
    base: Path,
    head: Path,
    plans: list[tuple[str, Path]],
    notes: list[str],
    checks: list[Check] | None = None,
    run_url: str | None = None,
    *,
    offline: str | None = None,
    head_sha: str | None = None,
    logs: dict[str, str] | None = None,
    limit: int = MAX_BODY,
) -> str:
    """`offline`: the parity and diagram sections (`offline_sections`), None when the offline job did not write
    them; `logs`: "CHECK:STEP_ID" -> that step's captured output (its tail is shown when the step failed)."""
    title = f"## Infrastructure review of `{head_sha[:12]}`" if head_sha else "## Infrastructure review"
    sections = [MARKER, title, ""]
    sections += render_checks(checks or [], run_url, logs)
    for note in notes:
        sections += [f"> {note}", ""]
    sections += _plan_sections(plans)
    sections += _unplanned_notes(base, head)
    if not _has_synth(head):
        sections += ["> ❌ No synth output of this pull request: no synth diff, parity or diagrams.", ""]
    else:
        try:
            sections.append(synth_diff.render_markdown(synth_diff.diff_dirs(base, head)))
        except UnreadableSynth as error:
            sections += [f"> The base branch did not synthesize: no synth diff ({error}).", ""]
        sections += [_cost_line(base, head), ""]
        if offline is None:
            sections += ["> Parity and diagrams: not rendered (the offline job did not get that far).", ""]
        else:
            sections.append(offline)
    return fit("\n".join(sections), limit, run_url)


def _cost_line(base: Path, head: Path) -> str:
    """The priced cost estimate per environment, base -> head, both priced with this checkout's price table."""
    try:
        after = cost_estimate.estimate_all(head)
    except UnreadableSynth as error:
        return f"> Cost estimate: not computed ({error})."
    try:
        before = cost_estimate.estimate_all(base)
    except UnreadableSynth:
        before = {}  # the base did not synthesize: the synth diff says so; the line shows head against 0
    return cost_estimate.change_line(before, after)


def _read_logs(arguments: list[str]) -> dict[str, str]:
    logs = {}
    for argument in arguments:
        name, separator, path = argument.rpartition("=")
        if separator and name and Path(path).is_file():
            logs[name] = Path(path).read_text(errors="replace")
    return logs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="synth output of the base branch")
    parser.add_argument("--head", type=Path, required=True, help="synth output of the pull request")
    parser.add_argument("--head-sha", help="the pull request's head commit the review describes")
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
    parser.add_argument(
        "--log", action="append", default=[], metavar="CHECK:STEP=LOG", help="a step's output, tail shown on failure"
    )
    parser.add_argument("--sections", type=Path, help="parity and diagrams written by --write-sections")
    parser.add_argument("--write-sections", type=Path, help="render parity and diagrams here (project venv) and exit")
    parser.add_argument("--run-url", help="link to the workflow run")
    parser.add_argument(
        "--note", action="append", default=[], help="line shown at the top (e.g. why plans are missing)"
    )
    parser.add_argument("--output", type=Path, help="write the body here instead of stdout")
    args = parser.parse_args(argv)
    if args.write_sections:
        args.write_sections.write_text(offline_sections(args.base, args.head))
        return 0
    if not _has_synth(args.head) and not args.checks:
        parser.error(f"{args.head}: no stacks/*/cdk.tf.json (run scripts/synth first)")
    offline = args.sections.read_text() if args.sections and args.sections.is_file() else None
    body = build_comment(
        args.base,
        args.head,
        args.plan,
        args.note,
        args.checks,
        args.run_url,
        offline=offline,
        head_sha=args.head_sha,
        logs=_read_logs(args.log),
    )
    if args.output:
        args.output.write_text(body)
    else:
        sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
