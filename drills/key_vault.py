"""Key Vault drill: a key backed up in the primary vault restores into the geo vault (paired region).

A throwaway RSA key per run (`dr-drill-<run>`) is created in the primary vault, backed up, and restored into
the geo vault; the restored key's public modulus must equal the original's. Teardown deletes both copies
(soft delete: the vaults keep them for their retention, never purged). The same backup/restore path
recovers the platform's real keys (docs/dr-drills.md).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from drills.boundary import Cloud, unless_gone
from drills.results import DrillResult, recorded


@dataclass(frozen=True)
class KeyVaultTarget:
    vault_name: str
    geo_vault_name: str


def _delete_key(cloud: Cloud, vault: str, name: str) -> None:
    unless_gone(lambda: cloud.az("keyvault", "key", "delete", "--vault-name", vault, "--name", name), "KeyNotFound")


def backup_restore(cloud: Cloud, target: KeyVaultTarget, *, environment: str, run_id: str) -> DrillResult:
    result = DrillResult("key_vault_backup", "key_vault", environment, run_id, cloud.now())
    name = f"dr-drill-{run_id}"
    with recorded(result) as teardown:
        with tempfile.TemporaryDirectory() as folder:
            backup = str(Path(folder) / f"{name}.keybackup")
            teardown.push("delete drill key (primary)", lambda: _delete_key(cloud, target.vault_name, name))
            created = cloud.az(
                "keyvault",
                "key",
                "create",
                "--vault-name",
                target.vault_name,
                "--name",
                name,
                "--kty",
                "RSA",
                "--size",
                "2048",
                "--ops",
                "wrapKey",
                "unwrapKey",
            )
            cloud.az("keyvault", "key", "backup", "--vault-name", target.vault_name, "--name", name, "--file", backup)
            backed_up_at = cloud.now()
            requested_at = cloud.now()
            teardown.push("delete drill key (geo)", lambda: _delete_key(cloud, target.geo_vault_name, name))
            cloud.az("keyvault", "key", "restore", "--vault-name", target.geo_vault_name, "--file", backup)
            restored = cloud.az("keyvault", "key", "show", "--vault-name", target.geo_vault_name, "--name", name)
            verified_at = cloud.now()
        if restored["key"]["n"] != created["key"]["n"]:
            result.details.append("the restored key's modulus differs from the original")
            return result
        result.passed(
            f"{name}: {target.vault_name} -> {target.geo_vault_name}",
            rto=verified_at - requested_at,
            rpo=requested_at - backed_up_at,
            restore_point=backed_up_at,
        )
    return result
