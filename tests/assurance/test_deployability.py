"""The deploy path modelled over the synthesized JSON (tools/checks/deployability.py): every environment's runners
reach the state blob, the Key Vault data planes and the AKS API privately, resolve them through linked
privatelink zones, and their identities hold the data roles; the workflows run on those runners as those
identities. Each failing example removes one link and checks the finding names it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from config.loader import ENVIRONMENTS, load_environment
from tools.checks.deployability import (
    egress_findings,
    findings,
    is_azure_login,
    runner_pool_findings,
    runner_subnet_keys,
    runners,
    token_findings,
    workflow_findings,
)

WORKFLOWS = Path(".github/workflows")
_POOL_LABELS = "['erp-production-apply', 'erp-production-plan', 'erp-staging-apply', 'erp-staging-plan']"


def _workflows() -> dict[str, dict]:
    return {path.name: YAML(typ="safe").load(path.read_text()) for path in sorted(WORKFLOWS.glob("*.yml"))}


def test_every_environment_is_deployable(stacks) -> None:
    assert findings(stacks) == []


def test_the_model_sees_each_environments_runner_network_and_identities(stacks) -> None:
    found = runners(stacks["bootstrap"])
    assert sorted(found) == sorted(ENVIRONMENTS)
    for environment, runner in found.items():
        config = load_environment(environment)
        assert runner.vnet_id.endswith(f"/virtualNetworks/{config.short_name}-deployment-vnet-001")
        assert sorted(runner.labels) == sorted(pool.label for pool in config.deployment.runner.pools.values())
        assert set(runner.identities) == {"plan", "apply"}


def _without(stacks, stack_name: str, resource_type: str, predicate) -> dict:
    changed = copy.deepcopy(stacks)
    resources = changed[stack_name]["resource"][resource_type]
    removed = [key for key, value in resources.items() if predicate(key, value)]
    assert removed, f"the example removes nothing from {stack_name} {resource_type}"
    for key in removed:
        del resources[key]
    return changed


def test_a_missing_peering_is_named(stacks) -> None:
    broken = _without(
        stacks, "staging-infra", "azurerm_virtual_network_peering", lambda key, _: "deployment-to-spoke" in key
    )
    problems = findings(broken)
    assert problems
    assert all(p.startswith(("staging-infra", "staging-cluster")) for p in problems)
    assert any("staging-infra: Key Vault data plane" in p and "missing peering" in p for p in problems)
    assert any("staging-cluster: AKS API" in p and "missing peering" in p for p in problems)


def test_a_missing_zone_link_is_named(stacks) -> None:
    broken = _without(
        stacks,
        "production-infra",
        "azurerm_private_dns_zone_virtual_network_link",
        lambda key, _: key.startswith("deployer-access_dns-aks"),
    )
    assert findings(broken) == [
        "production-cluster: AKS API of prd-aks-aks-001: private DNS zone privatelink.eastus.azmk8s.io is not linked "
        "to the runner network /subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/prd-deployment-rg-001"
        "/providers/Microsoft.Network/virtualNetworks/prd-deployment-vnet-001"
    ] or all("privatelink.eastus.azmk8s.io is not linked" in p for p in findings(broken))


def test_a_missing_state_zone_link_breaks_every_stack_of_the_environment(stacks) -> None:
    broken = _without(
        stacks,
        "bootstrap",
        "azurerm_private_dns_zone_virtual_network_link",
        lambda key, _: key.startswith("staging-deployment_dns-blob-link"),
    )
    problems = findings(broken)
    assert {p.split(":")[0] for p in problems} == {"staging-alerting", "staging-infra", "staging-cluster"}
    assert all("privatelink.blob.core.windows.net is not linked" in p for p in problems)


def test_a_missing_role_is_named(stacks) -> None:
    broken = _without(
        stacks,
        "staging-infra",
        "azurerm_role_assignment",
        lambda _, value: value.get("role_definition_name") == "Azure Kubernetes Service RBAC Cluster Admin",
    )
    problems = findings(broken)
    assert len(problems) == 1
    assert "staging-cluster: AKS API" in problems[0]
    assert "apply identity stg-terraform-apply-id-001 lacks data actions" in problems[0]


def test_the_builtin_rbac_reader_cannot_refresh_the_cluster_stacks_roles(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for assignment in broken["production-infra"]["resource"]["azurerm_role_assignment"].values():
        if assignment.get("role_definition_name") == "prd-kubernetes-plan-reader-role-001":
            assignment["role_definition_name"] = "Azure Kubernetes Service RBAC Reader"
    problems = findings(broken)
    [problem] = [p for p in problems if p.startswith("production-cluster: AKS API")]
    assert "plan identity prd-terraform-plan-id-001 lacks data actions" in problem
    assert "rbac.authorization.k8s.io/clusterroles/read" in problem
    # Per kind: RBAC objects and custom resources (Cilium policies, the ingress controller) are unreadable too.
    unreadable = {p.split(" cannot read ")[1].split(" ")[0] for p in problems if " cannot read " in p}
    assert {
        "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterroles/read",
        "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterrolebindings/read",
        "Microsoft.ContainerService/managedClusters/cilium.io/ciliumnetworkpolicies/read",
        "Microsoft.ContainerService/managedClusters/approuting.kubernetes.azure.com/nginxingresscontrollers/read",
    } == unreadable - {"Microsoft.ContainerService/managedClusters/secrets/read"}


def test_a_missing_state_role_is_named(stacks) -> None:
    broken = _without(
        stacks,
        "bootstrap",
        "azurerm_role_assignment",
        lambda key, value: (
            key.startswith("production-identities_plan")
            and value.get("role_definition_name") == "Storage Blob Data Reader"
        ),
    )
    problems = findings(broken)
    assert {p.split(":")[0] for p in problems} == {"production-infra", "production-cluster"}
    assert all("plan identity prd-terraform-plan-id-001 lacks data actions" in p for p in problems)


def test_a_public_only_key_vault_is_named(stacks) -> None:
    broken = _without(
        stacks,
        "staging-infra",
        "azurerm_private_endpoint",
        lambda key, _: key.startswith("data_key-vault_private-endpoint"),
    )
    assert any("Key Vault data plane of stg-data-kv-erp01: no private endpoint" in p for p in findings(broken))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_a_stack_without_remote_state_is_named(stacks, environment: str) -> None:
    broken = copy.deepcopy(stacks)
    broken[f"{environment}-cluster"]["terraform"]["backend"] = {"local": {}}
    assert f"{environment}-cluster: no azurerm backend (state would be local to the runner)" in findings(broken)


def test_workflows_run_terraform_on_the_runners_with_the_right_identity(stacks) -> None:
    workflows = _workflows()
    logins = [
        step
        for workflow in workflows.values()
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if is_azure_login(step)
    ]
    assert len(logins) >= 4  # PR plan, deploy plan and apply, drift: the check is not vacuous
    assert workflow_findings(workflows, stacks) == []


def test_a_plan_with_the_apply_identity_is_named(stacks) -> None:
    workflows = _workflows()
    for workflow in workflows.values():
        for job in workflow["jobs"].values():
            if str(job.get("environment", "")).endswith("-plan"):
                for step in job.get("steps", []):
                    if is_azure_login(step):
                        step["with"]["client-id"] = "${{ vars.AZURE_APPLY_CLIENT_ID }}"
    assert any("is not a vars.*PLAN_CLIENT_ID" in p for p in workflow_findings(workflows, stacks))


def test_drills_signing_in_as_the_apply_identity_are_named(stacks) -> None:
    workflows = _workflows()
    (job,) = workflows["dr-drills.yml"]["jobs"].values()
    login = next(step for step in job["steps"] if is_azure_login(step))
    login["with"]["client-id"] = "${{ vars.AZURE_APPLY_CLIENT_ID }}"
    assert workflow_findings(workflows, stacks) == [
        f"dr-drills.yml job drills ({environment}): azure/login client-id "
        "'${{ vars.AZURE_APPLY_CLIENT_ID }}' is not a vars.*DRILLS_CLIENT_ID"
        for environment in ENVIRONMENTS
    ]


def test_a_workflow_on_a_github_hosted_runner_is_named(stacks) -> None:
    workflows = _workflows()
    job = next(
        job
        for workflow in workflows.values()
        for job in workflow["jobs"].values()
        if any(is_azure_login(step) for step in job.get("steps", []))
    )
    job["runs-on"] = "ubuntu-24.04"
    assert any("not the self-hosted runners" in p for p in workflow_findings(workflows, stacks))


def test_an_apply_with_the_plan_identity_is_named(stacks) -> None:
    workflows = _workflows()
    for workflow in workflows.values():
        for job in workflow["jobs"].values():
            if "environment" in job and not str(job["environment"]).endswith("-plan"):
                for step in job.get("steps", []):
                    if is_azure_login(step):
                        step["with"]["client-id"] = "${{ vars.AZURE_PLAN_CLIENT_ID }}"
    assert any("is not a vars.*APPLY_CLIENT_ID" in p for p in workflow_findings(workflows, stacks))


def test_a_pull_request_plan_on_the_apply_pool_is_named(stacks) -> None:
    """Planted in the real workflow: the PR plan matrix sends staging's plans to the apply runners."""
    workflows = _workflows()
    for row in workflows["pull-request.yml"]["jobs"]["plan"]["strategy"]["matrix"]["include"]:
        row["runner"] = row["runner"].replace("-plan", "-apply")
    problems = workflow_findings(workflows, stacks)
    assert (
        "pull-request.yml job plan (staging-infra): runs-on ['self-hosted', 'erp-staging-apply'], not the plan "
        "pool [self-hosted, erp-staging-plan]" in problems
    )


