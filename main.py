#!/usr/bin/env python
"""Synthesize every stack into cdktf.out/ (`python main.py`, or `cdktf synth` which runs this).

`python main.py <stack>...` (e.g. `staging-infra`) synthesizes only the named stacks, for the review loop:
each as in the whole app (an environment's alerting, infra and cluster stacks are built together; see
`stacks.app.build_app`); the other stacks' files in the output folder are left as they were.

Prints one line per stack (resources, output file) and the total time; a rule violation prints one
error line per violation and exits 1 (runtime/synth_report.py); a configuration error, or an
ERP_FRAMEWORK it cannot use, exits 2.
"""

from __future__ import annotations

import sys
import time

STARTED = time.monotonic()

from runtime import fast_import, framework, synth_report  # noqa: E402
from runtime.jsii_runtime import use_project_node  # noqa: E402


def main(selected: list[str] | None = None) -> int:
    use_project_node()
    try:
        framework.use_selected()  # cdktf (default) or CDK Terrain: docs/cdk-terrain.md
    except framework.FrameworkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    synth_report.prepare()  # before the jsii kernel starts: it reads the environment once
    fast_import.enable(single_synth=True)  # before the first cdktf import (docs/performance.md)
    from config.loader import ConfigError, load_all  # needs no cdktf: runs while the jsii kernel starts

    try:
        environments = load_all()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    fast_import.read_once()  # before the app reads any construct's node (docs/performance.md)
    from stacks.app import BOOTSTRAP_STACK, GITHUB_STACK, build_app, environment_stacks

    known = [
        BOOTSTRAP_STACK,
        GITHUB_STACK,
        *(name for config in environments for name in environment_stacks(config.name)),
    ]
    selected = selected or []
    if unknown := [name for name in selected if name not in known]:
        print(f"error: no stack {', '.join(unknown)}; the stacks are {', '.join(known)}", file=sys.stderr)
        return 2
    return synth_report.synth(build_app(environments=environments, only=selected), STARTED)


if __name__ == "__main__":
    fast_import.exit_process(main(sys.argv[1:]), partial=len(sys.argv) > 1)
