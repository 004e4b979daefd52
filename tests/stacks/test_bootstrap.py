"""The bootstrap stack's state storage: one hardened account, container and lock per environment."""

from __future__ import annotations

from pathlib import Path

from config.loader import ENVIRONMENTS, load_environment
from constructs.platform_groups import platform_groups
from stacks.app import BOOTSTRAP_STACK
from tests.conftest import resources_of


def test_one_state_account_per_environment_in_its_subscription(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    accounts = resources_of(bootstrap, "azurerm_storage_account")
    assert sorted(a["name"] for a in accounts.values()) == sorted(
        load_environment(e).state_backend.storage_account_name for e in ENVIRONMENTS
    )
    providers = {p["alias"]: p["subscription_id"] for p in bootstrap["provider"]["azurerm"]}
    assert providers == {e: load_environment(e).subscription_id for e in ENVIRONMENTS}
    for account in accounts.values():
        environment = account["provider"].removeprefix("azurerm.")
        assert account["name"] == load_environment(environment).state_backend.storage_account_name


def test_every_state_account_is_hardened(stacks) -> None:
    for name, account in resources_of(stacks[BOOTSTRAP_STACK], "azurerm_storage_account").items():
        assert account["account_replication_type"] in {"GZRS", "RAGZRS"}, name
        assert account["min_tls_version"] == "TLS1_2"
        assert account["shared_access_key_enabled"] is False
        assert account["allow_nested_items_to_be_public"] is False
        assert account["network_rules"]["default_action"] == "Deny"
        blob = account["blob_properties"]
        assert blob["versioning_enabled"] is True
        assert blob["delete_retention_policy"]["days"] >= 7
        assert blob["container_delete_retention_policy"]["days"] >= 7


def test_every_state_account_has_a_private_container_and_a_delete_lock(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    accounts = resources_of(bootstrap, "azurerm_storage_account")
    containers = resources_of(bootstrap, "azurerm_storage_container").values()
    locks = resources_of(bootstrap, "azurerm_management_lock").values()
    for account_id in accounts:
        reference = f"${{azurerm_storage_account.{account_id}.id}}"
        # the environment's state container, the alerting stack's and bootstrap's own (README step 8 migrates into it)
        assert sorted(
            (c["name"], c["container_access_type"]) for c in containers if c["storage_account_id"] == reference
        ) == sorted(
            [
                ("bootstrap-tfstate", "private"),
                ("alerting-tfstate", "private"),
                (
                    load_environment(
                        accounts[account_id]["provider"].removeprefix("azurerm.")
                    ).state_backend.container_name,
                    "private",
                ),
            ]
        )
        assert [lock["lock_level"] for lock in locks if lock["scope"] == reference] == ["CanNotDelete"]


def test_only_the_apply_identity_holds_a_data_role_on_the_alerting_state(stacks) -> None:
    """The alerting stack's state holds the alert webhook addresses: the apply identity reads and writes it, the plan
    identity (pull requests, drift) has no role on it."""
    assignments = resources_of(stacks[BOOTSTRAP_STACK], "azurerm_role_assignment")
    on_alerting = sorted(
        (key.split("_")[0].split("-identities")[0], key.split("_")[1].split("-")[0], a["role_definition_name"])
        for key, a in assignments.items()
        if a["scope"].endswith("/containers/alerting-tfstate")
    )
    assert on_alerting == [(e, "apply", "Storage Blob Data Contributor") for e in sorted(ENVIRONMENTS)]


# --- issue #16: private state, deployment network, deploy identities, runners, registrations, own state ---


def _by_reference(stack, resource_type: str) -> dict[str, dict]:
    return {f"${{{resource_type}.{key}.id}}": value for key, value in resources_of(stack, resource_type).items()}


def test_state_accounts_are_reachable_only_through_a_private_endpoint_in_the_deployment_network(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    subnets = _by_reference(bootstrap, "azurerm_subnet")
    zones = _by_reference(bootstrap, "azurerm_private_dns_zone")
    links = resources_of(bootstrap, "azurerm_private_dns_zone_virtual_network_link").values()
    endpoints = resources_of(bootstrap, "azurerm_private_endpoint").values()
    for key, account in resources_of(bootstrap, "azurerm_storage_account").items():
        assert account["public_network_access_enabled"] is False, key
        assert (
            "ip_rules" not in account["network_rules"] and "virtual_network_subnet_ids" not in account["network_rules"]
        )
        reference = f"${{azurerm_storage_account.{key}.id}}"
        [endpoint] = [
            e for e in endpoints if e["private_service_connection"]["private_connection_resource_id"] == reference
        ]
        assert endpoint["private_service_connection"]["subresource_names"] == ["blob"]
        environment = account["provider"].removeprefix("azurerm.")
        config = load_environment(environment)
        assert subnets[endpoint["subnet_id"]]["name"] == config.deployment.network.private_endpoints.name
        [zone_id] = endpoint["private_dns_zone_group"]["private_dns_zone_ids"]
        assert zones[zone_id]["name"] == "privatelink.blob.core.windows.net"
        vnet = subnets[endpoint["subnet_id"]]["virtual_network_name"].split(".")[1]
        zone_name_ref = zone_id.removesuffix(".id}") + ".name}"
        assert any(
            link["private_dns_zone_name"] == zone_name_ref
            and link["virtual_network_id"] == f"${{azurerm_virtual_network.{vnet}.id}}"
            for link in links
        ), f"{zone_id} is not linked to the deployment network"


def test_deploy_identities_trust_the_repository_and_hold_least_roles(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    identities = resources_of(bootstrap, "azurerm_user_assigned_identity")
    credentials = list(resources_of(bootstrap, "azurerm_federated_identity_credential").values())
    assignments = list(resources_of(bootstrap, "azurerm_role_assignment").values())
    assert all(a.get("role_definition_name") != "Owner" for a in assignments)
    for environment in ENVIRONMENTS:
        config = load_environment(environment)
        slug = config.deployment.repository.slug
        expected = {
            "plan": (f"repo:{slug}:environment:{environment}-plan", {"Reader", "Storage Blob Data Reader"}),
            "apply": (
                f"repo:{slug}:environment:{environment}",
                {
                    "Reader",
                    "Contributor",  # on the platform groups only
                    "Resource Policy Contributor",
                    "Role Based Access Control Administrator",
                    "Storage Blob Data Contributor",
                    "Network Contributor",  # on the runners' VNet only (peerings, zone links)
                    "Private DNS Zone Contributor",  # on the runners' vault zone only (the infra vaults' A records)
                    f"{environment}-identities_lock-role",
                    f"{environment}-identities_subscription-writer-role",
                },
            ),
        }
        for role, (subject, roles) in expected.items():
            [(key, _)] = [
                (k, v) for k, v in identities.items() if v["name"] == f"{config.short_name}-terraform-{role}-id-001"
            ]
            trusted = [c for c in credentials if c["parent_id"] == f"${{azurerm_user_assigned_identity.{key}.id}}"]
            # the plan identity also trusts pull-request plans, which name no environment (docs/delivery.md)
            pull_request = [f"repo:{config.deployment.repository.slug}:pull_request"] if role == "plan" else []
            assert sorted(c["subject"] for c in trusted) == sorted([subject, *pull_request])
            assert all(c["issuer"] == "https://token.actions.githubusercontent.com" for c in trusted)
            assert all(c["audience"] == ["api://AzureADTokenExchange"] for c in trusted)
            principal = f"${{azurerm_user_assigned_identity.{key}.principal_id}}"
            held = [a for a in assignments if a["principal_id"] == principal]
            assert {
                a.get("role_definition_name") or a["role_definition_id"].split(".")[1].rsplit("_", 1)[0] for a in held
            } == roles
            assert not any(a.get("role_definition_name") == "User Access Administrator" for a in held)
            groups = {
                f"${{azurerm_resource_group.{k}.id}}"
                for k in resources_of(bootstrap, "azurerm_resource_group")
                if k.startswith(f"{environment}-platform-groups_")
            }
            assert len(groups) == len(platform_groups(config))
            for assignment in held:
                name = assignment.get("role_definition_name", "")
                if name.startswith("Storage Blob Data"):  # the alerting stack's container: the apply identity's only
                    alerting = ["alerting-tfstate"] if role == "apply" else []
                    containers = [config.state_backend.container_name, *alerting]
                    assert assignment["scope"].rsplit("/", 1)[1] in containers, assignment["scope"]
                    assert "/blobServices/default/containers/" in assignment["scope"]
                elif name == "Contributor" or "lock-role" in assignment.get("role_definition_id", ""):
                    # never the subscription or the deployment group (which holds this identity)
                    assert assignment["scope"] in groups, assignment["scope"]
                elif name == "Network Contributor":
                    assert assignment["scope"].startswith(f"${{azurerm_virtual_network.{environment}-deployment_vnet")
                elif name == "Private DNS Zone Contributor":
                    assert assignment["scope"].startswith(
                        f"${{azurerm_private_dns_zone.{environment}-runner-credentials_dns-vault"
                    )
                else:
                    assert assignment["scope"] == f"/subscriptions/{config.subscription_id}"
            if role == "apply":
                assert sorted(a["scope"] for a in held if a.get("role_definition_name") == "Contributor") == sorted(
                    groups
                )
            # ReadOnly: no principal (not even a subscription Contributor) adds a federated credential to it
            [identity_lock] = [
                lock
                for lock in resources_of(bootstrap, "azurerm_management_lock").values()
                if lock["scope"] == f"${{azurerm_user_assigned_identity.{key}.id}}"
            ]
            assert identity_lock["lock_level"] == "ReadOnly"
            fics = resources_of(bootstrap, "azurerm_federated_identity_credential")
            assert set(identity_lock["depends_on"]) == {
                f"azurerm_federated_identity_credential.{k}" for k, c in fics.items() if c in trusted
            }
            for assignment in held:
                if assignment.get("role_definition_name") == "Role Based Access Control Administrator":
                    # constrained delegation: an allow-list (GuidEquals) of role ids, never a privileged one; no
                    # Contributor for the deploy identities themselves
                    assert assignment["condition_version"] == "2.0"
                    assert assignment["condition"].count("ForAnyOfAnyValues:GuidEquals") == 2
                    for role_id in (
                        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
                        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
                    ):
                        assert role_id not in assignment["condition"]
                    assert (
                        f"PrincipalId] ForAnyOfAllValues:GuidNotEquals {{{principal}, " in assignment["condition"]
                        or f", {principal}}}" in assignment["condition"]
                    )


def test_runners_scale_from_zero_inside_the_deployment_network(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    subnets = _by_reference(bootstrap, "azurerm_subnet")
    environments = _by_reference(bootstrap, "azurerm_container_app_environment")
    vaults = _by_reference(bootstrap, "azurerm_key_vault")
    jobs = resources_of(bootstrap, "azurerm_container_app_job").values()
    assert len(jobs) == 2 * len(ENVIRONMENTS)  # a plan pool and an apply pool per environment
    labels_seen = set()
    for job in jobs:
        config = load_environment(job["provider"].removeprefix("azurerm."))
        runner = config.deployment.runner
        [pool] = [
            p for p in runner.pools.values() if job["name"].endswith(f"-runner-{p.label.rsplit('-', 1)[1]}-job-001")
        ]
        labels_seen.add(pool.label)
        environment = environments[job["container_app_environment_id"]]
        assert environment["internal_load_balancer_enabled"] is True
        assert environment["public_network_access"] == "Disabled"
        # the runners subnet through its route table association: the environment waits for its egress route
        associations = {
            f"${{azurerm_subnet_route_table_association.{key}.subnet_id}}": value["subnet_id"]
            for key, value in resources_of(bootstrap, "azurerm_subnet_route_table_association").items()
        }
        subnet = subnets[associations[environment["infrastructure_subnet_id"]]]
        assert subnet["name"] == config.deployment.network.runners.name
        assert subnet["delegation"][0]["service_delegation"]["name"] == "Microsoft.App/environments"
        assert subnet["default_outbound_access_enabled"] is False
        [scale] = job["event_trigger_config"]["scale"]
        assert scale["min_executions"] == 0 and scale["max_executions"] == pool.max_executions
        [rule] = scale["rules"]
        assert rule["custom_rule_type"] == "github-runner"
        assert rule["metadata"]["owner"] == config.deployment.repository.owner
        assert rule["metadata"]["repos"] == config.deployment.repository.name
        assert rule["metadata"]["labels"] == pool.label  # one label per pool
        # The App key: a Key Vault reference read with the credential identity, never a value (nor a variable)
        [secret] = job["secret"]
        assert "value" not in secret
        vault_key = secret["key_vault_secret_id"].split(".")[1]
        vault = vaults[f"${{azurerm_key_vault.{vault_key}.id}}"]
        assert secret["key_vault_secret_id"] == (
            f"${{azurerm_key_vault.{vault_key}.vault_uri}}secrets/{runner.github_app.key_secret_name}"
        )
        assert vault["rbac_authorization_enabled"] is True and vault["purge_protection_enabled"] is True
        assert vault["public_network_access_enabled"] is False
        assert secret["identity"] in job["identity"]["identity_ids"]
        # the scaler reads the queue as the GitHub App (KEDA github-runner: applicationID, installationID, appKey)
        assert rule["metadata"]["applicationID"] == str(runner.github_app.app_id)
        assert rule["metadata"]["installationID"] == str(runner.github_app.installation_id)
        assert rule["authentication"] == [{"secret_name": secret["name"], "trigger_parameter": "appKey"}]
        assert "personalAccessToken" not in str(job)
        # Only the init container sees the key; the runner container (the job's code) sees no secret at all.
        [register] = job["template"]["init_container"]
        env = {e["name"]: e for e in register["env"]}
        assert env["APP_PRIVATE_KEY"] == {"name": "APP_PRIVATE_KEY", "secret_name": secret["name"]}
        assert env["APP_ID"]["value"] == str(runner.github_app.app_id)
        assert env["APP_INSTALLATION_ID"]["value"] == str(runner.github_app.installation_id)
        assert env["REPOSITORY"]["value"] == config.deployment.repository.slug
        assert env["RUNNER_LABELS"]["value"] == pool.label
        [container] = job["template"]["container"]
        assert not any("secret_name" in e for e in container["env"])
    assert labels_seen == {
        pool.label for e in ENVIRONMENTS for pool in load_environment(e).deployment.runner.pools.values()
    }
    assert "variable" not in bootstrap  # no GitHub App key variable (nor a personal token) any more


def test_one_github_app_per_environment() -> None:
    from config.loader import load_all

    apps = [config.deployment.runner.github_app.app_id for config in load_all()]
    assert len(set(apps)) == len(apps)


def test_runner_egress_leaves_only_through_a_basic_firewall_with_an_fqdn_allow_list(stacks) -> None:
    from constructs.egress_hosts import RUNNER_EGRESS

    bootstrap = stacks[BOOTSTRAP_STACK]
    assert "azurerm_nat_gateway" not in bootstrap["resource"]  # replaced by the firewall
    firewalls = resources_of(bootstrap, "azurerm_firewall")
    policies = _by_reference(bootstrap, "azurerm_firewall_policy")
    subnets = _by_reference(bootstrap, "azurerm_subnet")
    public_ips = _by_reference(bootstrap, "azurerm_public_ip")
    groups = resources_of(bootstrap, "azurerm_firewall_policy_rule_collection_group").values()
    assert len(firewalls) == len(ENVIRONMENTS)
    for firewall in firewalls.values():
        config = load_environment(firewall["provider"].removeprefix("azurerm."))
        network = config.deployment.network
        assert (firewall["sku_name"], firewall["sku_tier"]) == ("AZFW_VNet", "Basic")
        assert policies[firewall["firewall_policy_id"]]["sku"] == "Basic"
        [ip_configuration] = firewall["ip_configuration"]
        management = firewall["management_ip_configuration"]
        assert subnets[ip_configuration["subnet_id"]]["address_prefixes"] == [network.firewall.address_prefix]
        assert subnets[management["subnet_id"]]["name"] == "AzureFirewallManagementSubnet"
        egress_ip = public_ips[ip_configuration["public_ip_address_id"]]
        assert egress_ip["name"] == f"{config.short_name}-runners-egress-pip-001"  # the one static egress address
        assert management["public_ip_address_id"] != ip_configuration["public_ip_address_id"]
        [group] = [g for g in groups if g["firewall_policy_id"] == firewall["firewall_policy_id"]]
        assert "network_rule_collection" not in group and "nat_rule_collection" not in group
        [collection] = group["application_rule_collection"]
        assert collection["action"] == "Allow"
        allowed = [fqdn for rule in collection["rule"] for fqdn in rule["destination_fqdns"]]
        assert sorted(allowed) == sorted(host.fqdn for host in RUNNER_EGRESS)
        for rule in collection["rule"]:
            assert rule["source_addresses"] == [network.runners.address_prefix]
            assert rule["protocols"] == [{"type": "Https", "port": 443}]
        assert any(d.startswith("azurerm_firewall_policy_rule_collection_group.") for d in firewall["depends_on"])


def test_the_runners_nsg_stays_as_defence_in_depth(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    rules = resources_of(bootstrap, "azurerm_network_security_rule").values()
    groups = {
        f"${{azurerm_network_security_group.{k}.name}}": v["name"]
        for k, v in resources_of(bootstrap, "azurerm_network_security_group").items()
    }
    for environment in ENVIRONMENTS:
        config = load_environment(environment)
        runners_prefix = config.deployment.network.runners.address_prefix
        outbound = [
            r
            for r in rules
            if groups[r["network_security_group_name"]] == f"{config.short_name}-deployment-runners-nsg-001"
            and r["direction"] == "Outbound"
        ]
        allowed = [r for r in outbound if r["access"] == "Allow"]
        inside_subnet = [r for r in allowed if r["destination_address_prefix"] == runners_prefix]
        assert len(inside_subnet) == 1  # Container Apps: the subnet talks to itself
        assert allowed and all(
            r["destination_port_range"] == "443" and r["protocol"] == "Tcp" for r in allowed if r not in inside_subnet
        )
        assert any(
            r["access"] == "Deny" and r["destination_address_prefix"] == "*" and r["priority"] == 4096 for r in outbound
        )


def test_every_resource_type_of_every_stack_has_its_provider_registered(stacks) -> None:
    from constructs.resource_providers import required_resource_providers, resource_provider_of

    registered = {
        p["alias"]: set(p["resource_providers_to_register"]) for p in stacks[BOOTSTRAP_STACK]["provider"]["azurerm"]
    }
    assert all(namespaces == set(required_resource_providers()) for namespaces in registered.values())
    for name, stack in stacks.items():
        for terraform_type in stack.get("resource", {}):
            if terraform_type.startswith("azurerm_"):
                namespace = resource_provider_of(terraform_type)
                assert namespace is None or namespace in registered["staging"], (name, terraform_type)
        for provider in stack.get("provider", {}).get("azurerm", []):
            assert provider["resource_provider_registrations"] == "none", name  # the plan identity cannot register


def test_an_unknown_resource_type_is_not_silently_unregistered() -> None:
    import pytest

    from constructs.resource_providers import resource_provider_of

    assert resource_provider_of("azurerm_monitor_workspace") == "Microsoft.Monitor"  # longest prefix wins
    assert resource_provider_of("azurerm_kubernetes_cluster_extension") == "Microsoft.KubernetesConfiguration"
    with pytest.raises(KeyError):
        resource_provider_of("azurerm_cosmosdb_account")


def test_bootstrap_state_is_local_outside_the_build_folder_until_migrated(stacks) -> None:
    backend = stacks[BOOTSTRAP_STACK]["terraform"]["backend"]
    assert backend == {"local": {"path": "../../../.bootstrap-state/bootstrap.tfstate"}}


def test_the_backend_switch_moves_bootstrap_state_into_the_holders_account(tmp_path) -> None:
    import json

    from cdktf import App

    from config.loader import load_all
    from stacks.bootstrap import BootstrapStack

    configs = {config.name: config for config in load_all()}
    production = configs["production"].model_copy(
        update={"deployment": configs["production"].deployment.model_copy(update={"holds_bootstrap_state": True})}
    )
    staging = configs["staging"]
    app = App(outdir=str(tmp_path))
    BootstrapStack(app, BOOTSTRAP_STACK, environments=[staging, production])
    app.synth()
    synthesized = json.loads((tmp_path / "stacks" / BOOTSTRAP_STACK / "cdk.tf.json").read_text())
    assert synthesized["terraform"]["backend"] == {
        "azurerm": {
            "resource_group_name": production.state_backend.resource_group_name,
            "storage_account_name": production.state_backend.storage_account_name,
            "container_name": "bootstrap-tfstate",  # the operators' own container
            "key": "bootstrap.tfstate",
            "subscription_id": production.subscription_id,
            "tenant_id": production.tenant_id,
            "use_azuread_auth": True,
        }
    }


def test_the_kubernetes_plan_role_reads_everything_but_secrets_and_only_reads(stacks) -> None:
    definitions = [
        d
        for d in resources_of(stacks[BOOTSTRAP_STACK], "azurerm_role_definition").values()
        if "plan-reader" in d["name"]
    ]
    assert len(definitions) == len(ENVIRONMENTS)
    for definition in definitions:
        config = load_environment(definition["provider"].removeprefix("azurerm."))
        assert definition["name"] == f"{config.short_name}-kubernetes-plan-reader-role-001"
        assert definition["assignable_scopes"] == [f"/subscriptions/{config.subscription_id}"]
        [permissions] = definition["permissions"]
        assert permissions["data_actions"] == ["Microsoft.ContainerService/managedClusters/*/read"]
        assert permissions["not_data_actions"] == ["Microsoft.ContainerService/managedClusters/secrets/read"]
        assert not permissions.get("actions")  # no control-plane rights at all


def test_only_the_operators_group_reads_bootstrap_state(stacks) -> None:
    bootstrap = stacks[BOOTSTRAP_STACK]
    for environment in ENVIRONMENTS:
        config = load_environment(environment)
        on_bootstrap_container = [
            a
            for a in resources_of(bootstrap, "azurerm_role_assignment").values()
            if a["provider"] == f"azurerm.{environment}" and a["scope"].endswith("/containers/bootstrap-tfstate")
        ]
        assert [
            (a["principal_id"], a["principal_type"], a["role_definition_name"]) for a in on_bootstrap_container
        ] == [(config.deployment.operators_group_object_id, "Group", "Storage Blob Data Contributor")]


def test_the_subscription_writer_role_is_the_stacks_subscription_scope_types(stacks) -> None:
    """Derived from the environment's stacks: exactly the actions of the subscription-scope types they synthesize."""
    from constructs.deployment import SUBSCRIPTION_SCOPE_ACTIONS

    bootstrap = stacks[BOOTSTRAP_STACK]
    for environment in ENVIRONMENTS:
        config = load_environment(environment)
        infra = stacks[f"{environment}-infra"]
        expected = {
            action
            for kind, actions in SUBSCRIPTION_SCOPE_ACTIONS.items()
            for body in resources_of(infra, kind).values()
            if kind != "azurerm_monitor_diagnostic_setting"
            or body["target_resource_id"] == f"/subscriptions/{config.subscription_id}"
            for action in actions
        }
        [writer] = [
            d
            for d in resources_of(bootstrap, "azurerm_role_definition").values()
            if d["name"] == (f"{config.short_name}-deploy-subscription-writer-role-001")
        ]
        [permissions] = writer["permissions"]
        assert set(permissions["actions"]) == expected
        assert "Microsoft.Insights/diagnosticSettings/write" in expected  # the activity log export: not vacuous
        assert not any(a.startswith(("Microsoft.Authorization", "Microsoft.ManagedIdentity")) for a in expected)


def test_a_subscription_scope_type_or_deployment_group_write_the_tables_lack_fails_the_derivation() -> None:
    import pytest
    from cdktf import App, TerraformStack
    from cdktf_cdktf_provider_azurerm.provider import AzurermProvider
    from cdktf_cdktf_provider_azurerm.subscription_policy_exemption import SubscriptionPolicyExemption
    from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity

    from constructs.deployment import deployment_names, deployment_writes, subscription_writes
    from constructs.naming import Naming

    config = load_environment("staging")
    names = deployment_names(Naming(config.short_name, config.unique_suffix), config.deployment)
    stack = TerraformStack(App(), "planted")
    AzurermProvider(stack, "azurerm", features=[{}])
    assert subscription_writes([stack], config.subscription_id) == ()
    assert deployment_writes([stack], names, config.subscription_id) == {}
    SubscriptionPolicyExemption(  # a write at subscription scope no table entry allows
        stack,
        "exemption",
        name="planted",
        subscription_id=f"/subscriptions/{config.subscription_id}",
        policy_assignment_id="/subscriptions/x/providers/Microsoft.Authorization/policyAssignments/a",
        exemption_category="Waiver",
    )
    with pytest.raises(ValueError, match="subscription_policy_exemption is written at subscription scope"):
        subscription_writes([stack], config.subscription_id)
    UserAssignedIdentity(  # an identity in the deployment group: the apply identity has no write there
        stack, "identity", name="planted", location=config.location, resource_group_name=names.resource_group
    )
    with pytest.raises(ValueError, match="user_assigned_identity writes into the deployment group"):
        deployment_writes([stack], names, config.subscription_id)


def test_the_lock_role_writes_locks_only(stacks) -> None:
    definitions = [
        d
        for d in resources_of(stacks[BOOTSTRAP_STACK], "azurerm_role_definition").values()
        if "deploy-locks" in d["name"]
    ]
    assert len(definitions) == len(ENVIRONMENTS)
    for definition in definitions:
        [permissions] = definition["permissions"]
        assert sorted(permissions["actions"]) == sorted(
            f"Microsoft.Authorization/locks/{verb}" for verb in ("read", "write", "delete")
        )
        assert not permissions.get("data_actions")


def test_the_delegation_allows_exactly_the_roles_the_environment_stacks_assign(stacks) -> None:
    """Read back from the synthesized JSON: the allow-list is the set of roles infra + cluster assign, no more."""
    import json

    from tools.checks.threat_model import allow_lists

    built_in = json.loads(Path("reference/roles.json").read_text())["roles"]
    bootstrap = stacks[BOOTSTRAP_STACK]
    custom = {d["name"]: key for key, d in resources_of(bootstrap, "azurerm_role_definition").items()}
    for environment in ENVIRONMENTS:
        expected = set()
        for stack in (f"{environment}-infra", f"{environment}-cluster"):
            for assignment in resources_of(stacks[stack], "azurerm_role_assignment").values():
                name = assignment["role_definition_name"]
                expected.add(
                    f"${{azurerm_role_definition.{custom[name]}.role_definition_id}}"
                    if name in custom
                    else built_in[name]
                )
        [delegation] = [
            a
            for k, a in resources_of(bootstrap, "azurerm_role_assignment").items()
            if k.startswith(f"{environment}-identities_apply-delegation")
        ]
        lists = allow_lists(delegation["condition"])
        assert lists is not None  # write and delete
        for listed in lists:
            assert set(listed.split(", ")) == expected


def test_a_privileged_or_unknown_role_in_a_stack_fails_the_derivation() -> None:
    import pytest
    from cdktf import App, TerraformStack
    from cdktf_cdktf_provider_azurerm.provider import AzurermProvider
    from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment

    from constructs.deployment import assigned_role_ids

    app = App()
    stack = TerraformStack(app, "planted")
    AzurermProvider(stack, "azurerm", features=[{}])
    RoleAssignment(stack, "ok", scope="/s", role_definition_name="Reader", principal_id="p")
    assert assigned_role_ids([stack], {}) == ("acdd72a7-3385-48ef-bd42-f606fba81ae7",)
    unknown = RoleAssignment(stack, "unknown", scope="/s", role_definition_name="Made Up Role", principal_id="p")
    with pytest.raises(ValueError, match="no known id"):
        assigned_role_ids([stack], {})
    unknown.role_definition_name = "Reader"
    RoleAssignment(stack, "owner", scope="/s", role_definition_name="Owner", principal_id="p")
    with pytest.raises(ValueError, match="privileged roles"):
        assigned_role_ids([stack], {})


def test_human_admins_are_eligible_not_standing(stacks) -> None:
    """PIM-eligible cluster admin and Owner on each subscription; the clusters keep no admin group binding."""
    eligible = resources_of(stacks[BOOTSTRAP_STACK], "azurerm_pim_eligible_role_assignment").values()
    for environment in ENVIRONMENTS:
        config = load_environment(environment)
        subscription = f"/subscriptions/{config.subscription_id}"
        prefix = f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/"
        mine = [e for e in eligible if e["provider"] == f"azurerm.{environment}"]
        assert all(e["scope"] == subscription and "schedule" not in e for e in mine)
        for group in config.aks.admin_group_object_ids:
            assert {e["role_definition_id"] for e in mine if e["principal_id"] == group} == {
                prefix + "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
                prefix + "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
            }
        assert {
            e["role_definition_id"] for e in mine if e["principal_id"] == config.deployment.operators_group_object_id
        } == {prefix + "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"}
        for cluster in resources_of(stacks[f"{environment}-infra"], "azurerm_kubernetes_cluster").values():
            assert not cluster["azure_active_directory_role_based_access_control"].get("admin_group_object_ids")
