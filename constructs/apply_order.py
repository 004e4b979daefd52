"""Orders what Azure checks or serialises at create time, so a first apply converges in one pass.

`ApplyOrder`, created once near the end of the infra stack, walks the stack (like `ManagementLocks`) so a
resource added later is ordered without touching its construct:

1. **Data-plane objects after their network path.** Key Vault keys and certificates are written through the
   vault's data plane, which the runner reaches only through the vault's private endpoint (its DNS zone group
   writes the A record) and the privatelink zone's links: each key/certificate `depends_on` them.
2. **Firewall policy updates one at a time; firewall and cluster after the rules.** Azure serialises PUTs on a
   firewall policy (concurrent rule-collection-group writes fail with a conflict), so the groups are chained;
   the firewall and the AKS cluster depend on every group, so nodes never boot before their egress rules
   exist (mspnp/aks-baseline orders its firewall after its rule groups for the same reason).
3. **A wait after role assignments a service checks at create time.** Storage, PostgreSQL and the disk
   encryption set validate access to their customer-managed key, the App Gateway reads its certificate, AKS
   validates its identity's rights, and Terraform itself writes keys right after its own data role: a new
   role assignment can take minutes to reach the data plane. Each such resource waits on a hashicorp/time
   `time_sleep` that starts after exactly the role assignments it already depended on (a retry loop is not
   available to Terraform, and a provisioner `sleep` would need a shell on every runner and hide in no plan).
   One sleep per resource, so no new dependency (and no cycle) appears between unrelated resources.

hashicorp/time has no prebuilt CDKTF binding offline, so `TimeProvider`/`TimeSleep` are minimal hand-written
`TerraformProvider`/`TerraformResource` classes: the provider is declared in `required_providers`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cdktf import (
    DefaultTokenResolver,
    ITerraformDependable,
    StringConcat,
    TerraformProvider,
    TerraformProviderGeneratorMetadata,
    TerraformResource,
    TerraformStack,
    Tokenization,
)
from cdktf_cdktf_provider_azurerm.key_vault_certificate import KeyVaultCertificate
from cdktf_cdktf_provider_azurerm.key_vault_key import KeyVaultKey

from constructs import Construct, IConstruct
from constructs.resource_types import resource_type

TIME_PROVIDER_SOURCE = "hashicorp/time"
TIME_PROVIDER_VERSION = "~> 0.13"
# Azure documents up to ~10 minutes for role assignment changes in the worst case; new assignments to a
# principal that holds no cached token typically apply within one to two minutes.
RBAC_PROPAGATION = "120s"
ROLE_ASSIGNMENT = "azurerm_role_assignment"
CREATE_TIME_ACCESS_CHECKS: Mapping[str, str] = {
    "azurerm_storage_account": "validates its customer-managed key at create",
    "azurerm_storage_account_customer_managed_key": "validates its customer-managed key",
    "azurerm_postgresql_flexible_server": "validates its customer-managed keys at create",
    "azurerm_disk_encryption_set": "validates its key at create",
    "azurerm_application_gateway": "reads its listener certificate from Key Vault at create",
    "azurerm_kubernetes_cluster": "validates its identity's rights on subnets, route table and DNS zone",
    "azurerm_key_vault_key": "Terraform writes it through the data plane right after its own data role",
    "azurerm_key_vault_certificate": "Terraform writes it through the data plane right after its own data role",
}
FIREWALL = "azurerm_firewall"
RULE_COLLECTION_GROUP = "azurerm_firewall_policy_rule_collection_group"
AFTER_EGRESS_RULES = (FIREWALL, "azurerm_kubernetes_cluster")


class TimeProvider(TerraformProvider):
    """The hashicorp/time provider (no arguments)."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="time",
            terraform_generator_metadata=TerraformProviderGeneratorMetadata(
                provider_name="time", provider_version_constraint=TIME_PROVIDER_VERSION
            ),
            terraform_provider_source=TIME_PROVIDER_SOURCE,
        )


