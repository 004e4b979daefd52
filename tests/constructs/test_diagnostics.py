"""Diagnostic settings: one mechanism puts exactly one setting to the workspace on every resource that
supports them (storage: the account and each of its services), and AZ-DIAG-1 fails synth when one is
missing, doubled, or of a type nobody classified."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_azurerm.dns_zone import DnsZone
from cdktf_cdktf_provider_azurerm.log_analytics_workspace import LogAnalyticsWorkspace
from cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting import (
    MonitorDiagnosticSetting,
    MonitorDiagnosticSettingEnabledMetric,
)
from cdktf_cdktf_provider_azurerm.network_security_group import NetworkSecurityGroup
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount

from config.loader import ENVIRONMENTS
from constructs.diagnostics import (
    DIAGNOSTICS,
    NO_DIAGNOSTICS,
    SETTING_TYPE,
    DiagnosticSettings,
    DiagnosticSettingsProps,
)
from tests.conftest import StackJson, resources_of

INFRA_STACKS = tuple(f"{environment}-infra" for environment in ENVIRONMENTS)
STORAGE_SERVICES = ("blobServices", "fileServices", "queueServices", "tableServices")
Build = Callable[[TerraformStack], None]


def storage_account(stack: TerraformStack, id: str = "account") -> StorageAccount:
    return StorageAccount(
        stack,
        id,
        name=f"stg{id}erp01",
        resource_group_name="rg",
        location="eastus",
        account_tier="Standard",
        account_replication_type="ZRS",
    )


def synth(tmp_path: Path, before: Build, after: Build = lambda stack: None) -> StackJson:
    """A stack with a workspace, `before` resources, the diagnostic settings, then `after` resources."""
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "diag")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    workspace = LogAnalyticsWorkspace(
        stack, "workspace", name="stg-ops-log-001", resource_group_name="rg", location="eastus"
    )
    before(stack)
    DiagnosticSettings(stack, "diagnostics", props=DiagnosticSettingsProps(log_analytics_workspace_id=workspace.id))
    after(stack)
    app.synth()
    return json.loads((tmp_path / "stacks" / "diag" / "cdk.tf.json").read_text())


def targets(stack: StackJson) -> Counter[str]:
    return Counter(setting["target_resource_id"] for setting in resources_of(stack, SETTING_TYPE).values())


def test_storage_gets_a_metrics_setting_and_one_per_service_with_logs(tmp_path: Path) -> None:
    stack = synth(
        tmp_path,
        lambda s: (
            storage_account(s),
            NetworkSecurityGroup(s, "nsg", name="nsg", resource_group_name="rg", location="eastus"),
        ),
    )
    account = "${azurerm_storage_account.account.id}"
    assert targets(stack) == Counter(
        [
            account,
            *(f"{account}/{service}/default" for service in STORAGE_SERVICES),
            "${azurerm_network_security_group.nsg.id}",
            "${azurerm_log_analytics_workspace.workspace.id}",
        ]
    )
    settings = {setting["target_resource_id"]: setting for setting in resources_of(stack, SETTING_TYPE).values()}
    assert "enabled_log" not in settings[account] and settings[account]["enabled_metric"] == [
        {"category": "AllMetrics"}
    ]
    for service in STORAGE_SERVICES:
        assert settings[f"{account}/{service}/default"]["enabled_log"] == [{"category_group": "allLogs"}]
    nsg = settings["${azurerm_network_security_group.nsg.id}"]
    assert nsg["enabled_log"] == [{"category_group": "allLogs"}] and "enabled_metric" not in nsg
    assert {setting["log_analytics_workspace_id"] for setting in settings.values()} == {
        "${azurerm_log_analytics_workspace.workspace.id}"
    }


# (resources added before the settings, resources added after them, words the AZ-DIAG-1 error must contain)
FAILING = {
    "forgotten": (lambda s: None, lambda s: storage_account(s, "late"), "'diag/late': has 0 diagnostic settings"),
    "doubled": (
        lambda s: None,
        lambda s: MonitorDiagnosticSetting(
            s,
            "extra",
            name="extra",
            target_resource_id=s.node.find_child("workspace").id,
            log_analytics_workspace_id="ws",
            enabled_metric=[MonitorDiagnosticSettingEnabledMetric(category="AllMetrics")],
        ),
        "'diag/workspace': has 2 diagnostic settings",
    ),
    "unclassified": (
        lambda s: DnsZone(s, "zone", name="erp.example.com", resource_group_name="rg"),
        lambda s: None,
        "azurerm_dns_zone 'diag/zone': type is in neither DIAGNOSTICS nor NO_DIAGNOSTICS",
    ),
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_coverage_rule_fails_synth(tmp_path: Path, case: str) -> None:
    before, after, fragment = FAILING[case]
    with pytest.raises(Exception) as error:
        synth(tmp_path, before, after)
    assert "AZ-DIAG-1" in str(error.value) and fragment in str(error.value), str(error.value)


def test_a_storage_service_setting_missing_is_named(tmp_path: Path) -> None:
    def drop_blob_setting(stack: TerraformStack) -> None:
        stack.node.find_child("diagnostics").node.try_remove_child("late-blobServices")

    with pytest.raises(Exception) as error:
        synth(tmp_path / "missing", lambda s: storage_account(s, "late"), drop_blob_setting)
    assert "has 0 diagnostic settings on azurerm_storage_account.late/blobServices/default" in str(error.value)


def test_tables_name_real_provider_resource_types_and_do_not_overlap() -> None:
    for resource_type in [*DIAGNOSTICS, *NO_DIAGNOSTICS]:
        module = resource_type.removeprefix("azurerm_")
        assert importlib.util.find_spec(f"cdktf_cdktf_provider_azurerm.{module}") is not None, resource_type
    assert set(DIAGNOSTICS).isdisjoint(NO_DIAGNOSTICS)


@pytest.mark.parametrize("stack_name", INFRA_STACKS)
def test_every_supporting_resource_of_the_infra_stacks_has_exactly_one_setting_to_the_workspace(
    stacks: dict[str, StackJson], stack_name: str
) -> None:
    stack = stacks[stack_name]
    (workspace,) = resources_of(stack, "azurerm_log_analytics_workspace")
    expected = Counter()
    for resource_type, profile in DIAGNOSTICS.items():
        for address in resources_of(stack, resource_type):
            reference = f"${{{resource_type}.{address}.id}}"
            expected.update([reference, *(f"{reference}/{sub}" for sub in profile.sub_resources)])
    on_resources = Counter({target: n for target, n in targets(stack).items() if target.startswith("${azurerm_")})
    assert on_resources == expected  # (the subscription's activity log export targets no resource of the stack)
    assert {s["log_analytics_workspace_id"] for s in resources_of(stack, SETTING_TYPE).values()} == {
        f"${{azurerm_log_analytics_workspace.{workspace}.id}}"
    }
    covered_types = {t for t in DIAGNOSTICS if resources_of(stack, t)}
    # The list: every one of these exists in the stack and is covered.
    assert {
        "azurerm_kubernetes_cluster",
        "azurerm_firewall",
        "azurerm_application_gateway",
        "azurerm_key_vault",
        "azurerm_postgresql_flexible_server",
        "azurerm_eventhub_namespace",
        "azurerm_storage_account",
        "azurerm_network_security_group",
        "azurerm_container_registry",
        "azurerm_public_ip",
        "azurerm_virtual_network",
        "azurerm_bastion_host",
        "azurerm_log_analytics_workspace",
        "azurerm_dashboard_grafana",
    } <= covered_types
    # Every azurerm type in the stack is classified (the Aspect enforces it; this proves it on the output).
    assert [
        t for t in stack["resource"] if t.startswith("azurerm_") and t not in DIAGNOSTICS and t not in NO_DIAGNOSTICS
    ] == []


@pytest.mark.parametrize("stack_name", INFRA_STACKS)
def test_aks_sends_its_audit_guard_and_autoscaler_logs_to_resource_specific_tables(
    stacks: dict[str, StackJson], stack_name: str
) -> None:
    stack = stacks[stack_name]
    (cluster,) = resources_of(stack, "azurerm_kubernetes_cluster")
    (setting,) = [
        s
        for s in resources_of(stack, SETTING_TYPE).values()
        if s["target_resource_id"] == f"${{azurerm_kubernetes_cluster.{cluster}.id}}"
    ]
    assert [log["category"] for log in setting["enabled_log"]] == ["kube-audit-admin", "guard", "cluster-autoscaler"]
    assert audit_export_problems(setting) == []
    assert setting["log_analytics_destination_type"] == "Dedicated"
    assert setting["enabled_metric"] == [{"category": "AllMetrics"}]


def audit_export_problems(setting: dict) -> list[str]:
    """An AKS diagnostic setting must export the API audit once: kube-audit-admin (writes), not kube-audit too."""
    categories = {log.get("category") for log in setting.get("enabled_log", [])}
    groups = {log.get("category_group") for log in setting.get("enabled_log", [])}
    problems = []
    if "kube-audit-admin" not in categories:
        problems.append("kube-audit-admin is not exported")
    if "kube-audit" in categories or groups & {"audit", "allLogs"}:
        problems.append("kube-audit (every read) is exported besides kube-audit-admin: double audit cost")
    return problems


def test_audit_export_check_rejects_both_audit_categories() -> None:
    """Failing example: the setting as it was (kube-audit and kube-audit-admin)."""
    broken = {"enabled_log": [{"category": c} for c in ("kube-audit", "kube-audit-admin", "guard")]}
    assert audit_export_problems(broken) == [
        "kube-audit (every read) is exported besides kube-audit-admin: double audit cost"
    ]
    assert audit_export_problems({"enabled_log": [{"category": "guard"}]}) == ["kube-audit-admin is not exported"]


def test_the_bootstrap_stack_is_out_of_scope(stacks: dict[str, StackJson]) -> None:
    """State storage exists before any workspace (README): it has no settings, and is locked down instead. The one
    exception: each runners' egress firewall logs to its own small workspace (constructs/runner_egress.py)."""
    settings = resources_of(stacks["bootstrap"], SETTING_TYPE).values()
    assert sorted(s["target_resource_id"].split(".")[0] for s in settings) == ["${azurerm_firewall"] * 2
    for setting in settings:
        assert setting["log_analytics_destination_type"] == "Dedicated"  # AZFWApplicationRule, AZFWNetworkRule...
        assert setting["log_analytics_workspace_id"].startswith("${azurerm_log_analytics_workspace.")
