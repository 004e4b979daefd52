"""The synthesized output holds no literal secrets, and every scanner rule catches a planted example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.checks.secret_scan import DETECT_SECRETS, OWN_RULES, scan, scan_own_rules

pytestmark = pytest.mark.requires_tool(DETECT_SECRETS)  # tests/assurance/conftest.py


PLANTED = {
    "azure-storage-key": {
        "value": "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + "A1b2C3d4" * 11 + "==;"
    },
    "azure-connection-string": {
        "value": "DefaultEndpointsProtocol=https;AccountName=stgdataerp01;EndpointSuffix=core.windows.net"
    },
    "azure-shared-access-key": {
        "value": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=" + "Zx9" * 12
    },
    "azure-sas": {"url": "https://a.blob.core.windows.net/c?sv=2022-11-02&ss=b&sig=" + "AbC%2Bd3" * 6},
    "slack-webhook": {"url": "https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/" + "x1Y2z3" * 4},
    "pagerduty-key": {"routing_key": "0123456789abcdef" * 2},
    "private-key": {"key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."},
    "literal-password": {"administrator_password": "Sup3rS3cret!", "client_secret": "abc"},
}


def plant(root: Path, content: dict) -> Path:
    stack_dir = root / "stacks" / "planted"
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text(json.dumps({"resource": {"x": {"y": content}}}, indent=2))
    return root


def test_synthesized_output_has_no_secrets(synth_dir: Path) -> None:
    assert [str(finding) for finding in scan(synth_dir)] == []


def test_every_own_rule_has_a_planted_example() -> None:
    assert sorted(PLANTED) == sorted(rule.id for rule in OWN_RULES)


@pytest.mark.parametrize("rule_id", sorted(PLANTED))
def test_own_rule_catches_its_planted_example(tmp_path: Path, rule_id: str) -> None:
    findings = scan_own_rules(plant(tmp_path, PLANTED[rule_id]))
    assert rule_id in {finding.rule for finding in findings}
    assert all(finding.file == "stacks/planted/cdk.tf.json" and finding.line > 0 for finding in findings)


@pytest.mark.parametrize(
    "harmless",
    [
        {"administrator_password": "${random_password.postgres.result}"},
        {"admin_password": "${var.admin_password}"},
        {"password_auth_enabled": False},
        {"secret_name": "erp-tls-certificate"},
        {"key_vault_key_id": "${azurerm_key_vault_key.storage.versionless_id}"},
        {"tenant_id": "00000000-0000-0000-0000-0000000000aa"},
    ],
)
def test_references_and_ids_are_not_findings(tmp_path: Path, harmless: dict) -> None:
    assert scan_own_rules(plant(tmp_path, harmless)) == []


def test_detect_secrets_layer_runs_and_finds_a_private_key(tmp_path: Path) -> None:
    findings = scan(plant(tmp_path, PLANTED["private-key"]))
    assert any(finding.rule.startswith("detect-secrets:") for finding in findings)


def test_logical_ids_are_not_high_entropy_findings_but_values_are(tmp_path: Path) -> None:
    logical_id = {"network_aks_system-nsg-AllowAzureLoadBalancerInbound_51F193DC": {"name": "AllowAzureLoadBalancer"}}
    assert scan(plant(tmp_path / "ids", logical_id)) == []
    # The name cdktf gives a cross-stack output is an identifier too (its value still gets scanned).
    output = {
        "cross-stack-output-azurerm_key_vault_certificateapp-gateway_backend-certificate_BBFA8163versionless_id": {
            "sensitive": True,
            "value": "${azurerm_key_vault_certificate.app-gateway_backend-certificate_BBFA8163.versionless_id}",
        }
    }
    assert scan(plant(tmp_path / "outputs", output)) == []
    leaked = {"cross-stack-output-x": {"value": "q8Zr4Xv1Lm7Tn2Bw9Kc5Hy3Pd6Fs0Gj4Vx8Ne1Ru7Wa"}}
    assert [f.rule for f in scan(plant(tmp_path / "leaked", leaked))] == ["detect-secrets:Base64 High Entropy String"]
    high_entropy_value = {"token": "q8Zr4Xv1Lm7Tn2Bw9Kc5Hy3Pd6Fs0Gj4Vx8Ne1Ru7Wa"}
    assert [f.rule for f in scan(plant(tmp_path / "value", high_entropy_value))] == [
        "detect-secrets:Base64 High Entropy String"
    ]


def test_container_apps_secret_names_are_not_findings_but_their_values_are(tmp_path: Path) -> None:
    named = {
        "secret": [{"name": "github-app-key", "value": "${var.staging_github_app_private_key}"}],
        "secret_name": "github-app-key",
        "trigger_parameter": "appKey",
    }
    assert scan(plant(tmp_path / "name", named)) == []
    literal = {"secret": [{"name": "github-app-key", "value": "q8Zr4Xv1Lm7Tn2Bw9Kc5Hy3Pd6Fs0Gj4Vx8Ne1Ru7Wa"}]}
    assert scan(plant(tmp_path / "value", literal)) != []
    pem = {"secret": [{"name": "github-app-key", "value": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow..."}]}
    assert scan(plant(tmp_path / "pem", pem)) != []  # the App's key pasted as a literal is caught
