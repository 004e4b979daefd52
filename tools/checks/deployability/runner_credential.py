"""The runners read their GitHub App key: the Key Vault behind the jobs' secret reference is reachable privately
and its secret-read role is held by the job's identity."""

from __future__ import annotations

import re

from tools.checks.deployability.endpoints import Endpoint, endpoint_findings, scope_covers
from tools.checks.deployability.model import StackJson, blocks, peerings_of, resources_of, runners

# Built-in roles whose data actions include Microsoft.KeyVault/vaults/secrets/getSecret/action.
SECRET_READ_ROLES = frozenset({"Key Vault Secrets User", "Key Vault Secrets Officer", "Key Vault Administrator"})
VAULT_ZONE = "privatelink.vaultcore.azure.net"


def runner_credential_findings(bootstrap: StackJson) -> list[str]:
    """Every runner job's Key Vault reference resolves: the vault is a bootstrap vault with a private endpoint
    (`vault`) the runners reach, `privatelink.vaultcore.azure.net` linked to their VNet, and the reference's identity
    is one of the job's identities and holds a secret-reading role on the vault."""
    problems: list[str] = []
    runner_of = runners(bootstrap)
    for job_key, job in sorted(resources_of(bootstrap, "azurerm_container_app_job").items()):
        runner = runner_of[job["provider"].removeprefix("azurerm.")]
        where = f"bootstrap: runner credential of {job.get('name', job_key)}"
        for secret in blocks(job.get("secret")):
            reference = str(secret.get("key_vault_secret_id") or "")
            if not reference:
                continue  # a secret by value is tools/checks/state_secrets.py's finding
            match = re.match(r"^\$\{azurerm_key_vault\.([A-Za-z0-9_-]+)\.vault_uri\}secrets/", reference)
            if match is None:
                problems.append(f"{where}: {reference!r} is not a secret of a bootstrap vault")
                continue
            resource_ref = f"${{azurerm_key_vault.{match.group(1)}.id}}"
            endpoint = Endpoint(f"vault {match.group(1)}", bootstrap, resource_ref, "vault", VAULT_ZONE, {})
            problems += endpoint_findings(where, runner, endpoint, peerings_of(bootstrap, runner.subscription_id), {})
            identity = secret.get("identity")
            if not identity or not any(identity in b.get("identity_ids", []) for b in blocks(job.get("identity"))):
                problems.append(f"{where}: the reference's identity {identity!r} is not one of the job's identities")
                continue
            principal = str(identity).removesuffix(".id}") + ".principal_id}"
            if not any(
                assignment["principal_id"] == principal
                and assignment.get("role_definition_name") in SECRET_READ_ROLES
                and scope_covers(str(assignment["scope"]), resource_ref, runner.subscription_id)
                for assignment in resources_of(bootstrap, "azurerm_role_assignment").values()
            ):
                problems.append(f"{where}: the identity {identity} holds no secret-reading role on the vault")
    return problems