def test_an_apply_on_the_plan_pool_is_named(stacks) -> None:
    """Planted in the real deploy.yml: production's cluster apply is sent to its plan pool."""
    workflows = _workflows()
    workflows["deploy.yml"]["jobs"]["production-cluster"]["with"]["apply-runner"] = "erp-production-plan"
    assert any(
        p.startswith("deploy-stack.yml job apply (production-cluster): runs-on") and "not the apply pool" in p
        for p in workflow_findings(workflows, stacks)
    )


def test_runner_pools_are_named_when_bootstrap_lacks_them(stacks) -> None:
    """Bootstrap registers a plan and an apply pool per environment; remove staging's plan pool and it is named."""
    assert runner_pool_findings(stacks["bootstrap"], ENVIRONMENTS) == []
    broken = _without(
        stacks, "bootstrap", "azurerm_container_app_job", lambda _, job: job["name"] == "stg-runner-plan-job-001"
    )
    assert runner_pool_findings(broken["bootstrap"], ENVIRONMENTS) == [
        "staging: no runner pool registers the plan label 'erp-staging-plan'"
    ]


def test_one_pool_registering_both_labels_is_named(stacks) -> None:
    """Planted in the real bootstrap JSON: staging's runner job scales on both labels (PR code where applies run)."""
    broken = copy.deepcopy(stacks["bootstrap"])
    for job in broken["resource"]["azurerm_container_app_job"].values():
        if job["provider"] == "azurerm.staging":
            for scale in _blocks_of(job["event_trigger_config"]["scale"]):
                for rule in _blocks_of(scale["rules"]):
                    rule["metadata"]["labels"] = "erp-staging-plan,erp-staging-apply"
    problems = runner_pool_findings(broken, ENVIRONMENTS)
    assert "staging: one runner pool takes both ['erp-staging-plan', 'erp-staging-apply']" in problems
    assert not [p for p in problems if p.startswith("staging: no runner pool")]  # both labels now registered


