"""Bootstrap's own state, once migrated into a state account (docs/zero-to-running.md, step 8)."""

from __future__ import annotations

from collections.abc import Mapping

from tools.checks.deployability.endpoints import principal_identity, state_endpoint
from tools.checks.deployability.model import StackJson, resources_of, runners

BLOB_DATA_WRITERS = frozenset({"Storage Blob Data Owner", "Storage Blob Data Contributor"})


def bootstrap_state_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """When bootstrap's backend is azurerm (Entra ID auth), someone other than the pipeline identities may write that
    state blob: the operator who runs bootstrap holds Owner, which has no data actions, so `terraform init
    -migrate-state` and every later bootstrap run would get 403 without a blob data role for the operators."""
    bootstrap = stacks["bootstrap"]
    backend = bootstrap.get("terraform", {}).get("backend", {}).get("azurerm")
    if backend is None:
        return []
    state = state_endpoint(bootstrap, backend)
    if state is None:
        return [f"bootstrap: its state account {backend.get('storage_account_name')} is not in the bootstrap stack"]
    pipeline = {name for runner in runners(bootstrap).values() for name in runner.identities.values()}
    writers = [
        assignment
        for assignment in resources_of(bootstrap, "azurerm_role_assignment").values()
        if assignment.get("role_definition_name") in BLOB_DATA_WRITERS
        and str(assignment["scope"]).startswith(state.resource_ref.removesuffix("}"))
        and principal_identity(bootstrap, assignment["principal_id"]) not in pipeline
    ]
    if not writers:
        return [
            f"bootstrap: its state ({backend.get('key')}) lives in {backend.get('storage_account_name')} with Entra ID "
            "auth, but only the pipeline identities hold a blob data role there: the Owner operator who runs "
            "bootstrap gets 403 (Owner has no data actions)"
        ]
    return []
