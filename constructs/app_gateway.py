"""The platform's public entry: Application Gateway WAF_v2 (OWASP 3.2 + bot protection, Prevention mode)
terminating HTTPS and forwarding to the cluster's internal ingress load balancer.

The listener certificate is a Key Vault certificate that Key Vault itself issues and renews (self-signed or
from a CA issuer registered in the vault), so no certificate or password ever passes through Terraform.
The gateway reads it with its own user-assigned identity, allowed to read that one secret only, and
follows renewals through the versionless secret id.
"""

from __future__ import annotations

from dataclasses import dataclass

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
from constructs.interfaces import RUNNER, SERVICE_PRINCIPAL, RoleGrant, grant
from constructs.naming import Naming

# Azure's newest predefined TLS policy: TLS 1.2+ with strong ciphers only (checkov CKV_AZURE_218).
SSL_POLICY = "AppGwSslPolicy20220101S"
MANAGED_RULE_SETS = (("OWASP", "3.2"), ("Microsoft_BotManagerRuleSet", "1.0"))
CERTIFICATE_NAME = "app-gateway-https"
SERVER_AUTHENTICATION = "1.3.6.1.5.5.7.3.1"  # extended key usage of a TLS server certificate
# Names of the gateway's internal parts (they refer to each other by name).
FRONTEND_IP, HTTPS_PORT, LISTENER, BACKEND_POOL, BACKEND_SETTINGS, PROBE, GATEWAY_IP = (
    "public",
    "https",
    "https",
    "ingress",
    "ingress-http",
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
    key_vault_id: str  # holds the listener certificate (RBAC-authorized vault)
    # The deploy (apply) identity that creates the certificate; None: whoever runs Terraform (local runs).
    certificate_administrator_principal_id: str | None = None


class AppGateway(Construct):
    """Exposes `gateway_id`, `public_ip_address`, `waf_policy_id` and `certificate_secret_id`."""

    def __init__(self, scope: Construct, id: str, *, props: AppGatewayProps) -> None:
        super().__init__(scope, id)
        config, naming = props.config, props.naming
        certificate = self._certificate(props)
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
            # TLS ends here; the hop to the internal ingress stays inside the spoke VNet.
            backend_http_settings=[
                ApplicationGatewayBackendHttpSettings(
                    name=BACKEND_SETTINGS,
                    port=80,
                    protocol="Http",
                    cookie_based_affinity="Disabled",
                    request_timeout=60,
                    host_name=config.host_name,
                    probe_name=PROBE,
                )
            ],
            probe=[
                ApplicationGatewayProbe(
                    name=PROBE,
                    protocol="Http",
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
            depends_on=[certificate_reader],
        )
        self.gateway_id = self.gateway.id
        self.public_ip_address = public_ip.ip_address
        self.waf_policy_id = self.waf_policy.id
        self.certificate_secret_id = certificate.versionless_secret_id

    def _certificate(self, props: AppGatewayProps) -> KeyVaultCertificate:
        """The listener certificate, issued and auto-renewed by Key Vault (Terraform needs Certificates Officer)."""
        config = props.config
        administrator = props.certificate_administrator_principal_id
        certificate_admin = grant(
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
        return KeyVaultCertificate(
            self,
            "certificate",
            name=CERTIFICATE_NAME,
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
                    subject=f"CN={config.host_name}",
                    subject_alternative_names=SubjectAlternativeNames(dns_names=[config.host_name]),
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
            depends_on=[certificate_admin],
        )
