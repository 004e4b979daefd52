"""User-assigned identities trusted through OIDC federation: no stored secret anywhere.

`federated_identity()` declares, under the caller's construct (the ids are part of the Terraform addresses), one
identity and its federated credentials. A `Trust` says whose tokens it accepts: a Kubernetes service account of an
AKS cluster (`service_account_trust()`, workload identity) or a GitHub Actions job (`github_trust()`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cdktf import TerraformProvider
from cdktf_cdktf_provider_azurerm.federated_identity_credential import FederatedIdentityCredential
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity

from constructs import Construct

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"  # the audience Entra ID accepts for federated tokens
GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
SERVICE_ACCOUNT_CREDENTIAL_ID = "workload-federation"


@dataclass(frozen=True)
class Trust:
    """One federated credential: tokens `issuer` issues for `subject` sign in as the identity."""

    id: str  # construct id of the credential, under the caller's construct
    name: str  # the credential's name on the identity
    issuer: str
    subject: str


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def service_account_trust(issuer: str, namespace: str, service_account: str) -> Trust:
    """Pods running as `namespace`/`service_account` on the cluster whose OIDC issuer is `issuer`."""
    return Trust(
        id=SERVICE_ACCOUNT_CREDENTIAL_ID,
        name=f"{namespace}-{service_account}",
        issuer=issuer,
        subject=service_account_subject(namespace, service_account),
    )


def github_trust(id: str, name: str, subject: str) -> Trust:
    """GitHub Actions jobs whose OIDC `sub` claim is `subject` (a repository's environment or pull requests)."""
    return Trust(id=id, name=name, issuer=GITHUB_OIDC_ISSUER, subject=subject)


class FederatedIdentity(NamedTuple):
    identity: UserAssignedIdentity
    credentials: list[FederatedIdentityCredential]  # what must exist before the identity is locked


def federated_identity(
    owner: Construct,
    id: str,
    *,
    name: str,
    location: str,
    resource_group_name: str,
    trusts: Sequence[Trust],
    provider: TerraformProvider | None = None,
) -> FederatedIdentity:
    """The identity `name` (construct id `id`) under `owner`, with one federated credential per trust."""
    identity = UserAssignedIdentity(
        owner,
        id,
        name=name,
        location=location,
        resource_group_name=resource_group_name,
        provider=provider,
    )
    credentials = [
        FederatedIdentityCredential(
            owner,
            trust.id,
            name=trust.name,
            resource_group_name=resource_group_name,
            parent_id=identity.id,
            issuer=trust.issuer,
            subject=trust.subject,
            audience=[TOKEN_EXCHANGE_AUDIENCE],
            provider=provider,
        )
        for trust in trusts
    ]
    return FederatedIdentity(identity, credentials)
