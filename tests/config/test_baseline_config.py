"""Bad in-cluster baseline settings end in a ConfigError naming the key, the value and the rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.loader import parse_environment
from tests.config.test_loader import DELETE, assert_rejected, set_key

STAGING = Path("config/staging.toml")

# (changes, key the message must blame, value it must show, words it must contain)
BAD_INPUTS = [
    (
        {"baseline.job_image.source_repository": "docker.io/bitnami/kubectl:1.31.4"},
        "baseline.job_image.source_repository",
        "docker.io/bitnami/kubectl:1.31.4",
        "pattern",  # a repository only: the tag comes from aks.kubernetes_version
    ),
    ({"baseline.job_image.patch": 100}, "baseline.job_image.patch", 100, "less than or equal to 99"),
    ({"baseline.job_image": DELETE}, "baseline.job_image", DELETE, "required key is missing"),
    (
        {"baseline.job_image.repository": "Platform/Kubectl"},
        "baseline.job_image.repository",
        "Platform/Kubectl",
        "pattern",
    ),
    (
        {"baseline.backup_job": {"workload_identity_client_id": "00000001-0000-0000-0000-00000000b001"}},
        "baseline.backup_job.workload_identity_client_id",
        DELETE,
        "unknown key",  # the jobs need no Azure access, so no identity
    ),
    ({"baseline.backup_job": {"backoff_limit": 7}}, "baseline.backup_job.backoff_limit", 7, "less than or equal to 6"),
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
    ({"baseline.backup_job": {"privileged": True}}, "baseline.backup_job.privileged", DELETE, "unknown key"),
]


@pytest.mark.parametrize(
    ("changes", "key", "value", "expected"), BAD_INPUTS, ids=[f"{c[1]}={c[2]!r}" for c in BAD_INPUTS]
)
def test_bad_baseline_setting_is_reported(
    raw_config: Callable[[str], dict[str, Any]], changes: dict[str, Any], key: str, value: Any, expected: str
) -> None:
    assert_rejected(raw_config("staging"), changes, key, value, expected)


def test_the_job_image_tag_follows_the_cluster_minor_version(raw_config: Callable[[str], dict[str, Any]]) -> None:
    data = raw_config("staging")
    set_key(data, "aks.kubernetes_version", "1.34")
    set_key(data, "baseline.job_image.patch", 2)
    config = parse_environment(data, STAGING)
    assert config.baseline.job_image.tag(config.aks.kubernetes_version) == "1.34.2"
    set_key(data, "baseline.job_image.tag_prefix", "v")
    config = parse_environment(data, STAGING)
    assert config.baseline.job_image.tag(config.aks.kubernetes_version) == "v1.34.2"
