"""Assemble the ONE pull-request review comment: plan summaries (when plans ran), the offline synth
diff, the parity report and the diagrams. The hidden marker lets the workflow find and update the
same comment on every push instead of adding one per push.

    python -m tools.pr_comment --base BASE_SYNTH --head HEAD_SYNTH [--plan STACK=PLAN.json ...]
                               [--note TEXT] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools import diagram, parity, plan_summary, synth_diff

MARKER = "<!-- erp-platform-review -->"
# GitHub rejects comment bodies over 65,536 characters.
MAX_BODY = 65_000


def build_comment(base: Path, head: Path, plans: list[tuple[str, Path]], notes: list[str]) -> str:
    sections = [MARKER, "## Infrastructure review", ""]
    for note in notes:
        sections += [f"> {note}", ""]
    if plans:
        summaries = [plan_summary.summarise(stack, json.loads(path.read_text())) for stack, path in plans]
        sections.append(plan_summary.render_markdown(summaries))
    sections.append(synth_diff.render_markdown(synth_diff.diff_dirs(base, head)))
    sections.append(
        parity.render_markdown(
            parity.compare(
                parity.environment_resources(head, "staging"),
                parity.environment_resources(head, "production"),
                parity.load_allowlist(parity.DEFAULT_ALLOWLIST),
            )
        )
    )
    for environment in diagram.ENVIRONMENTS:
        sections += [
            f"<details><summary>Diagram: {environment}</summary>",
            "",
            f"```mermaid\n{diagram.environment_diagram(head, environment)}```",
            "</details>",
            "",
        ]
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
        help="`terraform show -json` output of a stack's plan",
    )
    parser.add_argument(
        "--note", action="append", default=[], help="line shown at the top (e.g. why plans are missing)"
    )
    parser.add_argument("--output", type=Path, help="write the body here instead of stdout")
    args = parser.parse_args(argv)
    try:
        body = build_comment(args.base, args.head, args.plan, args.note)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    if args.output:
        args.output.write_text(body)
    else:
        sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
