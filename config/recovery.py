"""Backup and disaster recovery: the Azure Backup vault, the AKS and blob backup policies, and the RTO/RPO
targets the design is checked against.

Backups run once a day at `backup_time_utc` (the story's backup CronJob runs at the same time), so no
restore can be newer than a day: `rpo_hours` below the backup interval is a promise the platform cannot
keep and is rejected.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import KeyedValueError, Section
from config.data import StorageConfig

# Every backup policy of the vault is daily ("P1D"): the shortest restore point spacing the design offers.
BACKUP_INTERVAL_HOURS = 24


class BackupVaultConfig(Section):
    # GeoRedundant copies vaulted backups to the paired region (and allows cross-region restore).
    redundancy: Literal["LocallyRedundant", "ZoneRedundant", "GeoRedundant"]
    soft_delete_retention_days: int = Field(ge=14, le=180, description="Deleted backups stay recoverable this long")
    # Unlocked: backups cannot be shortened or deleted early, but the setting can still be turned off;
    # Locked is irreversible (see docs/platform/backup-dr.md).
    immutability: Literal["Disabled", "Unlocked", "Locked"]


class AksBackupConfig(Section):
    """Azure Backup for AKS: the backup extension writes to one blob container of its own storage account."""

    retention_days: int = Field(ge=1, le=360, description="Operational tier: snapshots in the cluster's region")
    # The first backup of each day is copied at once to the vault tier (blobs in the vault, outside the tenant): on
    # a geo-redundant vault also readable in the paired region, which is the AKS cross-region restore.
    vault_retention_days: int = Field(ge=1, le=3650, description="Vault tier: daily copies kept in the backup vault")
    storage: StorageConfig  # the extension's account; `containers` names its one container

    @model_validator(mode="after")
    def _one_backup_container(self) -> AksBackupConfig:
        if len(self.storage.containers) != 1:
            raise KeyedValueError(
                "storage.containers",
                self.storage.containers,
                "must name exactly one container: the backup extension's backupStorageLocation bucket",
            )
        return self


class BlobBackupConfig(Section):
    """Azure Backup for the application storage account: continuous (operational) and daily vaulted copies."""

    operational_retention_days: int = Field(ge=1, le=360, description="Point-in-time restore window in the account")
    vault_retention_days: int = Field(ge=1, le=3650, description="Daily copies kept in the backup vault")


# The drills of `drills/` (docs/dr-drills.md), by the name the workflow and the results table use.
DRILLS = (
    "postgres_point_in_time",  # PITR of the primary server to a scratch server in the primary region
    "postgres_geo_restore",  # geo-restore into the DR landing zone's region (paired)
    "blob_point_in_time",  # point-in-time restore of the drill's canary container
    "aks_restore",  # Backup for AKS restore of a sample namespace into a scratch namespace
    "key_vault_backup",  # key backup in the primary vault, restore into the geo vault
    "event_hubs_failover",  # geo-DR alias failover: the secondary becomes primary (disruptive)
    "event_hubs_capture",  # reads the newest Capture file of every hub back from the geo-redundant account
)
# Drills that change what the application uses (the Event Hubs alias points elsewhere afterwards).
DISRUPTIVE_DRILLS = frozenset({"event_hubs_failover"})
DrillName = Literal[
    "postgres_point_in_time",
    "postgres_geo_restore",
    "blob_point_in_time",
    "aks_restore",
    "key_vault_backup",
    "event_hubs_failover",
    "event_hubs_capture",
]
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")  # cron's 0..6


class DrillsConfig(Section):
    """Which restore drills run, and when (`.github/workflows/dr-drills.yml` runs them weekly)."""

    enabled: tuple[DrillName, ...] = Field(min_length=1, description="Drills the weekly run executes")
    # Disruptive drills (DISRUPTIVE_DRILLS) run only where this is true; production keeps it false and runs
    # the Event Hubs failover by hand after an approval (docs/dr-drills.md).
    allow_disruptive: bool = False
    weekday: Literal["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] = Field(
        description="Day of the weekly drill run"
    )
    time_utc: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Weekly start, HH:MM UTC")
    # The AKS drill restores this namespace (baseline.namespaces) into `aks_scratch_namespace` of the same cluster.
    aks_sample_namespace: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    aks_scratch_namespace: str = Field(
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        max_length=63,
        description="Namespace of the same cluster the AKS drill restores aks_sample_namespace into",
    )
    # A drill with no successful result this long after the weekly start raises the "drill missing" alert. Log
    # search alerts look back at most two days (P2D), so the alert checks the two days after each start.
    missing_after_hours: int = Field(ge=1, le=24, description="Alert when no success this long after the start")

    @property
    def cron(self) -> str:
        """The GitHub Actions schedule (UTC) of the weekly run."""
        hours, minutes = self.time_utc.split(":")
        return f"{int(minutes)} {int(hours)} * * {WEEKDAYS.index(self.weekday)}"

    @model_validator(mode="after")
    def _enabled_drills_are_allowed(self) -> DrillsConfig:
        if len(set(self.enabled)) != len(self.enabled):
            raise KeyedValueError("enabled", self.enabled, "names a drill twice")
        if self.aks_scratch_namespace == self.aks_sample_namespace:
            raise KeyedValueError(
                "aks_scratch_namespace", self.aks_scratch_namespace, "must differ from aks_sample_namespace"
            )
        disruptive = sorted(DISRUPTIVE_DRILLS & set(self.enabled))
        if disruptive and not self.allow_disruptive:
            raise KeyedValueError(
                "enabled",
                self.enabled,
                f"{disruptive} disrupt the running service: set allow_disruptive = true (staging only) or run "
                "them by hand after an approval",
            )
        return self


class RecoveryConfig(Section):
    rto_hours: int = Field(ge=1, le=72, description="Recovery time objective of the DR runbook")
    rpo_hours: int = Field(ge=1, le=168, description="Recovery point objective: the most data a disaster may lose")
    backup_time_utc: str = Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Daily backup start, HH:MM UTC"
    )
    # Who hears Azure Backup's own alerts (failed backup and restore jobs, vault security): one route, every vault.
    backup_alerts_severity: Literal["critical", "warning"] = Field(
        description="Action group (by severity) Azure Backup's built-in alerts reach"
    )
    vault: BackupVaultConfig = Field(description="The Backup vault (Data Protection): AKS and blob backups")
    aks: AksBackupConfig
    blobs: BlobBackupConfig
    drills: DrillsConfig

    @model_validator(mode="after")
    def _aks_vault_tier_reaches_the_paired_region(self) -> RecoveryConfig:
        # The AKS vault tier is the only AKS restore point outside the primary region, and only a geo-redundant
        # vault replicates it there (cross-region restore).
        if self.vault.redundancy != "GeoRedundant":
            raise KeyedValueError(
                "vault.redundancy",
                self.vault.redundancy,
                "must be GeoRedundant: the AKS vault-tier copies (aks.vault_retention_days) are the cluster's only "
                "restore points in the paired region",
            )
        return self

    @model_validator(mode="after")
    def _rpo_covers_the_backup_interval(self) -> RecoveryConfig:
        if self.rpo_hours < BACKUP_INTERVAL_HOURS:
            raise KeyedValueError(
                "rpo_hours",
                self.rpo_hours,
                f"backups run once a day, so the newest restore point can be {BACKUP_INTERVAL_HOURS} hours old; "
                f"rpo_hours must be at least {BACKUP_INTERVAL_HOURS}",
            )
        return self
