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


class RecoveryConfig(Section):
    rto_hours: int = Field(ge=1, le=72, description="Recovery time objective of the DR runbook")
    rpo_hours: int = Field(ge=1, le=168, description="Recovery point objective: the most data a disaster may lose")
    backup_time_utc: str = Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Daily backup start, HH:MM UTC"
    )
    vault: BackupVaultConfig
    aks: AksBackupConfig
    blobs: BlobBackupConfig

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
