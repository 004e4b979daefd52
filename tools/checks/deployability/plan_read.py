"""The plan identity reads everything each stack manages."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from tools.checks.deployability.endpoints import principal_identity, scope_covers
from tools.checks.deployability.model import Runner, StackJson, blocks, environment_of, resources_of, runners

# Kubernetes: a plan refreshes every object the cluster stack manages, one GET per object; Azure RBAC for Kubernetes
# authorises it as the data action `Microsoft.ContainerService/managedClusters/<group>/<resource>/read` (core group:
# no group segment; learn.microsoft.com "Azure RBAC for Kubernetes Authorization", the built-in roles' dataActions).
KUBERNETES_TYPE_RESOURCES: Mapping[str, str] = {
    "kubernetes_namespace_v1": "namespaces",
    "kubernetes_secret_v1": "secrets",
    "kubernetes_config_map_v1": "configmaps",
    "kubernetes_service_account_v1": "serviceaccounts",
    "kubernetes_persistent_volume_claim_v1": "persistentvolumeclaims",
    "kubernetes_limit_range_v1": "limitranges",
    "kubernetes_resource_quota_v1": "resourcequotas",
    "kubernetes_service_v1": "services",
    "kubernetes_cron_job_v1": "batch/cronjobs",
    "kubernetes_job_v1": "batch/jobs",
    "kubernetes_deployment_v1": "apps/deployments",
    "kubernetes_network_policy_v1": "networking.k8s.io/networkpolicies",
    "kubernetes_cluster_role_v1": "rbac.authorization.k8s.io/clusterroles",
    "kubernetes_cluster_role_binding_v1": "rbac.authorization.k8s.io/clusterrolebindings",
    "kubernetes_role_v1": "rbac.authorization.k8s.io/roles",
    "kubernetes_role_binding_v1": "rbac.authorization.k8s.io/rolebindings",
}
# Built-in roles as (dataActions, notDataActions) patterns (Microsoft's built-in roles reference).
_MC = "Microsoft.ContainerService/managedClusters/"
BUILTIN_KUBERNETES_ROLE_PATTERNS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Azure Kubernetes Service RBAC Cluster Admin": ((f"{_MC}*",), ()),
    # Reads most namespaced objects; neither Secrets nor RBAC objects nor custom resources.
    "Azure Kubernetes Service RBAC Reader": (
        tuple(
            f"{_MC}{resource}/read"
            for resource in (
                "apps/controllerrevisions",
                "apps/daemonsets",
                "apps/deployments",
                "apps/replicasets",
                "apps/statefulsets",
                "autoscaling/horizontalpodautoscalers",
                "batch/cronjobs",
                "batch/jobs",
                "configmaps",
                "discovery.k8s.io/endpointslices",
                "endpoints",
                "events.k8s.io/events",
                "events",
                "limitranges",
                "namespaces",
                "networking.k8s.io/ingresses",
                "networking.k8s.io/networkpolicies",
                "persistentvolumeclaims",
                "pods",
                "policy/poddisruptionbudgets",
                "replicationcontrollers",
                "resourcequotas",
                "serviceaccounts",
                "services",
            )
        ),
        (),
    ),
}
# Azure Resource Manager: Reader (`*/read`) refreshes every azurerm resource, except reads that call a POST action.
ARM_READ_ACTIONS: Mapping[str, tuple[str, str]] = {
    # Reading an azurerm_kubernetes_cluster lists the user credentials (kube_config).
    "azurerm_kubernetes_cluster": (
        "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
        "Azure Kubernetes Service Cluster User Role",
    ),
}


def kubernetes_read_action(type_: str, body: Mapping[str, Any]) -> str | None:
    """The data action a plan needs to refresh one managed Kubernetes object (None: not a Kubernetes object)."""
    prefix = "Microsoft.ContainerService/managedClusters"
    if type_ == "kubernetes_manifest":
        manifest = body.get("manifest", {})
        group = str(manifest.get("apiVersion", "")).rpartition("/")[0]
        kind = str(manifest.get("kind", "")).lower()
        plural = kind[:-1] + "ies" if kind.endswith("y") else kind + ("es" if kind.endswith("s") else "s")
        return f"{prefix}/{group + '/' if group else ''}{plural}/read"
    resource = KUBERNETES_TYPE_RESOURCES.get(type_)
    if resource is None:
        return f"{prefix}/?{type_}/read" if type_.startswith("kubernetes_") else None
    return f"{prefix}/{resource}/read"


def _role_patterns(stacks: Mapping[str, StackJson]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    patterns = dict(BUILTIN_KUBERNETES_ROLE_PATTERNS)
    for stack in stacks.values():
        for definition in resources_of(stack, "azurerm_role_definition").values():
            allowed: list[str] = []
            denied: list[str] = []
            for permissions in blocks(definition.get("permissions")):
                allowed += permissions.get("data_actions", [])
                denied += permissions.get("not_data_actions", [])
            patterns[str(definition["name"])] = (tuple(allowed), tuple(denied))
    return patterns


def _allows(patterns: tuple[tuple[str, ...], tuple[str, ...]], action: str) -> bool:
    allowed, denied = patterns
    matches = lambda globs: any(fnmatch.fnmatchcase(action.lower(), g.lower()) for g in globs)  # noqa: E731
    return matches(allowed) and not matches(denied)


def plan_read_findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every kind of object each cluster stack manages is readable by the plan identity's roles on the cluster, and
    every azurerm type whose refresh calls a POST action has the role that grants it."""
    problems: list[str] = []
    patterns = _role_patterns(stacks)
    environment_runners = runners(stacks["bootstrap"])
    for stack_name, stack in sorted(stacks.items()):
        environment = environment_of(stack_name)
        runner = environment_runners.get(environment or "")
        if runner is None or "plan" not in runner.identities:
            continue
        identity = runner.identities["plan"]
        infra = stacks.get(f"{environment}-infra", {})
        assignments = [
            a
            for a in resources_of(infra, "azurerm_role_assignment").values()
            if principal_identity(infra, a["principal_id"]) == identity
        ]
        if stack_name.endswith("-cluster"):
            problems += _kubernetes_read_findings(stack_name, stack, infra, assignments, runner, patterns)
        problems += _arm_read_findings(stack_name, stack, assignments, runner)
    return problems


