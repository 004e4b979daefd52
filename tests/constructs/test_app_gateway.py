"""The Application Gateway of each environment: WAF_v2 with a Prevention-mode policy, zones and autoscale
from config, HTTPS only with a Key Vault-issued certificate read by the gateway's own identity."""

from __future__ import annotations

import copy

import pytest

from config.schema import EnvironmentConfig
from constructs.app_gateway import SELF_ISSUER, SSL_POLICY
from tests.conftest import StackJson, only_resource, resources_of, waited_dependencies
from tests.constructs.services_stacks import HUB, KEY_VAULT_ID, SPOKE, SUBNET_IDS, ref

GATEWAY = "azurerm_application_gateway"
POLICY = "azurerm_web_application_firewall_policy"
CERTIFICATE = "azurerm_key_vault_certificate"


def test_gateway_is_waf_v2_zonal_and_autoscaled_from_config(services: StackJson, config: EnvironmentConfig) -> None:
    gateway = only_resource(services, GATEWAY)
    settings = config.app_gateway
    assert gateway["sku"] == {"name": "WAF_v2", "tier": "WAF_v2"}
    assert "capacity" not in gateway["sku"]
    assert gateway["zones"] == list(settings.zones)
    assert gateway["autoscale_configuration"] == {
        "min_capacity": settings.min_capacity,
        "max_capacity": settings.max_capacity,
    }
    assert gateway["gateway_ip_configuration"] == [{"name": "gateway-subnet", "subnet_id": SUBNET_IDS["app_gateway"]}]
    if config.name == "production":
        assert gateway["zones"] == ["1", "2", "3"] and settings.min_capacity >= 2


def test_waf_policy_blocks_with_owasp_rules_and_inspects_bodies(services: StackJson, config: EnvironmentConfig) -> None:
    gateway = only_resource(services, GATEWAY)
    policy = only_resource(services, POLICY)
    assert gateway["firewall_policy_id"] == ref(services, POLICY, "/app-gateway/waf-policy")
    assert gateway["force_firewall_policy_association"] is True
    settings = policy["policy_settings"]
    assert settings["enabled"] is True and settings["mode"] == config.app_gateway.waf_mode
    if config.name == "production":
        assert settings["mode"] == "Prevention"
    assert settings["request_body_check"] is True and settings["request_body_enforcement"] is True
    rule_sets = {(rule["type"], rule["version"]) for rule in policy["managed_rules"]["managed_rule_set"]}
    assert ("OWASP", "3.2") in rule_sets
    assert not any(rule.get("rule_group_override") for rule in policy["managed_rules"]["managed_rule_set"])


def test_public_ip_is_standard_static_in_the_gateway_zones(services: StackJson, config: EnvironmentConfig) -> None:
    gateway = only_resource(services, GATEWAY)
    public_ip = ref(services, "azurerm_public_ip", "/app-gateway/public-ip")
    assert gateway["frontend_ip_configuration"] == [{"name": "public", "public_ip_address_id": public_ip}]
    (address,) = [body for body in resources_of(services, "azurerm_public_ip").values()]
    assert (address["sku"], address["allocation_method"]) == ("Standard", "Static")
    assert address["zones"] == list(config.app_gateway.zones)


def test_only_https_with_the_key_vault_certificate_and_a_modern_tls_policy(services: StackJson) -> None:
    gateway = only_resource(services, GATEWAY)
    certificate = ref(services, CERTIFICATE, "/app-gateway/certificate", "versionless_secret_id")
    assert gateway["frontend_port"] == [{"name": "https", "port": 443}]
    assert [listener["protocol"] for listener in gateway["http_listener"]] == ["Https"]
    (listener,) = gateway["http_listener"]
    (tls,) = gateway["ssl_certificate"]
    assert tls == {"name": listener["ssl_certificate_name"], "key_vault_secret_id": certificate}
    assert "data" not in tls and "password" not in tls
    assert gateway["ssl_policy"] == {"policy_type": "Predefined", "policy_name": SSL_POLICY}
    assert gateway["identity"] == {
        "type": "UserAssigned",
        "identity_ids": [ref(services, "azurerm_user_assigned_identity", "/app-gateway/identity")],
    }


