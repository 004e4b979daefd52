"""The whole app: a bootstrap stack, the repository's `github` stack, then an infrastructure and a cluster stack per
environment."""

from __future__ import annotations

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


def build_app(outdir: str | Path | None = None, environments: list[EnvironmentConfig] | None = None) -> App:
    """Without `outdir`, cdktf uses $CDKTF_OUTDIR (set by the cdktf CLI) or cdktf.out/."""
    environments = load_all() if environments is None else environments
    app = App(outdir=str(outdir)) if outdir else App()
    bootstrap = BootstrapStack(app, BOOTSTRAP_STACK, environments=environments)
    GitHubStack(app, GITHUB_STACK, environments=environments)
    for config in environments:
        infra_name, cluster_name = stack_names(config.name)
        infra = InfrastructureStack(app, infra_name, config=config)
        cluster = ClusterStack(
            app,
            cluster_name,
            config=config,
            aks=infra.aks,
            observability=infra.observability,
            tracing=infra.tracing,
            app_gateway=infra.app_gateway,
        )
        # The apply identity may assign exactly the roles these two stacks assign (bootstrap is built first).
        bootstrap.delegate(config, (infra, cluster))
    return app
