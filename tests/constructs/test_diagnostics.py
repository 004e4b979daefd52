"""Diagnostic settings: each construct declares exactly one setting to the workspace on each of its resources that
support them (storage: the account and each of its services) through `diagnostics()` (constructs/interfaces.py);
AZ-DIAG-1 (`DiagnosticsCoverage`, a validation that creates nothing) fails synth when one is missing, doubled, or
of a type nobody classified; the settings the whole-stack walker made move in state to their constructs."""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_azurerm.container_registry import ContainerRegistry
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
from constructs import Construct
from constructs.diagnostics import DIAGNOSTICS, NO_DIAGNOSTICS, SETTING_TYPE, DiagnosticsCoverage
from constructs.interfaces import DiagnosticsSink, diagnostics
from constructs.migrations import SETTINGS_BEFORE, WORKSPACE_BEFORE, WORKSPACE_LOCK_BEFORE
from tests.conftest import StackJson, resources_of

INFRA_STACKS = tuple(f"{environment}-infra" for environment in ENVIRONMENTS)
STORAGE_SERVICES = ("blobServices", "fileServices", "queueServices", "tableServices")
Build = Callable[[TerraformStack, DiagnosticsSink], None]


class Account(Construct):
    """A construct owning a storage account, which declares its settings or (the failing example) forgets to."""

    def __init__(self, scope: Construct, id: str, *, sink: DiagnosticsSink, declared: bool = True) -> None:
        super().__init__(scope, id)
        self.account = StorageAccount(
            self,
            "account",
            name=f"stg{id}erp01",
            resource_group_name="rg",
            location="eastus",
            account_tier="Standard",
            account_replication_type="ZRS",
        )
        if declared:
            diagnostics(self, "diagnostics", self.account, sink)


class SecurityGroup(Construct):
    def __init__(self, scope: Construct, id: str, *, sink: DiagnosticsSink) -> None:
        super().__init__(scope, id)
        self.group = NetworkSecurityGroup(self, "nsg", name="nsg", resource_group_name="rg", location="eastus")
        diagnostics(self, "nsg-diagnostics", self.group, sink)


def synth(tmp_path: Path, build: Build) -> StackJson:
    """A stack with a workspace (and its own setting), what `build` adds, and the AZ-DIAG-1 validation."""
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "diag")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    logs = Construct(stack, "logs")
    workspace = LogAnalyticsWorkspace(logs, "workspace", name="stg-ops-log-001", resource_group_name="rg", location="x")
    sink = DiagnosticsSink(log_analytics_workspace_id=workspace.id)
    diagnostics(logs, "diagnostics", workspace, sink)
    build(stack, sink)
    stack.node.add_validation(DiagnosticsCoverage(stack))
    app.synth()
    return json.loads((tmp_path / "stacks" / "diag" / "cdk.tf.json").read_text())


def targets(stack: StackJson) -> Counter[str]:
    return Counter(setting["target_resource_id"] for setting in resources_of(stack, SETTING_TYPE).values())


def expected_targets(stack: StackJson) -> Counter[str]:
    """Each resource of a type in DIAGNOSTICS once, and each of its sub-resources once."""
    expected: Counter[str] = Counter()
    for resource_type, profile in DIAGNOSTICS.items():
        for address in resources_of(stack, resource_type):
            reference = f"${{{resource_type}.{address}.id}}"
            expected.update([reference, *(f"{reference}/{sub}" for sub in profile.sub_resources)])
    return expected


def test_storage_gets_a_metrics_setting_and_one_per_service_with_logs(tmp_path: Path) -> None:
    stack = synth(
        tmp_path,
        lambda s, sink: (Account(s, "data", sink=sink), SecurityGroup(s, "network", sink=sink)),
    )
    (account_address,) = resources_of(stack, "azurerm_storage_account")
    (nsg_address,) = resources_of(stack, "azurerm_network_security_group")
    (workspace_address,) = resources_of(stack, "azurerm_log_analytics_workspace")
    account = f"${{azurerm_storage_account.{account_address}.id}}"
    nsg_target = f"${{azurerm_network_security_group.{nsg_address}.id}}"
    workspace = f"${{azurerm_log_analytics_workspace.{workspace_address}.id}}"
    assert targets(stack) == Counter(
        [account, *(f"{account}/{service}/default" for service in STORAGE_SERVICES), nsg_target, workspace]
    )
    settings = {setting["target_resource_id"]: setting for setting in resources_of(stack, SETTING_TYPE).values()}
    # Storage rejects AllMetrics: its metric categories are Capacity and Transaction (reference/monitor.json).
    assert "enabled_log" not in settings[account] and settings[account]["enabled_metric"] == [
        {"category": "Capacity"},
        {"category": "Transaction"},
    ]
    for service in STORAGE_SERVICES:
        setting = settings[f"{account}/{service}/default"]
        assert setting["enabled_metric"] == [{"category": "Capacity"}, {"category": "Transaction"}]
        assert setting["enabled_log"] == [{"category_group": "allLogs"}]
        assert setting["//"]["metadata"]["path"] == f"diag/data/diagnostics-{service}"  # declared by its owner
    nsg = settings[nsg_target]
    assert nsg["enabled_log"] == [{"category_group": "allLogs"}] and "enabled_metric" not in nsg
    assert {setting["log_analytics_workspace_id"] for setting in settings.values()} == {workspace}
    assert "moved" not in stack, "no walker ever made these settings: nothing to move"


