"""The platform's container registry: Azure Container Registry Premium, reachable only through its private
endpoint, Entra ID-only (no admin user, no anonymous pull), zone-redundant and optionally geo-replicated."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import LocalExecProvisioner, TerraformResource
from cdktf_cdktf_provider_azurerm.container_registry import ContainerRegistry, ContainerRegistryGeoreplications

from config.services import RegistryConfig
from constructs import Construct
from constructs.interfaces import DiagnosticsSink, delete_lock, diagnostics
from constructs.locks import why_locked
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpointPlacement


@dataclass(frozen=True)
class RegistryProps:
    config: RegistryConfig
    naming: Naming
    location: str
    paired_location: str  # where the replica lives when config.replicate_to_paired_region
    resource_group_name: str
    private_endpoint: PrivateEndpointPlacement
    private_dns_zone_id: str  # privatelink.azurecr.io
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    protect_from_destroy: bool = True  # a cannot-delete lock: the images a rebuild of the clusters deploys


class Registry(Construct):
    """Exposes `registry_id`, `login_server`, `registry_name` and the underlying `registry`."""

    def __init__(self, scope: Construct, id: str, *, props: RegistryProps) -> None:
        super().__init__(scope, id)
        config = props.config
        replicas = (
            [
                ContainerRegistryGeoreplications(
                    location=props.paired_location,
                    zone_redundancy_enabled=config.replica_zone_redundancy_enabled,
                    regional_endpoint_enabled=True,
                )
            ]
            if config.replicate_to_paired_region
            else None
        )
        self.name = registry_name(props.naming)  # a literal: <name>.azurecr.io is the login server
        self.registry = ContainerRegistry(
            self,
            "registry",
            name=self.name,
            location=props.location,
            resource_group_name=props.resource_group_name,
            sku="Premium",
            admin_enabled=False,  # pulls and pushes use Entra ID identities (AcrPull/AcrPush role assignments)
            anonymous_pull_enabled=False,
            public_network_access_enabled=False,
            # Images cannot be exported out of the private registry (needs public access off).
            export_policy_enabled=False,
            # Trusted Azure services (Defender vulnerability scanning, ACR Tasks) keep access over the backbone.
            network_rule_bypass_option="AzureServices",
            # Dedicated data endpoints (<name>.<region>.data.azurecr.io) give the layer downloads a private
            # IP of their own and a narrow FQDN for firewall rules instead of *.blob.core.windows.net.
            data_endpoint_enabled=True,
            zone_redundancy_enabled=config.zone_redundancy_enabled,
            retention_policy_in_days=config.untagged_manifest_retention_days,
            georeplications=replicas,
        )
        if props.protect_from_destroy:
            delete_lock(self, "lock", self.registry, why=why_locked(self.registry))
        diagnostics(self, "diagnostics", self.registry, props.diagnostics)
        self.registry_id = self.registry.id
        self.login_server = self.registry.login_server
        self.registry_name = self.registry.name
        props.private_endpoint.connect(
            self,
            "private-endpoint",
            name=props.naming.name("workloads-acr", "pe"),
            resource_id=self.registry.id,
            subresource="registry",
            private_dns_zone_id=props.private_dns_zone_id,
        )


def registry_name(naming: Naming) -> str:
    """The registry's (globally unique) name; its login server is `<name>.azurecr.io`."""
    return naming.compact("workloads", "acr")


@dataclass(frozen=True)
class ImageImportProps:
    registry_name: str  # the registry's `name` attribute: a reference, so the import waits for the registry
    resource_group_name: str
    subscription_id: str
    source: str  # <public registry>/<repository>@sha256:<digest> (constructs/image_pins.py), or :<tag> if open
    target: str  # <repository>:<tag> inside the registry


class ImageImport(Construct):
    """Imports one public image into the registry during apply: `az acr import` on the Terraform runner
    (a built-in `terraform_data` with a local-exec provisioner, replaced when source or target changes).

    Why not an ACR task: `az acr import` is a Resource Manager operation that the registry service itself
    performs, so it works with the registry's public network access off and needs no agent pool, Dockerfile
    or schedule; the runner only needs the Azure CLI logged in (it is, for the azurerm provider) and a
    registry write role (the deploy identity's Owner). `--force` makes a re-run after a replacement
    idempotent (same tag, same content). Imported by digest, the copy is the same manifest (import copies the
    index and every platform's manifest), so the workloads' `<tag>@<digest>` names it; a new digest replaces the
    resource and imports again. Exposes `resource` (to depend on)."""

    def __init__(self, scope: Construct, id: str, *, props: ImageImportProps) -> None:
        super().__init__(scope, id)
        command = (
            f"az acr import --subscription {props.subscription_id} --resource-group {props.resource_group_name} "
            f"--name {props.registry_name} --source {props.source} --image {props.target} --force"
        )
        self.resource = TerraformResource(
            self,
            "import",
            terraform_resource_type="terraform_data",
            provisioners=[LocalExecProvisioner(type="local-exec", command=command)],
        )
        self.resource.add_override("triggers_replace", [props.source, props.target])
