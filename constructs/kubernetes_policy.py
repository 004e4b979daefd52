"""The story's Gatekeeper policies as Azure Policy for Kubernetes, assigned to one AKS cluster.

AKS runs Gatekeeper through its Azure Policy add-on, which installs only constraint templates that come from
Azure Policy: each ConstraintTemplate in policy-templates/ becomes a custom policy definition (mode
Microsoft.Kubernetes.Data, template embedded as Base64), the definitions are grouped in one initiative and
assigned to the cluster, next to the built-in "pod security restricted standards" initiative.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdktf import AssetType, Fn, TerraformAsset
from cdktf_cdktf_provider_azurerm.policy_definition import PolicyDefinition
from cdktf_cdktf_provider_azurerm.policy_set_definition import (
    PolicySetDefinition,
    PolicySetDefinitionPolicyDefinitionReference,
)
from cdktf_cdktf_provider_azurerm.resource_policy_assignment import (
    ResourcePolicyAssignment,
    ResourcePolicyAssignmentNonComplianceMessage,
)

from config.governance import KubernetesPolicy
from constructs import Construct
from constructs.image_pins import open_images
from constructs.naming import Naming

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "policy-templates"
# Built-in "Kubernetes cluster pod security restricted standards for Linux-based workloads", verified in
# https://github.com/Azure/azure-policy/blob/master/built-in-policies/policySetDefinitions/Kubernetes/Kubernetes_PSPRestrictedStandard.json
POD_SECURITY_RESTRICTED = "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00"
# Environment variable names that hold secrets and so must not be literal values.
SECRET_ENV_NAME_PATTERN = "(?i)(password|passwd|secret|token|api_?key|private_?key|connection_?string|credentials?)"
WORKLOADS: dict[str, tuple[str, ...]] = {
    "": ("Pod",),
    "apps": ("Deployment", "StatefulSet", "DaemonSet"),
    "batch": ("Job", "CronJob"),
}
PODS: dict[str, tuple[str, ...]] = {"": ("Pod",)}


@dataclass(frozen=True)
class GatekeeperPolicy:
    template: str  # policy-templates/<template>.json
    display_name: str
    targets: dict[str, tuple[str, ...]]  # API group → kinds
    # The constraint's parameters, from config and the registry's login server.
    values: Callable[[KubernetesPolicy, str], dict[str, Any]] = field(repr=False)
    # The namespaces the constraint evaluates (its `namespaces` match); None: every namespace not excluded.
    namespaces: Callable[[KubernetesPolicy], tuple[str, ...]] | None = field(default=None, repr=False)


GATEKEEPER_POLICIES: tuple[GatekeeperPolicy, ...] = (
    GatekeeperPolicy(
        "k8srequiredlabelsstrict",
        "Workloads must carry the required labels",
        WORKLOADS,
        lambda config, _: {"labels": list(config.required_labels)},
    ),
    GatekeeperPolicy(
        "k8scontainerlimitsrequired",
        "Containers must set CPU and memory limits",
        PODS,
        lambda config, _: {"resources": ["cpu", "memory"]},
    ),
    GatekeeperPolicy(
        "k8sallowedregistries",
        "Images must come from the platform registry or allowed registries",
        PODS,
        lambda config, login_server: {"registries": [f"{login_server}/", *config.additional_registries]},
    ),
    GatekeeperPolicy(
        "k8simagedigests",
        "Platform images must be referenced by digest",
        PODS,
        # Exactly the open items of reference/image_digests.json: they keep a tag until a digest is recorded.
        lambda config, _: {"exemptImages": list(open_images())},
        lambda config: config.digest_namespaces,
    ),
    GatekeeperPolicy(
        "k8snamespacenetworkpolicy",
        "Namespaces must declare the default-deny network policy",
        {"": ("Namespace",)},
        lambda config, _: {"label": config.network_policy_label, "value": "default-deny"},
    ),
    GatekeeperPolicy(
        "k8snoliteralsecretenv",
        "Secrets must not be literal environment variables",
        PODS,
        lambda config, _: {"namePattern": SECRET_ENV_NAME_PATTERN},
    ),
)


def load_template(name: str) -> dict[str, Any]:
    return json.loads((TEMPLATE_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _parameter_type(value: Any) -> str:
    return "Array" if isinstance(value, list) else "String"


def policy_rule(policy: GatekeeperPolicy, values: dict[str, Any], content_base64: str) -> dict[str, Any]:
    """The Azure Policy rule that makes the add-on install the template and a constraint from the parameters."""
    return {
        "if": {"field": "type", "in": ["Microsoft.ContainerService/managedClusters"]},
        "then": {
            "effect": "[parameters('effect')]",
            "details": {
                "templateInfo": {"sourceType": "Base64Encoded", "content": content_base64},
                "apiGroups": sorted(policy.targets),
                "kinds": sorted({kind for kinds in policy.targets.values() for kind in kinds}),
                "excludedNamespaces": "[parameters('excludedNamespaces')]",
                **({"namespaces": "[parameters('namespaces')]"} if policy.namespaces else {}),
                "values": {name: f"[parameters('{name}')]" for name in sorted(values)},
            },
        },
    }


def _scope(policy: GatekeeperPolicy, config: KubernetesPolicy) -> dict[str, list[str]]:
    """The `namespaces` parameter of a policy that evaluates only some namespaces; empty for the others."""
    return {"namespaces": list(policy.namespaces(config))} if policy.namespaces else {}


COMMON_PARAMETERS = {
    "effect": {
        "type": "String",
        "allowedValues": ["audit", "deny", "disabled"],
        "defaultValue": "audit",
        "metadata": {"displayName": "Effect"},
    },
    "excludedNamespaces": {"type": "Array", "metadata": {"displayName": "Namespaces not evaluated"}},
}


@dataclass(frozen=True)
class KubernetesPolicyProps:
    config: KubernetesPolicy
    naming: Naming
    cluster_id: str
    registry_login_server: str  # e.g. stgacrerp01.azurecr.io (a reference is fine)


class KubernetesPolicies(Construct):
    """Exposes `definitions` (template name → policy definition), `initiative` and `assignments`
    ("gatekeeper", "pod-security-restricted")."""

    def __init__(self, scope: Construct, id: str, *, props: KubernetesPolicyProps) -> None:
        super().__init__(scope, id)
        config, naming = props.config, props.naming
        values = {policy.template: policy.values(config, props.registry_login_server) for policy in GATEKEEPER_POLICIES}
        # The template file is copied next to the synthesized stack and Base64-encoded by Terraform at plan
        # time: a literal Base64 blob in the JSON is indistinguishable from a secret to the secret scanners (so
        # is cdktf's default 32-hex content hash in the asset path; Terraform reads the file at plan anyway).
        content = {
            policy.template: Fn.filebase64(
                TerraformAsset(
                    self,
                    f"{policy.template}-template",
                    path=str(TEMPLATE_DIR / f"{policy.template}.json"),
                    type=AssetType.FILE,
                    asset_hash="template",
                ).path
            )
            for policy in GATEKEEPER_POLICIES
        }
        self.definitions = {
            policy.template: PolicyDefinition(
                self,
                policy.template,
                name=f"{naming.environment}-{policy.template}",
                display_name=policy.display_name,
                policy_type="Custom",
                mode="Microsoft.Kubernetes.Data",
                metadata=json.dumps({"category": "Kubernetes", "source": f"policy-templates/{policy.template}.json"}),
                parameters=json.dumps(
                    {
                        **COMMON_PARAMETERS,
                        **{
                            name: {"type": _parameter_type(value), "metadata": {"displayName": name}}
                            for name, value in sorted({**values[policy.template], **_scope(policy, config)}.items())
                        },
                    }
                ),
                policy_rule=json.dumps(policy_rule(policy, values[policy.template], content[policy.template])),
            )
            for policy in GATEKEEPER_POLICIES
        }
        self.initiative = PolicySetDefinition(
            self,
            "initiative",
            name=naming.name("gatekeeper", "policyset"),
            display_name="ERP platform Gatekeeper policies (story 3.1)",
            policy_type="Custom",
            metadata=json.dumps({"category": "Kubernetes"}),
            parameters=json.dumps(COMMON_PARAMETERS),
            policy_definition_reference=[
                PolicySetDefinitionPolicyDefinitionReference(
                    policy_definition_id=self.definitions[policy.template].id,
                    reference_id=policy.template,
                    parameter_values=json.dumps(
                        {
                            "effect": {"value": "[parameters('effect')]"},
                            "excludedNamespaces": {"value": "[parameters('excludedNamespaces')]"},
                            **{
                                name: {"value": value}
                                for name, value in sorted({**values[policy.template], **_scope(policy, config)}.items())
                            },
                        }
                    ),
                )
                for policy in GATEKEEPER_POLICIES
            ],
        )
        assignment_parameters = json.dumps(
            {"effect": {"value": config.effect}, "excludedNamespaces": {"value": list(config.excluded_namespaces)}}
        )
        self.assignments = {
            key: ResourcePolicyAssignment(
                self,
                f"{key}-assignment",
                name=naming.name(key, "policy"),
                display_name=display_name,
                resource_id=props.cluster_id,
                policy_definition_id=definition_id,
                parameters=assignment_parameters,
                non_compliance_message=[
                    ResourcePolicyAssignmentNonComplianceMessage(
                        content=f"Rejected by '{display_name}': see docs/platform/governance.md."
                    )
                ],
            )
            for key, display_name, definition_id in (
                ("gatekeeper", "ERP platform Gatekeeper policies", self.initiative.id),
                ("pod-security-restricted", "Kubernetes pod security restricted standards", POD_SECURITY_RESTRICTED),
            )
        }
