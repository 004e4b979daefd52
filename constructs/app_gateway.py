"""The platform's public entry: Application Gateway WAF_v2 (OWASP 3.2 + bot protection, Prevention mode)
terminating HTTPS and forwarding over HTTPS to the cluster's internal ingress load balancer.

The ingress is the AKS application routing add-on's NGINX (cluster stack: an internal load balancer at
`ingress_ip_address`); it serves a second Key Vault certificate, issued for `backend_host_name`, which the
add-on's identity reads from the vault. The gateway sends that name as host header and SNI and checks
the certificate: against its own public certificate as trusted root when Key Vault self-signs it
(`certificate_issuer = "Self"`), against the well-known CAs App Gateway v2 trusts when a CA issues it.
A private DNS zone for the backend host's parent domain, linked to hub and spoke, resolves the name.

The listener certificate is a Key Vault certificate that Key Vault itself issues and renews (self-signed or
from a CA issuer registered in the vault), so no certificate or password ever passes through Terraform.
The gateway reads it with its own user-assigned identity, allowed to read that one secret only, and
follows renewals through the versionless secret id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable, TerraformResource
from cdktf_cdktf_provider_azurerm.application_gateway import (
    ApplicationGateway,
    ApplicationGatewayAutoscaleConfiguration,
    ApplicationGatewayBackendAddressPool,
    ApplicationGatewayBackendHttpSettings,
    ApplicationGatewayFrontendIpConfiguration,
    ApplicationGatewayFrontendPort,
    ApplicationGatewayGatewayIpConfiguration,
    ApplicationGatewayHttpListener,
    ApplicationGatewayIdentity,
    ApplicationGatewayProbe,
    ApplicationGatewayRequestRoutingRule,
    ApplicationGatewaySku,
    ApplicationGatewaySslCertificate,
    ApplicationGatewaySslPolicy,
    ApplicationGatewayTrustedRootCertificate,
)
from cdktf_cdktf_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktf_cdktf_provider_azurerm.key_vault_certificate import (
    KeyVaultCertificate,
    KeyVaultCertificateCertificatePolicy,
    KeyVaultCertificateCertificatePolicyIssuerParameters,
    KeyVaultCertificateCertificatePolicyKeyProperties,
    KeyVaultCertificateCertificatePolicyLifetimeAction,
    KeyVaultCertificateCertificatePolicyLifetimeActionAction,
    KeyVaultCertificateCertificatePolicyLifetimeActionTrigger,
    KeyVaultCertificateCertificatePolicySecretProperties,
    KeyVaultCertificateCertificatePolicyX509CertificateProperties,
)
from cdktf_cdktf_provider_azurerm.key_vault_certificate import (
    KeyVaultCertificateCertificatePolicyX509CertificatePropertiesSubjectAlternativeNames as SubjectAlternativeNames,
)
from cdktf_cdktf_provider_azurerm.private_dns_a_record import PrivateDnsARecord
from cdktf_cdktf_provider_azurerm.private_dns_zone import PrivateDnsZone
from cdktf_cdktf_provider_azurerm.public_ip import PublicIp
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from cdktf_cdktf_provider_azurerm.web_application_firewall_policy import (
    WebApplicationFirewallPolicy,
    WebApplicationFirewallPolicyManagedRules,
    WebApplicationFirewallPolicyManagedRulesManagedRuleSet,
    WebApplicationFirewallPolicyPolicySettings,
)

from config.services import AppGatewayConfig
from constructs import Construct
from constructs.interfaces import (
    RUNNER,
    SERVICE_PRINCIPAL,
    DiagnosticsSink,
    RoleGrant,
    after_access,
    diagnostics,
    grant,
)
from constructs.naming import Naming
from constructs.private_endpoint import PrivateEndpoint, data_plane_path, link_private_dns_zone

# Azure's newest predefined TLS policy: TLS 1.2+ with strong ciphers only (checkov CKV_AZURE_218).
SSL_POLICY = "AppGwSslPolicy20220101S"
MANAGED_RULE_SETS = (("OWASP", "3.2"), ("Microsoft_BotManagerRuleSet", "1.0"))
CERTIFICATE_NAME = "app-gateway-https"
BACKEND_CERTIFICATE_NAME = "ingress-https"  # served by the ingress controller for backend_host_name
BACKEND_ROOT = "ingress-root"
SELF_ISSUER = "Self"
SERVER_AUTHENTICATION = "1.3.6.1.5.5.7.3.1"  # extended key usage of a TLS server certificate
# Names of the gateway's internal parts (they refer to each other by name).
FRONTEND_IP, HTTPS_PORT, LISTENER, BACKEND_POOL, BACKEND_SETTINGS, PROBE, GATEWAY_IP = (
    "public",
    "https",
    "https",
    "ingress",
    "ingress-https",
    "ingress-health",
    "gateway-subnet",
)


@dataclass(frozen=True)
class AppGatewayProps:
    config: AppGatewayConfig
    naming: Naming
    location: str
    resource_group_name: str
    subnet_id: str  # the dedicated app_gateway subnet
    key_vault_id: str  # holds the listener and backend certificates (RBAC-authorized vault)
    ingress_identity_principal_id: str  # the application routing add-on's identity reads the backend certificate
    dns_vnet_ids: Mapping[str, str]  # VNets (key → id) linked to the backend host's private DNS zone
    diagnostics: DiagnosticsSink  # where the diagnostic settings of its resources send (the workspace)
    # The deploy (apply) identity that creates the certificates; None: whoever runs Terraform (local runs).
    certificate_administrator_principal_id: str | None = None


class AppGateway(Construct):
    """Exposes `gateway_id`, `public_ip_address`, `public_ip_id`, `backend_dns_zone_id`, `waf_policy_id`,
    `certificate_secret_id` and `backend_certificate_uri` (versionless Key Vault certificate URI the ingress
    controller serves). Call `writes_after()` with the certificates' vault endpoint and the runner's network path
    once they exist."""

    def __init__(self, scope: Construct, id: str, *, props: AppGatewayProps) -> None:
        super().__init__(scope, id)
        config, naming = props.config, props.naming
        certificate_admin = self._certificate_admin(props)
        certificate = self._certificate("certificate", CERTIFICATE_NAME, config.host_name, props, certificate_admin)
        backend_certificate = self._certificate(
            "backend-certificate", BACKEND_CERTIFICATE_NAME, config.backend_host_name, props, certificate_admin
        )
        self._data_plane_writes = (certificate, backend_certificate)
        grant(
            self,
            "ingress-certificate-reader",
            RoleGrant(
                f"{props.key_vault_id}/secrets/{backend_certificate.name}",
                "Key Vault Secrets User",
                props.ingress_identity_principal_id,
                "The application routing add-on's NGINX serves the backend certificate to the gateway",
            ),
        )
        self._backend_dns(props)
        self_signed = config.certificate_issuer == SELF_ISSUER
        identity = UserAssignedIdentity(
            self,
            "identity",
            name=naming.name("app-agw", "id"),
            location=props.location,
            resource_group_name=props.resource_group_name,
        )
        certificate_reader = grant(
            self,
            "certificate-reader",
            RoleGrant(
                # The certificate's secret only (Key Vault RBAC accepts a single secret as scope).
                f"{props.key_vault_id}/secrets/{certificate.name}",
                "Key Vault Secrets User",
                identity.principal_id,
                "The Application Gateway reads its HTTPS listener certificate",
            ),
        )
        readers = [certificate_reader]
        if self_signed:  # the gateway reads the backend certificate's secret too: its trusted root follows renewals
            readers.append(
                grant(
                    self,
                    "backend-root-reader",
                    RoleGrant(
                        f"{props.key_vault_id}/secrets/{backend_certificate.name}",
                        "Key Vault Secrets User",
                        identity.principal_id,
                        "The Application Gateway trusts the ingress's self-signed certificate, renewed by Key Vault",
                    ),
                )
            )
        self.waf_policy = WebApplicationFirewallPolicy(
            self,
            "waf-policy",
            name=naming.name("app", "waf"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            policy_settings=WebApplicationFirewallPolicyPolicySettings(
                enabled=True,
                mode=config.waf_mode,
                request_body_check=True,
                request_body_enforcement=True,
                max_request_body_size_in_kb=128,
                file_upload_limit_in_mb=100,
            ),
            managed_rules=WebApplicationFirewallPolicyManagedRules(
                managed_rule_set=[
                    WebApplicationFirewallPolicyManagedRulesManagedRuleSet(type=rule_set, version=version)
                    for rule_set, version in MANAGED_RULE_SETS
                ]
            ),
        )
        public_ip = PublicIp(
            self,
            "public-ip",
            name=naming.name("app-agw", "pip"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            allocation_method="Static",
            sku="Standard",
            zones=list(config.zones),
        )
        self.gateway = ApplicationGateway(
            self,
            "gateway",
            name=naming.name("app", "agw"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            zones=list(config.zones),
            sku=ApplicationGatewaySku(name="WAF_v2", tier="WAF_v2"),
            autoscale_configuration=ApplicationGatewayAutoscaleConfiguration(
                min_capacity=config.min_capacity, max_capacity=config.max_capacity
            ),
            firewall_policy_id=self.waf_policy.id,
            force_firewall_policy_association=True,
            enable_http2=True,
            identity=ApplicationGatewayIdentity(type="UserAssigned", identity_ids=[identity.id]),
            ssl_policy=ApplicationGatewaySslPolicy(policy_type="Predefined", policy_name=SSL_POLICY),
            gateway_ip_configuration=[
                ApplicationGatewayGatewayIpConfiguration(name=GATEWAY_IP, subnet_id=props.subnet_id)
            ],
            frontend_ip_configuration=[
                ApplicationGatewayFrontendIpConfiguration(name=FRONTEND_IP, public_ip_address_id=public_ip.id)
            ],
            # HTTPS only: the subnet's NSG admits 443 from the internet and nothing on 80.
            frontend_port=[ApplicationGatewayFrontendPort(name=HTTPS_PORT, port=443)],
            ssl_certificate=[
                ApplicationGatewaySslCertificate(
                    name=CERTIFICATE_NAME, key_vault_secret_id=certificate.versionless_secret_id
                )
            ],
            http_listener=[
                ApplicationGatewayHttpListener(
                    name=LISTENER,
                    frontend_ip_configuration_name=FRONTEND_IP,
                    frontend_port_name=HTTPS_PORT,
                    protocol="Https",
                    ssl_certificate_name=CERTIFICATE_NAME,
                )
            ],
            backend_address_pool=[
                ApplicationGatewayBackendAddressPool(name=BACKEND_POOL, ip_addresses=[config.ingress_ip_address])
            ],
            # Encrypted to the ingress too (Story 0.1.5): HTTPS with the backend host as host header and SNI,
            # its certificate checked against the trusted root (self-signed) or the well-known CAs.
            # The trusted root is the backend certificate's versionless secret: Key Vault renews the self-signed
            # certificate every year (a new key, `reuse_key = False`) and the gateway follows the new version like
            # its listener certificate, so the ingress's renewed certificate stays trusted (a pinned copy of the
            # first version's public data would leave 502s at the edge from the renewal to the next apply).
            trusted_root_certificate=[
                ApplicationGatewayTrustedRootCertificate(
                    name=BACKEND_ROOT, key_vault_secret_id=backend_certificate.versionless_secret_id
                )
            ]
            if self_signed
            else None,
            backend_http_settings=[
                ApplicationGatewayBackendHttpSettings(
                    name=BACKEND_SETTINGS,
                    port=443,
                    protocol="Https",
                    cookie_based_affinity="Disabled",
                    request_timeout=60,
                    host_name=config.backend_host_name,
                    trusted_root_certificate_names=[BACKEND_ROOT] if self_signed else None,
                    probe_name=PROBE,
                )
            ],
            probe=[
                ApplicationGatewayProbe(
                    name=PROBE,
                    protocol="Https",
                    path=config.health_probe_path,
                    interval=30,
                    timeout=30,
                    unhealthy_threshold=3,
                    pick_host_name_from_backend_http_settings=True,
                )
            ],
            request_routing_rule=[
                ApplicationGatewayRequestRoutingRule(
                    name="https-to-ingress",
                    rule_type="Basic",
                    priority=100,
                    http_listener_name=LISTENER,
                    backend_address_pool_name=BACKEND_POOL,
                    backend_http_settings_name=BACKEND_SETTINGS,
                )
            ],
            depends_on=after_access(self, "rbac-wait", readers),
        )
        diagnostics(self, "diagnostics", self.gateway, props.diagnostics)
        diagnostics(self, "public-ip-diagnostics", public_ip, props.diagnostics)
        self.gateway_id = self.gateway.id
        self.public_ip_address = public_ip.ip_address
        self.public_ip_id = public_ip.id
        self.waf_policy_id = self.waf_policy.id
        self.certificate_secret_id = certificate.versionless_secret_id
        self.backend_certificate_uri = backend_certificate.versionless_id

    def _backend_dns(self, props: AppGatewayProps) -> None:
        """`<backend host>` A → the ingress IP, in a private zone of its parent domain linked to the VNets."""
        config = props.config
        zone = PrivateDnsZone(
            self, "backend-dns-zone", name=config.backend_dns_zone, resource_group_name=props.resource_group_name
        )
        zone_name = zone.name
        self.backend_dns_zone_id = zone.id
        PrivateDnsARecord(
            self,
            "backend-dns-record",
            name=config.backend_record_name,
            zone_name=zone_name,
            resource_group_name=props.resource_group_name,
            ttl=300,
            records=[config.ingress_ip_address],
        )
        for vnet_key, vnet_id in sorted(props.dns_vnet_ids.items()):
            link_private_dns_zone(
                self,
                f"backend-dns-{vnet_key}",
                zone_name=zone_name,
                resource_group_name=props.resource_group_name,
                link_name=f"{vnet_key}-link",
                virtual_network_id=vnet_id,
            )

    def writes_after(self, vault_endpoint: PrivateEndpoint, network_path: Sequence[TerraformResource]) -> None:
        """Terraform writes the certificates through the vault's private data plane: each waits for the vault's
        endpoint and the runner's network path to it (`data_plane_path`)."""
        for certificate in self._data_plane_writes:
            certificate.depends_on = [
                *(certificate.depends_on or []),
                *data_plane_path(vault_endpoint, network_path),
            ]

    def _certificate_admin(self, props: AppGatewayProps) -> list[ITerraformDependable]:
        administrator = props.certificate_administrator_principal_id
        admin = grant(
            self,
            "terraform-runner-certificate-admin",
            RoleGrant(
                props.key_vault_id,
                "Key Vault Certificates Officer",
                administrator or DataAzurermClientConfig(self, "terraform-runner").object_id,
                "Terraform creates the Application Gateway's listener certificate",
                principal_type=SERVICE_PRINCIPAL if administrator else RUNNER,
            ),
        )
        return after_access(self, "certificate-admin-wait", [admin])

    def _certificate(
        self, id: str, name: str, host_name: str, props: AppGatewayProps, certificate_admin: list[ITerraformDependable]
    ) -> KeyVaultCertificate:
        """A TLS server certificate for `host_name`, issued and auto-renewed by Key Vault (Terraform needs
        Certificates Officer)."""
        config = props.config
        return KeyVaultCertificate(
            self,
            id,
            name=name,
            key_vault_id=props.key_vault_id,
            certificate_policy=KeyVaultCertificateCertificatePolicy(
                issuer_parameters=KeyVaultCertificateCertificatePolicyIssuerParameters(name=config.certificate_issuer),
                # The gateway loads the PFX (key included) from the certificate's secret, so it must be exportable.
                key_properties=KeyVaultCertificateCertificatePolicyKeyProperties(
                    exportable=True, key_type="RSA", key_size=2048, reuse_key=False
                ),
                secret_properties=KeyVaultCertificateCertificatePolicySecretProperties(
                    content_type="application/x-pkcs12"
                ),
                x509_certificate_properties=KeyVaultCertificateCertificatePolicyX509CertificateProperties(
                    subject=f"CN={host_name}",
                    subject_alternative_names=SubjectAlternativeNames(dns_names=[host_name]),
                    key_usage=["digitalSignature", "keyEncipherment"],
                    extended_key_usage=[SERVER_AUTHENTICATION],
                    validity_in_months=12,
                ),
                lifetime_action=[
                    KeyVaultCertificateCertificatePolicyLifetimeAction(
                        action=KeyVaultCertificateCertificatePolicyLifetimeActionAction(action_type="AutoRenew"),
                        trigger=KeyVaultCertificateCertificatePolicyLifetimeActionTrigger(days_before_expiry=30),
                    )
                ],
            ),
            depends_on=certificate_admin,
        )
