"""Fixtures of the construct tests: constructs synthesized in stacks of their own, once per session."""

from __future__ import annotations

import pytest

from tests.conftest import StackJson
from tests.constructs.data_stacks import synth_data_stacks
from tests.constructs.services_stacks import synth_services_stacks


@pytest.fixture(scope="session")
def data_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StackJson]:
    """Each environment's DataPlatform (Key Vaults, storage, PostgreSQL, Event Hubs) in a stack of its own."""
    return synth_data_stacks(tmp_path_factory.mktemp("data-platform"))


@pytest.fixture
def data_stack(data_stacks: dict[str, StackJson], environment: str) -> StackJson:
    """The environment's DataPlatform stack (not the app's infra stack: see the `infra` fixture)."""
    return data_stacks[environment]


@pytest.fixture(scope="session")
def services_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StackJson]:
    """Each environment's Registry, AksCluster and AppGateway in a stack of their own."""
    return synth_services_stacks(tmp_path_factory.mktemp("platform-services"))


@pytest.fixture
def services(services_stacks: dict[str, StackJson], environment: str) -> StackJson:
    """The environment's platform-services stack."""
    return services_stacks[environment]
