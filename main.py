#!/usr/bin/env python
"""Synthesize every stack into cdktf.out/ (`python main.py`, or `cdktf synth` which runs this)."""

from __future__ import annotations

import sys

from tools import fast_import, framework
from tools.jsii_runtime import use_project_node


def main() -> int:
    use_project_node()
    try:
        framework.use_selected()  # cdktf (default) or CDK Terrain: README "Moving to CDK Terrain"
    except framework.FrameworkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    fast_import.enable(single_synth=True)  # before the first cdktf import (README "Performance")
    from config.loader import ConfigError, load_all  # needs no cdktf: runs while the jsii kernel starts

    try:
        environments = load_all()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from stacks.app import build_app

    build_app(environments=environments).synth()
    return 0


if __name__ == "__main__":
    fast_import.exit_process(main())
