"""Bad platform-service settings (AKS, registry, Application Gateway) end in a ConfigError naming the key,
the value and the rule (config/services.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.loader import parse_environment
from tests.config.test_loader import DELETE, assert_rejected, set_key

PRODUCTION = Path("config/production.toml")
POOL = {"name": "batch", "vm_size": "Standard_D4ds_v5", "os_disk_size_gb": 128, "min_count": 3, "max_count": 6}

# (environment, changes to make, key the message must blame, value it must show, words it must contain)
BAD_INPUTS = [
    # Ephemeral OS disks must fit the VM's temp disk; unknown sizes are refused rather than guessed.
    (
        "production",
        {"aks.system_pool.os_disk_size_gb": 200},
        "aks.system_pool.os_disk_size_gb",
        200,
        "the ephemeral OS disk must fit Standard_D4ds_v5's 150 GiB temp disk",
    ),
    (
        "staging",
        {"aks.user_pools.0.os_disk_size_gb": 151},
        "aks.user_pools.0.os_disk_size_gb",
        151,
        "150 GiB temp disk",
    ),
    (
        "production",
        {"aks.system_pool.vm_size": "Standard_D4s_v5"},
        "aks.system_pool.vm_size",
        "Standard_D4s_v5",
        "has no known temp disk size for an ephemeral OS disk",
    ),
    # max_pods: checkov's floor of 50.
    ("production", {"aks.system_pool.max_pods": 30}, "aks.system_pool.max_pods", 30, "greater than or equal to 50"),
    ("production", {"aks.user_pools.0.max_pods": 251}, "aks.user_pools.0.max_pods", 251, "less than or equal to 250"),
    # User pools: one node per zone at least, min <= max, unique names that leave room for the rotation pool.
    ("production", {"aks.user_pools.0.min_count": 2}, "aks.user_pools.0.min_count", 2, "greater than or equal to 3"),
    (
        "production",
        {"aks.user_pools.0.min_count": 11},
        "aks.user_pools.0.min_count",
        11,
        "must not exceed max_count (10)",
    ),
    ("production", {"aks.user_pools": [POOL, POOL]}, "aks.user_pools.1.name", "batch", "is already taken"),
    (
        "production",
        {"aks.user_pools": [{**POOL, "name": "system"}]},
        "aks.user_pools.0.name",
        "system",
        "is already taken",
    ),
    (
        "production",
        {"aks.user_pools": [{**POOL, "name": "toolongname"}]},
        "aks.user_pools.0.name",
        "toolongname",
        "pattern",
    ),
    ("production", {"aks.user_pools": []}, "aks.user_pools", (), "at least 1"),
    # Upgrade channels, network policy and maintenance windows.
    (
        "production",
        {"aks.automatic_upgrade_channel": "none"},
        "aks.automatic_upgrade_channel",
        "none",
        "'patch', 'stable' or 'rapid'",
    ),
    (
        "production",
        {"aks.node_os_upgrade_channel": "Unmanaged"},
        "aks.node_os_upgrade_channel",
        "Unmanaged",
        "'NodeImage' or 'SecurityPatch'",
    ),
    ("production", {"aks.network_policy": "calico"}, "aks.network_policy", "calico", "'cilium' or 'azure'"),
    (
        "production",
        {"aks.auto_upgrade_window.duration_hours": 3},
        "aks.auto_upgrade_window.duration_hours",
        3,
        "greater than or equal to 4",
    ),
    (
        "production",
        {"aks.node_os_upgrade_window.start_time": "25:00"},
        "aks.node_os_upgrade_window.start_time",
        "25:00",
        "pattern",
    ),
    (
        "production",
        {"aks.auto_upgrade_window.day_of_week": "Sun"},
        "aks.auto_upgrade_window.day_of_week",
        "Sun",
        "Input should be",
    ),
    # Registry.
    (
        "production",
        {"registry.untagged_manifest_retention_days": 366},
        "registry.untagged_manifest_retention_days",
        366,
        "less than or equal to 365",
    ),
    ("production", {"registry.admin_enabled": True}, "registry.admin_enabled", DELETE, "unknown key"),
    (
        "production",
        {"registry.zone_redundancy_enabled": DELETE},
        "registry.zone_redundancy_enabled",
        DELETE,
        "required key is missing",
    ),
    # Application Gateway.
    (
        "production",
        {"app_gateway.min_capacity": 11},
        "app_gateway.min_capacity",
        11,
        "must not exceed max_capacity (10)",
    ),
    ("production", {"app_gateway.max_capacity": 126}, "app_gateway.max_capacity", 126, "less than or equal to 125"),
    ("production", {"app_gateway.zones": ["1", "1"]}, "app_gateway.zones", ["1", "1"], "lists a zone twice"),
    ("production", {"app_gateway.zones": ["4"]}, "app_gateway.zones.0", "4", "'1', '2' or '3'"),
    ("production", {"app_gateway.waf_mode": "Off"}, "app_gateway.waf_mode", "Off", "'Prevention' or 'Detection'"),
    (
        "production",
        {"app_gateway.host_name": "https://erp.example.com"},
        "app_gateway.host_name",
        "https://erp.example.com",
        "pattern",
    ),
    (
        "production",
        {"app_gateway.ingress_ip_address": "10.252.2"},
        "app_gateway.ingress_ip_address",
        "10.252.2",
        "must be an IPv4 address",
    ),
    # Issue #15: zone redundancy only where the region has availability zones (reference/regions.json).
    (
        "production",
        {"registry.replica_zone_redundancy_enabled": True},
        "registry.replica_zone_redundancy_enabled",
        True,
        "region 'westus' has no availability zones",
    ),
    (
        "production",
        {"location": "westcentralus", "paired_location": "westus2", "observability.grafana_zone_redundant": True},
        "registry.zone_redundancy_enabled",
        True,
        "region 'westcentralus' has no availability zones",
    ),
    (
        "production",
        {"app_gateway.backend_host_name": "erp.example.com"},
        "app_gateway.backend_host_name",
        "erp.example.com",
        "differ from host_name",
    ),
    (
        "production",
        {"app_gateway.backend_host_name": "ingress.internal"},
        "app_gateway.backend_host_name",
        "ingress.internal",
        "at least three labels",
    ),
    ("production", {"app_gateway.edge_live": DELETE}, "app_gateway.edge_live", DELETE, "required key is missing"),
    ("production", {"app_gateway.edge_live": True}, "app_gateway.edge_live", True, "CA-issued listener certificate"),
    (
        "production",
        {"app_gateway.ingress_ip_address": "10.252.1.250"},
        "app_gateway.ingress_ip_address",
        "10.252.1.250",
        "inside network.spoke.aks_user",
    ),
    (
        "production",
        {"app_gateway.certificate_password": "hunter2"},
        "app_gateway.certificate_password",
        DELETE,
        "unknown key",
    ),
]


@pytest.mark.parametrize(
    ("environment", "changes", "key", "value", "expected"),
    BAD_INPUTS,
    ids=[case[2] + f"={case[3]!r}" for case in BAD_INPUTS],
)
def test_bad_service_setting_is_reported_with_key_value_and_rule(
    raw_config: Callable[[str], dict[str, Any]],
    environment: str,
    changes: dict[str, Any],
    key: str,
    value: Any,
    expected: str,
) -> None:
    assert_rejected(raw_config(environment), changes, key, value, expected)


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"aks.system_pool.vm_size": "Standard_D8ds_v5", "aks.system_pool.os_disk_size_gb": 300}, "bigger temp disk"),
        ({"aks.user_pools": [POOL, {**POOL, "name": "apps"}]}, "two pools"),
        ({"aks.user_pools.0.min_count": 10}, "fixed-size pool (min = max)"),
        ({"aks.network_policy": "azure"}, "Azure Network Policy Manager"),
        (
            {"registry.replicate_to_paired_region": False, "registry.zone_redundancy_enabled": False},
            "single-zone registry",
        ),
        ({"app_gateway.zones": [], "app_gateway.min_capacity": 0}, "regional gateway scaling to zero"),
        ({"app_gateway.edge_live": True, "app_gateway.certificate_issuer": "DigiCert"}, "live edge with a CA"),
    ],
)
def test_valid_combinations_are_accepted(
    raw_config: Callable[[str], dict[str, Any]], changes: dict[str, Any], why: str
) -> None:
    data = raw_config("production")
    for dotted, new_value in changes.items():
        set_key(data, dotted, new_value)
    parse_environment(data, PRODUCTION)
