"""Settings of the platform services: AKS (more services join here)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.base import Guid, Section


class SystemPool(Section):
    vm_size: str = Field(pattern=r"^Standard_[A-Za-z0-9_]+$")
    node_count: int = Field(ge=3, le=100, description="One node per zone at least")


class AksConfig(Section):
    kubernetes_version: str = Field(pattern=r"^1\.\d{2}$")
    sku_tier: Literal["Free", "Standard", "Premium"]
    admin_group_object_ids: tuple[Guid, ...] = Field(min_length=1)
    system_pool: SystemPool
