"""The whole app: a bootstrap stack, then an infrastructure and a cluster stack per environment."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from cdktf import App

from config.loader import load_all
from config.schema import EnvironmentConfig
from stacks.bootstrap import BootstrapStack
from stacks.cluster import ClusterStack
from stacks.infrastructure import InfrastructureStack

BOOTSTRAP_STACK = "bootstrap"


def stack_names(environment: str) -> tuple[str, str]:
    return f"{environment}-infra", f"{environment}-cluster"


def build_app(
    outdir: str | Path | None = None,
    environments: list[EnvironmentConfig] | None = None,
    only: Collection[str] = (),
) -> App:
    """Without `outdir`, cdktf uses $CDKTF_OUTDIR (set by the cdktf CLI) or cdktf.out/.

    `only` (`python main.py <stack>...`): just the named stacks and what their output depends on; an
    environment's infra and cluster stacks are built together (the cluster's cross-stack references add
    outputs to the infra stack), so each built stack synthesizes exactly as in the whole app."""
    environments = load_all() if environments is None else environments
    app = App(outdir=str(outdir)) if outdir else App()
    if not only or BOOTSTRAP_STACK in only:
        BootstrapStack(app, BOOTSTRAP_STACK, environments=environments)
    for config in environments:
        infra_name, cluster_name = stack_names(config.name)
        if only and infra_name not in only and cluster_name not in only:
            continue
        infra = InfrastructureStack(app, infra_name, config=config)
        ClusterStack(
            app,
            cluster_name,
            config=config,
            aks=infra.aks,
            observability=infra.observability,
            tracing=infra.tracing,
            app_gateway=infra.app_gateway,
        )
    return app
