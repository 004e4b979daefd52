"""tools.synth_diff on small synth folders written in the test."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools import synth_diff

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


def test_cli_rejects_a_folder_without_synth(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        synth_diff.main([str(tmp_path), str(tmp_path)])
