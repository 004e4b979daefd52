"""Every Azure apply-time rule: a compliant example synthesizes, a non-compliant one fails synth naming
the resource, the value and the rule."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cdktf import App, Aspects, TerraformStack
from cdktf_cdktf_provider_azurerm.application_insights import ApplicationInsights
from cdktf_cdktf_provider_azurerm.eventhub import Eventhub
from cdktf_cdktf_provider_azurerm.eventhub_namespace import EventhubNamespace
from cdktf_cdktf_provider_azurerm.eventhub_namespace_disaster_recovery_config import (
    EventhubNamespaceDisasterRecoveryConfig,
)
from cdktf_cdktf_provider_azurerm.key_vault import KeyVault
from cdktf_cdktf_provider_azurerm.key_vault_key import KeyVaultKey, KeyVaultKeyRotationPolicy
from cdktf_cdktf_provider_azurerm.kubernetes_cluster import (
    KubernetesCluster,
    KubernetesClusterDefaultNodePool,
    KubernetesClusterIdentity,
)
from cdktf_cdktf_provider_azurerm.postgresql_flexible_server import (
    PostgresqlFlexibleServer,
    PostgresqlFlexibleServerHighAvailability,
)
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktf_cdktf_provider_azurerm.security_center_subscription_pricing import SecurityCenterSubscriptionPricing
from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount
from cdktf_cdktf_provider_azurerm.storage_management_policy import (
    StorageManagementPolicy,
    StorageManagementPolicyRule,
    StorageManagementPolicyRuleActions,
    StorageManagementPolicyRuleActionsBaseBlob,
    StorageManagementPolicyRuleFilters,
)
from cdktf_cdktf_provider_azurerm.subnet import Subnet
from cdktf_cdktf_provider_azurerm.subscription_policy_assignment import SubscriptionPolicyAssignment

from constructs.aspects.azure_rules import AZURE_RULES, AzureApplyTimeRules, duration_days
from tests.conftest import StackJson

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
Build = Callable[[TerraformStack], Any]


def synth_with(build: Build, tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "rules")
    AzurermProvider(stack, "azurerm", subscription_id=SUBSCRIPTION, features=[AzurermProviderFeatures()])
    build(stack)
    Aspects.of(stack).add(AzureApplyTimeRules())
    app.synth()


def subnet(name: str, prefix: str) -> Build:
    return lambda s: Subnet(
        s, "subnet", name=name, resource_group_name="rg", virtual_network_name="vnet", address_prefixes=[prefix]
    )


def postgres(sku: str = "GP_Standard_D2ds_v5", zone: str = "1", standby: str = "2", retention: int = 35) -> Build:
    return lambda s: PostgresqlFlexibleServer(
        s,
        "pg",
        name="stg-pg-erp",
        resource_group_name="rg",
        location="eastus2",
        sku_name=sku,
        zone=zone,
        backup_retention_days=retention,
        high_availability=PostgresqlFlexibleServerHighAvailability(
            mode="ZoneRedundant", standby_availability_zone=standby
        ),
    )


def namespace(s: TerraformStack, id: str, location: str, sku: str = "Premium", capacity: int = 1) -> EventhubNamespace:
    return EventhubNamespace(
        s, id, name=f"stg-{id}-erp01", resource_group_name="rg", location=location, sku=sku, capacity=capacity
    )


def geo_dr(partner_location: str = "centralus", partner_sku: str = "Premium", hub_on_partner: bool = False) -> Build:
    def build(s: TerraformStack) -> None:
        primary = namespace(s, "primary", "eastus2")
        partner = namespace(s, "partner", partner_location, sku=partner_sku)
        Eventhub(s, "orders", name="orders", namespace_id=primary.id, partition_count=2, message_retention=1)
        if hub_on_partner:
            Eventhub(s, "stray", name="stray", namespace_id=partner.id, partition_count=2, message_retention=1)
        EventhubNamespaceDisasterRecoveryConfig(
            s,
            "dr",
            name="erp-geo-dr",
            resource_group_name="rg",
            namespace_name=primary.name,
            partner_namespace_id=partner.id,
        )

    return build


def app_insights(days: int) -> Build:
    return lambda s: ApplicationInsights(
        s,
        "appi",
        name="stg-appi",
        resource_group_name="rg",
        location="eastus2",
        application_type="web",
        retention_in_days=days,
    )


def key(vault_sku: str = "premium", key_type: str = "RSA-HSM", expire_after: str = "P90D") -> Build:
    def build(s: TerraformStack) -> None:
        vault = KeyVault(
            s,
            "kv",
            name="stg-kv-erp01",
            resource_group_name="rg",
            location="eastus2",
            sku_name=vault_sku,
            tenant_id=SUBSCRIPTION,
        )
        KeyVaultKey(
            s,
            "key",
            name="storage",
            key_vault_id=vault.id,
            key_type=key_type,
            key_size=2048,
            key_opts=["wrapKey", "unwrapKey"],
            rotation_policy=KeyVaultKeyRotationPolicy(expire_after=expire_after),
        )

    return build


def archive_policy(replication: str) -> Build:
    def build(s: TerraformStack) -> None:
        account = StorageAccount(
            s,
            "sa",
            name="stgarchiveerp01",
            resource_group_name="rg",
            location="eastus2",
            account_tier="Standard",
            account_replication_type=replication,
        )
        StorageManagementPolicy(
            s,
            "lifecycle",
            storage_account_id=account.id,
            rule=[
                StorageManagementPolicyRule(
                    name="archive",
                    enabled=True,
                    filters=StorageManagementPolicyRuleFilters(blob_types=["blockBlob"]),
                    actions=StorageManagementPolicyRuleActions(
                        base_blob=StorageManagementPolicyRuleActionsBaseBlob(
                            tier_to_archive_after_days_since_modification_greater_than=90
                        )
                    ),
                )
            ],
        )

    return build


def aks(
    vm_size: str = "Standard_D4ds_v5", node_count: int | None = 3, min_count: int | None = None, max_pods: int = 50
) -> Build:
    return lambda s: KubernetesCluster(
        s,
        "aks",
        name="stg-aks-erp",
        resource_group_name="rg",
        location="eastus2",
        dns_prefix="erp",
        identity=KubernetesClusterIdentity(type="SystemAssigned"),
        default_node_pool=KubernetesClusterDefaultNodePool(
            name="system",
            vm_size=vm_size,
            node_count=node_count,
            min_count=min_count,
            max_count=5 if min_count is not None else None,
            auto_scaling_enabled=min_count is not None,
            max_pods=max_pods,
        ),
    )


def defender_plans(*resource_types: str) -> Build:
    def build(s: TerraformStack) -> None:
        for index, resource_type in enumerate(resource_types):
            SecurityCenterSubscriptionPricing(s, f"defender{index}", tier="Standard", resource_type=resource_type)

    return build


def policy_assignments(*names: str) -> Build:
    def build(s: TerraformStack) -> None:
        for index, name in enumerate(names):
            SubscriptionPolicyAssignment(
                s,
                f"policy{index}",
                name=name,
                subscription_id=f"/subscriptions/{SUBSCRIPTION}",
                policy_definition_id="/providers/Microsoft.Authorization/policyDefinitions/x",
            )

    return build


# rule id → (compliant example, non-compliant example, fragment the error must contain)
EXAMPLES: dict[str, list[tuple[Build, Build, str]]] = {
    "AZ-NET-1": [
        (subnet("AzureFirewallSubnet", "10.0.0.0/26"), subnet("AzureFirewallSubnet", "10.0.0.0/27"), "['10.0.0.0/27']"),
        (
            subnet("AzureBastionSubnet", "10.0.1.0/26"),
            subnet("AzureBastionSubnet", "10.0.1.0/27"),
            "AzureBastionSubnet",
        ),
        (subnet("GatewaySubnet", "10.0.2.0/27"), subnet("GatewaySubnet", "10.0.2.0/28"), "['10.0.2.0/28']"),
    ],
    "AZ-PG-1": [(postgres(), postgres(sku="B_Standard_B2s"), "sku_name = 'B_Standard_B2s'")],
    "AZ-PG-2": [(postgres(), postgres(zone="2", standby="2"), "standby_availability_zone = '2'")],
    "AZ-PG-3": [
        (postgres(retention=7), postgres(retention=36), "backup_retention_days = 36"),
        (postgres(retention=35), postgres(retention=6), "backup_retention_days = 6"),
    ],
    "AZ-EH-1": [
        (
            lambda s: namespace(s, "ns", "eastus2", capacity=16),
            lambda s: namespace(s, "ns", "eastus2", capacity=3),
            "capacity = 3",
        )
    ],
    "AZ-EH-2": [(geo_dr(), geo_dr(partner_location="eastus2"), "(location) = 'eastus2'")],
    "AZ-EH-3": [(geo_dr(), geo_dr(partner_sku="Standard"), "(sku) = 'Standard'")],
    "AZ-EH-4": [(geo_dr(), geo_dr(hub_on_partner=True), "rules/stray")],
    "AZ-AI-1": [(app_insights(90), app_insights(45), "retention_in_days = 45")],
    "AZ-KV-1": [
        (key(), key(vault_sku="standard"), "(sku_name) = 'standard'"),
        (key(vault_sku="standard", key_type="RSA"), key(vault_sku="standard", key_type="EC-HSM"), "'standard'"),
    ],
    "AZ-KV-2": [
        (key(expire_after="P28D"), key(expire_after="P27D"), "expire_after = 'P27D'"),
        (key(expire_after="P1Y"), key(expire_after="P3W"), "expire_after = 'P3W'"),
    ],
    "AZ-ST-1": [
        (archive_policy("LRS"), archive_policy("ZRS"), "= 'ZRS'"),
        (archive_policy("RAGRS"), archive_policy("GZRS"), "= 'GZRS'"),
    ],
    "AZ-AKS-1": [
        (aks(node_count=2), aks(node_count=1), "node_count = 1"),
        (aks(node_count=None, min_count=2), aks(node_count=None, min_count=1), "min_count = 1"),
    ],
    "AZ-AKS-2": [(aks(), aks(vm_size="Standard_B4ms"), "vm_size = 'Standard_B4ms'")],
    "AZ-AKS-3": [(aks(max_pods=30), aks(max_pods=20), "max_pods = 20")],
    "AZ-SUB-1": [
        (
            defender_plans("VirtualMachines", "StorageAccounts"),
            defender_plans("KeyVaults", "KeyVaults"),
            "'KeyVaults' in subscription " + SUBSCRIPTION,
        ),
        (
            policy_assignments("erp-allowed-locations", "erp-tags"),
            policy_assignments("erp-tags", "erp-tags"),
            "'erp-tags'",
        ),
    ],
}
CASES = [
    pytest.param(rule_id, *example, id=f"{rule_id}-{n}")
    for rule_id, examples in EXAMPLES.items()
    for n, example in enumerate(examples)
]


def test_every_rule_has_examples() -> None:
    assert sorted(EXAMPLES) == sorted({rule.id for rule in AZURE_RULES})


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant", "fragment"), CASES)
def test_rule_passes_compliant_and_fails_non_compliant(tmp_path, rule_id, compliant, non_compliant, fragment) -> None:
    synth_with(compliant, tmp_path / "ok")
    with pytest.raises(Exception) as error:
        synth_with(non_compliant, tmp_path / "bad")
    message = str(error.value)
    assert rule_id in message
    assert "rules/" in message  # the construct path of the offending resource
    assert fragment in message
    assert "breaks Azure's rule" in message


def test_unresolved_values_are_not_applicable(tmp_path) -> None:
    def build(s: TerraformStack) -> None:
        group = namespace(s, "ns", "eastus2")
        Subnet(
            s,
            "subnet",
            name=group.name,
            resource_group_name="rg",
            virtual_network_name="vnet",
            address_prefixes=[group.name],
        )

    synth_with(build, tmp_path)


@pytest.mark.parametrize(
    ("duration", "days"), [("P28D", 28), ("P1M", 28), ("P4W", 28), ("P1Y2M3D", 424), ("P", None), ("30D", None)]
)
def test_duration_days(duration: str, days: int | None) -> None:
    assert duration_days(duration) == days


def _singletons(stack: StackJson) -> list[tuple[str, str, str]]:
    """(subscription, type, discriminator) of every subscription-level singleton in a synthesized stack."""
    subscriptions = {
        config.get("alias"): config.get("subscription_id") for config in stack.get("provider", {}).get("azurerm", [])
    }
    found = []
    resources = stack.get("resource", {})
    for pricing in resources.get("azurerm_security_center_subscription_pricing", {}).values():
        alias = pricing.get("provider", "azurerm").removeprefix("azurerm").removeprefix(".") or None
        found.append((subscriptions.get(alias), "defender", pricing.get("resource_type", "VirtualMachines")))
    for assignment in resources.get("azurerm_subscription_policy_assignment", {}).values():
        found.append((assignment["subscription_id"], "policy", assignment["name"]))
    return found


def test_subscription_singletons_are_declared_once_across_the_whole_app(stacks: dict[str, StackJson]) -> None:
    counts = Counter(item for stack in stacks.values() for item in _singletons(stack))
    assert [item for item, count in counts.items() if count > 1] == []


def test_subscription_singleton_counter_sees_duplicates_across_stacks() -> None:
    stack = {
        "provider": {"azurerm": [{"subscription_id": "s"}]},
        "resource": {"azurerm_security_center_subscription_pricing": {"a": {"tier": "Standard"}}},
    }
    counts = Counter(item for one in (stack, json.loads(json.dumps(stack))) for item in _singletons(one))
    assert counts[("s", "defender", "VirtualMachines")] == 2
