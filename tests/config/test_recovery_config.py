"""Recovery settings: bad values end in a ConfigError naming the key; the targets match what is built."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.loader import ConfigError, load_environment, parse_environment
from config.recovery import BACKUP_INTERVAL_HOURS, DISRUPTIVE_DRILLS, DRILLS
from tests.config.test_loader import DELETE, set_key

PATH = Path("config/production.toml")

# (environment, key, bad value, words the message must contain)
BAD_INPUTS = [
    ("production", "recovery.rpo_hours", 12, "backups run once a day, so the newest restore point can be 24 hours old"),
    ("staging", "recovery.rpo_hours", 23, "rpo_hours must be at least 24"),
    ("production", "recovery.rto_hours", 0, "greater than or equal to 1"),
    ("production", "recovery.backup_time_utc", "2:00", "pattern"),
    ("production", "recovery.backup_time_utc", "24:00", "pattern"),
    ("production", "recovery.vault.redundancy", "GRS", "'LocallyRedundant', 'ZoneRedundant' or 'GeoRedundant'"),
    ("production", "recovery.vault.soft_delete_retention_days", 7, "greater than or equal to 14"),
    ("production", "recovery.vault.immutability", "On", "'Disabled', 'Unlocked' or 'Locked'"),
    ("production", "recovery.aks.retention_days", 361, "less than or equal to 360"),
    ("production", "recovery.aks.vault_retention_days", 0, "greater than or equal to 1"),
    ("staging", "recovery.aks.vault_retention_days", 3651, "less than or equal to 3650"),
    ("production", "recovery.aks.vault_retention_days", DELETE, "required key is missing"),
    # The AKS vault tier is the cluster's only restore point in the paired region.
    ("staging", "recovery.vault.redundancy", "ZoneRedundant", "must be GeoRedundant: the AKS vault-tier copies"),
    ("production", "recovery.aks.storage.containers", ["aks-backups", "more"], "must name exactly one container"),
    ("staging", "recovery.aks.storage.containers", [], "must name exactly one container"),
    ("production", "recovery.blobs.operational_retention_days", 0, "greater than or equal to 1"),
    # Point-in-time restore must end before soft-deleted blobs are purged (production keeps them 30 days).
    (
        "production",
        "recovery.blobs.operational_retention_days",
        30,
        "must be less than data.storage.blob_soft_delete_days (30)",
    ),
    # Drills: production may not run the disruptive failover on a schedule; staging may.
    (
        "production",
        "recovery.drills.enabled",
        ["postgres_point_in_time", "event_hubs_failover"],
        "['event_hubs_failover'] disrupt the running service: set allow_disruptive = true",
    ),
    ("production", "recovery.drills.enabled", [], "at least 1 item"),
    ("production", "recovery.drills.enabled", ["aks_restore", "aks_restore"], "names a drill twice"),
    ("production", "recovery.drills.enabled", ["postgres_pitr"], "'postgres_point_in_time'"),
    ("staging", "recovery.drills.weekday", "tue", "'sunday', 'monday'"),
    ("staging", "recovery.drills.time_utc", "5:30", "pattern"),
    ("staging", "recovery.drills.aks_scratch_namespace", "applications", "must differ from aks_sample_namespace"),
    ("staging", "recovery.drills.aks_scratch_namespace", "DR_Drill", "pattern"),
    ("production", "recovery.drills.missing_after_hours", 25, "less than or equal to 24"),
]


@pytest.mark.parametrize(
    ("environment", "key", "value", "expected"), BAD_INPUTS, ids=[f"{c[1]}={c[2]!r}" for c in BAD_INPUTS]
)
def test_bad_recovery_setting_is_reported_with_key_value_and_rule(
    raw_config: Callable[[str], dict[str, Any]], environment: str, key: str, value: Any, expected: str
) -> None:
    data = raw_config(environment)
    set_key(data, key, value)
    with pytest.raises(ConfigError) as error:
        parse_environment(data, PATH)
    message = str(error.value)
    assert f"  - {key}" in message and expected in message, message


def test_recovery_section_is_required(raw_config: Callable[[str], dict[str, Any]]) -> None:
    data = raw_config("staging")
    set_key(data, "recovery", DELETE)
    with pytest.raises(ConfigError, match=r"recovery: required key is missing"):
        parse_environment(data, PATH)


def test_targets_are_the_story_targets_and_fit_the_daily_backups(environment: str) -> None:
    recovery = load_environment(environment).recovery
    assert recovery.rto_hours <= 4  # Story 0.1.5: RTO under 4 hours
    assert recovery.rpo_hours >= BACKUP_INTERVAL_HOURS


def test_backups_start_when_the_story_backup_cronjob_does(environment: str) -> None:
    config = load_environment(environment)
    minute, hour, *every_day = config.baseline.backup_schedule.split()
    assert every_day == ["*", "*", "*"], "the CronJob must be daily like the vault policies"
    assert config.recovery.backup_time_utc == f"{int(hour):02d}:{int(minute):02d}"


def test_production_backups_are_geo_redundant_and_protected() -> None:
    config = load_environment("production")
    assert config.recovery.vault.redundancy == "GeoRedundant"
    assert config.recovery.vault.immutability != "Disabled"
    assert config.data.protect_from_destroy is True  # the one switch for locks and prevent_destroy
    assert config.recovery.aks.storage.replication in {"GZRS", "RAGZRS"}


def test_staging_runs_every_drill_and_production_only_the_non_disruptive_ones() -> None:
    staging, production = (load_environment(name).recovery.drills for name in ("staging", "production"))
    assert set(staging.enabled) == set(DRILLS) and staging.allow_disruptive
    assert set(production.enabled) == set(DRILLS) - DISRUPTIVE_DRILLS and not production.allow_disruptive
    assert staging.cron == production.cron == "30 5 * * 2"
