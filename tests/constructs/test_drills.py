"""The drills' identity, roles, results table and alerts in the synthesized infra stacks, with the coverage
guard (tools/checks/drill_coverage.py) proven on faults planted in that real output."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config.loader import load_environment
from constructs.drills import DRILL_ROLES, oidc_subject, recovery_queries
from constructs.platform_groups import platform_groups
from drills.results import COLUMNS, STREAM, TABLE
from tests.conftest import StackJson, resources_of
from tools.checks.drill_coverage import check, check_exports

ENVIRONMENTS = ("staging", "production")


def infra(stacks: dict[str, StackJson], environment: str) -> StackJson:
    return copy.deepcopy(stacks[f"{environment}-infra"])


def drill_identity(stack: StackJson) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (a, b) for a, b in resources_of(stack, "azurerm_user_assigned_identity").items() if "dr-drills" in b["name"]
    ]
    return found


def drill_roles(stack: StackJson) -> dict[str, dict[str, Any]]:
    address, _ = drill_identity(stack)
    return {
        a: b
        for a, b in resources_of(stack, "azurerm_role_assignment").items()
        if b["principal_id"].startswith(f"${{azurerm_user_assigned_identity.{address}.")
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_synthesized_stack_passes_the_drill_coverage_guard(stacks: dict[str, StackJson], environment: str) -> None:
    assert check(infra(stacks, environment), load_environment(environment)) == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_drill_identity_is_trusted_only_for_the_drills_environment(
    stacks: dict[str, StackJson], environment: str
) -> None:
    stack = infra(stacks, environment)
    address, _ = drill_identity(stack)
    credentials = [
        b
        for b in resources_of(stack, "azurerm_federated_identity_credential").values()
        if b["parent_id"].startswith(f"${{azurerm_user_assigned_identity.{address}.")
    ]
    config = load_environment(environment)
    assert [c["subject"] for c in credentials] == [oidc_subject(config.deployment.repository, environment)]
    assert credentials[0]["subject"].endswith(f":environment:{environment}-drills")


def test_only_staging_may_fail_event_hubs_over(stacks: dict[str, StackJson]) -> None:
    def event_hub_roles(environment: str) -> list[str]:
        return [
            b["role_definition_name"]
            for b in drill_roles(infra(stacks, environment)).values()
            if "eventhub" in b["scope"]
        ]

    assert event_hub_roles("staging") == ["Contributor"]
    assert event_hub_roles("production") == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_drill_role_is_scoped_to_one_resource_never_a_subscription_or_group_of_others(
    stacks: dict[str, StackJson], environment: str
) -> None:
    roles = drill_roles(infra(stacks, environment))
    expected = {
        role for drill in load_environment(environment).recovery.drills.enabled for _, role, _ in DRILL_ROLES[drill]
    }
    assert {b["role_definition_name"] for b in roles.values()} == expected | {"Monitoring Metrics Publisher"}
    config = load_environment(environment)
    groups = platform_groups(config)
    scratch = {groups[key].id(config.subscription_id) for key in ("drill", "drill-dr")}  # bootstrap's, by id
    for body in roles.values():
        # a reference to one resource, or one of the drills' own scratch groups; never the subscription
        assert body["scope"].startswith("${azurerm_") or body["scope"] in scratch, body
        if body["role_definition_name"] == "Contributor":
            assert body["scope"] in scratch or "resource_group" not in body["scope"]  # writes: scratch groups only


def test_the_results_table_and_the_rule_stream_declare_the_same_columns(stacks: dict[str, StackJson]) -> None:
    stack = infra(stacks, "staging")
    (table,) = [
        t
        for t in resources_of(stack, "azurerm_log_analytics_workspace_table_custom_log").values()
        if t["name"] == TABLE
    ]
    assert {c["name"]: c["type"] for c in table["column"]} == COLUMNS
    (rule,) = [
        b for b in resources_of(stack, "azurerm_monitor_data_collection_rule").values() if "dr-drills" in b["name"]
    ]
    (stream,) = rule["stream_declaration"]
    assert stream["stream_name"] == STREAM and {c["name"]: c["type"] for c in stream["column"]} == COLUMNS
    (flow,) = rule["data_flow"]
    assert flow["output_stream"] == STREAM and rule["data_collection_endpoint_id"].startswith(
        "${azurerm_monitor_data_collection_endpoint."
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_recovery_alerts_carry_the_config_targets_and_route_by_severity(
    stacks: dict[str, StackJson], environment: str
) -> None:
    stack, config = infra(stacks, environment), load_environment(environment)
    alerts = {b["name"]: b for b in resources_of(stack, "azurerm_monitor_scheduled_query_rules_alert_v2").values()}
    groups = {b["short_name"]: a for a, b in resources_of(stack, "azurerm_monitor_action_group").items()}
    assert groups, "no action groups"
    for key, (severity, _, query) in recovery_queries(config.recovery, environment).items():
        (alert,) = [b for name, b in alerts.items() if f"dr-{key}" in name]
        assert alert["criteria"][0]["query"] == query
        assert alert["window_duration"] == "P2D" and alert["evaluation_frequency"] == "PT1H"
        group, channel = alert["action"]["action_groups"]  # the people group, the alerting stack's by its id
        assert group.startswith("${azurerm_monitor_action_group.") and severity in group
        assert channel.startswith("/subscriptions/") and f"-{severity}-" in channel
    assert f"RtoMinutes > {config.recovery.rto_hours * 60}" in query_of(alerts, "rto-exceeded")
    assert f"RpoMinutes > {config.recovery.rpo_hours * 60}" in query_of(alerts, "rpo-exceeded")


def query_of(alerts: dict[str, dict[str, Any]], key: str) -> str:
    (query,) = [b["criteria"][0]["query"] for name, b in alerts.items() if f"dr-{key}" in name]
    return query


# -- the guard's failing examples, planted in the real synthesized output ------------------------------------
def remove_role(stack: StackJson, role: str) -> None:
    for address in [a for a, b in drill_roles(stack).items() if b["role_definition_name"] == role]:
        del stack["resource"]["azurerm_role_assignment"][address]


def test_a_drill_identity_without_the_restore_role_is_reported(stacks: dict[str, StackJson]) -> None:
    stack = infra(stacks, "production")
    remove_role(stack, "Contributor")  # the scratch resource groups the PostgreSQL restores write to
    findings = check(stack, load_environment("production"))
    assert (
        "DRILL-ROLE: postgres_point_in_time: the drill identity lacks 'Contributor' "
        "(The scratch server and its private endpoint are created and deleted here)"
    ) in findings
    assert any(
        f.startswith("DRILL-ROLE: postgres_geo_restore: the drill identity lacks 'Contributor'") for f in findings
    )
    stack = infra(stacks, "staging")
    remove_role(stack, "Backup Operator")
    assert check(stack, load_environment("staging")) == [
        "DRILL-ROLE: aks_restore: the drill identity lacks 'Backup Operator' "
        "(Triggers restores from the vault's recovery points)"
    ]


def test_an_alert_without_an_action_group_is_reported(stacks: dict[str, StackJson]) -> None:
    stack = infra(stacks, "staging")
    (address,) = [
        a
        for a, b in resources_of(stack, "azurerm_monitor_scheduled_query_rules_alert_v2").items()
        if "dr-rto-exceeded" in b["name"]
    ]
    stack["resource"]["azurerm_monitor_scheduled_query_rules_alert_v2"][address]["action"] = {"action_groups": []}
    metric = next(iter(resources_of(stack, "azurerm_monitor_metric_alert")))
    del stack["resource"]["azurerm_monitor_metric_alert"][metric]["action"]
    assert check(stack, load_environment("staging")) == [
        f"DRILL-ALERT: azurerm_monitor_scheduled_query_rules_alert_v2.{address} sends to no action group",
        f"DRILL-ALERT: azurerm_monitor_metric_alert.{metric} sends to no action group",
    ]


def test_a_subscription_wide_or_unneeded_role_and_a_foreign_subject_are_reported(stacks: dict[str, StackJson]) -> None:
    stack = infra(stacks, "production")
    address, _ = drill_identity(stack)
    stack["resource"]["azurerm_role_assignment"]["planted"] = {
        "scope": "/subscriptions/00000000-0000-0000-0000-000000000000",
        "role_definition_name": "Owner",
        "principal_id": f"${{azurerm_user_assigned_identity.{address}.principal_id}}",
    }
    for credential in resources_of(stack, "azurerm_federated_identity_credential").values():
        credential["subject"] = credential["subject"].replace("-drills", "")  # the apply environment's subject
    findings = check(stack, load_environment("production"))
    assert "DRILL-ROLE: planted: 'Owner' serves no enabled drill" in findings
    assert (
        "DRILL-ROLE: planted: 'Owner' at subscription scope /subscriptions/00000000-0000-0000-0000-000000000000"
        in findings
    )
    assert any(f.startswith("DRILL-IDENTITY:") and "no federated credential" in f for f in findings)


def test_alerts_that_drift_from_the_config_targets_or_backup_failures_unrouted_are_reported(
    stacks: dict[str, StackJson],
) -> None:
    stack = infra(stacks, "production")
    config = load_environment("production")
    stricter = config.model_copy(update={"recovery": config.recovery.model_copy(update={"rto_hours": 2})})
    assert check(stack, stricter) == ["DRILL-ALERT: the 'rto-exceeded' alert does not test 'RtoMinutes > 120'"]
    stack["resource"].pop("azurerm_monitor_alert_processing_rule_action_group")
    assert check(stack, config) == ["DRILL-ALERT: Azure Backup job failures of the backup vault reach no action group"]


def backup_route(stack: StackJson) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (a, b)
        for a, b in resources_of(stack, "azurerm_monitor_alert_processing_rule_action_group").items()
        if b["condition"]["monitor_service"]["values"] == ["Azure Backup"]
    ]
    return found


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_one_rule_routes_azure_backup_alerts_subscription_wide_at_the_config_severity(
    stacks: dict[str, StackJson], environment: str
) -> None:
    stack, config = infra(stacks, environment), load_environment(environment)
    _, rule = backup_route(stack)  # exactly one: the unpacking fails on two
    assert rule["scopes"] == [f"/subscriptions/{config.subscription_id}"]
    people, channel = rule["add_action_group_ids"]  # the infra stack's group, the alerting stack's by its id
    groups = resources_of(stack, "azurerm_monitor_action_group")
    assert f"-{config.recovery.backup_alerts_severity}-" in groups[people.split(".")[1]]["name"]
    assert channel.startswith("/subscriptions/") and f"-{config.recovery.backup_alerts_severity}-" in channel


def test_a_second_route_for_the_same_azure_backup_alerts_or_the_wrong_severity_is_reported(
    stacks: dict[str, StackJson],
) -> None:
    stack, config = infra(stacks, "staging"), load_environment("staging")
    address, rule = backup_route(stack)
    (vault,) = resources_of(stack, "azurerm_data_protection_backup_vault")
    warning = [a for a, b in resources_of(stack, "azurerm_monitor_action_group").items() if "-warning-" in b["name"]]
    # the drills' former vault-scoped rule, back beside the subscription-wide one
    stack["resource"]["azurerm_monitor_alert_processing_rule_action_group"]["planted"] = {
        **copy.deepcopy(rule),
        "scopes": [f"${{azurerm_data_protection_backup_vault.{vault}.id}}"],
        "add_action_group_ids": [f"${{azurerm_monitor_action_group.{warning[0]}.id}}"],
    }
    assert check(stack, config) == [
        f"DRILL-ALERT: 2 rules route the same Azure Backup alerts: {', '.join(sorted([address, 'planted']))}"
    ]
    del stack["resource"]["azurerm_monitor_alert_processing_rule_action_group"][address]
    name = resources_of(stack, "azurerm_monitor_action_group")[warning[0]]["name"]
    assert check(stack, config) == [
        f"DRILL-ALERT: planted sends Azure Backup alerts to ['{name}'], not the critical group"
    ]


def test_recovery_alerts_refuse_to_be_built_without_action_groups() -> None:
    from cdktf import App, TerraformResource, TerraformStack

    from constructs.drills import RecoveryAlerts, RecoveryAlertsProps
    from constructs.naming import Naming

    config = load_environment("staging")
    stack = TerraformStack(App(), "s")
    table = TerraformResource(
        stack, "table", terraform_resource_type="azurerm_log_analytics_workspace_table_custom_log"
    )
    with pytest.raises(ValueError, match=r"no action group for severities \['critical'\]"):
        RecoveryAlerts(
            stack,
            "alerts",
            props=RecoveryAlertsProps(
                config=config.recovery,
                environment="staging",
                naming=Naming("erp", "x1"),
                location="westeurope",
                resource_group_name="rg",
                log_analytics_workspace_id="ws",
                action_group_ids={"warning": ("ag",)},
                results_table=table,
            ),
        )


def test_the_guard_cli_passes_on_the_synthesized_app_and_fails_on_a_planted_fault(
    synth_dir: Path, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "tools.checks.drill_coverage"]
    result = subprocess.run([*command, str(synth_dir)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every enabled drill can run and is watched" in result.stdout
    shutil.copytree(synth_dir / "stacks", tmp_path / "stacks")
    path = tmp_path / "stacks" / "production-infra" / "cdk.tf.json"
    stack = json.loads(path.read_text())
    stack["resource"].pop("azurerm_monitor_alert_processing_rule_action_group")
    path.write_text(json.dumps(stack))
    result = subprocess.run([*command, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert (
        "production-infra: DRILL-ALERT: Azure Backup job failures of the backup vault reach no action group"
        in result.stdout
    )


# -- cluster exports into geo-redundant storage (DRILL-EXPORTS) ----------------------------------------------
def both(stacks: dict[str, StackJson], environment: str) -> tuple[StackJson, StackJson]:
    return infra(stacks, environment), copy.deepcopy(stacks[f"{environment}-cluster"])


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_cluster_exports_go_to_one_container_of_the_geo_redundant_account(
    stacks: dict[str, StackJson], environment: str
) -> None:
    stack, cluster = both(stacks, environment)
    config = load_environment(environment)
    assert check_exports(stack, cluster, config) == []
    (identity,) = [
        a for a, b in resources_of(stack, "azurerm_user_assigned_identity").items() if "cluster-exports" in b["name"]
    ]
    (role,) = [
        b
        for b in resources_of(stack, "azurerm_role_assignment").values()
        if b["principal_id"].startswith(f"${{azurerm_user_assigned_identity.{identity}.")
    ]
    assert role["role_definition_name"] == "Storage Blob Data Contributor"
    container = resources_of(stack, "azurerm_storage_container")[role["scope"].split(".")[1]]
    assert container["name"] == config.baseline.exports_container
    account = resources_of(stack, "azurerm_storage_account")[container["storage_account_id"].split(".")[1]]
    assert account["account_replication_type"] in ("GZRS", "RAGZRS")
    assert "dr-test" not in {b["metadata"]["name"] for b in resources_of(cluster, "kubernetes_cron_job_v1").values()}


def test_exports_on_a_local_disk_a_broad_role_or_a_dry_run_job_are_reported(stacks: dict[str, StackJson]) -> None:
    stack, cluster = both(stacks, "staging")
    config = load_environment("staging")
    (identity,) = [
        a for a, b in resources_of(stack, "azurerm_user_assigned_identity").items() if "cluster-exports" in b["name"]
    ]
    (address,) = [
        a
        for a, b in resources_of(stack, "azurerm_role_assignment").items()
        if b["principal_id"].startswith(f"${{azurerm_user_assigned_identity.{identity}.")
    ]
    role = stack["resource"]["azurerm_role_assignment"][address]
    container = resources_of(stack, "azurerm_storage_container")[role["scope"].split(".")[1]]
    account = container["storage_account_id"].split(".")[1]
    stack["resource"]["azurerm_storage_account"][account]["account_replication_type"] = "LRS"
    assert check_exports(stack, cluster, config) == [
        f"DRILL-EXPORTS: the 'cluster-exports' container's account "
        f"{stack['resource']['azurerm_storage_account'][account]['name']} is LRS, not geo-redundant ['GZRS', 'RAGZRS']"
    ]
    stack, cluster = both(stacks, "staging")
    role = stack["resource"]["azurerm_role_assignment"][address]
    role["scope"] = f"${{azurerm_storage_account.{account}.id}}"  # the whole account, not the one container
    (cronjob,) = [
        b for b in resources_of(cluster, "kubernetes_cron_job_v1").values() if b["metadata"]["name"] == "cluster-backup"
    ]
    pod = cronjob["spec"]["job_template"]["spec"]["template"]["spec"]
    pod["volume"].append({"name": "data", "persistent_volume_claim": {"claim_name": "backup-storage"}})
    script = next(iter(resources_of(cluster, "kubernetes_config_map_v1")))
    cluster["resource"]["kubernetes_config_map_v1"][script]["data"] = {
        "dr-test.sh": "kubectl apply --dry-run=client -f x"
    }
    assert check_exports(stack, cluster, config) == [
        f"DRILL-EXPORTS: {address}: 'Storage Blob Data Contributor' on ${{azurerm_storage_account.{account}.id}}: "
        "the exports identity may hold only 'Storage Blob Data Contributor' on the 'cluster-exports' container",
        "DRILL-EXPORTS: CronJob cluster-backup writes to a volume claim (one region)",
        f"DRILL-EXPORTS: {script}: a job script only dry-runs YAML (proves a parse, not a restore)",
    ]
