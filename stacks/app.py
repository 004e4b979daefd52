"""The whole app: a bootstrap stack, the repository's `github` stack, then an infrastructure and a cluster stack per
environment."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from cdktf import App

from config.loader import load_all
from config.schema import EnvironmentConfig
from stacks.bootstrap import BootstrapStack
from stacks.cluster import ClusterStack
from stacks.github import GitHubStack
from stacks.infrastructure import InfrastructureStack

BOOTSTRAP_STACK = "bootstrap"
GITHUB_STACK = "github"


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
    # Bootstrap's apply identities may assign exactly the roles the environments' stacks assign: with bootstrap, every
    # environment's stacks are built too.
    bootstrap = (
        BootstrapStack(app, BOOTSTRAP_STACK, environments=environments) if not only or BOOTSTRAP_STACK in only else None
    )
    if not only or GITHUB_STACK in only:
        GitHubStack(app, GITHUB_STACK, environments=environments)
    for config in environments:
        infra_name, cluster_name = stack_names(config.name)
        if bootstrap is None and infra_name not in only and cluster_name not in only:
            continue
        infra = InfrastructureStack(app, infra_name, config=config)
        cluster = ClusterStack(
            app,
            cluster_name,
            config=config,
            aks=infra.aks,
            observability=infra.observability,
            tracing=infra.tracing,
            exports=infra.cluster_exports,
            app_gateway=infra.app_gateway,
            compliance_results=infra.compliance_results,
        )
        if bootstrap is not None:  # the apply identity may assign exactly the roles these two stacks assign
            bootstrap.delegate(config, (infra, cluster))
    return app
