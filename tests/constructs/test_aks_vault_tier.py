"""The AKS vault-tier backup policy (azapi, constructs/backup.py) against the REST API spec excerpt in
reference/dataprotection_backup_policy.json (Azure/azure-rest-api-specs, Microsoft.DataProtection stable 2025-07-01):
the body azapi sends must satisfy the definitions azapi validates it against at plan time; and the copy to the
vault tier, the one AKS restore point that reaches the paired region, must be there. Each check fails on a planted
bad body."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from constructs.azapi_binding import AZAPI_PROVIDER_SOURCE, AZAPI_PROVIDER_VERSION
from constructs.backup import AKS_POLICY_TYPE, aks_vault_tier_policy_body
from tests.conftest import StackJson, only_resource
from tools.checks.arm_schema import violations
from tools.checks.reference_check import REFERENCE_DIR

SPEC = json.loads((REFERENCE_DIR / "dataprotection_backup_policy.json").read_text())
# ISO 8601 durations as Azure Backup writes them (P30D, P12W, P1Y, PT4H).
ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


def check(body: dict[str, Any]) -> list[str]:
    return violations(body, SPEC["definitions"], SPEC["root"])


def durations(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["duration"]] if isinstance(node.get("duration"), str) else []
        return own + [d for value in node.values() for d in durations(value)]
    if isinstance(node, list):
        return [d for value in node for d in durations(value)]
    return []


def vault_copies(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(copy option, days kept in the vault) of every OperationalStore lifecycle that copies to the VaultStore."""
    copies = []
    for rule in body["properties"]["policyRules"]:
        lifecycles = rule.get("lifecycles", [])
        kept = {lc["sourceDataStore"]["dataStoreType"]: lc["deleteAfter"]["duration"] for lc in lifecycles}
        for lc in lifecycles:
            for target in lc.get("targetDataStoreCopySettings", []):
                if target["dataStore"]["dataStoreType"] == "VaultStore" and "VaultStore" in kept:
                    copies.append((target["copyAfter"]["objectType"], kept["VaultStore"]))
    return copies


def test_the_excerpt_names_its_source_and_api_version() -> None:
    (source,) = SPEC["_meta"]["sources"]
    assert source["repo"] == "Azure/azure-rest-api-specs" and re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert f"/stable/{SPEC['api_version']}/dataprotection.json" in source["path"]
    assert AKS_POLICY_TYPE.endswith(f"@{SPEC['api_version']}")


def test_synthesized_policy_body_satisfies_the_spec(infra: StackJson) -> None:
    policy = only_resource(infra, "azapi_resource")
    assert policy["type"] == AKS_POLICY_TYPE
    assert check(policy["body"]) == []
    assert all(ISO_DURATION.match(d) for d in durations(policy["body"])), durations(policy["body"])


def test_synthesized_policy_copies_each_day_to_the_vault_tier(infra: StackJson, config: Any) -> None:
    body = only_resource(infra, "azapi_resource")["body"]
    assert vault_copies(body) == [("ImmediateCopyOption", f"P{config.recovery.aks.vault_retention_days}D")]


def test_provider_is_pinned_exactly(infra: StackJson) -> None:
    assert infra["terraform"]["required_providers"]["azapi"] == {
        "source": AZAPI_PROVIDER_SOURCE,
        "version": AZAPI_PROVIDER_VERSION,
    }
    assert re.fullmatch(r"\d+\.\d+\.\d+", AZAPI_PROVIDER_VERSION)
    (provider,) = infra["provider"]["azapi"]
    # Auth as azurerm: OIDC from the workflow's environment, no credential in the JSON.
    assert set(provider) == {"subscription_id", "tenant_id", "skip_provider_registration"}


GOOD = aks_vault_tier_policy_body(backup_time_utc="02:00", operational_days=7, vault_days=30)


def planted(edit: str) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    rules = body["properties"]["policyRules"]
    vault_lifecycle = rules[2]["lifecycles"][1]
    target = rules[2]["lifecycles"][0]["targetDataStoreCopySettings"][0]
    if edit == "vault store misspelt":
        target["dataStore"]["dataStoreType"] = "Vault"
    elif edit == "datastore without objectType":
        del vault_lifecycle["sourceDataStore"]["objectType"]
    elif edit == "unknown copy option":
        target["copyAfter"]["objectType"] = "CopyLater"
    elif edit == "policy without datasourceTypes":
        del body["properties"]["datasourceTypes"]
    elif edit == "lifecycle without deleteAfter":
        del vault_lifecycle["deleteAfter"]
    elif edit == "tagging priority as a string":
        rules[0]["trigger"]["taggingCriteria"][0]["taggingPriority"] = "99"
    elif edit == "unknown property":
        rules[1]["retention"] = "P7D"
    elif edit == "read-only tag id":
        rules[0]["trigger"]["taggingCriteria"][0]["tagInfo"]["id"] = "Default_"
    return body


@pytest.mark.parametrize(
    ("edit", "finding"),
    [
        ("vault store misspelt", "'Vault' is not one of ['OperationalStore', 'VaultStore', 'ArchiveStore']"),
        ("datastore without objectType", "DataStoreInfoBase requires 'objectType'"),
        ("unknown copy option", "'CopyLater' names no subtype of CopyOption"),
        ("policy without datasourceTypes", "BackupPolicy requires 'datasourceTypes'"),
        ("lifecycle without deleteAfter", "SourceLifeCycle requires 'deleteAfter'"),
        ("tagging priority as a string", "expected integer, got str"),
        ("unknown property", "retention: not a property of AzureRetentionRule"),
        ("read-only tag id", "id: read-only in RetentionTag"),
    ],
)
def test_spec_check_rejects_a_planted_bad_body(edit: str, finding: str) -> None:
    assert check(GOOD) == []
    found = check(planted(edit))
    assert any(finding in f for f in found), found


@pytest.mark.parametrize("bad", ["30 days", "P30", "30D", "P", "PT"])
def test_duration_pattern_rejects_non_iso_8601(bad: str) -> None:
    assert ISO_DURATION.match("P30D") and ISO_DURATION.match("PT4H")
    assert not ISO_DURATION.match(bad)


def test_a_body_without_the_vault_copy_is_seen() -> None:
    body = copy.deepcopy(GOOD)
    del body["properties"]["policyRules"][2]["lifecycles"][0]["targetDataStoreCopySettings"]
    assert check(body) == [] and vault_copies(body) == []
