"""Governance settings: Defender for Cloud plans and security contact, regulatory Azure Policy initiatives,
the monthly budget and the Gatekeeper (Azure Policy for Kubernetes) policies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from config.base import KeyedValueError, Section
from config.observability import Email

# Defender for Cloud plan names (azurerm_security_center_subscription_pricing.resource_type) this platform uses.
DefenderResourceType = Literal[
    "Arm",
    "CloudPosture",
    "Containers",
    "KeyVaults",
    "OpenSourceRelationalDatabases",
    "StorageAccounts",
    "VirtualMachines",
]
# Keys of constructs/governance.py REGULATORY_INITIATIVES.
Initiative = Literal["soc2_type2", "nist_sp_800_53_r5", "cis_azure_foundations", "pci_dss_v4"]
Percent = Annotated[int, Field(ge=1, le=1000)]
# A Kubernetes label key: optional DNS prefix, then a name of at most 63 characters.
LabelKey = Annotated[
    str, Field(pattern=r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
]
Namespace = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
# An image reference prefix ending in "/" so "myacr.azurecr.io/" cannot match "myacr.azurecr.io.evil.com/".
RegistryPrefix = Annotated[str, Field(pattern=r"^[a-z0-9.-]+(:[0-9]+)?/([a-z0-9._-]+/)*$")]
# Namespaces AKS, its add-ons and extensions own; deny-mode policies must spare them, or their pods are rejected
# once rescheduled (e.g. at the weekly node-image upgrade). Config may add namespaces, never drop these.
AKS_MANAGED_NAMESPACES: tuple[str, ...] = (
    "kube-system",  # control-plane add-ons: Azure Policy, Defender sensor, Key Vault CSI, image cleaner,
    # Container insights (ama-logs), managed Prometheus (ama-metrics), Cilium, workload identity webhook
    "kube-node-lease",  # node heartbeats (AKS owns the namespace object)
    "kube-public",  # cluster-info (AKS owns the namespace object)
    "gatekeeper-system",  # Gatekeeper itself (Azure Policy add-on)
    "dataprotection-microsoft",  # AKS Backup extension (constructs/backup.py EXTENSION_NAMESPACE)
    "aks-command",  # `az aks command invoke`: the break-glass path into the private cluster
    "app-routing-system",  # application routing add-on (the ingress behind the App Gateway)
    "azure-arc",  # cluster extension agents
    "azure-extensions-usage-system",  # cluster extension usage reporting
)


class DefenderPlan(Section):
    tier: Literal["Standard", "Free"] = Field(default="Standard", description="Standard turns the plan on; Free off")
    # Required by some plans for the current offer, e.g. StorageAccounts "DefenderForStorageV2".
    subplan: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{2,40}$")


class SecurityContact(Section):
    """Who Defender for Cloud e-mails about alerts (the subscription's security contact)."""

    emails: tuple[Email, ...] = Field(min_length=1, description="Addresses Defender for Cloud e-mails")
    phone: str = Field(pattern=r"^\+[0-9]{7,15}$", description="E.164 number Microsoft calls about incidents")
    alert_notifications: bool = Field(default=True, description="E-mail the contact about security alerts")
    alerts_to_admins: bool = Field(default=True, description="E-mail the subscription's owners about them too")


class RegulatoryCompliance(Section):
    initiatives: tuple[Initiative, ...] = Field(
        min_length=1, description="Built-in regulatory initiatives assigned on the subscription"
    )
    # false assigns in DoNotEnforce mode: compliance is reported but DeployIfNotExists/Modify/Deny do not act.
    enforce: bool
    # The SOC 2 Type 2 initiative's "container CPU and memory limits should not exceed" policy has no default
    # for these: the largest limits a container may set (Kubernetes quantities; a D4ds_v5 node has 4 vCPU, 16 GiB).
    max_container_cpu_limit: str = Field(default="4", pattern=r"^[0-9]+m?$")
    max_container_memory_limit: str = Field(
        default="8Gi", pattern=r"^[0-9]+(Mi|Gi)$", description="Largest memory limit a container may set (Mi or Gi)"
    )

    @field_validator("initiatives")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("lists an initiative twice")
        return value


class Budget(Section):
    """The subscription's monthly cost budget and who hears when it is (about to be) exceeded. It starts on the
    first day of the month of its first apply (constructs/governance.py: a `time_static`, not a config date)."""

    monthly_amount: int = Field(gt=0, description="In the billing currency (USD)")
    # Log Analytics bills per GB ingested: nothing in the synthesized JSON says how much, so the estimate takes it here.
    assumed_log_ingestion_gb_per_day: float = Field(
        ge=0,
        description="GB a day the platform's Log Analytics workspace (infra stack) is assumed to ingest; priced in "
        "docs/cost-estimate.md. An assumption until measured (docs/operations.md, Cost)",
    )
    contact_emails: tuple[Email, ...] = Field(min_length=1, description="Addresses every budget notification goes to")
    actual_thresholds_percent: tuple[Percent, ...] = Field(
        default=(80, 100), description="Notify when the month's actual cost reaches each of these % of the amount"
    )
    forecasted_thresholds_percent: tuple[Percent, ...] = Field(
        default=(100,), description="Notify when the forecast cost reaches each % (at most 5 notifications in all)"
    )

    @model_validator(mode="after")
    def _at_most_five_notifications(self) -> Budget:
        count = len(self.actual_thresholds_percent) + len(self.forecasted_thresholds_percent)
        if count > 5:
            raise KeyedValueError(
                "forecasted_thresholds_percent",
                self.forecasted_thresholds_percent,
                f"Azure allows at most 5 budget notifications; actual + forecasted give {count}",
            )
        return self


class KubernetesPolicy(Section):
    """The story's Gatekeeper policies, delivered through the AKS Azure Policy add-on (docs/platform/governance.md)."""

    effect: Literal["audit", "deny"] = Field(
        default="deny", description="deny rejects a non-compliant object; audit only reports it"
    )
    # The Kubernetes recommended labels (app, version, component, part-of, managed-by): "required_labels_strict".
    required_labels: tuple[LabelKey, ...] = Field(
        default=(
            "app.kubernetes.io/name",
            "app.kubernetes.io/version",
            "app.kubernetes.io/component",
            "app.kubernetes.io/part-of",
            "app.kubernetes.io/managed-by",
        ),
        min_length=1,
    )
    # Images may come from the environment's ACR (always allowed) and from these prefixes.
    additional_registries: tuple[RegistryPrefix, ...] = ("mcr.microsoft.com/",)
    # Every namespace must carry this label with value "default-deny" (the baseline creates the policy).
    network_policy_label: LabelKey = "networking.erp.example.com/policy"
    # The platform's own namespaces, where every image must be referenced by digest (k8simagedigests; the
    # applications' namespaces are not evaluated by that policy).
    digest_namespaces: tuple[Namespace, ...] = Field(
        default=("backup-system", "compliance", "monitoring"), min_length=1
    )
    # Namespaces the deny-mode policies do not evaluate: AKS_MANAGED_NAMESPACES and any added here.
    excluded_namespaces: tuple[Namespace, ...] = AKS_MANAGED_NAMESPACES

    @model_validator(mode="after")
    def _spares_aks_managed_namespaces(self) -> KubernetesPolicy:
        missing = [name for name in AKS_MANAGED_NAMESPACES if name not in self.excluded_namespaces]
        if missing:
            raise KeyedValueError(
                "excluded_namespaces",
                self.excluded_namespaces,
                f"must keep the namespaces AKS and its extensions own (pods there would be rejected): "
                f"missing {', '.join(missing)}; required: {', '.join(AKS_MANAGED_NAMESPACES)}",
            )
        if len(set(self.excluded_namespaces)) != len(self.excluded_namespaces):
            raise KeyedValueError("excluded_namespaces", self.excluded_namespaces, "lists a namespace twice")
        spared = sorted(set(self.digest_namespaces) & set(self.excluded_namespaces))
        if spared:
            # Excluded wins in Gatekeeper's match: the digest rule would silently evaluate nothing there.
            raise KeyedValueError(
                "digest_namespaces", self.digest_namespaces, f"lists excluded namespaces: {', '.join(spared)}"
            )
        return self


class GovernanceConfig(Section):
    defender_plans: dict[DefenderResourceType, DefenderPlan] = Field(
        min_length=1, description="Defender for Cloud plan (resource type) -> its tier"
    )
    security_contact: SecurityContact
    regulatory_compliance: RegulatoryCompliance = Field(description="Regulatory Azure Policy initiatives")
    budget: Budget
    kubernetes_policy: KubernetesPolicy = KubernetesPolicy()
