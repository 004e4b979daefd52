"""The runners start at all: the job's image comes from a bootstrap registry with a private endpoint the runners
reach, `privatelink.azurecr.io` linked to their VNet, and AcrPull for the job's registry identity."""

from __future__ import annotations

from tools.checks.deployability.endpoints import Endpoint, endpoint_findings, scope_covers
from tools.checks.deployability.model import StackJson, blocks, parse_ref, peerings_of, resources_of, runners

# Roles whose actions include Microsoft.ContainerRegistry/registries/pull/read (the built-ins meant for pulling).
IMAGE_PULL_ROLES = frozenset({"AcrPull", "AcrPush"})
REGISTRY_ZONE = "privatelink.azurecr.io"


def runner_image_findings(bootstrap: StackJson) -> list[str]:
    """Every runner job pulls its image privately: from a registry of the bootstrap stack with a private endpoint
    (`registry`) in a VNet the runners reach, `privatelink.azurecr.io` linked to the runners' VNet, and the job's
    registry identity (one of the job's own identities) holding AcrPull on that registry."""
    problems: list[str] = []
    runner_of = runners(bootstrap)
    for job_key, job in sorted(resources_of(bootstrap, "azurerm_container_app_job").items()):
        environment = job["provider"].removeprefix("azurerm.")
        runner = runner_of[environment]
        where = f"bootstrap: runner image of {job.get('name', job_key)}"
        registries = blocks(job.get("registry"))
        images = [
            container.get("image", "")
            for kind in ("init_container", "container")  # the register init container runs the same image
            for container in blocks(job["template"].get(kind))
        ]
        if not registries:
            problems.append(f"{where}: the job names no registry (it would pull anonymously from a public one)")
            continue
        for registry in registries:
            server = parse_ref(registry.get("server"))
            if server is None or server.type != "azurerm_container_registry" or server.attribute != "login_server":
                problems.append(
                    f"{where}: pulls from {registry.get('server')!r}, not from a registry of the bootstrap stack "
                    "(no private path to it can be shown)"
                )
                continue
            if not all(str(image).startswith(str(registry["server"]) + "/") for image in images):
                problems.append(f"{where}: images {images} are not in the registry {registry['server']}")
            resource_ref = f"${{azurerm_container_registry.{server.name}.id}}"
            endpoint = Endpoint(f"registry {server.name}", bootstrap, resource_ref, "registry", REGISTRY_ZONE, {})
            peerings = peerings_of(bootstrap, runner.subscription_id)
            problems += endpoint_findings(where, runner, endpoint, peerings, {})
            identity = registry.get("identity")
            job_identities = blocks(job.get("identity"))
            if not identity or not any(identity in block.get("identity_ids", []) for block in job_identities):
                problems.append(f"{where}: the registry identity {identity!r} is not one of the job's identities")
                continue
            principal = str(identity).removesuffix(".id}") + ".principal_id}"
            held = [
                assignment
                for assignment in resources_of(bootstrap, "azurerm_role_assignment").values()
                if assignment["principal_id"] == principal
                and assignment.get("role_definition_name") in IMAGE_PULL_ROLES
                and scope_covers(str(assignment["scope"]), resource_ref, runner.subscription_id)
            ]
            if not held:
                problems.append(f"{where}: the pull identity {identity} holds no AcrPull on registry {server.name}")
    return problems
