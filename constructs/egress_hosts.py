"""What the deploy runners may reach on the internet: the ONE allow list, a host name and a reason per entry.

Pure data, no cdktf import: the runners' Azure Firewall Basic turns it into application rules
(constructs/runner_egress.py), tools/checks/deployability/egress.py checks the synthesized policy allows every
entry (and no `*`), and docs/zero-to-running.md and the handbook print it (`python -m constructs.egress_hosts`
prints the Markdown table).

Compared with the anchor, Azure/terraform-azurerm-avm-ptn-cicd-agents-and-runners (2f828c1, 2026-08-21): its
private-networking mode sends the runners' egress through a NAT gateway, unfiltered, and the module carries no host
list, so it adds no entry here; the Container Apps platform's own hosts below are Microsoft's list for Container Apps
behind Azure Firewall (issue #27 checked it against the module and found nothing missing).

Everything else a runner talks to is private and never reaches the firewall: the state account and the runner
image registry through private endpoints in the deployment network, the Key Vaults and the AKS API through the
spoke's private endpoints over the peering.
"""

from __future__ import annotations

from dataclasses import dataclass

HTTPS_PORT = 443


@dataclass(frozen=True)
class EgressHost:
    fqdn: str  # a host name, or `*.` + a domain (Azure Firewall matches the wildcard on any subdomain)
    group: str  # the application rule it lands in (one rule per group)
    why: str  # who needs it: a workflow step, the runner, or the platform under the job


GITHUB = "GitHub"
PACKAGES = "PackageSources"
AZURE = "AzureControlPlane"
PLATFORM = "ContainerAppsPlatform"

# GitHub: docs.github.com "Self-hosted runners reference", Communication; the package sources: what
# scripts/setup and the actions of .github/actions/terraform-azure download; Azure: what azurerm, az and kubelogin
# call; Container Apps: learn.microsoft.com "Integrate with Azure Firewall" (Container Apps), application rules.
RUNNER_EGRESS: tuple[EgressHost, ...] = (
    EgressHost("github.com", GITHUB, "runner registration and job messages; actions/checkout (git over HTTPS)"),
    EgressHost(
        "api.github.com",
        GITHUB,
        "REST API: the KEDA github-runner scaler's queue polling, the GitHub App's just-in-time runner configuration, "
        "artifact and cache metadata",
    ),
    EgressHost(
        "*.actions.githubusercontent.com",
        GITHUB,
        "Actions service (broker, pipelines, action downloads at pkg.actions...) and the OIDC issuer "
        "token.actions.githubusercontent.com that azure/login exchanges for an Entra token",
    ),
    EgressHost(
        "results-receiver.actions.githubusercontent.com",
        GITHUB,
        "job logs, step summaries and artifacts (the saved plan between plan and apply); GitHub lists it apart",
    ),
    EgressHost("codeload.github.com", GITHUB, "the archives of the actions a workflow `uses:`"),
    EgressHost(
        "*.blob.core.windows.net",
        GITHUB,
        "GitHub's own storage for logs, summaries, artifacts and caches: GitHub requires it and publishes no "
        "account names (a wildcard over every storage account: the one broad entry; our state account resolves to "
        "its private endpoint and never reaches the firewall)",
    ),
    EgressHost(
        "objects.githubusercontent.com",
        GITHUB,
        "GitHub release downloads (kubelogin for Azure/use-kubelogin, Python builds for setup-python, runner updates)",
    ),
    EgressHost(
        "release-assets.githubusercontent.com",
        GITHUB,
        "where github.com/<owner>/<repo>/releases/download redirects now (as objects.githubusercontent.com)",
    ),
    EgressHost("raw.githubusercontent.com", GITHUB, "setup-python's versions manifest (actions/python-versions)"),
    EgressHost("ghcr.io", GITHUB, "GitHub Container Registry: container actions and service images"),
    EgressHost("pkg-containers.githubusercontent.com", GITHUB, "ghcr.io's image layers"),
    EgressHost("pypi.org", PACKAGES, "scripts/setup: pip resolves the pinned Python dependencies"),
    EgressHost("files.pythonhosted.org", PACKAGES, "scripts/setup: pip downloads the Python packages"),
    EgressHost("registry.npmjs.org", PACKAGES, "scripts/setup: npm ci installs the CDKTF/jsii JavaScript packages"),
    EgressHost("nodejs.org", PACKAGES, "Node.js release index and downloads (the CDKTF toolchain's runtime)"),
    EgressHost(
        "registry.terraform.io", PACKAGES, "terraform init: provider discovery for hashicorp/azurerm, kubernetes, time"
    ),
    EgressHost(
        "releases.hashicorp.com",
        PACKAGES,
        "hashicorp/setup-terraform's terraform binary and the provider packages registry.terraform.io points to",
    ),
    EgressHost("management.azure.com", AZURE, "Azure Resource Manager: every plan and apply (azurerm, az)"),
    EgressHost(
        "login.microsoftonline.com",
        AZURE,
        "Entra ID tokens: azure/login's federated credential, azurerm's and kubelogin's tokens, managed identities",
    ),
    EgressHost("mcr.microsoft.com", PLATFORM, "Microsoft Container Registry: the platform's system containers"),
    EgressHost("*.data.mcr.microsoft.com", PLATFORM, "MCR's storage (image layers)"),
    EgressHost(
        "packages.aks.azure.com", PLATFORM, "the environment's underlying AKS nodes: Kubernetes and CNI binaries"
    ),
    EgressHost("acs-mirror.azureedge.net", PLATFORM, "the same binaries' mirror (all scenarios in Microsoft's list)"),
    EgressHost("*.identity.azure.net", PLATFORM, "managed identity: the job's identity (registry pull) gets tokens"),
    EgressHost("*.login.microsoftonline.com", PLATFORM, "managed identity: Entra ID endpoints Microsoft lists"),
    EgressHost("*.login.microsoft.com", PLATFORM, "managed identity: Entra ID endpoints Microsoft lists"),
)
# Deliberately absent: graph.microsoft.com (no stack uses the azuread provider or Graph), Docker Hub (the runner
# image comes from the private registry), NTP (no FQDN network rules on Basic: it has no DNS proxy; Azure hosts
# give their VMs the time). Network rules: none. Microsoft documents application rules OR service tags for the
# platform's needs; the names above are narrower than AzureActiveDirectory / AzureResourceManager / AzureCloud.


def egress_groups() -> dict[str, tuple[str, ...]]:
    """Application rule name -> its host names, in `RUNNER_EGRESS` order."""
    groups: dict[str, tuple[str, ...]] = {}
    for host in RUNNER_EGRESS:
        groups[host.group] = (*groups.get(host.group, ()), host.fqdn)
    return groups


def markdown_table() -> str:
    """The allow list as a Markdown table (docs/zero-to-running.md "Runner network and egress")."""
    rows = ["| Host (HTTPS 443) | Rule | Why |", "|---|---|---|"]
    rows += [f"| `{host.fqdn}` | {host.group} | {host.why} |" for host in RUNNER_EGRESS]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
