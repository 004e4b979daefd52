"""Secrets that would land in Terraform state, read from the synthesized JSON (issue #26, "Build" 1).

Terraform state keeps every attribute a resource is given, `sensitive` or not, and every output. Whoever reads a
state container (the plan identity reads every environment's) reads them. What fails here:

- a configured attribute of `SECRET_ATTRIBUTES` (per resource type: container app secret values, Key Vault secret
  values, Kubernetes Secret data, admin passwords, connection strings, webhook and callback addresses...) holding
  any value;
- any attribute fed by a `sensitive` variable, unless it is write-only (`*_wo`, Terraform >= 1.11: never stored);
- an output (cross-stack references are outputs) whose value is a secret a provider computes
  (`SECRET_COMPUTED`: access keys, connection strings, raw kube configs, passwords).

A stack whose state no plan identity reads passes: its backend is a container of bootstrap's state account on which
no plan identity holds a blob data role (bootstrap's role assignments, as the threat model reads them: the alerting
stack's `alerting-tfstate`, which only the apply identity reads). Without the bootstrap stack every stack is checked;
a bootstrap stack naming no plan identity is an error, not a pass.

What passes: write-only attributes (`data_wo`, `value_wo`, `password_wo`...), Key Vault references (a container
app secret with `key_vault_secret_id` and no `value`), ephemeral resources. Attributes a provider computes and
keeps in state without being asked (e.g. an account's keys) are outside this check: it reads what the code writes.

An Application Insights connection string is not a credential when the component has local authentication
disabled (ingestion then needs an Entra token, Microsoft Learn "Microsoft Entra authentication for Application
Insights"): such an output passes, and says so in `why`.

`python -m tools.checks.state_secrets cdktf.out` prints one line per finding; exit 1 on any, 2 on unreadable input.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.checks.deploy_identities import (
    BOOTSTRAP_STACK,
    StackJson,
    assignments,
    identities,
    state_container,
    state_readers,
)

# resource type -> attribute paths (nested blocks by name) whose value is a secret whenever it is set
SECRET_ATTRIBUTES: dict[str, tuple[tuple[str, ...], ...]] = {
    "azurerm_container_app": (("secret", "value"),),
    "azurerm_container_app_job": (("secret", "value"),),
    "azurerm_key_vault_secret": (("value",),),
    "kubernetes_secret_v1": (("data",), ("binary_data",)),
    "kubernetes_secret": (("data",), ("binary_data",)),
    "azurerm_postgresql_flexible_server": (("administrator_password",),),
    "azurerm_mssql_server": (("administrator_login_password",),),
    "azurerm_linux_virtual_machine": (("admin_password",),),
    "azurerm_windows_virtual_machine": (("admin_password",),),
    "azurerm_linux_virtual_machine_scale_set": (("admin_password",),),
    "azurerm_kubernetes_cluster": (("windows_profile", "admin_password"),),
    "azurerm_linux_web_app": (("connection_string", "value"),),
    "azurerm_windows_web_app": (("connection_string", "value"),),
    # A Logic App request trigger's callback URL carries its shared access signature (`sig=`): whoever holds it
    # runs the workflow (Microsoft Learn, "Secure access and data in Azure Logic Apps").
    "azurerm_monitor_action_group": (("webhook_receiver", "service_uri"), ("logic_app_receiver", "callback_url")),
    "azurerm_container_registry_token_password": (("password1", "value"), ("password2", "value")),
    "helm_release": (("set_sensitive", "value"),),
}

# Attributes providers compute that are secrets: an output of one stores it in the exporting stack's state.
SECRET_COMPUTED = frozenset(
    {
        "primary_access_key",
        "secondary_access_key",
        "primary_connection_string",
        "secondary_connection_string",
        "primary_blob_connection_string",
        "default_primary_connection_string",
        "connection_string",
        "instrumentation_key",
        "kube_config_raw",
        "kube_admin_config_raw",
        "kube_admin_config",
        "client_key",
        "client_secret",
        "password",
        "admin_password",
        "primary_key",
        "secondary_key",
        "value",
    }
)
_REFERENCE = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)")
_VARIABLE = re.compile(r"\bvar\.([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class StateSecret:
    stack: str
    address: str  # type.name (resource) or output.name
    attribute: str  # dotted path
    why: str

    def __str__(self) -> str:
        return f"{self.stack}: {self.address}.{self.attribute}: {self.why}"


def _values_at(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield value
        return
    for block in value if isinstance(value, list) else [value]:
        if isinstance(block, dict) and path[0] in block:
            yield from _values_at(block[path[0]], path[1:])


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "//":
                yield from _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    else:
        yield path, value


def _write_only(path: str) -> bool:
    return any(part.split("[")[0].endswith(("_wo", "_wo_version", "_wo_revision")) for part in path.split("."))


def _local_auth_off(stack: StackJson, type_: str, name: str) -> bool:
    resource = stack.get("resource", {}).get(type_, {}).get(name, {})
    return type_ == "azurerm_application_insights" and resource.get("local_authentication_disabled") is True


def stack_findings(name: str, stack: StackJson) -> list[StateSecret]:
    found: list[StateSecret] = []
    sensitive = {key for key, variable in stack.get("variable", {}).items() if variable.get("sensitive")}
    for type_, resources in sorted(stack.get("resource", {}).items()):
        for key, body in sorted(resources.items()):
            address = f"{type_}.{key}"
            reported = set()
            for secret_path in SECRET_ATTRIBUTES.get(type_, ()):
                for value in _values_at(body, secret_path):
                    if value not in (None, {}, [], ""):
                        dotted = ".".join(secret_path)
                        reported.add(dotted)
                        found.append(StateSecret(name, address, dotted, "a secret-bearing attribute is set"))
            for path, value in _walk(body):
                if not isinstance(value, str) or _write_only(path) or re.sub(r"\[\d+\]", "", path) in reported:
                    continue
                for variable in _VARIABLE.findall(value):
                    if variable in sensitive:
                        found.append(
                            StateSecret(name, address, path, f"the sensitive variable {variable} is stored in state")
                        )
    for key, output in sorted(stack.get("output", {}).items()):
        for match in _REFERENCE.finditer(str(output.get("value", ""))):
            _, type_, resource, attribute = match.groups()
            if attribute not in SECRET_COMPUTED:
                continue
            if _local_auth_off(stack, type_, resource):
                continue  # not a credential: ingestion needs Entra ID (module docstring)
            found.append(
                StateSecret(name, f"output.{key}", "value", f"exports {type_}.{resource}.{attribute}, a secret")
            )
        for variable in _VARIABLE.findall(str(output.get("value", ""))):
            if variable in sensitive:
                found.append(StateSecret(name, f"output.{key}", "value", f"exports the sensitive variable {variable}"))
    return found


def load_stacks(synth_dir: Path) -> dict[str, StackJson]:
    """Every `stacks/*/cdk.tf.json` under the synth folder; a missing folder or no stack is an error."""
    stacks_dir = synth_dir / "stacks"
    files = sorted(stacks_dir.glob("*/cdk.tf.json"))
    if not files:
        raise FileNotFoundError(f"{stacks_dir}: no synthesized stack (run `python main.py` first)")
    return {path.parent.name: json.loads(path.read_text(encoding="utf-8")) for path in files}


def unread_by_plan(stacks: Mapping[str, StackJson]) -> set[str]:
    """Stacks whose state container no plan identity reads (an azurerm backend in bootstrap's state account)."""
    bootstrap = stacks.get(BOOTSTRAP_STACK)
    if bootstrap is None:
        return set()
    plan = [i for i in identities(bootstrap) if i.kind == "plan"]
    if not plan:  # who reads state is unknown: no stack may pass as unread
        raise ValueError("the bootstrap stack names no plan identity: cannot tell whose state it cannot read")
    held = assignments(stacks)
    return {
        name
        for name, stack in stacks.items()
        if state_container(bootstrap, stack) is not None and not state_readers(bootstrap, stack, plan, held)
    }


def findings(stacks: Mapping[str, StackJson]) -> list[StateSecret]:
    if not stacks:
        raise ValueError("no stacks to check")
    unread = unread_by_plan(stacks)
    return [
        finding
        for name, stack in sorted(stacks.items())
        if name not in unread
        for finding in stack_findings(name, stack)
    ]


def main(argv: list[str]) -> int:
    try:
        stacks = load_stacks(Path(argv[0] if argv else "cdktf.out"))
        problems = findings(stacks)
    except (OSError, ValueError) as error:
        print(f"state-secrets: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    unread = ", ".join(sorted(unread_by_plan(stacks))) or "none"
    print(f"{len(problems)} secret(s) in state, {len(stacks)} stack(s) read; state no plan identity reads: {unread}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