def forgotten(stack: TerraformStack, sink: DiagnosticsSink) -> None:
    Account(stack, "late", sink=sink, declared=False)


def doubled(stack: TerraformStack, sink: DiagnosticsSink) -> None:
    MonitorDiagnosticSetting(
        stack,
        "extra",
        name="extra",
        target_resource_id=sink.log_analytics_workspace_id,
        log_analytics_workspace_id="ws",
        enabled_metric=[MonitorDiagnosticSettingEnabledMetric(category="AllMetrics")],
    )


def unclassified(stack: TerraformStack, sink: DiagnosticsSink) -> None:
    DnsZone(stack, "zone", name="erp.example.com", resource_group_name="rg")


def blob_service_missing(stack: TerraformStack, sink: DiagnosticsSink) -> None:
    Account(stack, "late", sink=sink).node.try_remove_child("diagnostics-blobServices")


# Failing examples: (what the stack gets, words the AZ-DIAG-1 error must contain)
FAILING: dict[str, tuple[Build, str]] = {
    "forgotten": (
        forgotten,
        "AZ-DIAG-1 azurerm_storage_account 'diag/late/account': has 0 diagnostic settings on "
        "azurerm_storage_account.late_account_",
    ),
    "doubled": (doubled, "'diag/logs/workspace': has 2 diagnostic settings"),
    "unclassified": (unclassified, "azurerm_dns_zone 'diag/zone': type is in neither DIAGNOSTICS nor NO_DIAGNOSTICS"),
    "blob service missing": (blob_service_missing, "/blobServices/default, needs exactly 1"),
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_coverage_rule_fails_synth(tmp_path: Path, case: str) -> None:
    build, fragment = FAILING[case]
    with pytest.raises(Exception) as error:
        synth(tmp_path, build)
    assert "AZ-DIAG-1" in str(error.value) and fragment in str(error.value), str(error.value)


def test_a_forgotten_setting_names_the_interface_to_use(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"its construct must declare diagnostics\(\) \(constructs/interfaces.py\)"):
        synth(tmp_path, forgotten)


def test_a_construct_cannot_declare_settings_for_another_constructs_resource() -> None:
    stack = TerraformStack(App(), "diag")
    owner = Account(stack, "data", sink=DiagnosticsSink("ws"), declared=False)
    other = Construct(stack, "other")
    with pytest.raises(ValueError, match=r"'diag/data/account' is not a resource of 'diag/other'"):
        diagnostics(other, "diagnostics", owner.account, DiagnosticsSink("ws"))
    zone = DnsZone(other, "zone", name="erp.example.com", resource_group_name="rg")
    with pytest.raises(ValueError, match="azurerm_dns_zone has no profile in DIAGNOSTICS"):
        diagnostics(other, "zone-diagnostics", zone, DiagnosticsSink("ws"))


def test_a_setting_the_walker_made_moves_from_its_address_and_a_new_one_does_not(tmp_path: Path) -> None:
    """`registry/registry` had the walker's setting `diagnostics/registry-registry`; `other/registry` never did."""

    def registries(stack: TerraformStack, sink: DiagnosticsSink) -> None:
        for id in ("registry", "other"):
            owner = Construct(stack, id)
            registry = ContainerRegistry(
                owner, "registry", name=f"acr{id}", resource_group_name="rg", location="x", sku="Premium"
            )
            diagnostics(owner, "diagnostics", registry, sink)

    stack = synth(tmp_path, registries)
    (moved,) = stack["moved"]
    assert moved["from"] == f"{SETTING_TYPE}.diagnostics_registry-registry_C710F0B3"
    to = moved["to"].removeprefix(f"{SETTING_TYPE}.")
    assert resources_of(stack, SETTING_TYPE)[to]["//"]["metadata"]["path"] == "diag/registry/diagnostics"


def test_the_settings_before_are_cdktfs_ids_of_the_walkers_constructs() -> None:
    """cdktf's id of the walker's construct `diagnostics/<path>`: its components, then the path's MD5 prefix."""
    assert len(SETTINGS_BEFORE) == 41
    for address in SETTINGS_BEFORE:
        setting_id, digest = address.removeprefix(f"{SETTING_TYPE}.diagnostics_").rsplit("_", 1)
        assert hashlib.md5(f"diagnostics/{setting_id}".encode()).hexdigest()[:8].upper() == digest, address


@pytest.mark.parametrize("stack_name", INFRA_STACKS)
def test_every_setting_the_walker_made_moves_to_exactly_one_construct_setting(
    stacks: dict[str, StackJson], stack_name: str
) -> None:
    """No setting is destroyed and re-created (Azure races a delete and a create of the same setting name on the
    same resource): each of the walker's addresses is the `from` of exactly one moved block, to a setting."""
    stack = stacks[stack_name]
    moved = [block for block in stack["moved"] if block["from"].startswith(f"{SETTING_TYPE}.")]
    assert Counter(block["from"] for block in moved) == Counter(SETTINGS_BEFORE)
    settings = resources_of(stack, SETTING_TYPE)
    assert all(block["to"].removeprefix(f"{SETTING_TYPE}.") in settings for block in moved)
    assert len({block["to"] for block in moved}) == len(moved)
    # The workspace itself moved out of `observability` (it is created first now): its address, and production's
    # lock on it, move in state.
    froms = {block["from"] for block in stack["moved"]}
    assert WORKSPACE_BEFORE in froms
    assert (WORKSPACE_LOCK_BEFORE in froms) is bool(resources_of(stack, "azurerm_management_lock"))


@pytest.mark.parametrize("stack_name", INFRA_STACKS)
def test_each_setting_is_declared_next_to_its_resource(stacks: dict[str, StackJson], stack_name: str) -> None:
    """No construct writes another's resources: a setting's construct is the one that owns its target."""
    stack = stacks[stack_name]
    paths = {
        f"{resource_type}.{address}": body["//"]["metadata"]["path"]
        for resource_type, resources in stack["resource"].items()
        for address, body in resources.items()
    }
    for setting in resources_of(stack, SETTING_TYPE).values():
        target = setting["target_resource_id"]
        if not target.startswith("${"):
            continue  # the subscription's activity log export (governance)
        target_path = paths[target.removeprefix("${").split("}")[0].removesuffix(".id")]
        assert setting["//"]["metadata"]["path"].rsplit("/", 1)[0] == target_path.rsplit("/", 1)[0], target


def test_tables_name_real_provider_resource_types_and_do_not_overlap() -> None:
    # A type without a prebuilt binding (declared as a plain TerraformResource) must be in the provider's schema.
    schema = json.loads(gzip.decompress(Path("reference/azurerm_schema.json.gz").read_bytes()))["resources"]
    for resource_type in [*DIAGNOSTICS, *NO_DIAGNOSTICS]:
        module = resource_type.removeprefix("azurerm_")
        bound = importlib.util.find_spec(f"cdktf_cdktf_provider_azurerm.{module}") is not None
        assert bound or resource_type in schema, resource_type
    assert set(DIAGNOSTICS).isdisjoint(NO_DIAGNOSTICS)


@pytest.mark.parametrize("stack_name", INFRA_STACKS)
def test_every_supporting_resource_of_the_infra_stacks_has_exactly_one_setting_to_the_workspace(
    stacks: dict[str, StackJson], stack_name: str
) -> None:
    stack = stacks[stack_name]
    (workspace,) = resources_of(stack, "azurerm_log_analytics_workspace")
    expected = expected_targets(stack)
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
    # Every azurerm type in the stack is classified (the validation enforces it; this proves it on the output).
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


def test_every_supporting_resource_of_the_bootstrap_logs_to_its_environments_deployment_workspace(
    stacks: dict[str, StackJson],
) -> None:
    """The deployment path (state account, registry, runners' environment, firewall, NSGs, VNet, public IPs) logs to
    the small workspace of its own deployment network: one per environment, through that environment's provider."""
    stack = stacks["bootstrap"]
    workspaces = resources_of(stack, "azurerm_log_analytics_workspace")
    assert len(workspaces) == len(ENVIRONMENTS)
    provider_of_workspace = {
        f"${{azurerm_log_analytics_workspace.{k}.id}}": w["provider"] for k, w in workspaces.items()
    }
    assert targets(stack) == expected_targets(stack)
    for setting in resources_of(stack, SETTING_TYPE).values():
        assert provider_of_workspace[setting["log_analytics_workspace_id"]] == setting["provider"]
    covered = {t for t in DIAGNOSTICS if resources_of(stack, t)}
    assert {
        "azurerm_storage_account",
        "azurerm_container_registry",
        "azurerm_container_app_environment",
        "azurerm_firewall",
        "azurerm_network_security_group",
        "azurerm_virtual_network",
        "azurerm_public_ip",
        "azurerm_log_analytics_workspace",
    } <= covered
    for environment in resources_of(stack, "azurerm_container_app_environment").values():
        assert environment["logs_destination"] == "azure-monitor"  # else the setting would carry no console logs


def test_the_bootstrap_fails_synth_on_a_resource_without_its_setting(tmp_path: Path) -> None:
    """Failing example: AZ-DIAG-1 guards the bootstrap stack too."""
    from config.loader import load_all
    from stacks.app import BOOTSTRAP_STACK
    from stacks.bootstrap import BootstrapStack

    app = App(outdir=str(tmp_path))
    stack = BootstrapStack(app, BOOTSTRAP_STACK, environments=load_all())
    assert stack.node.validate() == []
    StorageAccount(
        stack,
        "forgotten-account",
        name="stforgotten001",
        resource_group_name="rg",
        location="westeurope",
        account_tier="Standard",
        account_replication_type="ZRS",
    )
    problems = stack.node.validate()
    assert problems and all("AZ-DIAG-1" in p and "forgotten-account" in p for p in problems), problems
