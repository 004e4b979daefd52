"""DataPlatform: refuses to build without every private DNS zone it needs, and exposes what AKS needs."""

from __future__ import annotations

import cdktf
import pytest

from config.loader import load_environment
from constructs.data_platform import DataPlatform, DataPlatformProps
from constructs.naming import Naming
from tests.constructs.environment_stacks import DIAGNOSTICS_SINK


def props(zone_keys: tuple[str, ...]) -> DataPlatformProps:
    config = load_environment("staging")
    return DataPlatformProps(
        config=config.data,
        naming=Naming(config.short_name, config.unique_suffix),
        tenant_id=config.tenant_id,
        location=config.location,
        paired_location=config.paired_location,
        resource_group_name="data",
        security_resource_group_name="security",
        paired_resource_group_name="data-dr",
        private_endpoint_subnet_id="subnet",
        private_dns_zone_ids={key: f"zone-{key}" for key in zone_keys},
        diagnostics=DIAGNOSTICS_SINK,
    )


def test_missing_private_dns_zone_is_named() -> None:
    with pytest.raises(ValueError, match=r"private_dns_zone_ids lacks \['eventhub'\]"):
        DataPlatform(
            cdktf.TerraformStack(cdktf.Testing.app(), "test"), "data", props=props(("key_vault", "blob", "postgres"))
        )


def test_exposes_the_disk_encryption_set_for_aks() -> None:
    platform = DataPlatform(
        cdktf.TerraformStack(cdktf.Testing.app(), "test"),
        "data",
        props=props(("key_vault", "blob", "postgres", "eventhub")),
    )
    assert platform.key_vault.disk_encryption_set_id is not None
    assert sorted(platform.key_vault.key_ids) == ["disks", "postgres", "storage"]
