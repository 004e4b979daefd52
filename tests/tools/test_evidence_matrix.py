"""tools.docgen.evidence_matrix: evidence is found by querying the synthesized JSON, absent evidence shows MISSING and
fails --check, and the checked-in matrix is fresh."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tools.docgen import evidence_matrix
from tools.docgen.evidence_matrix import CONTROLS, MISSING, Stacks

INFRA = {
    "terraform": {"backend": {"azurerm": {"key": "staging-infra.tfstate"}}},
    "resource": {
        "azurerm_key_vault": {
            "a": {
                "rbac_authorization_enabled": True,
                "purge_protection_enabled": True,
                "public_network_access_enabled": False,
            },
            "b": {
                "rbac_authorization_enabled": True,
                "purge_protection_enabled": True,
                "public_network_access_enabled": False,
            },
        },
        "azurerm_security_center_subscription_pricing": {
            "containers": {"resource_type": "Containers", "tier": "Standard"},
            "vms": {"resource_type": "VirtualMachines", "tier": "Free"},
        },
        "azurerm_monitor_diagnostic_setting": {"activity": {"target_resource_id": "/subscriptions/s"}},
    },
}


def finding(infra: dict, description: str, cluster: dict | None = None) -> str | None:
    (evidence,) = [e for control in CONTROLS for e in control.evidence if e.description == description]
    return evidence.query(Stacks(infra, cluster or {}))


def test_all_of_counts_resources_and_needs_every_one_to_comply() -> None:
    description = "Key Vault: RBAC authorization, purge protection"
    assert finding(INFRA, description) == "2/2 key vaults"
    broken = json.loads(json.dumps(INFRA))
    broken["resource"]["azurerm_key_vault"]["b"]["rbac_authorization_enabled"] = False
    assert finding(broken, description) is None
    assert finding({"resource": {}}, description) is None  # no key vault is no evidence


def test_defender_evidence_lists_only_standard_plans() -> None:
    assert finding(INFRA, "Defender for Cloud plans (Standard)") == "Containers"


def test_activity_log_export_is_a_subscription_scoped_setting() -> None:
    assert finding(INFRA, "Activity log exported") == "subscription exports: 1"
    assert finding(INFRA, "Diagnostic settings to Log Analytics") == "diagnostic settings: 1"


def test_kubernetes_evidence_comes_from_the_cluster_stack() -> None:
    cluster = {"resource": {"kubernetes_network_policy_v1": {"deny": {}, "dns": {}}}}
    assert finding(INFRA, "Kubernetes NetworkPolicies", cluster) == "network policies: 2"
    assert finding(INFRA, "Kubernetes NetworkPolicies") is None


def write_synth_dir(root: Path, infra: dict) -> Path:
    for environment in evidence_matrix.ENVIRONMENTS:
        for kind, body in (("infra", infra), ("cluster", {})):
            path = root / "stacks" / f"{environment}-{kind}" / "cdk.tf.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(body))
    return root


def test_check_exits_1_and_prints_missing_when_evidence_is_absent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synth_dir = write_synth_dir(tmp_path, INFRA)
    assert evidence_matrix.main([str(synth_dir), "--check"]) == 1
    out = capsys.readouterr()
    assert "| Azure Firewall on the hub | MISSING | MISSING |" in out.out
    assert "evidence MISSING in" in out.err
    assert evidence_matrix.main([str(synth_dir)]) == 0  # printing alone does not fail


def test_missing_stack_is_an_error(tmp_path: Path) -> None:
    assert evidence_matrix.main([str(tmp_path), "--check"]) == 2


def test_app_has_evidence_for_governance_controls(synth_dir: Path) -> None:
    findings = evidence_matrix.all_findings(synth_dir)
    rows = {e.description: (ci, ei) for ci, c in enumerate(CONTROLS) for ei, e in enumerate(c.evidence)}
    for environment in evidence_matrix.ENVIRONMENTS:
        for description in (
            "Defender for Cloud plans (Standard)",
            "Activity log exported",
            "Regulatory compliance initiatives assigned",
            "Gatekeeper and pod security policies on AKS",
        ):
            control, row = rows[description]
            assert findings[environment][control][row] != MISSING, (environment, description)


def test_checked_in_matrix_is_fresh(synth_dir: Path) -> None:
    expected = evidence_matrix.render(evidence_matrix.all_findings(synth_dir))
    assert evidence_matrix.DOCUMENT.exists() and evidence_matrix.DOCUMENT.read_text() == expected, (
        f"{evidence_matrix.DOCUMENT} is stale; regenerate with: {evidence_matrix.REGENERATE}"
    )


def test_sent_sources_follow_diagnostic_settings_and_data_collection_rules() -> None:
    infra = {
        "resource": {
            "azurerm_monitor_diagnostic_setting": {
                "activity": {
                    "target_resource_id": "/subscriptions/s",
                    "log_analytics_workspace_id": "w",
                    "enabled_log": [{"category": "Policy"}],
                },
                "vault": {
                    "target_resource_id": "${azurerm_key_vault.v.id}",
                    "log_analytics_workspace_id": "w",
                    "enabled_log": [{"category_group": "allLogs"}],
                },
                "aks": {
                    "target_resource_id": "${azurerm_kubernetes_cluster.c.id}",
                    "log_analytics_workspace_id": "w",
                    "log_analytics_destination_type": "Dedicated",
                    "enabled_log": [{"category": "kube-audit-admin"}],
                },
                "blobs": {  # a sub-resource's logs have their own tables: not AzureDiagnostics
                    "target_resource_id": "${azurerm_storage_account.s.id}/blobServices/default",
                    "log_analytics_workspace_id": "w",
                    "enabled_log": [{"category_group": "allLogs"}],
                },
                "metrics-only": {
                    "target_resource_id": "${azurerm_eventhub_namespace.e.id}",
                    "log_analytics_workspace_id": "w",
                },
                "firewall": {  # a category group: every category of the type, each to its own table
                    "target_resource_id": "${azurerm_firewall.f.id}",
                    "log_analytics_workspace_id": "w",
                    "log_analytics_destination_type": "Dedicated",
                    "enabled_log": [{"category_group": "allLogs"}],
                },
                "logic-app": {  # another stack's resource by its literal id: not the activity log
                    "target_resource_id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Logic/workflows/a",
                    "log_analytics_workspace_id": "w",
                    "enabled_log": [{"category": "WorkflowRuntime"}],
                },
            },
            "azurerm_monitor_data_collection_rule": {
                "drills": {
                    "destinations": {"log_analytics": [{"name": "workspace"}]},
                    "data_flow": [
                        {"streams": ["Custom-Raw"], "output_stream": "Custom-Results_CL", "destinations": ["workspace"]}
                    ],
                },
                "prometheus": {
                    "destinations": {"monitor_account": [{"name": "account"}]},
                    "data_flow": [{"streams": ["Microsoft-PrometheusMetrics"], "destinations": ["account"]}],
                },
            },
        }
    }
    assert evidence_matrix.sent_sources(Stacks(infra, {})) == {
        "AzureActivity:Policy",
        "AzureDiagnostics:Microsoft.KeyVault/vaults",
        "AzureDiagnostics:Microsoft.Logic/workflows",
        "AKSAuditAdmin",
        "AZFWApplicationRule",
        "AZFWDnsQuery",
        "AZFWNatRule",
        "AZFWNetworkRule",
        "Results_CL",
    }


def test_every_live_query_names_its_table_and_a_known_control() -> None:
    control_ids = {control.id for control in CONTROLS}
    for control_id, query in evidence_matrix.LIVE_QUERIES:
        assert control_id in control_ids, control_id
        assert query.kql.split("|")[0].strip() == query.table, query.description


def test_live_queries_read_tables_the_real_output_sends(synth_dir: Path) -> None:
    for environment in evidence_matrix.ENVIRONMENTS:
        stacks = evidence_matrix.environment_stacks(synth_dir, environment)
        assert evidence_matrix.unsent_queries(stacks) == [], environment


def test_check_fails_when_the_real_output_stops_sending_a_queried_table(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Planted in a copy of the real output: the activity log export without its Policy category, and no
    restore-drill data collection rule."""
    shutil.copytree(synth_dir, tmp_path / "out")
    path = tmp_path / "out" / "stacks" / "production-infra" / "cdk.tf.json"
    infra = json.loads(path.read_text())
    settings = infra["resource"]["azurerm_monitor_diagnostic_setting"]
    (activity,) = [s for s in settings.values() if re.fullmatch(r"/subscriptions/[^/]+", str(s["target_resource_id"]))]
    activity["enabled_log"] = [log for log in activity["enabled_log"] if log.get("category") != "Policy"]
    rules = infra["resource"]["azurerm_monitor_data_collection_rule"]
    for name in [name for name, rule in rules.items() if "DrDrillResults_CL" in json.dumps(rule)]:
        del rules[name]
    path.write_text(json.dumps(infra))
    assert evidence_matrix.main([str(tmp_path / "out"), "--check"]) == 1
    err = capsys.readouterr().err
    assert "production: live query 'Azure Policy results per month and effect" in err
    assert "reads DrDrillResults_CL, which nothing sends" in err
    assert "staging:" not in err
