"""constructs/tokens.py answers as cdktf's Token.is_unresolved does, asking the kernel only when it must."""

from __future__ import annotations

import pytest
from cdktf import App, Fn, TerraformStack, Token
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup

from constructs import tokens


@pytest.fixture(scope="module")
def group() -> ResourceGroup:
    return ResourceGroup(TerraformStack(App(), "tokens"), "group", name="rg", location="westeurope")


def test_agrees_with_cdktf_on_literals_and_tokens(group: ResourceGroup) -> None:
    values = [
        "plain",
        "",
        "${not a cdktf token}",
        "#{TfToken[TOKEN.1]}",
        group.id,
        f"prefix-{group.name}-suffix",
        Fn.lower("X"),
        42,
        Token.as_number(group.id),
        ["a"],
        [group.id],
        {"key": "value"},
    ]
    assert [tokens.is_unresolved(value) for value in values] == [Token.is_unresolved(value) for value in values]
    assert tokens.is_unresolved(group.id) and not tokens.is_unresolved("plain")


def test_plain_strings_never_reach_the_kernel(group: ResourceGroup, monkeypatch: pytest.MonkeyPatch) -> None:
    def kernel_call(value: object) -> bool:
        raise AssertionError(f"asked the kernel about {value!r}")

    monkeypatch.setattr(tokens.Token, "is_unresolved", kernel_call)
    assert tokens.is_unresolved("westeurope") is False
    with pytest.raises(AssertionError, match="asked the kernel"):
        tokens.is_unresolved(group.id)
