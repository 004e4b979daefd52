"""No secret lands in Terraform state a plan identity reads (tools/checks/state_secrets.py, issue #26 "Build" 1): the
real output passes (the alert webhook addresses are in the alerting stacks, whose container only the apply identity
reads), and each kind of secret, planted in the real synthesized JSON, is named."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from config.loader import ENVIRONMENTS, load_environment
from constructs.state_storage import ALERTING_CONTAINER
from stacks.app import alerting_stack_name
from tools.checks.state_secrets import findings, load_stacks, main, unread_by_plan

# The alert webhook addresses: azurerm keeps them in state (no write-only attribute), so they live in the alerting
# stack, whose state container no plan identity reads (docs/security-model.md "Alert webhook addresses").
ALERTING_SECRETS = frozenset(
    line
    for environment in ENVIRONMENTS
    for line in (
        f"{environment}-alerting: azurerm_monitor_action_group.webhooks_critical-action-group_E8DD6911"
        ".webhook_receiver.service_uri: a secret-bearing attribute is set",
        f"{environment}-alerting: azurerm_monitor_action_group.webhooks_warning-action-group_9D4E2062"
        ".logic_app_receiver.callback_url: a secret-bearing attribute is set",
        f"{environment}-alerting: azurerm_logic_app_workflow.webhooks_warning-slack-adapter_workflow_D9EC1EB2"
        ".parameters.webhookUrl: the sensitive variable warning_alert_webhook_url is stored in state",
    )
)


def plant_plan_reader(stacks, environment: str, container: str = ALERTING_CONTAINER) -> None:
    """Give `environment`'s plan identity Storage Blob Data Reader on `container` (in bootstrap's real output)."""
    assignments = stacks["bootstrap"]["resource"]["azurerm_role_assignment"]
    [reader] = [
        a
        for k, a in assignments.items()
        if k.startswith(f"{environment}-identities_plan-") and a["scope"].endswith("/containers/tfstate")
    ]
    scope = reader["scope"].removesuffix("/tfstate") + f"/{container}"
    assignments[f"{environment}-planted-plan-reader"] = {**reader, "scope": scope}


def _resource(stacks, stack: str, type_: str, contains: str = "") -> dict:
    matches = [body for key, body in stacks[stack]["resource"][type_].items() if contains in key]
    assert matches, f"{stack} has no {type_} matching {contains!r}"
    return matches[0]


def test_the_real_output_holds_no_state_secret_a_plan_identity_reads(stacks) -> None:
    assert findings(stacks) == []
    assert unread_by_plan(stacks) == {alerting_stack_name(e) for e in ENVIRONMENTS}
    # The alerting stacks do hold the webhook addresses: they pass for their container only.
    alerting = {name: stack for name, stack in stacks.items() if name.endswith("-alerting")}
    assert {str(finding) for finding in findings(alerting)} == ALERTING_SECRETS


def test_a_plan_identity_reading_the_alerting_container_brings_the_secrets_back(stacks) -> None:
    planted = copy.deepcopy(stacks)
    plant_plan_reader(planted, "staging")
    assert {str(f) for f in findings(planted)} == {s for s in ALERTING_SECRETS if s.startswith("staging-")}
    assert unread_by_plan(planted) == {alerting_stack_name(e) for e in ENVIRONMENTS} - {"staging-alerting"}


def test_the_alerting_stack_in_the_shared_state_container_is_named(stacks) -> None:
    """Moved back into the container the plan identity reads, the alerting stack's secrets are findings again."""
    planted = copy.deepcopy(stacks)
    backend = planted["production-alerting"]["terraform"]["backend"]["azurerm"]
    backend["container_name"] = load_environment("production").state_backend.container_name
    assert {str(f) for f in findings(planted)} == {s for s in ALERTING_SECRETS if s.startswith("production-")}


