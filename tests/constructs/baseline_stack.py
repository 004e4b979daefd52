"""A standalone test stack holding the baseline constructs for one environment's config."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cdktf import Aspects, TerraformStack, Testing
from cdktf_cdktf_provider_kubernetes.provider import KubernetesProvider

from constructs.aspects.pod_security import PodSecurityRestricted


def synth_with_errors(build: Callable[[TerraformStack], Any]) -> tuple[dict, list[str]]:
    """Like synth_kubernetes, plus every error annotation the Aspects added (Testing.synth keeps going)."""
    app = Testing.app()
    stack = TerraformStack(app, "test")
    KubernetesProvider(stack, "kubernetes")
    build(stack)
    Aspects.of(stack).add(PodSecurityRestricted())
    out = json.loads(Testing.synth(stack))
    errors = [
        str(entry.data)
        for construct in stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == "@cdktf/error"
    ]
    return out, errors
