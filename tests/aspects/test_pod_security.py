"""The PodSecurityRestricted Aspect: a compliant pod passes; each rule has a failing example."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cdktf_cdktf_provider_kubernetes.deployment_v1 import DeploymentV1

from constructs.aspects.pod_security import violations
from tests.constructs.baseline_stack import synth_with_errors

COMPLIANT_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": "myregistry.azurecr.io/app:1.2.3",
    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
    "security_context": {
        "run_as_non_root": True,
        "run_as_user": "1000",
        "allow_privilege_escalation": False,
        "read_only_root_filesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccomp_profile": {"type": "RuntimeDefault"},
    },
}


def pod(**changes: Any) -> dict[str, Any]:
    container = copy.deepcopy(COMPLIANT_CONTAINER)
    pod_spec: dict[str, Any] = {"container": [container]}
    for dotted, value in changes.items():
        target, *path = dotted.split("__")
        node = container if target == "c" else pod_spec
        *parents, leaf = path
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return {"spec": [{"template": [{"spec": [pod_spec]}]}]}


def test_compliant_pod_has_no_violations() -> None:
    assert violations("kubernetes_deployment_v1", pod()) == []


# (change to the compliant pod, rule id, words the message must contain)
FAILING = [
    ({"c__security_context__run_as_non_root": False}, "pss-run-as-non-root", "run_as_non_root = true"),
    ({"c__security_context__run_as_user": "0"}, "pss-run-as-non-root", "user 0"),
    (
        {"c__security_context__allow_privilege_escalation": True},
        "pss-privilege-escalation",
        "allow_privilege_escalation = false",
    ),
    ({"c__security_context__privileged": True}, "pss-privileged", "privileged"),
    ({"c__security_context__capabilities": {"drop": ["NET_RAW"]}}, "pss-capabilities", "drop ALL"),
    ({"c__security_context__capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}, "pss-capabilities", "SYS_ADMIN"),
    ({"c__security_context__seccomp_profile": {"type": "Unconfined"}}, "pss-seccomp", "RuntimeDefault"),
    ({"p__host_network": True}, "pss-host-namespaces", "host_network"),
    ({"p__volume": [{"name": "root", "host_path": {"path": "/"}}]}, "pss-host-path", "volume 'root'"),
    ({"c__security_context__read_only_root_filesystem": False}, "baseline-read-only-root", "read_only_root_filesystem"),
    ({"c__resources": {"limits": {"cpu": "1"}}}, "baseline-resource-limits", "['memory']"),
    ({"c__image": "nginx:latest"}, "baseline-pinned-image", "'nginx:latest'"),
    ({"c__image": "nginx"}, "baseline-pinned-image", "'nginx'"),
]


@pytest.mark.parametrize(("changes", "rule_id", "words"), FAILING)
def test_each_rule_fails_its_example(changes: dict[str, Any], rule_id: str, words: str) -> None:
    found = violations("kubernetes_deployment_v1", pod(**changes))
    assert len(found) == 1, found
    assert found[0].startswith(f"{rule_id}: ") and words in found[0]
    if changes.keys() and next(iter(changes)).startswith("c__"):
        assert "container 'app'" in found[0]


def test_aspect_annotates_the_offending_resource() -> None:
    def build(stack) -> None:
        DeploymentV1(
            stack,
            "web",
            metadata={"name": "web"},
            spec={
                "selector": {"match_labels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"container": [{"name": "web", "image": "nginx:latest"}]},
                },
            },
        )

    _, errors = synth_with_errors(build)
    assert errors, "the Aspect added no error"
    assert all("kubernetes_deployment_v1 'test/web' violates Pod Security restricted" in e for e in errors)
    rules = {e.split("restricted: ")[1].split(":")[0] for e in errors}
    assert rules == {
        "pss-run-as-non-root",
        "pss-privilege-escalation",
        "pss-capabilities",
        "pss-seccomp",
        "baseline-read-only-root",
        "baseline-resource-limits",
        "baseline-pinned-image",
    }
