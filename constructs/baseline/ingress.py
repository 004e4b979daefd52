"""The ingress behind the Application Gateway: a managed NGINX of the AKS application routing add-on.

The add-on (infra stack, `web_app_routing` with no default controller) runs the operator and owns the
`NginxIngressController` custom resource definition. This construct declares one controller:

- an **internal** Azure load balancer at the gateway's backend address (`ingress_ip_address`) in the user
  node subnet, so the App Gateway's backend pool answers;
- HTTPS with the Key Vault certificate issued for `backend_host_name` as the default certificate (the
  add-on's identity reads it from the vault and follows renewals), so the gateway → ingress hop is
  encrypted and verifiable.

It is a custom resource, so it is a `kubernetes_manifest`: the provider reads the CRD's schema from the
API server at plan time. The CRD exists once the infra stack has enabled the add-on, which the stack order
(infra applied before the cluster stack is planned) guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_kubernetes.manifest import Manifest

from constructs import Construct

API_VERSION = "approuting.kubernetes.azure.com/v1alpha1"
KIND = "NginxIngressController"
CONTROLLER_NAME = "platform-internal"  # also its IngressClass: applications set ingressClassName to it
# The add-on runs every NGINX it manages in this namespace (fixed by AKS).
INGRESS_NAMESPACE = "app-routing-system"
INTERNAL_LB = "service.beta.kubernetes.io/azure-load-balancer-internal"
LB_IP = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
LB_SUBNET = "service.beta.kubernetes.io/azure-load-balancer-internal-subnet"


@dataclass(frozen=True)
class IngressControllerProps:
    ip_address: str  # the App Gateway's backend address (config app_gateway.ingress_ip_address)
    subnet_name: str  # the node subnet that address belongs to
    certificate_uri: str  # versionless Key Vault certificate URI for the backend host
    min_replicas: int = 2  # one per zone at least for two zones; the add-on scales up from here


class IngressController(Construct):
    """Exposes `ingress_class_name` and `namespace` (where the NGINX pods run)."""

    def __init__(self, scope: Construct, id: str, *, props: IngressControllerProps) -> None:
        super().__init__(scope, id)
        self.controller = Manifest(
            self,
            "controller",
            manifest={
                "apiVersion": API_VERSION,
                "kind": KIND,
                "metadata": {"name": CONTROLLER_NAME},
                "spec": {
                    "ingressClassName": CONTROLLER_NAME,
                    "controllerNamePrefix": "nginx-internal",
                    "loadBalancerAnnotations": {
                        INTERNAL_LB: "true",
                        LB_IP: props.ip_address,
                        LB_SUBNET: props.subnet_name,
                    },
                    "defaultSSLCertificate": {"keyVaultURI": props.certificate_uri},
                    "scaling": {"minReplicas": props.min_replicas},
                },
            },
        )
        self.ingress_class_name = CONTROLLER_NAME
        self.namespace = INGRESS_NAMESPACE
