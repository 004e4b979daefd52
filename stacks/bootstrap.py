"""Creates each environment's remote-state storage. Local state: it must exist before any backend."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import LocalBackend, TerraformStack

from config.schema import EnvironmentConfig
from constructs import Construct
from constructs.state_storage import StateStorage, StateStorageProps
from stacks.common import apply_environment_aspects, azurerm_provider

BOOTSTRAP_STATE_FILE = "bootstrap.tfstate"


class BootstrapStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, environments: Sequence[EnvironmentConfig]) -> None:
        super().__init__(scope, id)
        # Deliberately local: this stack creates the storage the remote backends need. Keep the file safe
        # (see README "Bootstrap") or re-import the resources if it is lost.
        LocalBackend(self, path=BOOTSTRAP_STATE_FILE)
        for config in environments:
            storage = StateStorage(
                self,
                f"{config.name}-state",
                props=StateStorageProps(
                    backend=config.state_backend,
                    location=config.location,
                    provider=azurerm_provider(self, config, alias=config.name),
                ),
            )
            apply_environment_aspects(storage, config)
