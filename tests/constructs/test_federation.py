"""Federated identities (constructs/federation.py): every federated credential of every stack trusts the token
exchange audience, belongs to an identity of its own stack, and is issued either by GitHub Actions or by an AKS
cluster for a service account whose `<namespace>-<name>` is the credential's name."""

from __future__ import annotations

import copy
import re

from constructs.federation import GITHUB_OIDC_ISSUER, TOKEN_EXCHANGE_AUDIENCE, service_account_trust
from tests.conftest import StackJson, resources_of

IDENTITY_ID = re.compile(r"^\$\{azurerm_user_assigned_identity\.([\w-]+)\.id\}$")
CLUSTER_ISSUER = re.compile(r"^\$\{azurerm_kubernetes_cluster\.[\w-]+\.oidc_issuer_url\}$")
SERVICE_ACCOUNT = re.compile(r"^system:serviceaccount:([\w-]+):([\w-]+)$")


def federation_faults(stack: StackJson) -> list[str]:
    identities = resources_of(stack, "azurerm_user_assigned_identity")
    faults = []
    for address, credential in resources_of(stack, "azurerm_federated_identity_credential").items():
        parent = IDENTITY_ID.match(credential["parent_id"])
        if credential["audience"] != [TOKEN_EXCHANGE_AUDIENCE]:
            faults.append(f"{address}: audience {credential['audience']}")
        if parent is None or parent[1] not in identities:
            faults.append(f"{address}: parent {credential['parent_id']} is no identity of this stack")
        account = SERVICE_ACCOUNT.match(credential["subject"])
        if CLUSTER_ISSUER.match(credential["issuer"]):
            if account is None or credential["name"] != f"{account[1]}-{account[2]}":
                faults.append(f"{address}: cluster-issued for {credential['subject']}, named {credential['name']}")
        elif credential["issuer"] != GITHUB_OIDC_ISSUER or account is not None:
            faults.append(f"{address}: issuer {credential['issuer']} for {credential['subject']}")
    return faults


def test_every_federated_credential_is_well_formed(stacks: dict[str, StackJson]) -> None:
    credentials = {
        name: len(resources_of(stack, "azurerm_federated_identity_credential")) for name, stack in stacks.items()
    }
    assert sum(credentials.values()) > 0, credentials
    assert {name: federation_faults(stack) for name, stack in stacks.items()} == {name: [] for name in stacks}


def test_a_credential_on_another_stacks_identity_or_with_a_misnamed_service_account_is_found(
    stacks: dict[str, StackJson],
) -> None:
    name, stack = next(
        (name, stack)
        for name, stack in sorted(stacks.items())
        if any(
            CLUSTER_ISSUER.match(c["issuer"])
            for c in resources_of(stack, "azurerm_federated_identity_credential").values()
        )
    )
    planted = copy.deepcopy(stack)
    credentials = planted["resource"]["azurerm_federated_identity_credential"]
    address = next(a for a, c in sorted(credentials.items()) if CLUSTER_ISSUER.match(c["issuer"]))
    credentials[address]["name"] = "other-name"
    credentials[address]["parent_id"] = "${azurerm_user_assigned_identity.elsewhere.id}"
    assert federation_faults(planted) == [
        f"{address}: parent ${{azurerm_user_assigned_identity.elsewhere.id}} is no identity of this stack",
        f"{address}: cluster-issued for {credentials[address]['subject']}, named other-name",
    ], name


def test_a_service_account_trust_names_its_credential_after_the_account() -> None:
    trust = service_account_trust("${issuer}", "observability", "otel")
    assert (trust.id, trust.name, trust.subject) == (
        "workload-federation",
        "observability-otel",
        "system:serviceaccount:observability:otel",
    )
