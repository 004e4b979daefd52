"""The whole app: a bootstrap stack, the repository's `github` stack, then per environment an alerting, an
infrastructure and a cluster stack (applied in that order)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from cdktf import App

from config.loader import load_all
from config.schema import EnvironmentConfig
from stacks.alerting import AlertingStack
from stacks.bootstrap import BootstrapStack
from stacks.cluster import ClusterStack
from stacks.github import GitHubStack
from stacks.infrastructure import InfrastructureStack

BOOTSTRAP_STACK = "bootstrap"
GITHUB_STACK = "github"


def stack_names(environment: str) -> tuple[str, str]:
    return f"{environment}-infra", f"{environment}-cluster"


def alerting_stack_name(environment: str) -> str:
    return f"{environment}-alerting"


def environment_stacks(environment: str) -> tuple[str, str, str]:
    """An environment's stacks in apply order: alerting, infra, cluster (docs/architecture.md)."""
    return alerting_stack_name(environment), *stack_names(environment)


def build_app(
    outdir: str | Path | None = None,
    environments: list[EnvironmentConfig] | None = None,
    only: Collection[str] = (),
) -> App:
    """Without `outdir`, cdktf uses $CDKTF_OUTDIR (set by the cdktf CLI) or cdktf.out/.

    `only` (`python main.py <stack>...`): just the named stacks and what their output depends on; an
    environment's stacks are built together (the cluster's cross-stack references add outputs to the infra
    stack; bootstrap's delegation reads all three), so each built stack synthesizes exactly as in the whole app."""
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
        names = environment_stacks(config.name)
        if bootstrap is None and not set(names) & set(only):
            continue
        alerting_name, infra_name, cluster_name = names
        alerting = AlertingStack(app, alerting_name, config=config)
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
        if bootstrap is not None:  # the apply identity may assign exactly the roles these stacks assign
            bootstrap.delegate(config, (alerting, infra, cluster))
    return app
