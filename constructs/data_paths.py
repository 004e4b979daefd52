"""The network paths the platform needs through its NSGs: who talks to which endpoint, on which TCP ports.

Pure data, no cdktf import. Two readers, one list:

- `constructs/network.py` derives the spoke NSGs' inbound allow rules from it (one rule per path whose target
  lives in the spoke, sources taken from config: the deployment network's runners subnet, the node subnets);
- `tools/checks/deployability/network_paths.py` evaluates the *effective* NSG rules (priority order, service tags,
  peered ranges, Azure's default rules) on every such path it finds in the synthesized stacks, with the ports
  listed here.

Targets: `aks_api` (the API server's internal load balancer in the delegated subnet, API Server VNet
Integration), `key_vault`, `state` and `registry` (their private endpoints). Sources: `runners` (the
environment's deploy runners, bootstrap's deployment network), `nodes` (every AKS node pool subnet).
"""

from __future__ import annotations

from dataclasses import dataclass

# TCP ports nodes use towards an API server projected into their VNet: 443 and 4443, the two Microsoft lists for
# node subnet -> API server subnet in an NSG (learn.microsoft.com "API Server VNet Integration", network security
# groups).
API_SERVER_NODE_PORTS = ("443", "4443")
HTTPS = ("443",)


@dataclass(frozen=True)
class DataPath:
    source: str  # "runners" | "nodes"
    target: str  # "aks_api" | "key_vault" | "state" | "registry"
    ports: tuple[str, ...]
    why: str

    @property
    def rule_name(self) -> str:
        """The NSG rule that admits the path at its target (e.g. AllowRunnersToAksApiInbound)."""
        camel = "".join(part.capitalize() for part in self.target.split("_"))
        return f"Allow{self.source.capitalize()}To{camel}Inbound"


DATA_PATHS: tuple[DataPath, ...] = (
    DataPath("runners", "state", HTTPS, "Terraform's azurerm backend reads and leases the state blob"),
    DataPath("runners", "registry", HTTPS, "the runner job pulls its image through the registry's private endpoint"),
    DataPath("runners", "key_vault", HTTPS, "the infra stack writes keys and certificates through the data plane"),
    DataPath("runners", "aks_api", HTTPS, "the cluster stack's kubernetes provider talks to the private API server"),
    DataPath("nodes", "aks_api", API_SERVER_NODE_PORTS, "kubelet and the tunnel reach the VNet-integrated API server"),
)


def path(source: str, target: str) -> DataPath:
    [found] = [p for p in DATA_PATHS if p.source == source and p.target == target]
    return found
