"""The deploy identities and what they hold, read from the synthesized JSON: bootstrap's federated identities (plan
or apply, the GitHub environment each trusts), every stack's role assignments, and who reads a stack's state
container. The threat model and the state-secrets check both read the delivery path through this one model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

StackJson = Mapping[str, Any]
BOOTSTRAP_STACK = "bootstrap"
REFERENCE = re.compile(r"^\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$")
SUBJECT = re.compile(r"^repo:(?P<slug>[^:]+):environment:(?P<environment>[^:]+)$")


@dataclass(frozen=True)
class Assignment:
    stack: str
    role: str  # built-in name, or "custom:<definition name>"
    scope: str
    principal: str  # identity name, group object id, or the raw reference
    condition: str | None


@dataclass(frozen=True)
class Identity:
    environment: str  # the GitHub environment it trusts (OIDC subject)
    kind: str  # "plan" or "apply"
    name: str
    subscription: str
    subject: str


def resources(stack: StackJson, type_: str) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get(type_, {})


def subscription(stack: StackJson, resource: Mapping[str, Any]) -> str:
    alias = str(resource.get("provider", "azurerm")).removeprefix("azurerm.").removeprefix("azurerm")
    for provider in stack.get("provider", {}).get("azurerm", []):
        if provider.get("alias", "") == alias:
            return str(provider.get("subscription_id", ""))
    return ""


def principal_name(stack: StackJson, value: object) -> str:
    """The identity a role assignment's principal_id refers to (by name), else the raw value (a group id)."""
    match = REFERENCE.match(value) if isinstance(value, str) else None
    if match is None or match.group(4) != "principal_id":
        return str(value)
    data, type_, name, _ = match.groups()
    source = stack.get("data" if data else "resource", {}).get(type_, {})
    return str(source.get(name, {}).get("name", value))


def custom_roles(stacks: Mapping[str, StackJson]) -> dict[str, dict[str, Any]]:
    """Custom role definitions of every stack, by their reference (`${azurerm_role_definition.x...}`) and name."""
    found: dict[str, dict[str, Any]] = {}
    for stack in stacks.values():
        for key, definition in resources(stack, "azurerm_role_definition").items():
            found[f"azurerm_role_definition.{key}"] = definition
            found[str(definition.get("name"))] = definition
    return found


def assignments(stacks: Mapping[str, StackJson]) -> list[Assignment]:
    roles = custom_roles(stacks)
    found = []
    for stack_name, stack in sorted(stacks.items()):
        for body in resources(stack, "azurerm_role_assignment").values():
            role = body.get("role_definition_name")
            if role is None:
                reference = str(body.get("role_definition_id", ""))
                match = re.search(r"azurerm_role_definition\.([A-Za-z0-9_-]+)\.", reference)
                role = f"custom:{roles[f'azurerm_role_definition.{match.group(1)}']['name']}" if match else reference
            elif role in roles:
                role = f"custom:{role}"
            found.append(
                Assignment(
                    stack_name,
                    str(role),
                    str(body.get("scope", "")),
                    principal_name(stack, body.get("principal_id")),
                    body.get("condition"),
                )
            )
    return found


def identities(bootstrap: StackJson) -> list[Identity]:
    by_key = resources(bootstrap, "azurerm_user_assigned_identity")
    found = []
    for credential in resources(bootstrap, "azurerm_federated_identity_credential").values():
        match = REFERENCE.match(str(credential.get("parent_id", "")))
        identity = by_key.get(match.group(3), {}) if match else {}
        name = str(identity.get("name", ""))
        kind = "apply" if "-terraform-apply-" in name else "plan" if "-terraform-plan-" in name else "other"
        subject = str(credential.get("subject", ""))
        parsed = SUBJECT.match(subject)
        environment = parsed.group("environment") if parsed else ""
        found.append(Identity(environment, kind, name, subscription(bootstrap, identity), subject))
    return sorted(found, key=lambda i: (i.environment, i.kind))


def state_container(bootstrap: StackJson, stack: StackJson) -> tuple[str, str] | None:
    """(storage account reference fragment, container) of the stack's backend; None for a local backend or an
    account bootstrap does not create."""
    backend = stack.get("terraform", {}).get("backend", {}).get("azurerm")
    if backend is None:
        return None
    for key, account in resources(bootstrap, "azurerm_storage_account").items():
        if account.get("name") == backend.get("storage_account_name"):
            return f"azurerm_storage_account.{key}.", str(backend.get("container_name"))
    return None


def state_readers(
    bootstrap: StackJson, stack: StackJson, found: Iterable[Identity], held: Iterable[Assignment]
) -> list[Identity]:
    """The identities of `found` holding a blob data role on the stack's state container (in `held`)."""
    container = state_container(bootstrap, stack)
    if container is None:
        return []
    return [
        i
        for i in found
        if any(
            a.principal == i.name
            and "Storage Blob Data" in a.role
            and a.scope.endswith(f"/containers/{container[1]}")
            and container[0] in a.scope
            for a in held
        )
    ]