def _kubernetes_read_findings(
    stack_name: str,
    stack: StackJson,
    infra: StackJson,
    assignments: list[dict[str, Any]],
    runner: Runner,
    patterns: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]],
) -> list[str]:
    """Each Kubernetes read the cluster stack's refresh needs, against the plan identity's roles on the cluster."""
    identity = runner.identities["plan"]
    needed: dict[str, list[str]] = {}
    for type_, items in sorted(stack.get("resource", {}).items()):
        for name, body in sorted(items.items()):
            action = kubernetes_read_action(type_, body)
            if action is not None:
                needed.setdefault(action, []).append(f"{type_}.{name}")
    problems = []
    for key in sorted(resources_of(infra, "azurerm_kubernetes_cluster")):
        cluster_ref = f"${{azurerm_kubernetes_cluster.{key}.id}}"
        roles = [
            str(a.get("role_definition_name"))
            for a in assignments
            if scope_covers(str(a["scope"]), cluster_ref, runner.subscription_id)
        ]
        problems += [
            f"{stack_name}: plan identity {identity} cannot read {action} (roles on the cluster: "
            f"{sorted(roles)}), which refreshing {', '.join(addresses)} needs: every plan after the "
            "first apply fails with 403"
            for action, addresses in sorted(needed.items())
            if not any(_allows(patterns[role], action) for role in roles if role in patterns)
        ]
    return problems


def _arm_read_findings(
    stack_name: str, stack: StackJson, assignments: list[dict[str, Any]], runner: Runner
) -> list[str]:
    """Each azurerm type whose refresh calls a POST action Reader does not grant, against the plan identity's roles."""
    return [
        f"{stack_name}: plan identity {runner.identities['plan']} lacks {role} on {type_}.{key}: refreshing it calls "
        f"{action}, which Reader does not grant"
        for type_, (action, role) in sorted(ARM_READ_ACTIONS.items())
        for key in sorted(resources_of(stack, type_))
        if not any(
            a.get("role_definition_name") == role
            and scope_covers(str(a["scope"]), f"${{{type_}.{key}.id}}", runner.subscription_id)
            for a in assignments
        )
    ]
