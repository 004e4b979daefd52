"""Synth-time check: every pod template in a stack passes Pod Security `restricted` plus our rules.

Each rule is a small function returning the violations of one pod spec; the Aspect adds one error
annotation per violation naming the resource, the container and the rule (synth then fails).
Values that are unresolved tokens are treated as missing, i.e. non-compliant: hardening must be literal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import jsii
from cdktf import Annotations, IAspect, TerraformResource

from constructs import IConstruct
from constructs.resource_types import resource_type

# Where each workload type keeps its pod spec (the synthesized blocks are lists of one element).
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes_cron_job_v1": ("spec", "job_template", "spec", "template", "spec"),
    "kubernetes_cron_job": ("spec", "job_template", "spec", "template", "spec"),
    "kubernetes_job_v1": ("spec", "template", "spec"),
    "kubernetes_job": ("spec", "template", "spec"),
    "kubernetes_deployment_v1": ("spec", "template", "spec"),
    "kubernetes_deployment": ("spec", "template", "spec"),
    "kubernetes_daemon_set_v1": ("spec", "template", "spec"),
    "kubernetes_daemonset": ("spec", "template", "spec"),
    "kubernetes_stateful_set_v1": ("spec", "template", "spec"),
    "kubernetes_stateful_set": ("spec", "template", "spec"),
    "kubernetes_replication_controller_v1": ("spec", "template", "spec"),
    "kubernetes_pod_v1": ("spec",),
    "kubernetes_pod": ("spec",),
}
ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}
PINNED_IMAGE = re.compile(r"^[^@\s]+(@sha256:[a-f0-9]{64}|:(?!latest$)[A-Za-z0-9._-]+)$")


def _block(value: Any) -> dict[str, Any]:
    """A nested block, whether synthesized as a list of one element or as an object."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def _containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("container", "init_container"):
        yield from (c for c in pod.get(key) or [] if isinstance(c, dict))


def _truthy(value: Any) -> bool:
    return value is True or value == "true"


def _falsy(value: Any) -> bool:
    return value is False or value == "false"


def _per_container(
    check: Callable[[dict[str, Any], dict[str, Any]], str | None],
) -> Callable[[dict[str, Any]], list[str]]:
    def rule(pod: dict[str, Any]) -> list[str]:
        pod_context = _block(pod.get("security_context"))
        messages = []
        for container in _containers(pod):
            problem = check(container, pod_context)
            if problem:
                messages.append(f"container '{container.get('name')}' {problem}")
        return messages

    return rule


def _run_as_non_root(container: dict, pod_context: dict) -> str | None:
    context = _block(container.get("security_context"))
    non_root = context.get("run_as_non_root", pod_context.get("run_as_non_root"))
    user = context.get("run_as_user", pod_context.get("run_as_user"))
    if not _truthy(non_root):
        return "must set run_as_non_root = true"
    if str(user) == "0":
        return "must not run as user 0"
    return None


def _no_privilege_escalation(container: dict, _: dict) -> str | None:
    context = _block(container.get("security_context"))
    return None if _falsy(context.get("allow_privilege_escalation")) else "must set allow_privilege_escalation = false"


def _not_privileged(container: dict, _: dict) -> str | None:
    return "must not be privileged" if _truthy(_block(container.get("security_context")).get("privileged")) else None


def _drop_all_capabilities(container: dict, _: dict) -> str | None:
    capabilities = _block(_block(container.get("security_context")).get("capabilities"))
    if "ALL" not in (capabilities.get("drop") or []):
        return "must drop ALL capabilities"
    extra = set(capabilities.get("add") or []) - ALLOWED_ADDED_CAPABILITIES
    return f"may add only NET_BIND_SERVICE, adds {sorted(extra)}" if extra else None


def _seccomp(container: dict, pod_context: dict) -> str | None:
    profile = _block(_block(container.get("security_context")).get("seccomp_profile")) or _block(
        pod_context.get("seccomp_profile")
    )
    return (
        None
        if profile.get("type") in ("RuntimeDefault", "Localhost")
        else "must use seccomp profile RuntimeDefault or Localhost"
    )


def _read_only_root(container: dict, _: dict) -> str | None:
    context = _block(container.get("security_context"))
    return None if _truthy(context.get("read_only_root_filesystem")) else "must set read_only_root_filesystem = true"


def _resource_limits(container: dict, _: dict) -> str | None:
    limits = _block(container.get("resources")).get("limits") or {}
    missing = [kind for kind in ("cpu", "memory") if kind not in limits]
    return f"must set resource limits for {missing}" if missing else None


def _pinned_image(container: dict, _: dict) -> str | None:
    image = container.get("image")
    if isinstance(image, str) and PINNED_IMAGE.match(image):
        return None
    return f"image {image!r} must be pinned by a tag other than 'latest' or by sha256 digest"


def _host_namespaces(pod: dict[str, Any]) -> list[str]:
    return [f"must not set {key} = true" for key in ("host_network", "host_pid", "host_ipc") if _truthy(pod.get(key))]


def _no_host_path(pod: dict[str, Any]) -> list[str]:
    return [
        f"volume '{v.get('name')}' must not be a host_path"
        for v in pod.get("volume") or []
        if isinstance(v, dict) and v.get("host_path")
    ]


RULES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "pss-run-as-non-root": _per_container(_run_as_non_root),
    "pss-privilege-escalation": _per_container(_no_privilege_escalation),
    "pss-privileged": _per_container(_not_privileged),
    "pss-capabilities": _per_container(_drop_all_capabilities),
    "pss-seccomp": _per_container(_seccomp),
    "pss-host-namespaces": _host_namespaces,
    "pss-host-path": _no_host_path,
    "baseline-read-only-root": _per_container(_read_only_root),
    "baseline-resource-limits": _per_container(_resource_limits),
    "baseline-pinned-image": _per_container(_pinned_image),
}


def violations(resource_type: str, config: dict[str, Any]) -> list[str]:
    """Every rule violation of one workload's synthesized config ('rule-id: message')."""
    pod = config
    for key in POD_SPEC_PATHS[resource_type]:
        pod = _block(pod.get(key))
    return [f"{rule_id}: {message}" for rule_id, rule in RULES.items() for message in rule(pod)]


@jsii.implements(IAspect)
class PodSecurityRestricted:
    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource) or resource_type(node) not in POD_SPEC_PATHS:
            return
        config = node.to_terraform()["resource"][resource_type(node)][node.friendly_unique_id]
        for problem in violations(resource_type(node), config):
            Annotations.of(node).add_error(
                f"K8S-PSS {resource_type(node)} '{node.node.path}' violates Pod Security restricted: {problem}"
            )
