"""An AspectGroup visits every construct with its members in order, as adding them one by one does."""

from __future__ import annotations

import cdktf
import jsii
from cdktf import Aspects, IAspect, TerraformStack
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup

from constructs import IConstruct
from constructs.aspects.group import AspectGroup


@jsii.implements(IAspect)
class Recorder:
    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name, self.log = name, log

    def visit(self, node: IConstruct) -> None:
        self.log.append((node.node.path, self.name))


def visits(grouped: bool) -> list[tuple[str, str]]:
    log: list[tuple[str, str]] = []
    stack = TerraformStack(cdktf.Testing.app(), "test")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    for name in ("one", "two"):
        ResourceGroup(stack, f"rg-{name}", name=f"rg-{name}", location="eastus")
    first, second = Recorder("first", log), Recorder("second", log)
    if grouped:
        Aspects.of(stack).add(AspectGroup(first, second))
    else:
        Aspects.of(stack).add(first)
        Aspects.of(stack).add(second)
    cdktf.Testing.synth(stack)
    return log


def test_group_visits_like_separate_aspects() -> None:
    grouped = visits(grouped=True)
    assert grouped == visits(grouped=False)
    assert ("test/rg-one", "first") in grouped
    assert grouped.index(("test/rg-one", "first")) + 1 == grouped.index(("test/rg-one", "second"))
