"""Key and certificate versions stay valid as long as their consumers use them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tools.checks.deployability.model import StackJson, blocks, resources_of

_ISO_DAYS = re.compile(r"^P(\d+)D$")
# Attributes naming ONE version of a key/certificate: a consumer holding one keeps that version after a rotation.
VERSIONED_KEY_ATTRIBUTES = ("id",)
VERSIONED_CERTIFICATE_ATTRIBUTES = ("secret_id", "certificate_data", "certificate_data_base64", "version", "id")


def _iso_days(value: object) -> int | None:
    match = _ISO_DAYS.match(str(value or ""))
    return int(match.group(1)) if match else None


def _references(value: object, type_: str, name: str, attributes: Iterable[str]) -> bool:
    text = json.dumps(value)
    return any(
        f"{type_}.{name}.{attribute}}}" in text or f"{type_}.{name}.{attribute}," in text for attribute in attributes
    )


def validity_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every key or certificate version stays valid while a consumer pinned to it still uses it:

    - a Key Vault key whose versioned `id` a resource consumes (AKS KMS) keeps each rotated-out version valid at
      least PINNED_VERSION_MIN_OVERLAP_DAYS (config/data.py) after its successor appears (`time_before_expiry`, or
      `expire_after - time_after_create`), the window for the apply that moves the consumer;
    - a Key Vault certificate that Key Vault auto-renews is consumed only through its versionless secret id: a
      consumer of one version's data or secret id keeps trusting or serving the old one after the renewal."""
    problems = []
    for stack_name, stack in sorted(stacks.items()):
        consumers = [
            (type_, key, body)
            for type_, items in stack.get("resource", {}).items()
            for key, body in items.items()
            if type_ not in ("azurerm_key_vault_key", "azurerm_key_vault_certificate", "azurerm_role_assignment")
        ]
        problems += _pinned_key_findings(stack_name, stack, consumers)
        problems += _pinned_certificate_findings(stack_name, stack, consumers)
    return problems


Consumers = list[tuple[str, str, Any]]  # (type, name, body) of every resource that may consume a version


def _pinned_by(consumers: Consumers, type_: str, key: str, attributes: Iterable[str]) -> list[str]:
    return [f"{kind}.{name}" for kind, name, body in consumers if _references(body, type_, key, attributes)]


def _overlap_days(item: dict[str, Any]) -> tuple[int | None, int | None]:
    """(days from expiry in the rotation policy, days a rotated-out version stays valid after its successor)."""
    policy = (blocks(item.get("rotation_policy")) or [{}])[0]
    automatic = (blocks(policy.get("automatic")) or [{}])[0]
    expire = _iso_days(policy.get("expire_after"))
    before = _iso_days(automatic.get("time_before_expiry"))
    after_create = _iso_days(automatic.get("time_after_create"))
    return expire, before if before is not None else (expire - after_create if expire and after_create else None)


def _pinned_key_findings(stack_name: str, stack: StackJson, consumers: Consumers) -> list[str]:
    from config.data import PINNED_VERSION_MIN_OVERLAP_DAYS

    problems = []
    for key, item in sorted(resources_of(stack, "azurerm_key_vault_key").items()):
        pinned_by = _pinned_by(consumers, "azurerm_key_vault_key", key, VERSIONED_KEY_ATTRIBUTES)
        if not pinned_by:
            continue
        expire, overlap = _overlap_days(item)
        if expire is not None and (overlap is None or overlap < PINNED_VERSION_MIN_OVERLAP_DAYS):
            expire_after = (blocks(item.get("rotation_policy")) or [{}])[0].get("expire_after")
            problems.append(
                f"{stack_name}: key {item.get('name')} is pinned by version ({', '.join(pinned_by)}) but a rotated-"
                f"out version stays valid only {overlap} day(s) after its successor (expire_after "
                f"{expire_after}): less than the {PINNED_VERSION_MIN_OVERLAP_DAYS} days an apply "
                "may take to move the consumer"
            )
    return problems


def _pinned_certificate_findings(stack_name: str, stack: StackJson, consumers: Consumers) -> list[str]:
    problems = []
    for key, item in sorted(resources_of(stack, "azurerm_key_vault_certificate").items()):
        policy = (blocks(item.get("certificate_policy")) or [{}])[0]
        renews = any(
            (blocks(action.get("action")) or [{}])[0].get("action_type") == "AutoRenew"
            for action in blocks(policy.get("lifetime_action"))
        )
        pinned_by = _pinned_by(consumers, "azurerm_key_vault_certificate", key, VERSIONED_CERTIFICATE_ATTRIBUTES)
        if renews and pinned_by:
            problems.append(
                f"{stack_name}: certificate {item.get('name')} is renewed by Key Vault (AutoRenew) but "
                f"{', '.join(pinned_by)} uses one version of it (not versionless_secret_id): after the renewal it "
                "keeps the old certificate until the next apply"
            )
    return problems
