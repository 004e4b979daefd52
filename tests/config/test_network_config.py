"""Bad address plans end in a ConfigError naming the key, the value and the rule (config/network.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.loader import ENVIRONMENTS, ConfigError, load_all, parse_environment
from tests.config.test_loader import set_key

STAGING = Path("config/staging.toml")

# (changes to staging's network section, key the message must blame, value it must show, words it must contain)
BAD_INPUTS = [
    # API server VNet integration needs a /28 or larger delegated subnet.
    (
        {"spoke.api_server.address_prefix": "10.242.5.0/29"},
        "spoke.api_server.address_prefix",
        "10.242.5.0/29",
        "must be /28 or larger",
    ),
    # Subnets inside their VNet, no overlaps, unique names.
    (
        {"hub.shared_services.address_prefix": "10.99.4.0/24"},
        "hub.shared_services.address_prefix",
        "10.99.4.0/24",
        "must lie inside the address space 10.241.0.0/16",
    ),
    (
        {"spoke.app_gateway.address_prefix": "10.241.4.0/24"},
        "spoke.app_gateway.address_prefix",
        "10.241.4.0/24",
        "must lie inside the address space 10.242.0.0/16",
    ),
    (
        {"hub.bastion.address_prefix": "10.241.1.0/26"},
        "hub.bastion.address_prefix",
        "10.241.1.0/26",
        "overlaps firewall.address_prefix 10.241.1.0/26",
    ),
    (
        {"spoke.aks_user.address_prefix": "10.242.0.0/22"},
        "spoke.aks_user.address_prefix",
        "10.242.0.0/22",
        "overlaps aks_system.address_prefix 10.242.1.0/24",
    ),
    (
        {"spoke.address_space": "10.240.0.0/14"},
        "spoke.address_space",
        "10.240.0.0/14",
        "overlaps hub.address_space 10.241.0.0/16",
    ),
    (
        {"spoke.aks_user.name": "aks-system-subnet"},
        "spoke.aks_user.name",
        "aks-system-subnet",
        "is already the name of aks_system",
    ),
    # Reserved names exact, and not borrowed by other subnets.
    (
        {"hub.bastion.name": "BastionSubnet"},
        "hub.bastion.name",
        "BastionSubnet",
        "Azure requires this subnet to be named exactly 'AzureBastionSubnet'",
    ),
    (
        {"hub.firewall.name": "azurefirewallsubnet"},
        "hub.firewall.name",
        "azurefirewallsubnet",
        "exactly 'AzureFirewallSubnet'",
    ),
    ({"hub.gateway.name": "Gateway"}, "hub.gateway.name", "Gateway", "exactly 'GatewaySubnet'"),
    ({"spoke.app_gateway.name": "GatewaySubnet"}, "spoke.app_gateway.name", "GatewaySubnet", "is reserved by Azure"),
    ({"hub.shared_services.name": "bad name"}, "hub.shared_services.name", "bad name", "pattern"),
    # Minimum sizes (the story's /27 Bastion subnet is one of these).
    (
        {"hub.firewall.address_prefix": "10.241.1.0/27"},
        "hub.firewall.address_prefix",
        "10.241.1.0/27",
        "AzureFirewallSubnet must be /26 or larger",
    ),
    (
        {"hub.bastion.address_prefix": "10.241.3.0/27"},
        "hub.bastion.address_prefix",
        "10.241.3.0/27",
        "AzureBastionSubnet must be /26 or larger",
    ),
    (
        {"hub.gateway.address_prefix": "10.241.2.0/28"},
        "hub.gateway.address_prefix",
        "10.241.2.0/28",
        "GatewaySubnet must be /27 or larger",
    ),
    ({"hub.gateway.address_prefix": "10.241.2.1/27"}, "hub.gateway.address_prefix", "10.241.2.1/27", "no host bits"),
    # AKS overlay ranges.
    (
        {"aks_service_cidr": "10.242.0.0/16", "aks_dns_service_ip": "10.242.0.10"},
        "aks_service_cidr",
        "10.242.0.0/16",
        "overlaps spoke.address_space 10.242.0.0/16",
    ),
    ({"aks_pod_cidr": "10.240.0.0/12"}, "aks_pod_cidr", "10.240.0.0/12", "overlaps hub.address_space 10.241.0.0/16"),
    ({"aks_pod_cidr": "172.16.0.0/12"}, "aks_pod_cidr", "172.16.0.0/12", "overlaps aks_service_cidr 172.16.0.0/16"),
    (
        {"aks_dns_service_ip": "172.17.0.10"},
        "aks_dns_service_ip",
        "172.17.0.10",
        "must lie inside aks_service_cidr 172.16.0.0/16",
    ),
    ({"aks_dns_service_ip": "172.16.0.1"}, "aks_dns_service_ip", "172.16.0.1", "first address of aks_service_cidr"),
    ({"aks_dns_service_ip": "172.16.0.0"}, "aks_dns_service_ip", "172.16.0.0", "must not be the network"),
    # The DR landing zone in the paired region.
    (
        {"dr.address_space": "10.240.0.0/14"},
        "dr.address_space",
        "10.240.0.0/14",
        "overlaps hub.address_space 10.241.0.0/16",
    ),
    (
        {"dr.postgres.address_prefix": "10.242.4.0/24"},
        "dr.postgres.address_prefix",
        "10.242.4.0/24",
        "must lie inside the address space 10.243.0.0/16",
    ),
    (
        {"dr.aks_user.address_prefix": "10.243.3.0/24"},
        "dr.aks_user.address_prefix",
        "10.243.3.0/24",
        "overlaps private_endpoints.address_prefix 10.243.3.0/24",
    ),
    ({"dr.aks_system.name": "GatewaySubnet"}, "dr.aks_system.name", "GatewaySubnet", "reserved by Azure"),
    # Firewall settings.
    ({"firewall.idps_mode": "Block"}, "firewall.idps_mode", "Block", "'Alert' or 'Deny'"),
    ({"firewall.threat_intel_mode": "Off"}, "firewall.threat_intel_mode", "Off", "'Alert' or 'Deny'"),
    ({"firewall.zones": ["4"]}, "firewall.zones.0", "4", "'1', '2' or '3'"),
    (
        {"firewall.company_registry_fqdn": "https://registry"},
        "firewall.company_registry_fqdn",
        "https://registry",
        "pattern",
    ),
]


@pytest.mark.parametrize(
    ("changes", "key", "value", "expected"), BAD_INPUTS, ids=[f"{c[1]}={c[2]}" for c in BAD_INPUTS]
)
def test_bad_address_plan_is_reported_with_key_value_and_rule(
    raw_config: Callable[[str], dict[str, Any]], changes: dict[str, Any], key: str, value: str, expected: str
) -> None:
    data = raw_config("staging")
    for dotted, new_value in changes.items():
        set_key(data, f"network.{dotted}", new_value)
    with pytest.raises(ConfigError) as error:
        parse_environment(data, STAGING)
    message = str(error.value)
    assert f"  - network.{key}: {value!r} is not allowed: " in message, message
    assert expected in message, message


def test_both_environment_files_pass(raw_config: Callable[[str], dict[str, Any]]) -> None:
    for environment in ENVIRONMENTS:
        parse_environment(raw_config(environment), STAGING)


def test_overlapping_environments_are_rejected_naming_both_files(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "config"
    for name in ("base.toml", "staging.toml"):
        shutil.copy(source / name, tmp_path / name)
    # Production's hub moved onto staging's spoke range; each file is valid on its own.
    production = (source / "production.toml").read_text().replace('"10.251.', '"10.242.')
    (tmp_path / "production.toml").write_text(production)
    with pytest.raises(ConfigError) as error:
        load_all(tmp_path)
    message = str(error.value)
    assert f"{tmp_path / 'staging.toml'}: network.spoke.address_space 10.242.0.0/16 overlaps" in message, message
    assert f"{tmp_path / 'production.toml'}: network.hub.address_space 10.242.0.0/16" in message, message
    assert "environments need non-overlapping address plans" in message


def test_real_environments_do_not_overlap() -> None:
    assert [config.name for config in load_all()] == list(ENVIRONMENTS)
