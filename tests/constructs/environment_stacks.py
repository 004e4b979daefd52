"""Construct tests synthesize their constructs once per environment: one stack each, with the environment's
config, azurerm provider and Aspects. `app.synth()` fails on Aspect errors, as main.py does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cdktf

from config.loader import ENVIRONMENTS, load_environment
from config.schema import EnvironmentConfig
from constructs.interfaces import DiagnosticsSink
from constructs.naming import Naming
from stacks.common import apply_environment_aspects, azurerm_provider
from tests.conftest import StackJson

# Where the constructs under test send their diagnostic settings (the stack passes LogAnalytics.sink).
DIAGNOSTICS_SINK = DiagnosticsSink(
    "/subscriptions/s/resourceGroups/monitoring/providers/Microsoft.OperationalInsights/workspaces/logs"
)
Build = Callable[[cdktf.TerraformStack, EnvironmentConfig, Naming], None]


def synth_per_environment(outdir: Path, build: Build) -> dict[str, StackJson]:
    """Each environment's stack JSON after `build(stack, config, naming)` added the constructs under test."""
    app = cdktf.App(outdir=str(outdir))
    for environment in ENVIRONMENTS:
        config = load_environment(environment)
        stack = cdktf.TerraformStack(app, environment)
        azurerm_provider(stack, config)
        build(stack, config, Naming(config.short_name, config.unique_suffix))
        apply_environment_aspects(stack, config)
    app.synth()
    return {name: json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text()) for name in ENVIRONMENTS}
