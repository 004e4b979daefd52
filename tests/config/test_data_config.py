"""Bad data-service settings end in a ConfigError naming the key, the value and the rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.loader import parse_environment
from tests.config.test_loader import DELETE, assert_rejected, set_key

PRODUCTION = Path("config/production.toml")
ARCHIVE_RULE = {"name": "archive", "cool_after_days": 30, "archive_after_days": 180}

# (environment, changes to make, key the message must blame, value it must show, words it must contain)
BAD_INPUTS = [
    # Storage: Azure cannot archive blobs of zone-redundant accounts.
    (
        "production",
        {"data.storage.lifecycle_rules": [ARCHIVE_RULE]},
        "data.storage.lifecycle_rules.0.archive_after_days",
        180,
        "rule 'archive' moves blobs to the archive tier, which Azure does not support on RAGZRS accounts",
    ),
    (
        "staging",
        {"data.storage.replication": "ZRS", "data.storage.lifecycle_rules": [ARCHIVE_RULE]},
        "data.storage.lifecycle_rules.0.archive_after_days",
        180,
        "not support on ZRS accounts",
    ),
    (
        "production",
        {"data.storage.replication": "GZRS", "data.storage.lifecycle_rules": [ARCHIVE_RULE]},
        "data.storage.lifecycle_rules.0.archive_after_days",
        180,
        "GZRS",
    ),
    (
        "production",
        {"data.storage.lifecycle_rules": [{"name": "x", "cool_after_days": 90, "cold_after_days": 30}]},
        "data.storage.lifecycle_rules.0.cold_after_days",
        30,
        "must be greater than cool_after_days (90)",
    ),
    (
        "production",
        {"data.storage.lifecycle_rules": [{"name": "x", "cool_after_days": 30, "delete_after_days": 30}]},
        "data.storage.lifecycle_rules.0.delete_after_days",
        30,
        "must be greater than cool_after_days (30)",
    ),
    (
        "production",
        {"data.storage.replication": "Premium_ZRS"},
        "data.storage.replication",
        "Premium_ZRS",
        "Input should be",
    ),
    (
        "production",
        {"data.storage.blob_soft_delete_days": 0},
        "data.storage.blob_soft_delete_days",
        0,
        "greater than or equal to 1",
    ),
    # PostgreSQL: HA needs two different zones and a non-Burstable SKU; backups 7-35 days; no passwords.
    ("production", {"data.postgres.standby_zone": "1"}, "data.postgres.standby_zone", "1", "must differ from zone '1'"),
    (
        "production",
        {"data.postgres.sku_name": "B_Standard_B2s"},
        "data.postgres.sku_name",
        "B_Standard_B2s",
        "Burstable (B_) servers cannot run high availability",
    ),
    (
        "production",
        {"data.postgres.sku_name": "Standard_D4ds_v5"},
        "data.postgres.sku_name",
        "Standard_D4ds_v5",
        "pattern",
    ),
    (
        "production",
        {"data.postgres.backup_retention_days": 36},
        "data.postgres.backup_retention_days",
        36,
        "less than or equal to 35",
    ),
    (
        "production",
        {"data.postgres.backup_retention_days": 6},
        "data.postgres.backup_retention_days",
        6,
        "greater than or equal to 7",
    ),
    ("production", {"data.postgres.zone": "4"}, "data.postgres.zone", "4", "'1', '2' or '3'"),
    (
        "production",
        {"data.postgres.administrator_password": "hunter2"},
        "data.postgres.administrator_password",
        DELETE,
        "unknown key",
    ),
    (
        "production",
        {"data.postgres.administrator.object_id": "admins"},
        "data.postgres.administrator.object_id",
        "admins",
        "GUID",
    ),
    (
        "production",
        {"data.postgres.minimum_tls_version": "TLSv1.1"},
        "data.postgres.minimum_tls_version",
        "TLSv1.1",
        "'TLSv1.2' or 'TLSv1.3'",
    ),
    # Key Vault: premium (HSM keys) and Azure's rotation minimums.
    ("staging", {"data.key_vault.sku": "standard"}, "data.key_vault.sku", "standard", "Input should be 'premium'"),
    ("production", {"data.key_vault.key_size": 2048}, "data.key_vault.key_size", 2048, "3072 or 4096"),
    (
        "production",
        {"data.key_vault.rotation.expire_after_days": 27},
        "data.key_vault.rotation.expire_after_days",
        27,
        "greater than or equal to 28",
    ),
    (
        "production",
        {"data.key_vault.rotation.rotate_before_expiry_days": 6},
        "data.key_vault.rotation.rotate_before_expiry_days",
        6,
        "greater than or equal to 7",
    ),
    (
        "production",
        {"data.key_vault.rotation.notify_before_expiry_days": 180},
        "data.key_vault.rotation.notify_before_expiry_days",
        180,
        "must be less than expire_after_days (180)",
    ),
    # Event Hubs: Premium processing units and unique hub names.
    ("production", {"data.event_hubs.capacity": 3}, "data.event_hubs.capacity", 3, "1, 2, 4, 8 or 16"),
    (
        "production",
        {
            "data.event_hubs.event_hubs": [
                {"name": "orders", "partition_count": 2, "retention_days": 7},
                {"name": "Orders", "partition_count": 2, "retention_days": 7},
            ]
        },
        "data.event_hubs.event_hubs.1.name",
        "Orders",
        "is declared twice",
    ),
    (
        "production",
        {"data.event_hubs.event_hubs": [{"name": "orders", "partition_count": 2, "retention_days": 91}]},
        "data.event_hubs.event_hubs.0.retention_days",
        91,
        "less than or equal to 90",
    ),
    (
        "production",
        {"data.protect_from_destroy": DELETE},
        "data.protect_from_destroy",
        DELETE,
        "required key is missing",
    ),
]


@pytest.mark.parametrize(
    ("environment", "changes", "key", "value", "expected"),
    BAD_INPUTS,
    ids=[case[2] + f"={case[3]!r}" for case in BAD_INPUTS],
)
def test_bad_data_setting_is_reported_with_key_value_and_rule(
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
        ({"data.storage.replication": "GRS", "data.storage.lifecycle_rules": [ARCHIVE_RULE]}, "archive works on GRS"),
        ({"data.postgres.sku_name": "B_Standard_B2s", "data.postgres.standby_zone": DELETE}, "Burstable without HA"),
        ({"data.storage.lifecycle_rules": []}, "no lifecycle rules"),
    ],
)
def test_valid_combinations_are_accepted(
    raw_config: Callable[[str], dict[str, Any]], changes: dict[str, Any], why: str
) -> None:
    data = raw_config("production")
    for dotted, new_value in changes.items():
        set_key(data, dotted, new_value)
    parse_environment(data, PRODUCTION)