def _blocks_of(value):
    return value if isinstance(value, list) else [value]


def test_bootstrap_registers_a_plan_and_an_apply_pool_per_environment(stacks) -> None:
    assert runner_pool_findings(stacks["bootstrap"], ENVIRONMENTS) == []


# --- Runner egress: the default route, the firewall policy's allow list, nothing around it ----------------------


def _egress_group(stacks, environment: str) -> dict:
    [group] = [
        group
        for key, group in stacks["bootstrap"]["resource"]["azurerm_firewall_policy_rule_collection_group"].items()
        if key.startswith(f"{environment}-deployment")
    ]
    return group


def test_every_runner_network_leaves_through_its_firewall(stacks) -> None:
    from constructs.egress_hosts import RUNNER_EGRESS

    assert egress_findings(stacks["bootstrap"]) == []
    assert sorted(runner_subnet_keys(stacks["bootstrap"])) == sorted(ENVIRONMENTS)  # the check is not vacuous
    assert len(RUNNER_EGRESS) > 20


def test_a_runners_subnet_without_its_default_route_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for key, table in broken["bootstrap"]["resource"]["azurerm_route_table"].items():
        if key.startswith("staging-deployment"):
            table["route"] = []
    assert egress_findings(broken["bootstrap"]) == [
        "bootstrap: staging runner egress: no default route (0.0.0.0/0) on the runners subnet runners-subnet: "
        "it leaves straight to the internet, not through a firewall"
    ]
    assert egress_findings(broken["bootstrap"])[0] in findings(broken)


def test_a_route_to_the_internet_around_the_firewall_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for key, table in broken["bootstrap"]["resource"]["azurerm_route_table"].items():
        if key.startswith("production-deployment"):
            table["route"].append(
                {"name": "github-direct", "address_prefix": "140.82.112.0/20", "next_hop_type": "Internet"}
            )
    assert egress_findings(broken["bootstrap"]) == [
        "bootstrap: production runner egress: route github-direct (140.82.112.0/20) goes to the Internet around the "
        "firewall"
    ]


def test_an_allow_all_application_rule_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    [collection] = _egress_group(broken, "production")["application_rule_collection"]
    collection["rule"].append(
        {
            "name": "AllowEverything",
            "destination_fqdns": ["*"],
            "protocols": [{"type": "Https", "port": 443}],
            "source_addresses": ["*"],
        }
    )
    assert egress_findings(broken["bootstrap"]) == [
        "bootstrap: production runner egress: application rule AllowEverything allows every host ('*')"
    ]


def test_an_allow_all_network_rule_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    _egress_group(broken, "staging")["network_rule_collection"] = [
        {
            "name": "Shortcut",
            "priority": 100,
            "action": "Allow",
            "rule": [
                {
                    "name": "AnyTcp",
                    "protocols": ["TCP"],
                    "source_addresses": ["*"],
                    "destination_addresses": ["*"],
                    "destination_ports": ["*"],
                }
            ],
        }
    ]
    [problem] = egress_findings(broken["bootstrap"])
    assert problem.startswith("bootstrap: staging runner egress: network rule AnyTcp allows ['*']")


def test_a_missing_required_host_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    [collection] = _egress_group(broken, "staging")["application_rule_collection"]
    for rule in collection["rule"]:
        rule["destination_fqdns"] = [f for f in rule["destination_fqdns"] if f != "registry.terraform.io"]
    [problem] = egress_findings(broken["bootstrap"])
    assert problem.startswith(
        "bootstrap: staging runner egress: firewall policy of stg-runners-firewall-001 does not allow "
        "registry.terraform.io on HTTPS 443 from the runners subnet"
    )


def test_a_rule_for_another_source_does_not_count(stacks) -> None:
    from constructs.egress_hosts import RUNNER_EGRESS

    broken = copy.deepcopy(stacks)
    [collection] = _egress_group(broken, "staging")["application_rule_collection"]
    for rule in collection["rule"]:
        rule["source_addresses"] = ["10.99.0.0/24"]
    problems = egress_findings(broken["bootstrap"])
    assert len(problems) == len(RUNNER_EGRESS)  # every host: no rule applies to the runners
    assert all("from the runners subnet" in p for p in problems)


def test_a_nat_gateway_around_the_firewall_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    [subnet_key] = [k for env, k in runner_subnet_keys(broken["bootstrap"]).items() if env == "production"]
    broken["bootstrap"]["resource"]["azurerm_subnet_nat_gateway_association"] = {
        "bypass": {"subnet_id": f"${{azurerm_subnet.{subnet_key}.id}}", "nat_gateway_id": "${azurerm_nat_gateway.x.id}"}
    }
    assert egress_findings(broken["bootstrap"]) == [
        "bootstrap: production runner egress: a NAT gateway on the runners subnet runners-subnet bypasses the firewall"
    ]


# --- the runners start: their image is pulled privately from the bootstrap registry (tools/checks/deployability.py) ---


