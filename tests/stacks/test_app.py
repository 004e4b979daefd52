"""Properties of the whole synthesized app: stacks, backends, providers, tags."""

from __future__ import annotations

import functools
import gzip
import importlib
import importlib.util
import json
from pathlib import Path

from config.loader import ENVIRONMENTS, load_all, load_environment
from constructs.state_storage import ALERTING_CONTAINER
from stacks.app import BOOTSTRAP_STACK, GITHUB_STACK, alerting_stack_name, environment_stacks, stack_names
from tests.conftest import StackJson

ENVIRONMENT_STACKS = [name for environment in ENVIRONMENTS for name in environment_stacks(environment)]


def test_bootstrap_and_three_stacks_per_environment(stacks: dict[str, StackJson]) -> None:
    assert sorted(stacks) == sorted([BOOTSTRAP_STACK, GITHUB_STACK, *ENVIRONMENT_STACKS])
    assert list(ENVIRONMENTS) == [config.name for config in load_all()]  # config/<environment>.toml, nothing else


def test_every_environment_stack_has_its_own_azure_ad_backend(stacks: dict[str, StackJson]) -> None:
    keys = set()
    for name in ENVIRONMENT_STACKS:
        environment = name.split("-")[0]
        expected = load_environment(environment).state_backend
        backend = stacks[name]["terraform"]["backend"]
        assert list(backend) == ["azurerm"], f"{name} must use the azurerm backend, has {list(backend)}"
        settings = backend["azurerm"]
        assert settings["use_azuread_auth"] is True
        assert settings["storage_account_name"] == expected.storage_account_name
        assert settings["key"] == f"{name}.tfstate"
        # The alerting stack's state (webhook addresses) is in the container only the apply identity reads.
        container = ALERTING_CONTAINER if name.endswith("-alerting") else expected.container_name
        assert settings["container_name"] == container
        assert "access_key" not in settings and "sas_token" not in settings
        keys.add((settings["storage_account_name"], settings["key"]))
    assert len(keys) == len(ENVIRONMENT_STACKS)


def test_state_of_each_environment_lives_in_its_own_subscription(stacks: dict[str, StackJson]) -> None:
    for environment in ENVIRONMENTS:
        subscription = load_environment(environment).subscription_id
        for name in environment_stacks(environment):
            assert stacks[name]["terraform"]["backend"]["azurerm"]["subscription_id"] == subscription


def test_bootstrap_keeps_local_state(stacks: dict[str, StackJson]) -> None:
    assert list(stacks[BOOTSTRAP_STACK]["terraform"]["backend"]) == ["local"]


def test_infrastructure_stacks_use_only_azurerm_and_cluster_stacks_only_kubernetes(
    stacks: dict[str, StackJson],
) -> None:
    for environment in ENVIRONMENTS:
        infra, cluster = stack_names(environment)
        # hashicorp/time: only time_sleep, the wait after role assignments (after_access, constructs/interfaces.py);
        # terraform_data is built in (no provider): the registry import of the baseline jobs' image;
        # Azure/azapi: only the AKS vault-tier backup policy (azapi_resource, constructs/backup.py).
        assert set(stacks[infra]["terraform"]["required_providers"]) == {"azurerm", "time", "azapi"}
        assert set(stacks[infra]["resource"]) - {"time_sleep", "terraform_data", "azapi_resource"} == {
            kind for kind in stacks[infra]["resource"] if kind.startswith("azurerm_")
        }
        assert [body["type"] for body in stacks[infra]["resource"]["azapi_resource"].values()] == [
            "Microsoft.DataProtection/backupVaults/backupPolicies@2025-07-01"
        ]
        assert set(stacks[cluster]["terraform"]["required_providers"]) == {"kubernetes"}
        assert all(kind.startswith("kubernetes_") for kind in stacks[cluster].get("resource", {}))
        alerting = stacks[alerting_stack_name(environment)]
        assert set(alerting["terraform"]["required_providers"]) == {"azurerm"}
        assert "data" not in alerting and "output" not in alerting  # it reads no other stack, exports nothing