class TimeSleep(TerraformResource):
    """`time_sleep`: waits `create_duration` once, when created (after everything it depends on)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        create_duration: str,
        depends_on: Sequence[ITerraformDependable],
        provider: TerraformProvider,
    ) -> None:
        super().__init__(
            scope,
            id,
            terraform_resource_type="time_sleep",
            terraform_generator_metadata=TerraformProviderGeneratorMetadata(
                provider_name="time", provider_version_constraint=TIME_PROVIDER_VERSION
            ),
            depends_on=list(depends_on) or None,
            provider=provider,
        )
        # Set as an override: jsii does not call a Python override of the protected synthesizeAttributes().
        self.add_override("create_duration", create_duration)


@dataclass(frozen=True)
class ApplyOrderProps:
    # zone key -> every link of that privatelink zone (hub, spoke, deployment network)
    private_dns_zone_links: Mapping[str, Sequence[ITerraformDependable]]
    rbac_propagation: str = RBAC_PROPAGATION


class ApplyOrder(Construct):
    """Create it after every construct whose resources it orders. Exposes `waits` (resource path -> sleep)."""

    def __init__(self, scope: Construct, id: str, *, props: ApplyOrderProps) -> None:
        super().__init__(scope, id)
        stack = TerraformStack.of(self)
        resolver = DefaultTokenResolver(StringConcat())

        def resolve(value: object) -> Any:
            return Tokenization.resolve(value, scope=stack, preparing=False, resolver=resolver)

        def address(node: IConstruct) -> str:
            """`type.name`, as depends_on wants it (a resolved fqn reads `${type.name}`)."""
            return str(resolve(node.fqn)).removeprefix("${").removesuffix("}")  # type: ignore[attr-defined]

        nodes = [node for node in stack.node.find_all() if resource_type(node) is not None]
        self._data_plane_after_network(nodes, props, resolve, address)
        self._firewall_after_rules(nodes, address)
        self.waits: dict[str, TimeSleep] = {}
        time = TimeProvider(self, "time")
        for node in nodes:
            if resource_type(node) not in CREATE_TIME_ACCESS_CHECKS:
                continue
            assert isinstance(node, TerraformResource)
            dependencies = node.depends_on or []
            grants = [fqn for fqn in resolve(dependencies) if fqn.startswith(f"{ROLE_ASSIGNMENT}.")]
            if not grants:
                continue
            wait_id = "rbac-wait-" + "-".join(node.node.path.split("/")[1:])
            sleep = TimeSleep(self, wait_id, create_duration=props.rbac_propagation, depends_on=(), provider=time)
            sleep.depends_on = grants  # exactly the role assignments the resource already waited for
            # A replaced assignment (new id) replaces the sleep too, so the wait happens again.
            sleep.add_override("triggers", {grant.split(".")[1]: f"${{{grant}.id}}" for grant in grants})
            node.depends_on = [*dependencies, address(sleep)]
            self.waits[node.node.path] = sleep

    @staticmethod
    def _data_plane_after_network(
        nodes: Sequence[IConstruct], props: ApplyOrderProps, resolve: Any, address: Any
    ) -> None:
        vault_endpoints: dict[str, list[str]] = {}
        for node in nodes:
            if resource_type(node) == "azurerm_private_endpoint":
                connection = resolve(node.private_service_connection_input)  # type: ignore[attr-defined]
                target = connection.get("privateConnectionResourceId") if isinstance(connection, dict) else None
                if isinstance(target, str) and target.startswith("${azurerm_key_vault."):
                    vault_endpoints.setdefault(target, []).append(address(node))
        zone_links = [address(link) for link in props.private_dns_zone_links.get("key_vault", ())]
        for node in nodes:
            if not isinstance(node, KeyVaultKey | KeyVaultCertificate):
                continue
            vault = resolve(node.key_vault_id_input)
            endpoints = vault_endpoints.get(vault)
            if not endpoints:
                raise ValueError(f"{node.node.path}: no private endpoint found for its key vault {vault}")
            node.depends_on = [*(node.depends_on or []), *endpoints, *zone_links]

    @staticmethod
    def _firewall_after_rules(nodes: Sequence[IConstruct], address: Any) -> None:
        groups = sorted(
            (node for node in nodes if resource_type(node) == RULE_COLLECTION_GROUP), key=lambda n: n.node.path
        )
        for earlier, later in itertools.pairwise(groups):
            later.depends_on = [*(later.depends_on or []), address(earlier)]  # type: ignore[attr-defined]
        rule_fqns = [address(group) for group in groups]
        if not rule_fqns:
            return
        for node in nodes:
            if resource_type(node) in AFTER_EGRESS_RULES:
                node.depends_on = [*(node.depends_on or []), *rule_fqns]  # type: ignore[attr-defined]
