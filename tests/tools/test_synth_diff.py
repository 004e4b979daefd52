"""tools.review.synth_diff on small synth folders written in the test."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools.review import synth_diff

BASE: dict[str, Any] = {
    "resource": {
        "azurerm_storage_account": {
            "state": {
                "//": {"metadata": {"path": "s/state"}},
                "name": "st1",
                "location": "eastus",
                "account_replication_type": "ZRS",
                "network_rules": {"default_action": "Deny"},
            },
        },
        "azurerm_subnet": {"a": {"name": "snet-a", "address_prefixes": ["10.0.0.0/24"]}},
        "azurerm_resource_group": {"old": {"name": "rg", "location": "eastus"}},
    }
}


def write_synth(folder: Path, stacks: dict[str, dict[str, Any]]) -> Path:
    for stack, body in stacks.items():
        (folder / "stacks" / stack).mkdir(parents=True)
        (folder / "stacks" / stack / "cdk.tf.json").write_text(json.dumps(body))
    return folder


def diff(base: dict[str, Any], head: dict[str, Any]) -> synth_diff.StackDiff:
    return synth_diff.diff_stack("s", synth_diff.stack_resources(base), synth_diff.stack_resources(head))


def test_identical_synths_have_no_changes_even_when_metadata_differs() -> None:
    head = copy.deepcopy(BASE)
    head["resource"]["azurerm_storage_account"]["state"]["//"] = {"metadata": {"path": "s/elsewhere"}}
    assert diff(BASE, head).empty


def test_changed_paths_name_nested_attributes_and_list_items() -> None:
    head = copy.deepcopy(BASE)
    head["resource"]["azurerm_storage_account"]["state"]["network_rules"]["default_action"] = "Allow"
    head["resource"]["azurerm_subnet"]["a"]["address_prefixes"] = ["10.0.1.0/24"]
    result = diff(BASE, head)
    assert result.changed == {
        "azurerm_storage_account.state": ["network_rules.default_action"],
        "azurerm_subnet.a": ["address_prefixes[0]"],
    }
    assert result.replaced == {}


def test_immutable_argument_change_is_flagged_as_replacement_of_a_stateful_resource() -> None:
    head = copy.deepcopy(BASE)
    head["resource"]["azurerm_storage_account"]["state"]["location"] = "westus"
    result = diff(BASE, head)
    assert result.replaced == {"azurerm_storage_account.state": ["location"]}
    assert synth_diff.warnings_of(result) == [
        "stateful: `azurerm_storage_account.state` is **replaced** (ForceNew: `location`)"
    ]


def test_a_new_backup_policy_replaces_the_aks_backup_instance_and_azapi_replaces_on_a_new_name() -> None:
    base: dict[str, Any] = {
        "resource": {
            "azurerm_data_protection_backup_instance_kubernetes_cluster": {"i": {"backup_policy_id": "${a.id}"}},
            "azapi_resource": {"p": {"name": "old", "type": "T@2025-07-01", "body": {"properties": {}}}},
        }
    }
    head = copy.deepcopy(base)
    head["resource"]["azurerm_data_protection_backup_instance_kubernetes_cluster"]["i"]["backup_policy_id"] = "${b.id}"
    head["resource"]["azapi_resource"]["p"] |= {"name": "new", "type": "T@2026-01-01"}
    assert diff(base, head).replaced == {
        "azurerm_data_protection_backup_instance_kubernetes_cluster.i": ["backup_policy_id"],
        "azapi_resource.p": ["name"],
    }


def test_identical_resource_under_new_address_is_reported_as_a_move() -> None:
    head = copy.deepcopy(BASE)
    head["resource"]["azurerm_resource_group"] = {"renamed": BASE["resource"]["azurerm_resource_group"]["old"]}
    result = diff(BASE, head)
    assert result.moved == [("azurerm_resource_group.old", "azurerm_resource_group.renamed")]
    assert result.added == result.removed == []


def test_references_to_a_moved_resource_are_not_changes() -> None:
    base = copy.deepcopy(BASE)
    base["resource"]["azurerm_subnet"]["a"]["resource_group_name"] = "${azurerm_resource_group.old.name}"
    head = copy.deepcopy(base)
    head["resource"]["azurerm_resource_group"] = {"renamed": base["resource"]["azurerm_resource_group"]["old"]}
    head["resource"]["azurerm_subnet"]["a"]["resource_group_name"] = "${azurerm_resource_group.renamed.name}"
    result = diff(base, head)
    assert result.moved == [("azurerm_resource_group.old", "azurerm_resource_group.renamed")]
    assert result.changed == {} and result.replaced == {}


def test_removed_and_added_resources_with_stateful_deletions_first() -> None:
    head = copy.deepcopy(BASE)
    del head["resource"]["azurerm_subnet"]
    del head["resource"]["azurerm_storage_account"]
    head["resource"]["azurerm_subnet"] = {"b": {"name": "snet-b", "address_prefixes": ["10.0.2.0/24"]}}
    result = diff(BASE, head)
    assert result.added == ["azurerm_subnet.b"]
    assert synth_diff.warnings_of(result) == [
        "stateful: `azurerm_storage_account.state` is **deleted**",
        "`azurerm_subnet.a` is **deleted**",
    ]


def test_cli_markdown_and_text_on_synth_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = copy.deepcopy(BASE)
    head["resource"]["azurerm_storage_account"]["state"]["name"] = "st2"
    base_dir = write_synth(tmp_path / "base", {"staging-infra": BASE})
    head_dir = write_synth(tmp_path / "head", {"staging-infra": head, "staging-cluster": {}})
    assert synth_diff.main([str(base_dir), str(head_dir), "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "| `staging-cluster` (new stack) | 0 | 0 | 0 | 0 | 0 |" in markdown
    assert "`azurerm_storage_account.state` is **replaced** (ForceNew: `name`)" in markdown
    assert synth_diff.main([str(base_dir), str(head_dir)]) == 0
    assert "staging-infra: +0 -0 ~1 replace 1 moved 0" in capsys.readouterr().out


def test_cli_fails_on_a_folder_without_synth_or_with_an_unreadable_stack(tmp_path: Path) -> None:
    assert synth_diff.main([str(tmp_path), str(tmp_path)]) == 2
    broken = tmp_path / "broken" / "stacks" / "staging-infra"
    broken.mkdir(parents=True)
    (broken / "cdk.tf.json").write_text('{"resource": ')  # truncated: a failed or interrupted synth
    assert synth_diff.main([str(tmp_path / "broken"), str(tmp_path / "broken")]) == 2


# --- State-level warnings and old → new values ------------------------------------------------------

STACK: dict[str, Any] = {
    "terraform": {
        "backend": {"azurerm": {"container_name": "tfstate", "key": "staging-infra.tfstate"}},
        "required_providers": {"azurerm": {"source": "azurerm", "version": "4.55.0"}},
    },
    "provider": {"azurerm": [{"features": [{}], "subscription_id": "sub-1"}]},
    "resource": {
        "azurerm_kubernetes_cluster": {
            "aks": {"name": "aks", "default_node_pool": {"max_count": 5, "vm_size": "Standard_D4ds_v5"}}
        },
        "azurerm_monitor_action_group": {
            "critical": {"name": "ag", "webhook_receiver": [{"name": "pd", "service_uri": "https://hooks/old"}]}
        },
    },
}


def diff_folders(tmp_path: Path, base: dict[str, Any], head: dict[str, Any]) -> synth_diff.StackDiff:
    base_dir = write_synth(tmp_path / "base", {"staging-infra": base})
    head_dir = write_synth(tmp_path / "head", {"staging-infra": head})
    [stack_diff] = synth_diff.diff_dirs(base_dir, head_dir)
    return stack_diff


def test_a_renamed_state_container_is_a_warning_at_the_top(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = copy.deepcopy(STACK)
    head["terraform"]["backend"]["azurerm"]["container_name"] = "tfstate-v2"
    stack_diff = diff_folders(tmp_path, STACK, head)
    assert not stack_diff.empty  # before: "+0 -0 ~0" and "No resource changes"
    assert len(stack_diff.settings) == 1
    assert stack_diff.settings[0].startswith('**backend** `azurerm.container_name`: "tfstate" → "tfstate-v2"')
    markdown = synth_diff.render_markdown([stack_diff])
    assert markdown.splitlines()[2].startswith("- :rotating_light: `staging-infra`: **backend**")
    assert markdown.index(":rotating_light:") < markdown.index("| stack |")
    assert synth_diff.main([str(tmp_path / "base"), str(tmp_path / "head")]) == 0
    assert capsys.readouterr().out.startswith(
        '! staging-infra: backend azurerm.container_name: "tfstate" → "tfstate-v2"'
    )


def test_provider_versions_and_configuration_are_warnings(tmp_path: Path) -> None:
    head = copy.deepcopy(STACK)
    head["terraform"]["required_providers"]["azurerm"]["version"] = "4.81.0"
    head["provider"]["azurerm"][0]["subscription_id"] = "sub-2"
    assert diff_folders(tmp_path, STACK, head).settings == [
        '**provider** `azurerm.version`: "4.55.0" → "4.81.0"',
        '**provider configuration** `azurerm[0].subscription_id`: "sub-1" → "sub-2"',
    ]


def test_new_moved_import_and_removed_blocks_are_warnings(tmp_path: Path) -> None:
    base = copy.deepcopy(STACK)
    base["moved"] = [{"from": "azurerm_subnet.a", "to": "azurerm_subnet.b"}]  # already there: not repeated
    head = copy.deepcopy(base)
    head["moved"].append({"from": "azurerm_subnet.c", "to": "azurerm_subnet.d"})
    head["import"] = [{"to": "azurerm_resource_group.rg", "id": "/subscriptions/x/resourceGroups/rg"}]
    head["removed"] = [{"from": "azurerm_subnet.e", "lifecycle": {"destroy": False}}]
    assert diff_folders(tmp_path, base, head).settings == [
        '**`moved` block**: from = "azurerm_subnet.c", to = "azurerm_subnet.d"',
        '**`import` block**: id = "/subscriptions/x/resourceGroups/rg", to = "azurerm_resource_group.rg"',
        '**`removed` block**: from = "azurerm_subnet.e", lifecycle = {"destroy": false} '
        "(forgotten: leaves Terraform's state, stays in Azure)",
    ]


def test_changed_attributes_show_old_and_new_values_with_secrets_masked(tmp_path: Path) -> None:
    head = copy.deepcopy(STACK)
    head["resource"]["azurerm_kubernetes_cluster"]["aks"]["default_node_pool"]["max_count"] = 6
    head["resource"]["azurerm_monitor_action_group"]["critical"]["webhook_receiver"][0]["service_uri"] = "https://new"
    stack_diff = diff_folders(tmp_path, STACK, head)
    markdown = synth_diff.render_markdown([stack_diff])
    assert "~ azurerm_kubernetes_cluster.aks\n    default_node_pool.max_count: 5 → 6" in markdown
    assert "    webhook_receiver[0].service_uri: (sensitive) → (sensitive)" in markdown
    assert "hooks/old" not in markdown and "https://new" not in markdown
    assert "hooks/old" not in synth_diff.render_text([stack_diff])


def test_sensitive_names_and_long_values() -> None:
    assert synth_diff.is_sensitive("administrator_password")
    assert synth_diff.is_sensitive("site_config[0].connection_string[1].value")
    assert not synth_diff.is_sensitive("default_node_pool.max_count")
    assert synth_diff.show_value("x" * 200, "name").endswith("…") and len(synth_diff.show_value("x" * 200)) == 80
    assert synth_diff.show_value(synth_diff.MISSING, "name") == "(absent)"
