"""Same input, byte-identical output: two synths in fresh processes produce the same files."""
from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def synth_into(outdir: Path) -> None:
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir)}
    subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, check=True, timeout=600)


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_two_fresh_synths_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    synth_into(first)
    synth_into(second)
    one, two = all_files(first), all_files(second)
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []
    assert any(name.endswith("cdk.tf.json") for name in one)
    assert filecmp.dircmp(first, second).diff_files == []