def test_traffic_goes_to_the_internal_ingress_with_a_health_probe(
    services: StackJson, config: EnvironmentConfig
) -> None:
    gateway = only_resource(services, GATEWAY)
    settings = config.app_gateway
    (pool,) = gateway["backend_address_pool"]
    assert pool["ip_addresses"] == [settings.ingress_ip_address]
    (backend,) = gateway["backend_http_settings"]
    assert backend["host_name"] == settings.backend_host_name
    (probe,) = gateway["probe"]
    assert backend["probe_name"] == probe["name"] and probe["path"] == settings.health_probe_path
    (rule,) = gateway["request_routing_rule"]
    assert (rule["http_listener_name"], rule["backend_address_pool_name"], rule["backend_http_settings_name"]) == (
        gateway["http_listener"][0]["name"],
        pool["name"],
        backend["name"],
    )


@pytest.mark.parametrize(
    "path, host_key",
    [("/app-gateway/certificate", "host_name"), ("/app-gateway/backend-certificate", "backend_host_name")],
)
def test_key_vault_issues_and_renews_the_certificate(
    services: StackJson, config: EnvironmentConfig, path: str, host_key: str
) -> None:
    (certificate,) = [
        body for body in resources_of(services, CERTIFICATE).values() if body["//"]["metadata"]["path"].endswith(path)
    ]
    policy = certificate["certificate_policy"]
    host = getattr(config.app_gateway, host_key)
    assert certificate["key_vault_id"] == KEY_VAULT_ID
    assert "certificate" not in certificate  # nothing imported: no key material in the configuration
    assert policy["issuer_parameters"] == {"name": config.app_gateway.certificate_issuer}
    assert policy["x509_certificate_properties"]["subject"] == f"CN={host}"
    assert policy["x509_certificate_properties"]["subject_alternative_names"] == {"dns_names": [host]}
    assert policy["key_properties"]["exportable"] is True
    assert [action["action"]["action_type"] for action in policy["lifetime_action"]] == ["AutoRenew"]


def test_each_principal_gets_the_narrowest_key_vault_role(services: StackJson) -> None:
    grants = {
        body["//"]["metadata"]["path"].rsplit("/", 1)[1]: (address, body)
        for address, body in resources_of(services, "azurerm_role_assignment").items()
        if "/app-gateway/" in body["//"]["metadata"]["path"]
    }
    reader_address, reader = grants["certificate-reader"]
    # The certificate's secret only; the reference also waits for the certificate (the scope must exist).
    assert reader["scope"] == f"{KEY_VAULT_ID}/secrets/" + ref(
        services, CERTIFICATE, "/app-gateway/certificate", "name"
    )
    assert reader["role_definition_name"] == "Key Vault Secrets User"
    assert reader["principal_id"] == ref(
        services, "azurerm_user_assigned_identity", "/app-gateway/identity", "principal_id"
    )
    readers = [f"azurerm_role_assignment.{reader_address}"]
    if "backend-root-reader" in grants:  # self-signed backend: its versionless secret is the gateway's trusted root
        root_address, root_reader = grants["backend-root-reader"]
        assert root_reader["scope"] == f"{KEY_VAULT_ID}/secrets/" + ref(
            services, CERTIFICATE, "/app-gateway/backend-certificate", "name"
        )
        assert (root_reader["role_definition_name"], root_reader["principal_id"]) == (
            "Key Vault Secrets User",
            reader["principal_id"],
        )
        readers.append(f"azurerm_role_assignment.{root_address}")
    assert waited_dependencies(services, only_resource(services, GATEWAY)) == readers
    admin_address, admin = grants["terraform-runner-certificate-admin"]
    assert (admin["scope"], admin["role_definition_name"]) == (KEY_VAULT_ID, "Key Vault Certificates Officer")
    certificates = resources_of(services, CERTIFICATE).values()
    assert len(certificates) == 2
    assert all(waited_dependencies(services, c) == [f"azurerm_role_assignment.{admin_address}"] for c in certificates)
    _, ingress_reader = grants["ingress-certificate-reader"]
    assert ingress_reader["scope"] == f"{KEY_VAULT_ID}/secrets/" + ref(
        services, CERTIFICATE, "/app-gateway/backend-certificate", "name"
    )
    assert ingress_reader["role_definition_name"] == "Key Vault Secrets User"
    assert ingress_reader["principal_id"] == (
        "${azurerm_kubernetes_cluster."
        + next(iter(resources_of(services, "azurerm_kubernetes_cluster")))
        + ".web_app_routing[0].web_app_routing_identity[0].object_id}"
    )