def test_the_runner_image_is_pulled_privately(stacks) -> None:
    from tools.checks.deployability import runner_image_findings

    assert runner_image_findings(stacks["bootstrap"]) == []
    assert len(stacks["bootstrap"]["resource"]["azurerm_container_app_job"]) == 2 * len(ENVIRONMENTS)  # not vacuous


def test_a_registry_without_its_private_endpoint_is_named(stacks) -> None:
    broken = _without(
        stacks,
        "bootstrap",
        "azurerm_private_endpoint",
        lambda key, _: key.startswith("staging-runner-registry"),
    )
    problems = findings(broken)  # both pools' jobs
    assert [p.split(":")[1] for p in problems] == [
        f" runner image of stg-runner-{pool}-job-001" for pool in ("apply", "plan")
    ]
    for problem in problems:
        assert problem.endswith("no private endpoint (registry) for the resource")


def test_a_missing_registry_zone_link_is_named(stacks) -> None:
    broken = _without(
        stacks,
        "bootstrap",
        "azurerm_private_dns_zone_virtual_network_link",
        lambda key, _: key.startswith("production-runner-registry"),
    )
    problems = findings(broken)
    assert len(problems) == 2
    for pool, problem in zip(("apply", "plan"), problems, strict=True):
        assert f"runner image of prd-runner-{pool}-job-001" in problem
        assert "private DNS zone privatelink.azurecr.io is not linked to the runner network" in problem
        assert problem.endswith("/virtualNetworks/prd-deployment-vnet-001")


def test_a_pull_identity_without_acrpull_is_named(stacks) -> None:
    broken = _without(
        stacks, "bootstrap", "azurerm_role_assignment", lambda _, value: value.get("role_definition_name") == "AcrPull"
    )
    problems = findings(broken)
    assert len(problems) == 2 * len(ENVIRONMENTS)  # each pool's job
    assert all("holds no AcrPull on registry" in p for p in problems)


def test_a_job_pulling_from_an_outside_registry_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    job = next(
        j for j in broken["bootstrap"]["resource"]["azurerm_container_app_job"].values() if "staging" in j["provider"]
    )
    job["registry"] = [{"server": "registry.company.com", "identity": job["registry"][0]["identity"]}]
    job["template"]["container"][0]["image"] = "registry.company.com/platform/github-actions-runner:2.329.0-1"
    [problem] = findings(broken)
    assert "pulls from 'registry.company.com', not from a registry of the bootstrap stack" in problem
    del job["registry"]
    assert any("the job names no registry" in p for p in findings(broken))


def test_every_runner_job_calls_modes_the_entrypoint_implements(stacks) -> None:
    from tools.checks.deployability import runner_mode_findings
    from tools.checks.runner_entrypoint import modes

    assert {m.name: m.runs_jobs for m in modes().values()} == {"jit-config": False, "run-jit": True}
    assert runner_mode_findings(stacks["bootstrap"]) == []


def test_a_job_calling_a_mode_the_entrypoint_lacks_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    job = next(
        j for j in broken["bootstrap"]["resource"]["azurerm_container_app_job"].values() if "staging" in j["provider"]
    )
    job["template"]["init_container"][0]["args"] = ["registration-token"]  # the mode the entrypoint used to have
    [problem] = findings(broken)
    assert problem == (
        f"bootstrap: runner job {job['name']}: init_container register calls runner-entrypoint.sh "
        "'registration-token', a mode runner-image/entrypoint.sh does not implement (jit-config, run-jit)"
    )


def test_an_entrypoint_without_the_runner_mode_fails_every_job(stacks) -> None:
    from tools.checks.deployability import runner_mode_findings
    from tools.checks.runner_entrypoint import ENTRYPOINT, modes

    script = ENTRYPOINT.read_text()
    assert "    run-jit) run_jit ;;\n" in script
    without = modes(script.replace("    run-jit) run_jit ;;\n", ""))  # the entrypoint lost its run-jit mode
    problems = runner_mode_findings(stacks["bootstrap"], without)
    assert len(problems) == 2 * len(ENVIRONMENTS)
    assert all("container runner calls runner-entrypoint.sh 'run-jit', a mode" in p for p in problems)
    run_jit_runs_nothing = modes(script.replace('exec ./run.sh --jitconfig "$config"', "true"))
    problems = runner_mode_findings(stacks["bootstrap"], run_jit_runs_nothing)
    assert len(problems) == 2 * len(ENVIRONMENTS)
    assert all(
        p.endswith("no container runs the runner (a mode that starts run.sh): it takes no job") for p in problems
    )


# --- Effective NSG rules on every data path (constructs/data_paths.py) -------------------------------------------


def _nsg_rules_named(stacks, stack_name: str, name: str) -> dict:
    rules = stacks[stack_name]["resource"]["azurerm_network_security_rule"]
    return {key: rule for key, rule in rules.items() if rule["name"] == name}


def test_every_data_path_passes_its_nsgs(stacks) -> None:
    from constructs.data_paths import DATA_PATHS
    from tools.checks.deployability import network_path_findings

    assert network_path_findings(stacks) == []
    # Not vacuous: each environment's API-server NSG holds a rule per path ending there, with the path's ports.
    for environment in ENVIRONMENTS:
        for data_path in (p for p in DATA_PATHS if p.target == "aks_api"):
            [rule] = _nsg_rules_named(stacks, f"{environment}-infra", data_path.rule_name).values()
            ports = (
                [rule["destination_port_range"]]
                if "destination_port_range" in rule
                else rule["destination_port_ranges"]
            )
            assert tuple(ports) == data_path.ports


