"""tools/checks/reference_check.py over the whole synthesized app (no unacknowledged finding), and a failing example
per rule on small JSON fragments, including the six faults of issue #15 in their broken form."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tools.checks.reference_check import REFERENCE_DIR, Reference, check_app, check_stack, main, minutes

REF = Reference.load()
RG = {"name": "rg", "location": "eastus"}
RG_WEST = {"name": "rg-dr", "location": "westus"}


def stack(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"resource": {"azurerm_resource_group": {"rg": RG, "rg-dr": RG_WEST}, **resources}}


def findings(resources: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    result = check_stack("test", stack(resources), REF)
    return [(f.rule, f.address, f.attribute, f.value) for f in sorted(result.findings)]


def test_whole_app_has_no_unacknowledged_finding(synth_dir: Path) -> None:
    report = check_app(synth_dir)
    assert not report.findings, "\n".join(str(f) for f in report.findings)
    # Every category was exercised on the real app, so a rule silently matching nothing would show here.
    for category in ("schema", "policy", "metric", "diagnostic", "role", "zone", "version", "duration", "dns"):
        assert report.checked[category] > 0, category


def test_cli_exits_1_on_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stacks" / "s").mkdir(parents=True)
    broken = stack({"azurerm_role_assignment": {"a": {"role_definition_name": "Acr Puller", "scope": "x"}}})
    (tmp_path / "stacks" / "s" / "cdk.tf.json").write_text(json.dumps(broken))
    assert main([str(tmp_path)]) == 1
    assert "REF-ROLE s: azurerm_role_assignment.a role_definition_name = 'Acr Puller'" in capsys.readouterr().out


# --- the six faults of issue #15, in the form they had ---------------------------------------------------------
SOC2 = "/providers/Microsoft.Authorization/policySetDefinitions/4054785f-702b-4a98-9215-009cbd58b141"


def test_soc2_assignment_without_its_required_parameters_fails() -> None:
    assignment = {"name": "soc2", "policy_definition_id": SOC2, "subscription_id": "/subscriptions/s"}
    missing = {
        attribute for rule, _, attribute, _ in findings({"azurerm_subscription_policy_assignment": {"a": assignment}})
    }
    assert missing == {
        "parameters.allowedContainerImagesRegex-febd0533-8e55-448f-b837-bd0e06f16469",
        "parameters.cpuLimit-e345eecc-fa47-480f-9e88-67dcc122b164",
        "parameters.memoryLimit-e345eecc-fa47-480f-9e88-67dcc122b164",
    }


def test_prometheus_for_of_zero_minutes_fails() -> None:
    group = {
        "name": "g",
        "location": "eastus",
        "resource_group_name": "rg",
        "scopes": ["x"],
        "interval": "PT1M",
        "rule": [{"alert": "A", "expression": "up == 0", "for": "PT0M"}],
    }
    assert findings({"azurerm_monitor_alert_prometheus_rule_group": {"g": group}}) == [
        ("REF-DURATION", "azurerm_monitor_alert_prometheus_rule_group.g", "rule[0].for", "PT0M")
    ]


def test_grafana_metrics_export_fails() -> None:
    grafana = {"name": "g", "location": "eastus", "resource_group_name": "rg", "grafana_major_version": "12"}
    setting = {
        "name": "d",
        "target_resource_id": "${azurerm_dashboard_grafana.g.id}",
        "enabled_log": [{"category_group": "allLogs"}],
        "enabled_metric": [{"category": "AllMetrics"}],
    }
    assert findings(
        {"azurerm_dashboard_grafana": {"g": grafana}, "azurerm_monitor_diagnostic_setting": {"d": setting}}
    ) == [("REF-DIAG", "azurerm_monitor_diagnostic_setting.d", "enabled_metric.category", "AllMetrics")]


def test_storage_allmetrics_fails() -> None:
    account = {"name": "s", "location": "eastus", "resource_group_name": "rg", "account_tier": "Standard"}
    account["account_replication_type"] = "ZRS"
    settings = {
        name: {"name": name, "target_resource_id": target, "enabled_metric": [{"category": "AllMetrics"}]}
        for name, target in (
            ("a", "${azurerm_storage_account.s.id}"),
            ("b", "${azurerm_storage_account.s.id}/blobServices/default"),
        )
    }
    expected = [
        ("REF-DIAG", f"azurerm_monitor_diagnostic_setting.{n}", "enabled_metric.category", "AllMetrics") for n in "ab"
    ]
    assert (
        findings({"azurerm_storage_account": {"s": account}, "azurerm_monitor_diagnostic_setting": settings})
        == expected
    )
    for setting in settings.values():
        setting["enabled_metric"] = [{"category": "Capacity"}, {"category": "Transaction"}]
    assert findings({"azurerm_storage_account": {"s": account}, "azurerm_monitor_diagnostic_setting": settings}) == []


@pytest.mark.parametrize(
    ("version", "ok"), [("1.33", False), ("1.34", False), ("1.35", True), ("1.36", True), ("1.37", True)]
)
def test_aks_versions_in_support_on_the_data_date(version: str, ok: bool) -> None:
    cluster = {
        "name": "c",
        "location": "eastus",
        "resource_group_name": "rg",
        "kubernetes_version": version,
        "default_node_pool": {"name": "system", "vm_size": "Standard_D4ds_v5"},
    }
    assert bool(findings({"azurerm_kubernetes_cluster": {"c": cluster}})) is not ok


def test_aks_lts_extends_support() -> None:
    cluster = {
        "name": "c",
        "location": "eastus",
        "resource_group_name": "rg",
        "kubernetes_version": "1.33",
        "support_plan": "AKSLongTermSupport",
        "default_node_pool": {"name": "system", "vm_size": "Standard_D4ds_v5"},
    }
    assert findings({"azurerm_kubernetes_cluster": {"c": cluster}}) == []


def test_grafana_11_fails_and_12_passes() -> None:
    def grafana(version: str) -> dict[str, Any]:
        return {
            "azurerm_dashboard_grafana": {
                "g": {"name": "g", "location": "eastus", "resource_group_name": "rg", "grafana_major_version": version}
            }
        }

    assert findings(grafana("11")) == [("REF-VERSION", "azurerm_dashboard_grafana.g", "grafana_major_version", "11")]
    assert findings(grafana("12")) == []


def test_zone_redundant_replica_in_westus_fails() -> None:
    registry = {
        "name": "r",
        "location": "eastus",
        "resource_group_name": "rg",
        "sku": "Premium",
        "zone_redundancy_enabled": True,
        "georeplications": [{"location": "westus", "zone_redundancy_enabled": True}],
    }
    assert findings({"azurerm_container_registry": {"r": registry}}) == [
        ("REF-ZONE", "azurerm_container_registry.r", "georeplications.zone_redundancy_enabled", "True")
    ]


# --- one failing example per remaining rule ----------------------------------------------------------------------
def test_schema_rejects_a_removed_attribute_an_unknown_block_and_an_unknown_type() -> None:
    registry = {
        "name": "r",
        "location": "eastus",
        "resource_group_name": "rg",
        "sku": "Premium",
        "georeplication_locations": ["westus"],  # removed in azurerm 3.0
        "network_rule_set": [{"default_action": "Deny", "virtual_network": [{"action": "Allow"}]}],
    }
    assert findings({"azurerm_container_registry": {"r": registry}, "azurerm_kubernetes_cluster_v2": {"x": {}}}) == [
        ("REF-SCHEMA", "azurerm_container_registry.r", "georeplication_locations", "(set)"),
        ("REF-SCHEMA", "azurerm_container_registry.r", "network_rule_set.virtual_network", "(set)"),
        ("REF-SCHEMA", "azurerm_kubernetes_cluster_v2.x", "(type)", "azurerm_kubernetes_cluster_v2"),
    ]


def test_schema_rejects_a_missing_required_argument() -> None:
    assert findings({"azurerm_container_registry": {"r": {"name": "r", "location": "eastus", "sku": "Premium"}}}) == [
        ("REF-SCHEMA", "azurerm_container_registry.r", "resource_group_name", "(missing)")
    ]


def test_policy_rules() -> None:
    unknown = "/providers/Microsoft.Authorization/policySetDefinitions/00000000-0000-0000-0000-000000000000"
    pod = "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00"
    params = json.dumps({"effect": {"value": "Block"}, "excludedNamespace": {"value": ["kube-system"]}})
    assert findings(
        {
            "azurerm_subscription_policy_assignment": {
                "a": {"name": "a", "policy_definition_id": unknown, "subscription_id": "/subscriptions/s"}
            },
            "azurerm_resource_policy_assignment": {
                "b": {"name": "b", "policy_definition_id": pod, "resource_id": "x", "parameters": params}
            },
        }
    ) == [
        ("REF-POLICY", "azurerm_resource_policy_assignment.b", "parameters.effect", "Block"),
        (
            "REF-POLICY",
            "azurerm_resource_policy_assignment.b",
            "parameters.excludedNamespace",
            "{'value': ['kube-system']}",
        ),
        ("REF-POLICY", "azurerm_subscription_policy_assignment.a", "policy_definition_id", unknown),
    ]


def test_metric_alert_rules() -> None:
    vault = {"name": "kv", "location": "eastus", "resource_group_name": "rg", "sku_name": "premium", "tenant_id": "t"}
    alert = {
        "name": "a",
        "resource_group_name": "rg",
        "scopes": ["${azurerm_key_vault.kv.id}"],
        "frequency": "PT2M",
        "window_size": "PT5M",
        "criteria": [
            {
                "metric_namespace": "Microsoft.Storage/storageAccounts",
                "metric_name": "Availability",
                "aggregation": "Average",
                "operator": "LessThan",
                "threshold": 99,
            },
            {
                "metric_namespace": "Microsoft.KeyVault/vaults",
                "metric_name": "Availabilty",
                "aggregation": "Average",
                "operator": "LessThan",
                "threshold": 99,
            },
            {
                "metric_namespace": "Microsoft.KeyVault/vaults",
                "metric_name": "Availability",
                "aggregation": "Total",
                "operator": "LessThan",
                "threshold": 99,
                "dimension": [{"name": "Region", "operator": "Include", "values": ["*"]}],
            },
        ],
    }
    assert findings({"azurerm_key_vault": {"kv": vault}, "azurerm_monitor_metric_alert": {"a": alert}}) == [
        ("REF-DURATION", "azurerm_monitor_metric_alert.a", "frequency", "PT2M"),
        (
            "REF-METRIC",
            "azurerm_monitor_metric_alert.a",
            "criteria[0].metric_namespace",
            "Microsoft.Storage/storageAccounts",
        ),
        ("REF-METRIC", "azurerm_monitor_metric_alert.a", "criteria[1].metric_name", "Availabilty"),
        ("REF-METRIC", "azurerm_monitor_metric_alert.a", "criteria[2].aggregation", "Total"),
        ("REF-METRIC", "azurerm_monitor_metric_alert.a", "criteria[2].dimension.name", "Region"),
    ]


def test_diagnostic_setting_rules() -> None:
    cluster = {
        "name": "c",
        "location": "eastus",
        "resource_group_name": "rg",
        "default_node_pool": {"name": "system", "vm_size": "Standard_D4ds_v5"},
    }
    on_cluster = {
        "name": "d",
        "target_resource_id": "${azurerm_kubernetes_cluster.c.id}",
        "enabled_log": [{"category": "kube-audit"}, {"category": "kube-auditing"}, {"category_group": "everything"}],
    }
    on_nsg = {
        "name": "n",
        "target_resource_id": "${azurerm_network_security_group.n.id}",
        "enabled_metric": [{"category": "AllMetrics"}],
    }
    activity = {"name": "s", "target_resource_id": "/subscriptions/0000", "enabled_log": [{"category": "Audit"}]}
    assert findings(
        {
            "azurerm_kubernetes_cluster": {"c": cluster},
            "azurerm_network_security_group": {"n": {"name": "n", "location": "eastus", "resource_group_name": "rg"}},
            "azurerm_monitor_diagnostic_setting": {"d": on_cluster, "n": on_nsg, "s": activity},
        }
    ) == [
        ("REF-DIAG", "azurerm_monitor_diagnostic_setting.d", "enabled_log.category", "kube-auditing"),
        ("REF-DIAG", "azurerm_monitor_diagnostic_setting.d", "enabled_log.category_group", "everything"),
        ("REF-DIAG", "azurerm_monitor_diagnostic_setting.n", "enabled_metric.category", "AllMetrics"),
        ("REF-DIAG", "azurerm_monitor_diagnostic_setting.s", "enabled_log.category", "Audit"),
    ]


def test_role_rule() -> None:
    assignment = {
        "scope": "x",
        "principal_id": "p",
        "role_definition_name": "Key Vault Crypto Service Encryption Users",
    }
    assert findings({"azurerm_role_assignment": {"a": assignment}}) == [
        ("REF-ROLE", "azurerm_role_assignment.a", "role_definition_name", "Key Vault Crypto Service Encryption Users")
    ]


def test_zone_rules_follow_the_resource_group_and_the_parent() -> None:
    ip = {
        "name": "ip",
        "location": "${azurerm_resource_group.rg-dr.location}",
        "resource_group_name": "rg-dr",
        "allocation_method": "Static",
        "zones": ["1", "2", "3"],
    }
    cluster = {
        "name": "c",
        "location": "westus",
        "resource_group_name": "rg",
        "default_node_pool": {"name": "system", "vm_size": "Standard_D4ds_v5"},
    }
    pool = {"name": "apps", "kubernetes_cluster_id": "${azurerm_kubernetes_cluster.c.id}", "zones": ["1"]}
    server = {
        "name": "pg",
        "location": "eastus",
        "resource_group_name": "rg",
        "zone": "1",
        "high_availability": {"mode": "ZoneRedundant"},
    }
    assert findings(
        {
            "azurerm_public_ip": {"ip": ip},
            "azurerm_kubernetes_cluster": {"c": cluster},
            "azurerm_kubernetes_cluster_node_pool": {"p": pool},
            "azurerm_postgresql_flexible_server": {"pg": server},
        }
    ) == [
        ("REF-VERSION", "azurerm_postgresql_flexible_server.pg", "version", "None"),
        ("REF-ZONE", "azurerm_kubernetes_cluster_node_pool.p", "zones", "['1']"),
        ("REF-ZONE", "azurerm_public_ip.ip", "zones", "['1', '2', '3']"),
    ]


def test_postgres_version_rule() -> None:
    def server(version: str) -> dict[str, Any]:
        return {
            "azurerm_postgresql_flexible_server": {
                "pg": {"name": "pg", "location": "eastus", "resource_group_name": "rg", "version": version}
            }
        }

    assert findings(server("13")) == [("REF-VERSION", "azurerm_postgresql_flexible_server.pg", "version", "13")]
    assert findings(server("16")) == []


def test_duration_rules() -> None:
    group = {
        "name": "g",
        "location": "eastus",
        "resource_group_name": "rg",
        "scopes": ["x"],
        "interval": "PT30M",
        "rule": [
            {
                "alert": "A",
                "expression": "up",
                "for": "5m",
                "alert_resolution": {"auto_resolved": True, "time_to_resolve": "10 minutes"},
            }
        ],
    }
    assert findings({"azurerm_monitor_alert_prometheus_rule_group": {"g": group}}) == [
        ("REF-DURATION", "azurerm_monitor_alert_prometheus_rule_group.g", "interval", "PT30M"),
        (
            "REF-DURATION",
            "azurerm_monitor_alert_prometheus_rule_group.g",
            "rule[0].alert_resolution.time_to_resolve",
            "10 minutes",
        ),
        ("REF-DURATION", "azurerm_monitor_alert_prometheus_rule_group.g", "rule[0].for", "5m"),
    ]
    assert (minutes("PT1M"), minutes("P1DT1H"), minutes("PT"), minutes("P")) == (1, 1500, None, None)


def test_private_dns_rule() -> None:
    vault = {"name": "kv", "location": "eastus", "resource_group_name": "rg", "sku_name": "premium", "tenant_id": "t"}
    endpoint = {
        "name": "pe",
        "location": "eastus",
        "resource_group_name": "rg",
        "subnet_id": "s",
        "private_service_connection": {
            "name": "c",
            "is_manual_connection": False,
            "private_connection_resource_id": "${azurerm_key_vault.kv.id}",
            "subresource_names": ["vault"],
        },
        "private_dns_zone_group": {"name": "default", "private_dns_zone_ids": ["${azurerm_private_dns_zone.blob.id}"]},
    }
    zone = {"name": "privatelink.blob.core.windows.net", "resource_group_name": "rg"}
    assert findings(
        {
            "azurerm_key_vault": {"kv": vault},
            "azurerm_private_endpoint": {"pe": endpoint},
            "azurerm_private_dns_zone": {"blob": zone},
        }
    ) == [
        (
            "REF-DNS",
            "azurerm_private_endpoint.pe",
            "private_dns_zone_group.private_dns_zone_ids",
            "privatelink.blob.core.windows.net",
        )
    ]


def test_an_acknowledged_finding_needs_a_reason_and_is_reported_apart() -> None:
    ref = copy.copy(REF)
    ref.acknowledged = [{"rule": "REF-ROLE", "address": "azurerm_role_assignment.*", "reason": "custom role"}]
    result = check_stack(
        "s",
        stack({"azurerm_role_assignment": {"a": {"role_definition_name": "Mine", "scope": "x", "principal_id": "p"}}}),
        ref,
    )
    assert [ref.acknowledges(f) for f in result.findings] == ["custom role"]
    entries = tomllib.loads((REFERENCE_DIR / "acknowledged.toml").read_text()).get("finding", [])
    for entry in entries:
        assert entry.get("reason", "").strip(), f"acknowledged finding without a reason: {entry}"


def test_storage_allmetrics_planted_in_the_real_infra_stack_fails(stacks) -> None:
    infra = copy.deepcopy(stacks["staging-infra"])
    settings = infra["resource"]["azurerm_monitor_diagnostic_setting"]
    [key] = [k for k, s in settings.items() if s["target_resource_id"].endswith("data_storage_account_D5690619.id}")]
    assert [m["category"] for m in settings[key]["enabled_metric"]] == ["Capacity", "Transaction"]
    diagnostic = [f for f in check_stack("staging-infra", infra, REF).findings if f.rule == "REF-DIAG"]
    assert diagnostic == []  # (its custom plan role is bootstrap's: check_app knows it, check_stack alone does not)
    settings[key]["enabled_metric"] = [{"category": "AllMetrics"}]
    [finding] = [f for f in check_stack("staging-infra", infra, REF).findings if f.rule == "REF-DIAG"]
    assert (finding.rule, finding.attribute, finding.value) == ("REF-DIAG", "enabled_metric.category", "AllMetrics")


def test_azapi_body_planted_in_the_real_infra_stack_fails(stacks) -> None:
    infra = copy.deepcopy(stacks["staging-infra"])
    (policy,) = infra["resource"]["azapi_resource"].values()
    assert [f for f in check_stack("staging-infra", infra, REF).findings if f.rule == "REF-AZAPI"] == []
    vault_copy = policy["body"]["properties"]["policyRules"][2]["lifecycles"][0]["targetDataStoreCopySettings"][0]
    vault_copy["dataStore"]["dataStoreType"] = "Vault"
    [finding] = [f for f in check_stack("staging-infra", infra, REF).findings if f.rule == "REF-AZAPI"]
    at = "body.properties.policyRules[2].lifecycles[0].targetDataStoreCopySettings[0].dataStore.dataStoreType"
    assert (finding.attribute, finding.value) == (at, "Vault")
    assert finding.source == "dataprotection_backup_policy.json"


def test_azapi_rule_wants_a_spec_at_the_same_api_version() -> None:
    body = {"body": {"properties": {}}, "name": "p", "parent_id": "x"}
    assert findings({"azapi_resource": {"unknown": body | {"type": "Microsoft.Web/sites@2024-04-01"}}}) == [
        ("REF-AZAPI", "azapi_resource.unknown", "type", "Microsoft.Web/sites@2024-04-01")
    ]
    older = "Microsoft.DataProtection/backupVaults/backupPolicies@2023-05-01"
    assert findings({"azapi_resource": {"older": body | {"type": older}}}) == [
        ("REF-AZAPI", "azapi_resource.older", "type", older)
    ]


# --- REF-IMAGE: images by digest (reference/image_digests.json) ---------------------------------------------------
PROXY = (
    "mcr.microsoft.com/azuremonitor/auth-proxy/prod/aad-auth-proxy/images/aad-auth-proxy:0.1.0-main-04-10-2024-7067ac84"
)


def image_findings(name: str, stack_json: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (f.address, f.attribute, f.value) for f in check_stack(name, stack_json, REF).findings if f.rule == "REF-IMAGE"
    ]


def test_every_image_of_the_app_is_by_digest_or_a_named_open_item(synth_dir: Path, capsys) -> None:
    report = check_app(synth_dir)
    assert report.checked["image"] == 20  # 8 runner, 4 import, 8 cluster containers (two environments)
    assert report.unverified["image"] == len(report.open_items) == 10
    proxy = [item for item in report.open_items if f"= {PROXY!r}: by tag only, an open item" in item]
    runner = [item for item in report.open_items if "github-runner:" in item and "locked at build" in item]
    assert len(proxy) == 2 and len(runner) == 8  # each environment's collector proxy; 2 pools x 2 containers x 2
    assert main([str(synth_dir)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("open: REF-IMAGE") == 10  # named in the output, not passed silently


def test_a_tag_only_image_planted_in_the_real_cluster_stack_fails(stacks) -> None:
    cluster = copy.deepcopy(stacks["staging-cluster"])
    assert image_findings("staging-cluster", cluster) == []
    [(key, deployment)] = cluster["resource"]["kubernetes_deployment_v1"].items()
    collector = deployment["spec"]["template"]["spec"]["container"][0]
    collector["image"] = collector["image"].split("@")[0]  # the tag the digest pinned
    assert image_findings("staging-cluster", cluster) == [
        (f"kubernetes_deployment_v1.{key}", "spec.template.spec.container[0].image", collector["image"])
    ]


def test_an_import_by_tag_or_by_another_digest_planted_in_the_real_infra_stack_fails(stacks) -> None:
    infra = copy.deepcopy(stacks["staging-infra"])
    assert image_findings("staging-infra", infra) == []
    imports = infra["resource"]["terraform_data"]
    [key] = [k for k in imports if k.startswith("job-image-import")]
    local_exec = imports[key]["provisioner"][0]["local-exec"]
    recorded = local_exec["command"]
    local_exec["command"] = re.sub(r"@sha256:[0-9a-f]{64}", ":1.36.5", recorded)  # by tag
    assert [value for _, _, value in image_findings("staging-infra", infra)] == ["docker.io/alpine/k8s:1.36.5"]
    local_exec["command"] = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, recorded)  # not the recorded one
    [(_, attribute, value)] = image_findings("staging-infra", infra)
    assert attribute == "provisioner[0].local-exec.command" and value.endswith("0" * 64)


def test_an_untracked_public_image_fails_and_an_open_item_does_not() -> None:
    pod = {"spec": {"container": [{"name": "a", "image": "docker.io/library/busybox:1.37"}]}}
    assert image_findings("s", {"resource": {"kubernetes_pod_v1": {"p": pod}}}) == [
        ("kubernetes_pod_v1.p", "spec.container[0].image", "docker.io/library/busybox:1.37")
    ]
    pod["spec"]["container"][0]["image"] = PROXY
    result = check_stack("s", {"resource": {"kubernetes_pod_v1": {"p": pod}}}, REF)
    assert result.findings == [] and len(result.open) == 1
