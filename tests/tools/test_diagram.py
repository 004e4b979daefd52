"""tools.docgen.diagram: containment, peering and private endpoint edges on a small network; docs are fresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.docgen import diagram

NETWORK = {
    "resource": {
        "azurerm_virtual_network": {"hub": {"name": "stg-hub-vnet"}, "spoke": {"name": "stg-spoke-vnet"}},
        "azurerm_subnet": {
            "pe": {"name": "snet-pe", "virtual_network_name": "${azurerm_virtual_network.spoke.name}"},
            "aks": {"name": "snet-aks", "virtual_network_name": "${azurerm_virtual_network.spoke.name}"},
        },
        "azurerm_virtual_network_peering": {
            "hub-to-spoke": {
                "virtual_network_name": "${azurerm_virtual_network.hub.name}",
                "remote_virtual_network_id": "${azurerm_virtual_network.spoke.id}",
            }
        },
        "azurerm_key_vault": {"kv": {"name": "stg-kv"}},
        "azurerm_private_endpoint": {
            "kv-pe": {
                "name": "stg-kv-pe",
                "subnet_id": "${azurerm_subnet.pe.id}",
                "private_service_connection": {"private_connection_resource_id": "${azurerm_key_vault.kv.id}"},
            }
        },
        "azurerm_kubernetes_cluster": {
            "aks": {"name": "stg-aks", "default_node_pool": {"vnet_subnet_id": "${azurerm_subnet.aks.id}"}}
        },
        "azurerm_user_assigned_identity": {"id": {"name": "not drawn"}},
        "azurerm_key_vault_key": {"cmk": {"name": "not drawn either", "key_vault_id": "${azurerm_key_vault.kv.id}"}},
        "azurerm_storage_account": {
            "st": {"name": "stgst", "customer_managed_key": {"key_vault_key_id": "${azurerm_key_vault_key.cmk.id}"}}
        },
    }
}
CLUSTER = {"resource": {"kubernetes_namespace_v1": {"erp": {"metadata": {"name": "erp"}}}}}


def test_subnets_sit_in_their_vnet_and_resources_in_their_subnet() -> None:
    text = diagram.render(NETWORK, CLUSTER)
    spoke = text.index('subgraph azurerm_virtual_network_spoke["VNet<br/>stg-spoke-vnet"]')
    pe_subnet = text.index('subgraph azurerm_subnet_pe["subnet<br/>snet-pe"]')
    endpoint = text.index("azurerm_private_endpoint_kv-pe".replace("-", "_"))
    assert spoke < pe_subnet < endpoint
    assert 'azurerm_kubernetes_cluster_aks["AKS<br/>stg-aks"]' in text
    assert "not drawn" not in text


def test_peering_private_endpoint_target_and_cluster_namespaces_are_edges() -> None:
    text = diagram.render(NETWORK, CLUSTER)
    assert "azurerm_virtual_network_hub -. peering .- azurerm_virtual_network_spoke" in text
    assert "azurerm_private_endpoint_kv_pe --> azurerm_key_vault_kv" in text
    assert "azurerm_storage_account_st --> azurerm_key_vault_kv" in text  # through the undrawn key
    assert 'ns_erp["erp"]' in text and "azurerm_kubernetes_cluster_aks --> cluster_stack" in text


def test_layers_run_network_then_services_then_cluster() -> None:
    text = diagram.render(NETWORK, CLUSTER)
    network, services = (text.index(f'subgraph layer_{layer}["{layer}"]') for layer in ("network", "services"))
    assert network < text.index("azurerm_virtual_network_hub[") < services < text.index("azurerm_key_vault_kv[")
    assert services < text.index("subgraph cluster_stack")
    assert "layer_cluster" not in text  # the only cluster sits in its subnet, inside the network layer


def test_output_does_not_depend_on_json_key_order() -> None:
    reordered = {"resource": dict(reversed(list(NETWORK["resource"].items())))}
    assert diagram.render(reordered, CLUSTER) == diagram.render(NETWORK, CLUSTER)


@pytest.mark.parametrize("environment", diagram.ENVIRONMENTS)
def test_checked_in_diagram_is_fresh(synth_dir: Path, environment: str) -> None:
    expected = diagram.document(environment, diagram.environment_diagram(synth_dir, environment))
    checked_in = diagram.DOCS_DIR / f"{environment}.md"
    assert checked_in.exists() and checked_in.read_text() == expected, (
        f"{checked_in} is stale; regenerate with: {diagram.REGENERATE}"
    )


def test_one_block_reads_an_object_or_a_one_item_list() -> None:
    """kubernetes 3.x (CDK Terrain) writes a namespace's `metadata` as a one-item list; cdktf as an object."""
    assert diagram.one_block({"name": "apps"}) == {"name": "apps"}
    assert diagram.one_block([{"name": "apps"}]) == {"name": "apps"}
    with pytest.raises(ValueError):
        diagram.one_block([{"name": "a"}, {"name": "b"}])  # a list of blocks is not one block