def test_missing_input_is_an_error_not_clean(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_stacks(tmp_path)
    assert main([str(tmp_path)]) == 2
    with pytest.raises(ValueError):
        findings({})


def test_a_bootstrap_without_a_recognisable_plan_identity_is_an_error_not_clean(stacks) -> None:
    renamed = copy.deepcopy(stacks)
    for identity in renamed["bootstrap"]["resource"]["azurerm_user_assigned_identity"].values():
        identity["name"] = identity["name"].replace("-terraform-plan-", "-terraform-reader-")
    with pytest.raises(ValueError, match="no plan identity"):
        findings(renamed)


def test_a_runner_key_given_as_a_job_secret_value_is_named(stacks) -> None:
    planted = copy.deepcopy(stacks)
    planted["bootstrap"]["variable"] = {"staging_github_app_private_key": {"type": "string", "sensitive": True}}
    job = _resource(planted, "bootstrap", "azurerm_container_app_job", "staging-runners_plan-job")
    job["secret"] = [{"name": "github-app-key", "value": "${var.staging_github_app_private_key}"}]
    names = [str(f) for f in findings(planted)]
    assert any(
        n.startswith("bootstrap: azurerm_container_app_job.staging-runners_plan-job") and "secret.value" in n
        for n in names
    )


def test_kubernetes_secret_data_instead_of_write_only_is_named(stacks) -> None:
    """The cluster stacks manage no Secret; one planted with `data` is named, with `data_wo` (write-only) it passes."""
    planted = copy.deepcopy(stacks)
    config_map = _resource(planted, "staging-cluster", "kubernetes_config_map_v1", "otel")
    secret = {"metadata": config_map["metadata"], "data_wo": config_map["data"]}
    planted["staging-cluster"]["resource"]["kubernetes_secret_v1"] = {"planted": secret}
    assert not [str(f) for f in findings(planted) if "kubernetes_secret_v1" in str(f)]
    secret["data"] = secret.pop("data_wo")
    names = [str(f) for f in findings(planted)]
    assert "staging-cluster: kubernetes_secret_v1.planted.data: a secret-bearing attribute is set" in names


def test_a_key_vault_secret_value_and_a_sensitive_variable_are_named(stacks) -> None:
    planted = copy.deepcopy(stacks)
    infra = planted["staging-infra"]
    infra["resource"]["azurerm_key_vault_secret"] = {"planted": {"name": "db", "value": "${var.db_password}"}}
    infra.setdefault("variable", {})["db_password"] = {"type": "string", "sensitive": True}
    server = _resource(planted, "staging-infra", "azurerm_postgresql_flexible_server")
    server["administrator_password_wo"] = "${var.db_password}"  # write-only: passes
    names = [str(f) for f in findings(planted)]
    assert "staging-infra: azurerm_key_vault_secret.planted.value: a secret-bearing attribute is set" in names
    assert not any("administrator_password_wo" in n for n in names)
    server["administrator_password"] = server.pop("administrator_password_wo")
    names = [str(f) for f in findings(planted)]
    assert any("azurerm_postgresql_flexible_server" in n and "administrator_password" in n for n in names)


def test_an_output_of_a_computed_secret_is_named(stacks) -> None:
    planted = copy.deepcopy(stacks)
    infra = planted["staging-infra"]
    [(key, _)] = [(k, v) for k, v in infra["resource"]["azurerm_storage_account"].items() if k.startswith("data_")][:1]
    infra["output"]["planted"] = {"value": f"${{azurerm_storage_account.{key}.primary_access_key}}", "sensitive": True}
    names = [str(f) for f in findings(planted)]
    assert any(n.startswith("staging-infra: output.planted.value: exports azurerm_storage_account") for n in names)


def test_the_application_insights_connection_string_passes_only_with_local_auth_off(stacks) -> None:
    planted = copy.deepcopy(stacks)
    insights = _resource(planted, "staging-infra", "azurerm_application_insights")
    assert insights["local_authentication_disabled"] is True
    assert not any("connection_string" in str(f) for f in findings(planted))
    insights["local_authentication_disabled"] = False
    assert any("staging-infra: output." in str(f) and "connection_string" in str(f) for f in findings(planted))


def test_a_key_vault_reference_passes(stacks) -> None:
    for job in stacks["bootstrap"]["resource"]["azurerm_container_app_job"].values():
        [secret] = job["secret"]
        assert "value" not in secret and secret["key_vault_secret_id"]
    assert not any(str(f).startswith("bootstrap:") for f in findings(stacks))