def test_azurerm_providers_use_entra_id_for_storage_and_never_its_data_plane(stacks: dict[str, StackJson]) -> None:
    providers = [provider for stack in stacks.values() for provider in stack.get("provider", {}).get("azurerm", [])]
    assert len(providers) >= 4  # bootstrap (one per environment) and each infrastructure stack
    for provider in providers:
        assert provider["storage_use_azuread"] is True
        assert provider["features"] == [{"storage": [{"data_plane_available": False}]}]


def test_cluster_provider_comes_from_infra_remote_state_and_kubelogin(stacks: dict[str, StackJson]) -> None:
    for environment in ENVIRONMENTS:
        infra, cluster = stack_names(environment)
        (provider,) = stacks[cluster]["provider"]["kubernetes"]
        remote = stacks[cluster]["data"]["terraform_remote_state"]
        (reference,) = remote.values()
        assert reference["config"]["key"] == f"{infra}.tfstate"
        assert "data.terraform_remote_state." in provider["host"]
        assert provider["exec"][0]["command"] == "kubelogin"
        assert not {"client_key", "client_certificate", "token", "password", "config_path"} & set(provider)


REQUIRED_TAGS = {"environment", "owner", "cost-center", "data-classification", "managed-by"}


@functools.cache
def is_taggable(kind: str) -> bool:
    """Whether the provider binding of a resource type has a `tags` argument (read from the binding class,
    not from the synthesized JSON: an untagged resource of a taggable type must not pass unnoticed)."""
    provider, _, name = kind.partition("_")
    if provider not in {"azurerm", "kubernetes"}:
        # built-in terraform_data, hashicorp/time's time_sleep: no tags; azapi's one resource, a backup policy, is a
        # proxy resource without tags in its spec (reference/dataprotection_backup_policy.json)
        return False
    if importlib.util.find_spec(f"cdktf_cdktf_provider_{provider}.{name}") is None:
        # No prebuilt binding (a plain TerraformResource): the provider's schema (reference/) says whether it has tags.
        schema = json.loads(gzip.decompress(Path("reference/azurerm_schema.json.gz").read_bytes()))["resources"]
        return "tags" in schema[kind]["arguments"]
    module = importlib.import_module(f"cdktf_cdktf_provider_{provider}.{name}")
    (binding,) = [
        value
        for value in map(functools.partial(getattr, module), module.__all__)  # by name: the fast path creates classes
        if isinstance(value, type) and "TF_RESOURCE_TYPE" in vars(value) and kind == value.TF_RESOURCE_TYPE
    ]
    return hasattr(binding, "tags")


def tag_problems(stack_name: str, stack: StackJson) -> list[str]:
    """Every resource of every taggable type carries the required tags, with this environment's name."""
    problems = []
    for kind, by_name in stack.get("resource", {}).items():
        if not is_taggable(kind):
            continue
        for name, body in by_name.items():
            tags = body.get("tags", {})
            if missing := REQUIRED_TAGS - set(tags):
                problems.append(f"{stack_name} {kind}.{name} lacks {sorted(missing)}")
            elif stack_name != BOOTSTRAP_STACK and tags["environment"] != stack_name.split("-")[0]:
                problems.append(f"{stack_name} {kind}.{name} has environment={tags['environment']}")
    return problems


def test_every_resource_of_a_taggable_type_has_the_required_tags(stacks: dict[str, StackJson]) -> None:
    assert [problem for name, stack in stacks.items() for problem in tag_problems(name, stack)] == []
    taggable = {kind for stack in stacks.values() for kind in stack.get("resource", {}) if is_taggable(kind)}
    assert len(taggable) > 30 and "azurerm_resource_group" in taggable
    assert not is_taggable("azurerm_role_assignment") and not is_taggable("kubernetes_namespace_v1")
    assert not is_taggable("terraform_data") and not is_taggable("time_sleep")


def test_the_tag_check_reports_an_untagged_resource_of_a_taggable_type() -> None:
    """Failing example: a resource group without any tags (the old test only looked at resources with tags)."""
    stack = {"resource": {"azurerm_resource_group": {"rg": {"name": "rg", "location": "eastus"}}}}
    assert tag_problems("staging-infra", stack) == [
        "staging-infra azurerm_resource_group.rg lacks " + str(sorted(REQUIRED_TAGS))
    ]
