"""Bad in-cluster baseline settings end in a ConfigError naming the key, the value and the rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.loader import parse_environment
from tests.config.test_loader import DELETE, assert_rejected, set_key

STAGING = Path("config/staging.toml")
DIGEST = "@sha256:" + "a" * 64

# (changes, key the message must blame, value it must show, words it must contain)
BAD_INPUTS = [
    (
        {"baseline.backup_job.image": "docker.io/bitnami/kubectl:latest"},
        "baseline.backup_job.image",
        "docker.io/bitnami/kubectl:latest",
        "pinned by a tag other than 'latest'",
    ),
    (
        {"baseline.dr_test_job.image": "docker.io/bitnami/kubectl"},
        "baseline.dr_test_job.image",
        "docker.io/bitnami/kubectl",
        "sha256",
    ),
    (
        {"baseline.compliance_job.image": "kubectl:1.31"},
        "baseline.compliance_job.image",
        "kubectl:1.31",
        "registry/repository",
    ),
    (
        {"baseline.backup_job.workload_identity_client_id": "backup"},
        "baseline.backup_job.workload_identity_client_id",
        "backup",
        "GUID",
    ),
    ({"baseline.backup_job.backoff_limit": 7}, "baseline.backup_job.backoff_limit", 7, "less than or equal to 6"),
    ({"baseline.namespaces.compliance": DELETE}, "baseline.namespaces", DELETE, "missing ['compliance']"),
    (
        {"baseline.namespaces.applications.limits_memory": "64GB"},
        "baseline.namespaces.applications.limits_memory",
        "64GB",
        "pattern",
    ),
    ({"baseline.api_server_cidrs": ["10.242.1.7/24"]}, "baseline.api_server_cidrs.0", "10.242.1.7/24", "no host bits"),
    ({"baseline.api_server_cidrs": []}, "baseline.api_server_cidrs", (), "at least 1"),
    (
        {"baseline.monitoring": {"prometheus_replicas": 1}},
        "baseline.monitoring.prometheus_replicas",
        1,
        "greater than or equal to 2",
    ),
    (
        {"baseline.monitoring": {"retention_days": 600}},
        "baseline.monitoring.retention_days",
        600,
        "less than or equal to 540",
    ),
    ({"baseline.backup_job.privileged": True}, "baseline.backup_job.privileged", DELETE, "unknown key"),
]


@pytest.mark.parametrize(
    ("changes", "key", "value", "expected"), BAD_INPUTS, ids=[f"{c[1]}={c[2]!r}" for c in BAD_INPUTS]
)
def test_bad_baseline_setting_is_reported(
    raw_config: Callable[[str], dict[str, Any]], changes: dict[str, Any], key: str, value: Any, expected: str
) -> None:
    assert_rejected(raw_config("staging"), changes, key, value, expected)


def test_digest_pinned_image_is_accepted(raw_config: Callable[[str], dict[str, Any]]) -> None:
    data = raw_config("staging")
    set_key(data, "baseline.backup_job.image", "docker.io/bitnami/kubectl" + DIGEST)
    assert parse_environment(data, STAGING).baseline.backup_job.image.endswith(DIGEST)