def test_runners_hitting_deny_all_inbound_at_the_api_server_are_named(stacks) -> None:
    broken = _without(
        stacks,
        "staging-infra",
        "azurerm_network_security_rule",
        lambda _, v: v["name"] == "AllowRunnersToAksApiInbound",
    )
    assert findings(broken) == [
        "staging: runners -> AKS API of stg-workloads-aks-001: NSG stg-api-server-nsg-001 of subnet "
        "aks-api-server-subnet (10.242.5.0/28) denies inbound TCP 443 from runners-subnet (10.240.0.0/26) to "
        "aks-api-server-subnet (10.242.5.0/28): rule DenyAllInbound (priority 4096)"
    ]


def test_nodes_without_4443_to_the_api_server_are_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for rule in _nsg_rules_named(broken, "production-infra", "AllowNodesToAksApiInbound").values():
        rule.pop("destination_port_ranges", None)
        rule["destination_port_range"] = "443"
    problems = findings(broken)
    assert len(problems) == 2  # the system and the user pool's subnets
    assert all(p.startswith("production: nodes -> API server of prd-workloads-aks-001") for p in problems)
    assert all("denies inbound TCP 4443" in p and "rule DenyAllInbound (priority 4096)" in p for p in problems)


def test_a_deny_before_the_allow_wins_by_priority(stacks) -> None:
    broken = copy.deepcopy(stacks)
    [allow] = _nsg_rules_named(broken, "staging-infra", "AllowRunnersToAksApiInbound").values()
    deny = {**allow, "name": "DenyDeploymentNetwork", "access": "Deny", "priority": allow["priority"] - 5,
            "source_address_prefix": "10.240.0.0/16"}  # fmt: skip
    deny.pop("source_address_prefixes", None)
    broken["staging-infra"]["resource"]["azurerm_network_security_rule"]["planted-deny"] = deny
    [problem] = findings(broken)
    assert problem.endswith(f"rule DenyDeploymentNetwork (priority {allow['priority'] - 5})")
    deny["priority"] = allow["priority"] + 5  # after the allow: the allow decides
    assert findings(broken) == []


