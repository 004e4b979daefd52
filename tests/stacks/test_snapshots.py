"""Whole-stack snapshots: they catch unintended changes the targeted tests do not look at.

After an intended change, review the diff and update with `scripts/test --snapshot-update`.
"""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from config.loader import ENVIRONMENTS
from stacks.app import BOOTSTRAP_STACK, GITHUB_STACK, environment_stacks

ALL_STACKS = [
    BOOTSTRAP_STACK,
    GITHUB_STACK,
    *(name for environment in ENVIRONMENTS for name in environment_stacks(environment)),
]


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_name", ALL_STACKS)
def test_stack_matches_snapshot(stacks, snapshot_json, stack_name: str) -> None:
    assert stacks[stack_name] == snapshot_json
