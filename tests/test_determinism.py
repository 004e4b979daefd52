"""Same input, byte-identical output, whichever way synth is started.

Two synths in fresh processes — `python main.py` and the cdktf CLI (`scripts/cdktf synth`) — must
produce the same files byte for byte: this proves determinism and that the CLI path is equivalent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.loader import ENVIRONMENTS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_main_and_cli_synths_in_fresh_processes_are_byte_identical(tmp_path: Path) -> None:
    by_main, by_cli = tmp_path / "main", tmp_path / "cli"
    env = {**os.environ, "CDKTF_OUTDIR": str(by_main)}
    subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, check=True, timeout=600)
    subprocess.run(
        ["scripts/cdktf", "synth", "--output", str(by_cli)],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=600,
        capture_output=True,
    )
    one, two = all_files(by_main), all_files(by_cli)
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []
    assert "manifest.json" in one  # the whole output tree is compared, not only the stacks
    # bootstrap, github, and infra and cluster per environment
    assert sum(name.endswith("cdk.tf.json") for name in one) == 2 + 3 * len(ENVIRONMENTS)