def test_virtual_network_covers_peered_ranges_only_while_peered(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for rule in _nsg_rules_named(broken, "staging-infra", "AllowRunnersToAksApiInbound").values():
        rule.pop("source_address_prefixes", None)
        rule["source_address_prefix"] = "VirtualNetwork"  # the spoke and its peers: the deployment network too
    assert findings(broken) == []
    del broken["staging-infra"]["resource"]["azurerm_virtual_network_peering"][
        next(
            k
            for k in broken["staging-infra"]["resource"]["azurerm_virtual_network_peering"]
            if "spoke-to-deployment" in k
        )
    ]
    problems = findings(broken)
    assert any("missing peering" in p for p in problems)
    assert any(p.startswith("staging: runners -> AKS API") and "rule DenyAllInbound" in p for p in problems)


def test_a_runner_outbound_rule_that_blocks_the_path_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for key, rule in broken["bootstrap"]["resource"]["azurerm_network_security_rule"].items():
        if key.startswith("production-deployment_runners") and rule["name"] == "AllowVnetOutbound":
            rule["destination_port_range"] = "80"
    problems = findings(broken)
    assert problems
    assert all(p.startswith("production: runners -> ") and "denies outbound TCP 443" in p for p in problems)
    assert all("rule DenyAllOutbound (priority 4096)" in p for p in problems)
    assert {p.split(": ")[1].split(" of ")[0] for p in problems} >= {"runners -> state blob", "runners -> AKS API"}


def test_endpoint_nsgs_count_only_where_endpoint_policies_enable_them(stacks) -> None:
    broken = _without(
        stacks,
        "staging-infra",
        "azurerm_network_security_rule",
        lambda _, v: v["name"] == "AllowRunnersToKeyVaultInbound",
    )
    assert findings(broken) == []  # the spoke's endpoint subnet has network policies disabled: its NSG is skipped
    for subnet in broken["staging-infra"]["resource"]["azurerm_subnet"].values():
        if subnet["name"] == "private-endpoints-subnet" and subnet["address_prefixes"] == ["10.242.3.0/24"]:
            subnet["private_endpoint_network_policies"] = "Enabled"
    problems = findings(broken)
    assert problems and all(p.startswith("staging: runners -> Key Vault data plane") for p in problems)
    assert all("rule DenyAllInbound (priority 4096)" in p for p in problems)


# --- Job images hold every command their scripts call (constructs/baseline/image_contents.py) --------------------


def test_every_cluster_job_image_holds_what_its_script_calls(stacks) -> None:
    from tools.checks.deployability.job_images import _pod_specs, job_image_findings

    assert job_image_findings(stacks) == []
    for environment in ENVIRONMENTS:  # not vacuous: two jobs per cluster, each a shell running a script
        specs = _pod_specs(stacks[f"{environment}-cluster"])
        assert len(specs) == 2
        assert all(spec["container"][0]["command"][0] == "/bin/sh" for _, spec in specs)


def test_the_distroless_kubectl_image_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for data in broken["production-infra"]["resource"]["terraform_data"].values():
        if "az acr import" in str(data):
            data["triggers_replace"][0] = "registry.k8s.io/kubectl:v1.36.5"
    problems = findings(broken)
    assert len(problems) == 2
    assert all(
        p.startswith("production-cluster: ") and "on registry.k8s.io/kubectl:v1.36.5, which lacks" in p
        for p in problems
    )
    assert any(
        "CronJob cluster-backup" in p and "lacks curl, date, jq, mkdir, mktemp, rm, sh, tar" in p for p in problems
    )


def test_a_script_calling_a_binary_the_image_lacks_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for config_map in broken["staging-cluster"]["resource"]["kubernetes_config_map_v1"].values():
        if "backup.sh" in config_map.get("data", {}):
            config_map["data"]["backup.sh"] += '\nlatest_restore=$(etcdctl snapshot status "$latest")\n'
    [problem] = findings(broken)
    assert problem.startswith(
        "staging-cluster: CronJob cluster-backup container cluster-backup: runs /bin/sh /scripts/backup.sh"
    )
    assert "which lacks etcdctl" in problem


def test_an_image_without_a_contents_entry_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for data in broken["staging-infra"]["resource"]["terraform_data"].values():
        if "az acr import" in str(data):
            data["triggers_replace"][0] = "docker.io/bitnami/kubectl:1.36.5"
    problems = findings(broken)
    assert len(problems) == 2
    assert all(
        "image docker.io/bitnami/kubectl:1.36.5 is not in constructs/baseline/image_contents.py" in p for p in problems
    )


def test_script_commands_skips_builtins_functions_assignments_and_quoted_data() -> None:
    from tools.checks.deployability import script_commands

    script = (
        '#!/bin/sh\nset -eu\nstamp=$(date -u)\nours() { while read -r a b; do echo "$a"; done; }\n'
        "kubectl get ns -o jsonpath='{range .items[*]}{end}' | ours | grep -v x # awk in a comment\n"
        'check "x" "for ns in \\$(kubectl get ns | cut -d/ -f2); do [ -n \\"\\$ns\\" ] || echo \\$ns; done"\n'
    )
    assert script_commands(script) == {"date", "kubectl", "grep", "cut", "check"}


# --- Key and certificate versions stay valid as long as their consumers use them --------------------------------


def test_no_key_or_certificate_version_expires_under_its_consumer(stacks) -> None:
    from tools.checks.deployability import validity_findings

    assert validity_findings(stacks) == []
    for environment in ENVIRONMENTS:  # not vacuous: the cluster pins the etcd key's version
        [cluster] = stacks[f"{environment}-infra"]["resource"]["azurerm_kubernetes_cluster"].values()
        key_id = cluster["key_management_service"]["key_vault_key_id"]
        assert key_id.startswith("${azurerm_key_vault_key.") and key_id.endswith(".id}")


def test_a_pinned_kms_key_rotating_30_days_before_expiry_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for key in broken["staging-infra"]["resource"]["azurerm_key_vault_key"].values():
        if key["name"] == "etcd-cmk":
            key["rotation_policy"]["automatic"]["time_before_expiry"] = "P30D"
    [problem] = findings(broken)
    assert problem.startswith("staging-infra: key etcd-cmk is pinned by version (azurerm_kubernetes_cluster.")
    assert "stays valid only 30 day(s) after its successor" in problem


def test_a_trusted_root_pinned_to_one_certificate_version_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    [gateway] = broken["production-infra"]["resource"]["azurerm_application_gateway"].values()
    for root in gateway["trusted_root_certificate"]:
        root["data"] = root.pop("key_vault_secret_id").replace(".versionless_secret_id}", ".certificate_data_base64}")
    [problem] = findings(broken)
    assert problem.startswith("production-infra: certificate ingress-https is renewed by Key Vault (AutoRenew) but ")
    assert problem.endswith("keeps the old certificate until the next apply")


# --- Races: feature registrations, runner peerings before data-plane writes, RBAC waits before backup instances ---


def test_the_first_apply_waits_for_what_azure_checks_at_create_time(stacks) -> None:
    from tools.checks.deployability import ordering_findings

    assert ordering_findings(stacks) == []
    for environment in ENVIRONMENTS:  # not vacuous
        infra = stacks[f"{environment}-infra"]["resource"]
        assert infra["azurerm_resource_provider_feature_registration"]
        assert len(infra["azurerm_key_vault_key"]) >= 4 and len(infra["azurerm_key_vault_certificate"]) == 2
        assert any(k.startswith("azurerm_data_protection_backup_instance_") for k in infra)


def test_a_node_pool_not_waiting_for_encryption_at_host_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for pool in broken["staging-infra"]["resource"]["azurerm_kubernetes_cluster_node_pool"].values():
        pool["depends_on"] = []
    [problem] = findings(broken)
    assert problem.startswith("staging-infra: azurerm_kubernetes_cluster_node_pool.")
    assert problem.endswith("sets host_encryption_enabled but does not wait for the registration of the subscription "
                            "feature Microsoft.Compute/EncryptionAtHost")  # fmt: skip


def test_a_key_written_before_the_runner_peering_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for key in broken["production-infra"]["resource"]["azurerm_key_vault_key"].values():
        if key["name"] == "etcd-cmk":
            key["depends_on"] = [d for d in key["depends_on"] if "deployment-to-spoke" not in d]
    [problem] = findings(broken)
    assert problem.startswith("production-infra: azurerm_key_vault_key.")
    assert "(etcd-cmk) is written from the runner through the vault's data plane but does not wait" in problem
    assert "deployer-access_deployment-to-spoke" in problem


def test_a_log_alert_created_before_its_custom_table_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    alerts = broken["staging-infra"]["resource"]["azurerm_monitor_scheduled_query_rules_alert_v2"]
    (key,) = [k for k, alert in alerts.items() if alert["name"].startswith("stg-dr-drill-failed")]
    alerts[key]["depends_on"] = []
    [problem] = findings(broken)
    assert problem == (
        f"staging-infra: azurerm_monitor_scheduled_query_rules_alert_v2.{key} (stg-dr-drill-failed-alert-001) queries "
        "DrDrillResults_CL but does not wait for the table, which Azure needs when it validates the query"
    )


def test_a_backup_instance_without_its_rbac_wait_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    [instance] = broken["staging-infra"]["resource"][
        "azurerm_data_protection_backup_instance_kubernetes_cluster"
    ].values()
    instance["depends_on"] = [d for d in instance["depends_on"] if not d.startswith("time_sleep.")]
    [problem] = findings(broken)
    assert problem.startswith("staging-infra: azurerm_data_protection_backup_instance_kubernetes_cluster.")
    assert problem.endswith("is created right after its 7 role assignment(s), which Azure checks at create time: "
                            "no time_sleep waits for their propagation")  # fmt: skip


# --- The plan identity reads every kind of object the stacks manage ----------------------------------------------


def test_the_plan_identity_reads_every_kind_the_cluster_stacks_manage(stacks) -> None:
    from tools.checks.deployability import plan_read_findings

    assert plan_read_findings(stacks) == []
    # A Secret managed by a cluster stack is the one kind the plan reader role leaves out (every refresh: 403).
    planted = copy.deepcopy(stacks)
    config_maps = planted["staging-cluster"]["resource"]["kubernetes_config_map_v1"]
    name, body = next(iter(config_maps.items()))
    planted["staging-cluster"]["resource"]["kubernetes_secret_v1"] = {f"{name}-as-secret": copy.deepcopy(body)}
    [problem] = plan_read_findings(planted)
    assert problem.startswith("staging-cluster: plan identity") and "managedClusters/secrets/read" in problem


def test_a_plan_reader_role_without_rbac_and_batch_reads_is_named(stacks) -> None:
    broken = copy.deepcopy(stacks)
    for definition in broken["bootstrap"]["resource"]["azurerm_role_definition"].values():
        if definition["name"] == "stg-kubernetes-plan-reader-role-001":
            definition["permissions"][0]["data_actions"] = [
                "Microsoft.ContainerService/managedClusters/namespaces/read"
            ]
    problems = [p for p in findings(broken) if p.startswith("staging-cluster: plan identity")]
    actions = {p.split(" cannot read ")[1].split(" ")[0] for p in problems}
    assert {
        "Microsoft.ContainerService/managedClusters/batch/cronjobs/read",
        "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterroles/read",
        "Microsoft.ContainerService/managedClusters/cilium.io/ciliumnetworkpolicies/read",
        "Microsoft.ContainerService/managedClusters/configmaps/read",
    } <= actions
    assert "Microsoft.ContainerService/managedClusters/namespaces/read" not in actions


def test_a_plan_identity_without_the_cluster_user_role_is_named(stacks) -> None:
    broken = _without(
        stacks,
        "production-infra",
        "azurerm_role_assignment",
        lambda _, v: v.get("role_definition_name") == "Azure Kubernetes Service Cluster User Role",
    )
    problems = findings(broken)
    assert problems and all(p.startswith("production-") for p in problems)
    assert any(
        "lacks Azure Kubernetes Service Cluster User Role on azurerm_kubernetes_cluster." in p
        and "listClusterUserCredential/action" in p
        for p in problems
    )


# --- Token lifetime against the job's steps ----------------------------------------------------------------------


def test_every_token_lasts_as_long_as_its_job_needs_it(stacks) -> None:
    assert token_findings(_workflows(), stacks) == []
    # The old path: azure/login first, then minutes of synth and init before kubelogin asks the CLI for a token.
    workflows = _workflows()
    workflows["pull-request.yml"]["jobs"]["plan"]["steps"].insert(
        0, {"uses": "azure/login@f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca"}
    )
    cli = copy.deepcopy(stacks)
    for stack in cli.values():
        for provider in stack.get("provider", {}).get("kubernetes", []):
            for exec_ in provider["exec"]:
                exec_["args"] = [a if a != "workloadidentity" else "azurecli" for a in exec_["args"]]
    assert {p.split(": step")[0] for p in token_findings(workflows, cli)} == {"pull-request.yml job plan"}


def test_a_fresh_login_right_before_use_or_workload_identity_clears_the_token_finding(stacks) -> None:
    workflows = _workflows()
    for workflow in workflows.values():
        for job in workflow["jobs"].values():
            steps = job.get("steps", [])
            for index, step in enumerate(steps):
                if "terraform plan" in str(step.get("run", "")):
                    steps.insert(index, {"uses": "azure/login@f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca"})
                    break
    assert token_findings(workflows, stacks) == []
    # kubelogin with workload identity reads the federated token file itself: no CLI token needed.
    other = copy.deepcopy(stacks)
    for stack in other.values():
        for provider in stack.get("provider", {}).get("kubernetes", []):
            for exec_ in provider["exec"]:
                exec_["args"] = [a if a != "azurecli" else "workloadidentity" for a in exec_["args"]]
    assert token_findings(_workflows(), other) == []


def test_a_cli_call_long_after_login_is_named(stacks) -> None:
    workflows = _workflows()
    job = workflows["deploy-stack.yml"]["jobs"]["apply"]
    job["steps"].insert(0, {"uses": "azure/login@f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca"})  # the old token path
    job["steps"] += [
        {"name": "Rebuild", "run": "scripts/synth"},
        {"name": "Credentials", "run": "az aks list -o table"},
    ]
    [problem] = [p for p in token_findings(workflows, stacks) if "job apply" in p]
    assert problem.startswith("deploy-stack.yml job apply: step 'Credentials' asks the Azure CLI for a new token ~")


# --- Bootstrap's migrated state stays writable by the operator ----------------------------------------------------


def test_migrated_bootstrap_state_without_an_operator_blob_role_is_named(stacks) -> None:
    from tools.checks.deployability import bootstrap_state_findings

    assert bootstrap_state_findings(stacks) == []  # local state until migrated: nothing to check yet
    migrated = copy.deepcopy(stacks)
    production = migrated["production-infra"]["terraform"]["backend"]["azurerm"]
    migrated["bootstrap"]["terraform"]["backend"] = {"azurerm": {**production, "key": "bootstrap.tfstate"}}
    assert bootstrap_state_findings(migrated) == []  # the operators' group holds a blob data role there
    migrated = _without(
        migrated,
        "bootstrap",
        "azurerm_role_assignment",
        lambda _, a: (
            a.get("role_definition_name") in ("Storage Blob Data Contributor", "Storage Blob Data Owner")
            and a.get("principal_type") == "Group"
        ),
    )
    [problem] = bootstrap_state_findings(migrated)
    assert problem.startswith("bootstrap: its state (bootstrap.tfstate) lives in ")
    assert problem.endswith("the Owner operator who runs bootstrap gets 403 (Owner has no data actions)")
    # A blob data role for an operator group (not a pipeline identity) on the state account clears it.
    [key] = [
        k
        for k, a in migrated["bootstrap"]["resource"]["azurerm_storage_account"].items()
        if a["name"] == production["storage_account_name"]
    ]
    migrated["bootstrap"]["resource"]["azurerm_role_assignment"]["operators"] = {
        "scope": f"${{azurerm_storage_account.{key}.id}}",
        "role_definition_name": "Storage Blob Data Contributor",
        "principal_id": "00000000-0000-0000-0000-0000000000aa",
    }
    assert bootstrap_state_findings(migrated) == []


def test_the_runner_credential_is_read_privately(stacks) -> None:
    from tools.checks.deployability import runner_credential_findings

    assert runner_credential_findings(stacks["bootstrap"]) == []
    broken = _without(
        stacks,
        "bootstrap",
        "azurerm_private_dns_zone_virtual_network_link",
        lambda key, _: key.startswith("staging-runner-credentials"),
    )
    problems = runner_credential_findings(broken["bootstrap"])
    assert len(problems) == 2  # both pools
    assert all(
        "private DNS zone privatelink.vaultcore.azure.net is not linked to the runner network" in p for p in problems
    )
    broken = _without(
        stacks, "bootstrap", "azurerm_role_assignment", lambda key, _: key.startswith("production-runner-credentials")
    )
    problems = runner_credential_findings(broken["bootstrap"])
    assert [p.split(":")[1] for p in problems] == [
        f" runner credential of prd-runner-{pool}-job-001" for pool in ("apply", "plan")
    ]
    assert all(p.endswith("holds no secret-reading role on the vault") for p in problems)
    broken = _without(
        stacks,
        "bootstrap",
        "azurerm_private_endpoint",
        lambda key, _: key.startswith("production-runner-credentials"),
    )
    assert any("no private endpoint (vault)" in p for p in runner_credential_findings(broken["bootstrap"]))


def test_the_alerting_stacks_state_needs_the_apply_identitys_role_on_its_own_container(stacks) -> None:
    """Only the apply identity plans and applies the alerting stack: its role on `alerting-tfstate` is required, and its
    role on the environment container does not stand in for it."""
    broken = _without(
        stacks,
        "bootstrap",
        "azurerm_role_assignment",
        lambda key, value: key.startswith("staging-identities_apply") and value["scope"].endswith("/alerting-tfstate"),
    )
    problems = findings(broken)
    assert problems and all(
        p.startswith("staging-alerting:") and "apply identity stg-terraform-apply-id-001 lacks data actions" in p
        for p in problems
    )


def _alerting_group(stacks, environment: str) -> tuple[str, dict]:
    groups = stacks[f"{environment}-alerting"]["resource"]["azurerm_monitor_action_group"]
    [key] = [k for k in groups if k.startswith("webhooks_critical-")]
    return key, groups[key]


def test_every_alert_names_the_alerting_stacks_group_which_is_applied_first(stacks) -> None:
    for environment in ENVIRONMENTS:
        _, group = _alerting_group(stacks, environment)
        infra = stacks[f"{environment}-infra"]["resource"]
        named = [
            key
            for key, alert in infra["azurerm_monitor_metric_alert"].items()
            if any(action["action_group_id"].endswith(f"/actionGroups/{group['name']}") for action in alert["action"])
        ]
        assert named, f"no {environment} metric alert names {group['name']}"


def test_a_group_no_earlier_stack_creates_is_named(stacks) -> None:
    """Renamed in the alerting stack (the infra stack still names the old id), or created by the cluster stack, which
    is applied after the infra stack: the infra apply would fail on a missing action group."""
    renamed = copy.deepcopy(stacks)
    _, group = _alerting_group(renamed, "staging")
    old, group["name"] = group["name"], group["name"] + "-renamed"
    problems = findings(renamed)
    assert problems and all(
        p.startswith("staging-infra:") and f"/actionGroups/{old}, which no stack" in p for p in problems
    )

    late = copy.deepcopy(stacks)
    key, group = _alerting_group(late, "staging")
    del late["staging-alerting"]["resource"]["azurerm_monitor_action_group"][key]
    late["staging-cluster"]["resource"]["azurerm_monitor_action_group"] = {key: group}
    problems = findings(late)
    assert problems and all("created by staging-cluster, which is not applied before it" in p for p in problems)