def test_infrastructure_stack_puts_the_gateway_in_its_subnet_with_the_data_vault(
    stacks: dict[str, StackJson], environment: str
) -> None:
    infra = stacks[f"{environment}-infra"]
    gateway = only_resource(infra, GATEWAY)
    (subnet_address,) = [
        address
        for address, body in resources_of(infra, "azurerm_subnet").items()
        if body["//"]["metadata"]["path"].endswith("/spoke-app_gateway-subnet")
    ]
    assert gateway["gateway_ip_configuration"][0]["subnet_id"] == f"${{azurerm_subnet.{subnet_address}.id}}"
    vault = ref(infra, "azurerm_key_vault", "/data/key-vault/vault")
    assert [c["key_vault_id"] for c in resources_of(infra, CERTIFICATE).values()] == [vault, vault]


def backend_tls_problems(gateway: dict, backend_secret_id: str, issuer: str) -> list[str]:
    """Why the gateway → ingress hop is not verifiable HTTPS (empty: it is)."""
    problems = []
    for backend in gateway["backend_http_settings"]:
        if (backend["protocol"], backend["port"]) != ("Https", 443):
            problems.append(f"backend {backend['name']}: {backend['protocol']}:{backend['port']}, not Https:443")
        roots = {root["name"]: root for root in gateway.get("trusted_root_certificate", [])}
        names = backend.get("trusted_root_certificate_names", [])
        # The versionless secret: the trust follows Key Vault's renewals of the self-signed certificate.
        trusted = [roots.get(name, {}).get("key_vault_secret_id") for name in names]
        if issuer == SELF_ISSUER and trusted != [backend_secret_id]:
            problems.append(f"backend {backend['name']}: the self-signed ingress certificate is not its trusted root")
    problems += [f"probe {p['name']}: {p['protocol']}" for p in gateway["probe"] if p["protocol"] != "Https"]
    return problems


def test_the_gateway_reaches_the_ingress_over_https_with_a_trusted_root(
    services: StackJson, config: EnvironmentConfig
) -> None:
    gateway = only_resource(services, GATEWAY)
    data = ref(services, CERTIFICATE, "/app-gateway/backend-certificate", "versionless_secret_id")
    assert backend_tls_problems(gateway, data, config.app_gateway.certificate_issuer) == []
    # Failing examples: the former plain-HTTP hop, and a self-signed backend without its trusted root.
    plain = copy.deepcopy(gateway)
    plain["backend_http_settings"][0].update(protocol="Http", port=80)
    plain["probe"][0]["protocol"] = "Http"
    assert len(backend_tls_problems(plain, data, config.app_gateway.certificate_issuer)) == 2
    untrusted = copy.deepcopy(gateway)
    untrusted["backend_http_settings"][0].pop("trusted_root_certificate_names", None)
    assert backend_tls_problems(untrusted, data, SELF_ISSUER) != []
    # The first version's public data as trusted root: the renewed certificate would not be trusted (502).
    pinned = copy.deepcopy(gateway)
    for root in pinned.get("trusted_root_certificate", []):
        root.pop("key_vault_secret_id")
        root["data"] = ref(services, CERTIFICATE, "/app-gateway/backend-certificate", "certificate_data_base64")
    if config.app_gateway.certificate_issuer == SELF_ISSUER:
        assert backend_tls_problems(pinned, data, SELF_ISSUER) != []


def test_the_backend_host_resolves_to_the_ingress_in_a_private_zone_linked_to_both_vnets(
    services: StackJson, config: EnvironmentConfig
) -> None:
    settings = config.app_gateway
    (zone,) = [
        z for z in resources_of(services, "azurerm_private_dns_zone").values() if z["name"] == settings.backend_dns_zone
    ]
    assert settings.backend_host_name == f"{settings.backend_record_name}.{zone['name']}"
    (record,) = resources_of(services, "azurerm_private_dns_a_record").values()
    assert record["name"] == settings.backend_record_name and record["records"] == [settings.ingress_ip_address]
    assert record["zone_name"] == ref(services, "azurerm_private_dns_zone", "/app-gateway/backend-dns-zone", "name")
    links = [
        link
        for link in resources_of(services, "azurerm_private_dns_zone_virtual_network_link").values()
        if "/app-gateway/" in link["//"]["metadata"]["path"]
    ]
    assert sorted(link["virtual_network_id"] for link in links) == sorted([HUB, SPOKE])
    assert all(link["registration_enabled"] is False for link in links)


def test_the_cluster_runs_the_application_routing_add_on_without_a_public_default_controller(
    services: StackJson,
) -> None:
    cluster = only_resource(services, "azurerm_kubernetes_cluster")
    assert cluster["web_app_routing"] == {"default_nginx_controller": "None", "dns_zone_ids": []}
