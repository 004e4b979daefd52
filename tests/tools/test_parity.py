"""tools.checks.parity: the real synth has no unexplained security difference; small examples show the rules."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools.checks import parity

STORAGE: dict[str, Any] = {
    "//": {"metadata": {"path": "ENV-infra/data/storage/account"}},
    "name": "ENVdatast001",
    "public_network_access_enabled": False,
    "shared_access_key_enabled": False,
    "account_replication_type": "ZRS",
    "tenant": "00000000-0000-0000-0000-000000000001",
}


def write_env(folder: Path, environment: str, storage: dict[str, Any]) -> None:
    body = json.loads(json.dumps(storage).replace("ENV", environment))
    for kind, resources in (("infra", {"azurerm_storage_account": {"account": body}}), ("cluster", {})):
        (folder / "stacks" / f"{environment}-{kind}").mkdir(parents=True)
        (folder / "stacks" / f"{environment}-{kind}" / "cdk.tf.json").write_text(json.dumps({"resource": resources}))


def synth_with(tmp_path: Path, **production_changes: Any) -> Path:
    production = copy.deepcopy(STORAGE) | production_changes
    production["tenant"] = "00000000-0000-0000-0000-000000000002"  # environment-specific ids are not findings
    write_env(tmp_path, "staging", STORAGE)
    write_env(tmp_path, "production", production)
    return tmp_path


def allowlist(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "allow.toml"
    path.write_text(text)
    return path


def test_real_synth_has_no_unexplained_security_difference(synth_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = parity.main([str(synth_dir)])
    assert exit_code == 0, capsys.readouterr().out


def test_checked_in_allowlist_entries_all_have_reasons() -> None:
    assert all(entry.reason.strip() for entry in parity.load_allowlist(parity.DEFAULT_ALLOWLIST))


def test_sizing_difference_is_reported_but_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    synth = synth_with(tmp_path, account_replication_type="RAGZRS")
    assert parity.main([str(synth), "--allowlist", str(tmp_path / "none.toml")]) == 0
    assert (
        "sizing: infra/data/storage/account (azurerm_storage_account) account_replication_type:"
        ' staging="ZRS" production="RAGZRS"' in capsys.readouterr().out
    )


def test_security_difference_fails_and_names_resource_attribute_and_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synth = synth_with(tmp_path, shared_access_key_enabled=True)
    assert parity.main([str(synth), "--allowlist", str(tmp_path / "none.toml")]) == 1
    assert (
        "FAIL security: infra/data/storage/account (azurerm_storage_account) shared_access_key_enabled: "
        "staging=false production=true"
    ) in capsys.readouterr().out


def test_allowlisted_security_difference_passes_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synth = synth_with(tmp_path, public_network_access_enabled=True)
    allow = allowlist(
        tmp_path, '[[allow]]\npath = "infra/data/*"\nattribute = "public_network_access_enabled"\nreason = "demo"\n'
    )
    assert parity.main([str(synth), "--allowlist", str(allow), "--format", "markdown"]) == 0
    assert "`public_network_access_enabled` on 1 resource(s) matching `infra/data/*`: demo" in capsys.readouterr().out


def test_security_resource_in_one_environment_only_fails(tmp_path: Path) -> None:
    synth = synth_with(tmp_path)
    stack = synth / "stacks" / "production-infra" / "cdk.tf.json"
    body = json.loads(stack.read_text())
    body["resource"]["azurerm_monitor_diagnostic_setting"] = {
        "diag": {"//": {"metadata": {"path": "production-infra/data/storage/diagnostics"}}, "name": "d"}
    }
    stack.write_text(json.dumps(body))
    report = parity.compare(
        parity.environment_resources(synth, "staging"),
        parity.environment_resources(synth, "production"),
        [],
        ("staging", "production"),
    )
    assert [(f.path, f.attribute) for f in report.security] == [("infra/data/storage/diagnostics", "(resource)")]
    assert report.types_only_in == {"staging": [], "production": ["azurerm_monitor_diagnostic_setting"]}


def test_pod_security_label_difference_is_a_security_finding() -> None:
    namespace = {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    weaker = {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}
    report = parity.compare(
        {"cluster/ns": ("kubernetes_namespace_v1", namespace)},
        {"cluster/ns": ("kubernetes_namespace_v1", weaker)},
        [],
        ("staging", "production"),
    )
    assert [f.attribute for f in report.security] == ["metadata.labels.pod-security.kubernetes.io/enforce"]


def test_allowlist_entry_without_reason_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"allow\[0\]"):
        parity.load_allowlist(allowlist(tmp_path, '[[allow]]\npath = "*"\nattribute = "*"\nreason = " "\n'))
