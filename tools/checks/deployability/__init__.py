"""Can the deploy runners actually reach and use what each stack talks to? A model over the synthesized JSON.

For each environment it reads, from the synthesized stacks only:

- **who runs what**: the environment's runner network (the VNet whose subnet hosts the runners' Container Apps
  environment in the bootstrap stack) and its two identities (plan, apply). Every remote-state stack of the
  environment is planned by the plan identity and applied by the apply identity on those runners
  (`workflow_findings` checks the workflows say so).
- **what each stack must reach** through a data plane:
  - the **state blob** of its backend (plan and apply: read + lease/write),
  - in the infra stack, the **Key Vault data plane** of every vault holding keys or certificates Terraform
    writes (apply: create; plan: read),
  - in the cluster stack, the **AKS API** of the environment's private cluster (apply: write; plan: read).
- **that the runners start at all** (`runner_image_findings`): the job's image comes from a bootstrap registry with
  a private endpoint the runners reach, `privatelink.azurecr.io` linked to their VNet, and AcrPull for the job's
  registry identity; and every container's args name a mode `runner-image/entrypoint.sh` implements, one of which
  starts the runner (`runner_mode_findings`).
- **for each endpoint, each link of the path**: a private endpoint for the resource (right sub-resource) in a
  VNet the runner reaches (the runner's own, or peered in both directions); the privatelink zone the endpoint
  registers in, linked to the runner's VNet; a role assignment for the identity, at a scope covering the
  resource, whose role grants the data actions needed.

- **runner egress** (`egress_findings`): the runners subnet's default route goes to an Azure Firewall in the
  runner VNet, whose policy allows each host of constructs/egress_hosts.py on HTTPS 443 from the runners subnet,
  has no allow-all rule (`*` host, `*` / 0.0.0.0/0 / Internet destination, `*` port), and nothing goes around it
  (a NAT gateway, default outbound access, a route to Internet).

- **the NSGs on every data path** (`network_path_findings`, paths and ports from constructs/data_paths.py):
  runners -> state blob, runner registry, Key Vault endpoints, AKS API; nodes -> VNet-integrated API server (443,
  4443). Source subnet outbound, then destination subnet inbound, each in priority order with Azure's default
  rules; `VirtualNetwork` = the NSG's VNet and its peers, `Internet` = outside it, other service tags match no
  subnet; a private endpoint's subnet NSG counts only when its endpoint network policies enable NSGs.
- **job images** (`job_image_findings`): each Job/CronJob command and every command its mounted script calls is in
  the image (constructs/baseline/image_contents.py, sourced per image; the source behind `az acr import`).
- **validity windows** (`validity_findings`): a key pinned by version (AKS KMS) keeps rotated-out versions valid
  PINNED_VERSION_MIN_OVERLAP_DAYS; an auto-renewed certificate is consumed only through its versionless secret id.
- **races** (`ordering_findings`): feature-gated attributes wait for the feature registration; data-plane writes
  wait for the runner peerings; backup instances wait for a time_sleep after their role assignments; a resource
  named by a literal id (the alerting stack's action groups and chat adapters) is created by a stack applied earlier
  in the environment's order (`APPLY_ORDER`: alerting, infra, cluster).
- **what the plan identity reads** (`plan_read_findings`): each Kubernetes kind the cluster stack manages against
  the plan identity's roles on the cluster (data action patterns); azurerm reads beyond Reader.
- **bootstrap's migrated state** (`bootstrap_state_findings`): a blob data role for the operators.
- **tokens** (`token_findings`, over the workflows): minutes from azure/login to the last step that asks the CLI
  for a new token, against the OIDC assertion's lifetime, with estimated minutes per step kind.

`findings(stacks)` returns every missing link as a sentence naming the stack, endpoint and link. The test
(tests/assurance/test_deployability.py) asserts there are none and that removing a peering, a zone link or a
role produces the matching finding. Usage: python -m tools.checks.deployability [cdktf.out]

One module per check (egress, runner_image, runner_credential, network_paths, job_images, validity, ordering,
plan_read, bootstrap_state, tokens, workflows) over the shared model (model, endpoints); this module runs them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tools.checks.deployability.bootstrap_state import bootstrap_state_findings
from tools.checks.deployability.egress import egress_findings, runner_subnet_keys
from tools.checks.deployability.endpoints import (
    Endpoint,
    aks_endpoints,
    custom_roles,
    endpoint_findings,
    key_vault_endpoints,
    state_endpoint,
)
from tools.checks.deployability.job_images import job_image_findings, script_commands
from tools.checks.deployability.model import (
    PLANNED_BY_APPLY,
    ROLE_DATA_ACTIONS,
    StackJson,
    environment_of,
    parse_ref,
    peerings_of,
    runners,
)
from tools.checks.deployability.network_paths import network_path_findings, path_findings
from tools.checks.deployability.ordering import ordering_findings
from tools.checks.deployability.plan_read import plan_read_findings
from tools.checks.deployability.runner_credential import runner_credential_findings
from tools.checks.deployability.runner_image import runner_image_findings
from tools.checks.deployability.runner_modes import runner_mode_findings
from tools.checks.deployability.tokens import token_findings
from tools.checks.deployability.validity import validity_findings
from tools.checks.deployability.workflows import (
    is_azure_login,
    load_actions,
    load_workflows,
    runner_pool_findings,
    workflow_findings,
)

__all__ = [
    "StackJson",
    "bootstrap_state_findings",
    "custom_roles",
    "egress_findings",
    "endpoint_findings",
    "environment_of",
    "findings",
    "is_azure_login",
    "job_image_findings",
    "load_actions",
    "load_stacks",
    "load_workflows",
    "main",
    "network_path_findings",
    "ordering_findings",
    "parse_ref",
    "path_findings",
    "plan_read_findings",
    "runner_credential_findings",
    "runner_image_findings",
    "runner_mode_findings",
    "runner_pool_findings",
    "runner_subnet_keys",
    "runners",
    "script_commands",
    "token_findings",
    "validity_findings",
    "workflow_findings",
]


def findings(stacks: Mapping[str, StackJson]) -> list[str]:
    """Every missing link on the path from each environment's runners to what its stacks reach."""
    bootstrap = stacks["bootstrap"]
    environment_runners = runners(bootstrap)
    roles = {**ROLE_DATA_ACTIONS, **custom_roles(stacks)}
    problems: list[str] = egress_findings(bootstrap)
    for stack_name, stack in sorted(stacks.items()):
        environment = environment_of(stack_name)
        if environment is None:
            continue
        runner = environment_runners.get(environment)
        if runner is None:
            problems.append(f"{stack_name}: no runner for environment {environment} in the bootstrap stack")
            continue
        infra = stacks.get(f"{environment}-infra", {})
        peerings = peerings_of(bootstrap, runner.subscription_id) | peerings_of(infra, runner.subscription_id)
        endpoints: list[Endpoint] = []
        backend = stack.get("terraform", {}).get("backend", {}).get("azurerm")
        if backend is None:
            problems.append(f"{stack_name}: no azurerm backend (state would be local to the runner)")
        else:
            state = state_endpoint(bootstrap, backend, planned_by_apply=stack_name.endswith(f"-{PLANNED_BY_APPLY}"))
            if state is None:
                problems.append(f"{stack_name}: state account {backend['storage_account_name']} is not in bootstrap")
            else:
                endpoints.append(state)
        if stack_name.endswith("-infra"):
            endpoints += key_vault_endpoints(stack)
        if stack_name.endswith("-cluster") and "kubernetes" in stack.get("provider", {}):
            aks = aks_endpoints(infra, stack)
            if not aks:
                problems.append(f"{stack_name}: talks to a cluster but {environment}-infra declares none")
            endpoints += aks
        for endpoint in endpoints:
            problems += endpoint_findings(stack_name, runner, endpoint, peerings, roles, bootstrap)
    problems += runner_image_findings(bootstrap)  # the runners themselves start: their image is pulled privately
    problems += runner_credential_findings(bootstrap)  # ...and read their GitHub App key from their vault
    problems += runner_mode_findings(bootstrap)  # ...and call modes their image's entrypoint implements
    problems += network_path_findings(stacks)  # and the NSGs on the way let every data path through
    problems += job_image_findings(stacks)  # the cluster jobs' images hold what their scripts call
    problems += validity_findings(stacks)  # and no key or certificate version expires under a consumer
    problems += ordering_findings(stacks)  # and the first apply does not race what Azure checks at create time
    problems += plan_read_findings(stacks)  # and the plan identity can refresh everything each stack manages
    problems += bootstrap_state_findings(stacks)  # and the operator can run bootstrap once its state is migrated
    return problems


def load_stacks(synth_dir: Path) -> dict[str, StackJson]:
    from tools.synth_output import UnreadableSynth, read_stacks

    stacks = read_stacks(synth_dir)  # raises UnreadableSynth: a missing stack is not a deployable one
    if "bootstrap" not in stacks:
        raise UnreadableSynth(f"{synth_dir}: no bootstrap stack, so no runners to model")
    return stacks


def main(argv: list[str]) -> int:
    """Every check over `cdktf.out` (or argv[0]) and the workflows; exit 1 on a finding no other branch fixes, 2 when
    the input cannot be read."""
    from tools.synth_output import main_guard

    synth_dir = Path(argv[0]) if argv else Path("cdktf.out")
    return main_guard(lambda: _report(synth_dir), "deployability")


def _report(synth_dir: Path) -> int:
    stacks = load_stacks(synth_dir)
    workflows = load_workflows(Path(".github/workflows"))
    problems = findings(stacks) + workflow_findings(workflows, stacks) + token_findings(workflows, stacks)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} missing link(s)")
    return 1 if problems else 0
