"""Building blocks shared by every config section: strict frozen models and typed scalars."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class KeyedValueError(ValueError):
    """Raise from a model validator to blame one key (relative to the model) and its value."""

    def __init__(self, key: str, value: object, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.value = value


class Section(BaseModel):
    """Base of every config model: immutable, unknown keys rejected, no silent type coercion."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _uuid(value: str) -> str:
    if not _UUID.match(value):
        raise ValueError("must be a lowercase GUID like 00000000-0000-0000-0000-000000000000")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(
            f"must be an IPv4 network in CIDR form with no host bits set, like 10.0.0.0/16 ({error})"
        ) from None
    if "/" not in value:
        raise ValueError("must include a prefix length, like 10.0.0.0/16")
    return str(network)


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError("must be an IPv4 address like 10.0.0.10") from None


Guid = Annotated[str, AfterValidator(_uuid)]
Cidr = Annotated[str, AfterValidator(_cidr)]
Ipv4 = Annotated[str, AfterValidator(_ipv4)]

# Regions this platform is allowed to run in, with their Azure paired region.
AZURE_REGION_PAIRS: dict[str, str] = {
    "eastus": "westus",
    "westus": "eastus",
    "eastus2": "centralus",
    "centralus": "eastus2",
    "westus2": "westcentralus",
    "westcentralus": "westus2",
    "northeurope": "westeurope",
    "westeurope": "northeurope",
    "uksouth": "ukwest",
    "ukwest": "uksouth",
    "germanywestcentral": "germanynorth",
    "swedencentral": "swedensouth",
}

# Regions with availability zones, from reference/regions.json (Microsoft's published list; refreshed by
# tools/maintenance/refdata/refresh_regions.py). Zone redundancy and zonal placement are validated against it.
REGIONS_WITH_ZONES: frozenset[str] = frozenset(
    json.loads((Path(__file__).resolve().parent.parent / "reference" / "regions.json").read_text())[
        "regions_with_availability_zones"
    ]
)
