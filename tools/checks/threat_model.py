"""Threat model of the delivery path: who can reach production, the apply identity, a runner credential or a state
secret (issue #26, "Proof"; docs/security-model.md).

Inputs, all required (a missing one is an error, never "clean"): the synthesized stacks (`cdktf.out/stacks/*/
cdk.tf.json`), the workflows (`.github/workflows/*.yml`) and, when it exists, the `github` stack's JSON (the GitHub
environments, their reviewers and branch policies, the ruleset on `main`). Without a `github` stack every
environment counts as unprotected: any writer can run a workflow naming it from any branch.

Principals: the author of a pull request from a branch (`pr-author`), a fork author (`fork-author`: on GitHub a fork's
pull request runs the same workflow with no OIDC token and no secrets, but its code still runs on the runner it
asks for), a repository writer (`writer`: pushes branches and workflows), each deploy identity (plan and apply per
environment, from bootstrap's federated credentials), and a runner job of each pool (Container Apps job).

Edges, from the JSON and the workflow text: role assignments (role, scope, condition) of every stack; the GitHub
environment each identity trusts (OIDC subject); who may run a job in that environment (github stack); which
label each workflow job asks for and on which events; which secrets a workflow job and a runner container see.

Each finding is one path, named step by step, ending in one of: `production write` / `environment write`,
`apply identity`, `runner credential`, `state secret`, `privilege escalation`. `python -m tools.checks.threat_model
cdktf.out .github/workflows` prints them; exit 1 on any finding, 2 on missing input.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ruamel.yaml import YAML

from tools.checks.deploy_identities import (
    BOOTSTRAP_STACK,
    REFERENCE,
    SUBJECT,
    Assignment,
    Identity,
    StackJson,
    assignments,
    custom_roles,
    identities,
    resources,
    state_readers,
)
from tools.checks.runner_entrypoint import Mode
from tools.checks.runner_entrypoint import modes as entrypoint_modes
from tools.checks.state_secrets import stack_findings as state_secret_findings

GITHUB_STACK = "github"

# Events whose workflow runs code from a pull request's head (or lets its author steer the run).
PULL_REQUEST_EVENTS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment", "merge_group"}
)
# Built-in roles with no write action and no secret-reading data action (what a plan identity may hold).
READ_ONLY_ROLES = frozenset(
    {
        "Reader",
        "Storage Blob Data Reader",
        "Key Vault Reader",
        "Monitoring Reader",
        "Azure Kubernetes Service Cluster User Role",  # lists the user kubeconfig (Entra exec, no credential)
        "Azure Kubernetes Service RBAC Reader",
    }
)
# Built-in roles that include Microsoft.Authorization/* (or *): role definitions, locks, exemptions, any assignment.
OWNER_EQUIVALENT_ROLES = frozenset({"Owner", "User Access Administrator"})
DELEGATION_ROLE = "Role Based Access Control Administrator"
PRIVILEGED_ROLE_IDS = frozenset(
    {
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",  # Owner
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",  # User Access Administrator
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",  # Role Based Access Control Administrator
    }
)
# Roles that can list a Container Apps job's secrets (Microsoft.App/jobs/listSecrets/action) over its scope.
SECRET_LISTING_ROLES = frozenset({"Owner", "Contributor"})
# Built-in roles that write a user-assigned identity's federated credentials, by name and id.
IDENTITY_WRITER_ROLES = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Managed Identity Contributor": "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
}
FEDERATED_CREDENTIAL_WRITE = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write"
LOCK_DELETE = "Microsoft.Authorization/locks/delete"
_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Key Vault roles that read secret values.
SECRET_READER_ROLES = frozenset(
    {
        "Key Vault Secrets User",
        "Key Vault Secrets Officer",
        "Key Vault Administrator",
        "Owner",
        "Key Vault Data Access Administrator",
    }
)
ESCALATING_ACTIONS = ("*", "Microsoft.Authorization/*", "Microsoft.Authorization/roleDefinitions/write")
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


@dataclass(frozen=True)
class Finding:
    kind: str  # TM-* id
    path: tuple[str, ...]  # principal -> ... -> target
    target: str

    @property
    def name(self) -> str:
        return f"{self.kind}: " + " -> ".join(self.path) + f" => {self.target}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Pool:
    environment: str  # provider alias of its bootstrap job
    label: str
    job: str
    app_id: str
    secret_values: tuple[str, ...]  # secrets given by value (not Key Vault references)
    # secret env of a container that runs the job's code: one whose entrypoint mode starts the runner, or calls a
    # mode the entrypoint lacks (unknown: counted as running job code)
    runner_container_secrets: tuple[str, ...]
    key_vault_secret_ids: tuple[str, ...]


@dataclass(frozen=True)
class WorkflowJob:
    workflow: str
    job: str
    events: frozenset[str]
    labels: tuple[tuple[str, ...], ...]  # one label set per expansion (matrix / inputs)
    environments: tuple[str, ...]
    secrets: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.workflow} job {self.job}"

    @property
    def self_hosted_labels(self) -> list[list[str]]:
        """The labels besides `self-hosted` of each label set that asks for a self-hosted runner."""
        return [
            [label for label in labels if label != "self-hosted"] for labels in self.labels if "self-hosted" in labels
        ]


@dataclass
class Inputs:
    stacks: dict[str, StackJson]
    workflows: dict[str, dict[str, Any]]
    github: StackJson | None = None
    approval_required: dict[str, bool] = field(default_factory=dict)  # environment -> config apply_requires_approval


# --- loading -------------------------------------------------------------------------------------------------------


def approvals_from_config() -> dict[str, bool]:
    """environment -> config `deployment.apply_requires_approval` (config/*.toml)."""
    from config.loader import load_all

    return {config.name: config.deployment.apply_requires_approval for config in load_all()}


def load(synth_dir: Path, workflows_dir: Path, approval_required: Mapping[str, bool] | None = None) -> Inputs:
    stacks_dir = synth_dir / "stacks"
    files = sorted(stacks_dir.glob("*/cdk.tf.json"))
    if not files:
        raise FileNotFoundError(f"{stacks_dir}: no synthesized stack (run `python main.py` first)")
    stacks = {path.parent.name: json.loads(path.read_text(encoding="utf-8")) for path in files}
    if BOOTSTRAP_STACK not in stacks:
        raise FileNotFoundError(f"{stacks_dir}: no bootstrap stack (the identities and runners are there)")
    workflow_files = sorted(workflows_dir.glob("*.yml")) + sorted(workflows_dir.glob("*.yaml"))
    if not workflow_files:
        raise FileNotFoundError(f"{workflows_dir}: no workflow")
    yaml = YAML(typ="safe")
    workflows = {path.name: yaml.load(path.read_text(encoding="utf-8")) for path in workflow_files}
    github = stacks.pop(GITHUB_STACK, None)
    approvals = dict(approvals_from_config() if approval_required is None else approval_required)
    return Inputs(stacks, workflows, github, approvals)


def _blocks(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return [v for v in cast(Iterable[object], value) if isinstance(v, dict)]


def _github_literal(github: StackJson, value: object) -> object:
    """`${github_repository_environment.<key>.environment}` -> that resource's literal environment name."""
    match = REFERENCE.match(value) if isinstance(value, str) else None
    if match is None or match.group(1):
        return value
    _, type_, name, attribute = match.groups()
    return _github_literal(github, resources(github, type_).get(name, {}).get(attribute, value))


def _pull_request_job(environment: str) -> str:
    """A job a pull-request author runs that signs in as a plan identity: in its `<env>-plan` environment, or (the
    PR plan job) in none, with the `pull_request` subject."""
    return f"a pull-request job in {environment}" if environment else "a pull-request job (subject pull_request)"


def _runs_job_code(container: Mapping[str, Any], modes: Mapping[str, Mode]) -> bool:
    args = container.get("args") or []
    mode = modes.get(str(args[0])) if args else None
    return mode is None or mode.runs_jobs


def pools(bootstrap: StackJson, modes: Mapping[str, Mode] | None = None) -> list[Pool]:
    """The runner pools; `modes` (runner-image/entrypoint.sh's, by default) tell which containers run job code."""
    modes = entrypoint_modes() if modes is None else modes
    found = []
    for body in resources(bootstrap, "azurerm_container_app_job").values():
        rules = [
            rule
            for scale in _blocks(body.get("event_trigger_config", {}).get("scale"))
            for rule in _blocks(scale.get("rules"))
        ]
        metadata = rules[0].get("metadata", {}) if rules else {}
        secrets = _blocks(body.get("secret"))
        by_value = tuple(str(s.get("name")) for s in secrets if s.get("value") not in (None, ""))
        references = tuple(str(s.get("key_vault_secret_id")) for s in secrets if s.get("key_vault_secret_id"))
        template = body.get("template", {})
        containers = [*_blocks(template.get("init_container")), *_blocks(template.get("container"))]
        runner_secrets = tuple(
            f"{env.get('secret_name')} ({c.get('name')}: {' '.join(map(str, c.get('args') or [])) or 'no args'})"
            for c in containers
            if _runs_job_code(c, modes)
            for env in _blocks(c.get("env"))
            if env.get("secret_name")
        )
        for label in str(metadata.get("labels", "")).split(","):
            found.append(
                Pool(
                    str(body.get("provider", "")).removeprefix("azurerm."),
                    label,
                    str(body.get("name")),
                    str(metadata.get("applicationID", "")),
                    by_value,
                    runner_secrets,
                    references,
                )
            )
    return found


def _events(workflow: Mapping[Any, Any]) -> frozenset[str]:
    on = workflow.get("on", workflow.get(True, {}))  # YAML 1.1 readers turn `on` into True
    if isinstance(on, str):
        return frozenset({on})
    if isinstance(on, list):
        return frozenset(map(str, on))
    return frozenset(map(str, on or {}))


def _expand(text: str, values: Mapping[str, Iterable[str]]) -> list[str]:
    """`erp-${{ matrix.environment }}` with every known value of each expression it uses."""
    expressions = _EXPRESSION.findall(text)
    if not expressions:
        return [text]
    results = [text]
    for expression in expressions:
        options = list(values.get(expression, [])) or ["<" + expression + ">"]
        results = [r.replace(_EXPRESSION.search(r).group(0), option, 1) for r in results for option in options]  # type: ignore[union-attr]
    return results


def _secrets_used(value: object) -> set[str]:
    return {name for name in re.findall(r"secrets\.([A-Za-z0-9_]+)", json.dumps(value)) if name != "GITHUB_TOKEN"}


# the events, `inputs.*` values and secrets a workflow's jobs run with: its own trigger, or one per caller
_Context = tuple[frozenset[str], dict[str, list[str]], set[str]]


def _reusable_calls(workflows: Mapping[str, Mapping[str, Any]]) -> dict[str, list[_Context]]:
    """Reusable workflow (file name) -> one context per job that calls it: the caller's events, its `with:` and the
    secrets it passes (`<inherit>` for `secrets: inherit`)."""
    called: dict[str, list[_Context]] = {}
    for workflow in workflows.values():
        for job in (workflow.get("jobs") or {}).values():
            uses = str(job.get("uses", ""))
            if not (uses.endswith(".yml") or uses.endswith(".yaml")):
                continue
            inputs = {f"inputs.{k}": [str(v)] for k, v in (job.get("with") or {}).items()}
            inherited = _secrets_used(job.get("secrets"))
            if job.get("secrets") == "inherit":
                inherited.add("<inherit>")
            called.setdefault(uses.rsplit("/", 1)[-1], []).append((_events(workflow), inputs, inherited))
    return called


def _contexts(workflow: Mapping[Any, Any], calls: list[_Context], environments: list[str]) -> list[_Context]:
    """A workflow started by its own events may name any environment as `inputs.environment`."""
    own_events = _events(workflow) - {"workflow_call"}
    own: list[_Context] = [(own_events, {"inputs.environment": environments}, set())] if own_events else []
    return own + calls


def _matrix_values(job: Mapping[str, Any]) -> dict[str, list[str]]:
    """`matrix.<key>` -> its values: the `include` rows', then the lists (which replace them)."""
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    if not isinstance(matrix, dict):
        return {}
    values: dict[str, list[str]] = {}
    for row in matrix.get("include", []):
        for key, value in row.items():
            values.setdefault(f"matrix.{key}", []).append(str(value))
    for key, value in matrix.items():
        if key != "include" and isinstance(value, list):
            values[f"matrix.{key}"] = [str(v) for v in value]
        elif key == "environment" and isinstance(value, str):  # computed (fromJSON): any environment
            from config.loader import ENVIRONMENTS

            values["matrix.environment"] = list(ENVIRONMENTS)
    return values


def _label_sets(job: Mapping[str, Any], values: Mapping[str, Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    runs_on = job.get("runs-on", [])
    labels = [runs_on] if isinstance(runs_on, str) else list(runs_on or [])
    expanded = [tuple(sorted(set(_expand(str(label), values)))) for label in labels]
    return tuple(tuple(sorted(set(combo))) for combo in _product(expanded))


def _job_environments(job: Mapping[str, Any], values: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return tuple(sorted(set(_expand(str(environment), values)))) if environment else ()


def workflow_jobs(workflows: Mapping[str, Mapping[str, Any]], environments: Iterable[str]) -> list[WorkflowJob]:
    """Every job with the events that start it; reusable workflows inherit their callers' events and inputs."""
    environments = sorted(environments)
    calls = _reusable_calls(workflows)
    found = []
    for name, workflow in sorted(workflows.items()):
        contexts = _contexts(workflow, calls.get(name, []), environments)
        for job_name, job in (workflow.get("jobs") or {}).items():
            if "uses" in job:
                continue
            matrix_values = _matrix_values(job)
            for events, inputs, inherited in contexts:
                values = {**matrix_values, **inputs}
                secrets = tuple(sorted(_secrets_used(job) | inherited))
                found.append(
                    WorkflowJob(
                        name, str(job_name), events, _label_sets(job, values), _job_environments(job, values), secrets
                    )
                )
    return found


def _product(options: list[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    """Label combinations: the n-th value of every multi-valued label goes together (one matrix row)."""
    if not options:
        yield ()
        return
    width = max(len(option) for option in options)
    for index in range(width):
        yield tuple(option[index] if len(option) > index else option[-1] for option in options)


# --- the model -----------------------------------------------------------------------------------------------------


def _held(all_assignments: Iterable[Assignment], identity: Identity) -> list[Assignment]:
    return [a for a in all_assignments if a.principal == identity.name]


def _custom_actions(definitions: Mapping[str, dict[str, Any]], role: str) -> tuple[list[str], list[str]]:
    definition = definitions.get(role.removeprefix("custom:"), {})
    actions = [a for p in _blocks(definition.get("permissions")) for a in p.get("actions", [])]
    data_actions = [a for p in _blocks(definition.get("permissions")) for a in p.get("data_actions", [])]
    return actions, data_actions


def _read_only(definitions: Mapping[str, dict[str, Any]], assignment: Assignment) -> bool:
    if assignment.role in READ_ONLY_ROLES:
        return True
    if not assignment.role.startswith("custom:"):
        return False
    actions, data_actions = _custom_actions(definitions, assignment.role)
    return all(a.endswith("/read") for a in actions + data_actions)


# Data actions that read secret values: Kubernetes Secrets through Azure RBAC, Key Vault secrets.
SECRET_DATA_ACTIONS = (
    "Microsoft.ContainerService/managedClusters/secrets/read",
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
)


def _reads_secrets(definitions: Mapping[str, dict[str, Any]], assignment: Assignment) -> bool:
    """A custom role whose data actions reach a secret value (built-in read-only roles do not)."""
    if not assignment.role.startswith("custom:"):
        return assignment.role in SECRET_READER_ROLES
    definition = definitions.get(assignment.role.removeprefix("custom:"), {})
    for permissions in _blocks(definition.get("permissions")):
        allowed, denied = permissions.get("data_actions", []), permissions.get("not_data_actions", [])
        for action in SECRET_DATA_ACTIONS:
            if any(fnmatch.fnmatchcase(action, p) for p in allowed) and not any(
                fnmatch.fnmatchcase(action, p) for p in denied
            ):
                return True
    return False


def _braced_after(text: str, marker: str) -> str | None:
    """The balanced `{...}` right after `marker` in `text` (lists may hold `${...}` references)."""
    at = text.find(marker)
    if at < 0:
        return None
    begin = at + len(marker)
    depth = 0
    for index in range(begin, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[begin + 1 : index]
    return None


def allow_lists(condition: str) -> tuple[str, str] | None:
    """The role-id allow-lists (`...:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {...}`) of a delegation's
    condition for write (@Request) and delete (@Resource); None unless both exist. A role-id GuidNotEquals list is
    accepted only beside a principal clause, where it narrows the allow-list for some principals."""
    role = "Microsoft.Authorization/roleAssignments:RoleDefinitionId]"
    write = _braced_after(condition, f"@Request[{role} ForAnyOfAnyValues:GuidEquals ")
    delete = _braced_after(condition, f"@Resource[{role} ForAnyOfAnyValues:GuidEquals ")
    deny_only = "GuidNotEquals" in condition and ":PrincipalId]" not in condition
    if write is None or delete is None or deny_only:
        return None
    return write, delete


def _escalates(definitions: Mapping[str, dict[str, Any]], assignment: Assignment) -> str | None:
    if assignment.role in OWNER_EQUIVALENT_ROLES:
        return f"{assignment.role} includes Microsoft.Authorization/*: role definitions, locks, exemptions"
    if assignment.role.startswith("custom:"):
        actions, _ = _custom_actions(definitions, assignment.role)
        for action in actions:
            if any(fnmatch.fnmatchcase(escalating, action) for escalating in ESCALATING_ACTIONS):
                return f"custom role {assignment.role[7:]} allows {action} (writes role definitions)"
    if assignment.role == DELEGATION_ROLE:
        lists = allow_lists(assignment.condition or "")
        if lists is None:
            return "Role Based Access Control Administrator without an allow-list condition of role ids"
        listed = {role_id for allowed in lists for role_id in re.findall(_GUID, allowed)}
        if listed & PRIVILEGED_ROLE_IDS:
            return f"its allow-list includes privileged roles {sorted(listed & PRIVILEGED_ROLE_IDS)}"
    return None


def _covers(scope: str, subscription: str, target: str) -> bool:
    return scope in (f"/subscriptions/{subscription}", f"/subscriptions/{subscription}/") or target.startswith(
        scope.removesuffix("}")
    )


@dataclass
class Model:
    inputs: Inputs
    identities: list[Identity] = field(init=False)
    pools: list[Pool] = field(init=False)
    assignments: list[Assignment] = field(init=False)
    definitions: dict[str, dict[str, Any]] = field(init=False)
    jobs: list[WorkflowJob] = field(init=False)

    def __post_init__(self) -> None:
        bootstrap = self.inputs.stacks[BOOTSTRAP_STACK]
        self.identities = identities(bootstrap)
        self.pools = pools(bootstrap)
        self.assignments = assignments(self.inputs.stacks)
        self.definitions = custom_roles(self.inputs.stacks)
        base_environments = {i.environment for i in self.identities if i.kind == "apply"}
        self.jobs = workflow_jobs(self.inputs.workflows, base_environments)
        if not self.identities:
            raise ValueError("bootstrap declares no deploy identity (no federated credential): nothing to model")
        unnamed = [i.name for i in self.identities if i.kind == "other"]
        if unnamed:  # an identity the model cannot place would hold rights it never looks at
            raise ValueError(f"deploy identities neither plan nor apply by name: {unnamed}")
        if not self.pools:
            raise ValueError("bootstrap declares no runner job: nothing to model")

    # who can run a job in a GitHub environment
    def _environment_protection(self, environment: str) -> list[str]:
        """Why a writer can run a job in `environment` (empty: only a reviewed merge to main can)."""
        github = self.inputs.github
        if github is None:
            return ["no github stack: the environment has no declared protection, any branch may use it"]
        declared = [
            e
            for e in resources(github, "github_repository_environment").values()
            if e.get("environment") == environment
        ]
        if not declared:
            return [f"the github stack declares no environment {environment}"]
        problems = []
        env = declared[0]
        policy = _blocks(env.get("deployment_branch_policy"))
        branch_patterns = {
            str(p.get("branch_pattern"))
            for p in resources(github, "github_repository_environment_deployment_policy").values()
            if _github_literal(github, p.get("environment")) == environment
        }
        restricted = bool(policy) and (
            policy[0].get("protected_branches") is True
            or (policy[0].get("custom_branch_policies") is True and branch_patterns == {"main"})
        )
        if not restricted:
            problems.append("no deployment branch policy `main`: a workflow on any branch may use it")
        reviewers = [r for r in _blocks(env.get("reviewers")) if r.get("teams") or r.get("users")]
        if self.inputs.approval_required.get(environment, True):
            if not reviewers:
                problems.append("no required reviewers")
            elif env.get("prevent_self_review") is not True:
                problems.append("reviewers may approve their own run (prevent_self_review off)")
        if not self._main_protected():
            problems.append("main accepts unreviewed pushes (no active ruleset requiring an approving review)")
        return problems

    def _main_protected(self) -> bool:
        github = self.inputs.github or {}
        for ruleset in resources(github, "github_repository_ruleset").values():
            if ruleset.get("target") != "branch" or ruleset.get("enforcement") != "active":
                continue
            includes = [
                name
                for condition in _blocks(ruleset.get("conditions"))
                for ref in _blocks(condition.get("ref_name"))
                for name in ref.get("include", [])
            ]
            if not ({"~DEFAULT_BRANCH", "refs/heads/main"} & set(includes)):
                continue
            reviews = [
                p.get("required_approving_review_count", 0)
                for rules in _blocks(ruleset.get("rules"))
                for p in _blocks(rules.get("pull_request"))
            ]
            if reviews and max(reviews) >= 1 and not _blocks(ruleset.get("bypass_actors")):
                return True
        return False

    def findings(self) -> list[Finding]:
        found: list[Finding] = []
        found += self._plan_identity_paths()
        found += self._apply_identity_paths()
        found += self._runner_credential_paths()
        found += self._state_secret_paths()
        found += self._workflow_paths()
        return sorted(set(found), key=lambda f: f.name)

    def _identity_group(self, identity: Identity) -> str:
        """`${azurerm_resource_group.<key>.id}` of the bootstrap resource group holding the identity."""
        bootstrap = self.inputs.stacks[BOOTSTRAP_STACK]
        [body] = [
            b for b in resources(bootstrap, "azurerm_user_assigned_identity").values() if b["name"] == identity.name
        ]
        match = REFERENCE.match(str(body.get("resource_group_name")))
        return f"${{azurerm_resource_group.{match.group(3)}.id}}" if match else ""

    def _identity_key(self, identity: Identity) -> str:
        bootstrap = self.inputs.stacks[BOOTSTRAP_STACK]
        [key] = [
            k for k, b in resources(bootstrap, "azurerm_user_assigned_identity").items() if b["name"] == identity.name
        ]
        return key

    def _covers_identity(self, scope: str, identity: Identity) -> bool:
        identity_ref = f"${{azurerm_user_assigned_identity.{self._identity_key(identity)}.id}}"
        subscription = f"/subscriptions/{identity.subscription}"
        return scope.rstrip("/") == subscription or scope in (self._identity_group(identity), identity_ref)

    def _writes_identities(self, role: str) -> bool:
        if role in IDENTITY_WRITER_ROLES:
            return True
        actions, not_actions = _custom_actions(self.definitions, role) if role.startswith("custom:") else ([], [])
        return any(fnmatch.fnmatchcase(FEDERATED_CREDENTIAL_WRITE, a) for a in actions) and not any(
            fnmatch.fnmatchcase(FEDERATED_CREDENTIAL_WRITE, n) for n in not_actions
        )

    def _locked_read_only(self, identity: Identity) -> bool:
        """A ReadOnly lock on the identity that the apply identity cannot delete (no lock-deleting role over it)."""
        bootstrap = self.inputs.stacks[BOOTSTRAP_STACK]
        identity_ref = f"${{azurerm_user_assigned_identity.{self._identity_key(identity)}.id}}"
        locked = any(
            lock.get("scope") == identity_ref and lock.get("lock_level") == "ReadOnly"
            for lock in resources(bootstrap, "azurerm_management_lock").values()
        )
        apply = [i for i in self.identities if i.kind == "apply" and i.subscription == identity.subscription]
        unlocks = any(
            self._covers_identity(held.scope, identity)
            and (
                held.role in OWNER_EQUIVALENT_ROLES
                or any(fnmatch.fnmatchcase(LOCK_DELETE, a) for a in _custom_actions(self.definitions, held.role)[0])
            )
            for applier in apply
            for held in _held(self.assignments, applier)
        )
        return locked and not unlocks

    def _own_identity_paths(self, identity: Identity) -> list[Finding]:
        """How the apply identity could add a federated credential (any subject) to itself: a role that writes it over
        its identity; a delegation that may assign such a role to itself; or one that may assign it to a principal
        it creates (an identity in its own resource groups, trusting any subject) while its identity is not locked
        ReadOnly beyond its reach."""
        head, step = f"apply identity {identity.name}", "federatedIdentityCredentials/write on its own identity"
        target = "persistence: any OIDC subject (a pull request) as the apply identity"
        found = []
        principal = f"${{azurerm_user_assigned_identity.{self._identity_key(identity)}.principal_id}}"
        for held in _held(self.assignments, identity):
            if self._writes_identities(held.role) and self._covers_identity(held.scope, identity):
                found.append(Finding("TM-APPLY-OWN-IDENTITY", (head, f"{held.role} on {held.scope}", step), target))
            lists = allow_lists(held.condition or "") if held.role == DELEGATION_ROLE else None
            if lists is None:
                continue
            writers = sorted(name for name, role_id in IDENTITY_WRITER_ROLES.items() if role_id in lists[0])
            if not writers:
                continue
            via = f"{held.role} on {held.scope} may assign {', '.join(writers)}"
            protected = _braced_after(
                held.condition or "", "roleAssignments:PrincipalId] ForAnyOfAllValues:GuidNotEquals "
            )
            if protected is None or principal not in protected:
                found.append(Finding("TM-APPLY-OWN-IDENTITY", (head, f"{via} to itself", step), target))
            if not self._locked_read_only(identity):
                found.append(
                    Finding(
                        "TM-APPLY-OWN-IDENTITY",
                        (head, f"{via} to an identity it creates (trusting any subject)", step),
                        target,
                    )
                )
        return found

    def _plan_identity_paths(self) -> list[Finding]:
        found = []
        for identity in (i for i in self.identities if i.kind == "plan"):
            entry = ("pr-author", _pull_request_job(identity.environment), f"plan identity {identity.name}")
            held = _held(self.assignments, identity)
            found += self._plan_write_paths(entry, held)
            found += self._plan_secret_paths(entry, held)
        return found

    def _plan_write_paths(self, entry: tuple[str, ...], held: list[Assignment]) -> list[Finding]:
        return [
            Finding(
                "TM-PLAN-WRITE",
                (*entry, f"{a.role} on {a.scope}"),
                "state write" if "Storage Blob Data" in a.role else "environment write",
            )
            for a in held
            if not _read_only(self.definitions, a)
        ]

    def _plan_secret_paths(self, entry: tuple[str, ...], held: list[Assignment]) -> list[Finding]:
        return [
            Finding("TM-PLAN-SECRETS", (*entry, f"{a.role} on {a.scope}"), "secrets of the cluster")
            for a in held
            if _reads_secrets(self.definitions, a)
        ]

    def _apply_identity_paths(self) -> list[Finding]:
        found = []
        for identity in (i for i in self.identities if i.kind == "apply"):
            found += self._escalation_paths(identity)
            found += self._own_identity_paths(identity)
            found += self._environment_paths(identity)
            found += self._oidc_subject_paths(identity)
        return found

    def _escalation_paths(self, identity: Identity) -> list[Finding]:
        return [
            Finding(
                "TM-APPLY-ESCALATION",
                (f"apply identity {identity.name}", f"{held.role} on {held.scope}", why),
                "privilege escalation",
            )
            for held in _held(self.assignments, identity)
            if (why := _escalates(self.definitions, held))
        ]

    def _environment_paths(self, identity: Identity) -> list[Finding]:
        """A writer running a job in the apply identity's environment: one path per missing protection."""
        target = "production write" if identity.environment == "production" else "environment write"
        return [
            Finding(
                "TM-ENVIRONMENT",
                ("writer", f"a workflow naming environment: {identity.environment}", problem),
                f"apply identity {identity.name} ({target})",
            )
            for problem in self._environment_protection(identity.environment)
        ]

    def _oidc_subject_paths(self, identity: Identity) -> list[Finding]:
        if SUBJECT.match(identity.subject):
            return []
        return [
            Finding(
                "TM-OIDC-SUBJECT",
                ("writer", f"a job matching subject {identity.subject}"),
                f"apply identity {identity.name}",
            )
        ]

    def _runner_credential_paths(self) -> list[Finding]:
        found = []
        for pool in self.pools:
            found += self._job_secret_paths(pool)
            found += self._runner_container_paths(pool)
            for reference in pool.key_vault_secret_ids:
                found += self._vault_reference_paths(pool, reference)
        return found + self._shared_app_paths()

    def _job_secret_paths(self, pool: Pool) -> list[Finding]:
        """A secret the job holds by value: whoever may list the job's secrets over its subscription reads it."""
        subscription = next((i.subscription for i in self.identities if i.environment == pool.environment), "")
        holders = sorted(
            {
                a.principal
                for a in self.assignments
                if a.role in SECRET_LISTING_ROLES and _covers(a.scope, subscription, "")
            }
        )
        return [
            Finding(
                "TM-RUNNER-KEY-JOB-SECRET",
                (holder, f"listSecrets on job {pool.job}", f"secret {secret} (a value, not a reference)"),
                "runner credential",
            )
            for secret in pool.secret_values
            for holder in holders or ["any Contributor of the subscription"]
        ]

    def _runner_container_paths(self, pool: Pool) -> list[Finding]:
        return [
            Finding(
                "TM-RUNNER-KEY-IN-JOB",
                ("pr-author", f"a job on label {pool.label}", f"container env from secret {secret}"),
                "runner credential",
            )
            for secret in pool.runner_container_secrets
        ]

    def _vault_reference_paths(self, pool: Pool, reference: str) -> list[Finding]:
        """A Key Vault reference: outside the runner vault, read by a deploy identity, or its vault open."""
        match = re.match(r"^\$\{azurerm_key_vault\.([A-Za-z0-9_-]+)\.vault_uri\}secrets/(.+)$", reference)
        if match is None:
            return [Finding("TM-RUNNER-KEY-VAULT", (f"job {pool.job}", f"reference {reference}"), "runner credential")]
        return self._vault_reader_paths(match.group(1)) + self._open_vault_paths(match.group(1))

    def _vault_reader_paths(self, vault_key: str) -> list[Finding]:
        vault = f"${{azurerm_key_vault.{vault_key}.id}}"
        deploy_identities = {i.name for i in self.identities}
        return [
            Finding("TM-RUNNER-KEY-VAULT", (a.principal, f"{a.role} on {a.scope}"), "runner credential")
            for a in self.assignments
            if a.role in SECRET_READER_ROLES
            and a.scope.startswith(vault.removesuffix("}"))
            and a.principal in deploy_identities
        ]

    def _open_vault_paths(self, vault_key: str) -> list[Finding]:
        body = resources(self.inputs.stacks[BOOTSTRAP_STACK], "azurerm_key_vault").get(vault_key, {})
        if body.get("public_network_access_enabled") is False and body.get("rbac_authorization_enabled") is True:
            return []
        return [
            Finding(
                "TM-RUNNER-KEY-VAULT",
                (f"vault {body.get('name')}", "public network access or access policies"),
                "runner credential",
            )
        ]

    def _shared_app_paths(self) -> list[Finding]:
        """One GitHub App registering the runners of two environments: one's credential registers the other's."""
        apps: dict[str, set[str]] = {}
        for pool in self.pools:
            apps.setdefault(pool.app_id, set()).add(pool.environment)
        return [
            Finding(
                "TM-RUNNER-KEY-SHARED",
                (f"the {sorted(environments)[0]} runner credential", f"GitHub App {app} of {sorted(environments)}"),
                "runner credential of another environment",
            )
            for app, environments in sorted(apps.items())
            if len(environments) > 1
        ]

    def _state_secret_paths(self) -> list[Finding]:
        found = []
        for stack_name, stack in sorted(self.inputs.stacks.items()):
            secrets = state_secret_findings(stack_name, stack)
            if not secrets:
                continue
            readers = state_readers(self.inputs.stacks[BOOTSTRAP_STACK], stack, self.identities, self.assignments)
            for secret in secrets:
                for reader in readers:
                    if reader.kind == "plan":
                        entry: tuple[str, ...] = ("pr-author", _pull_request_job(reader.environment))
                    else:  # the apply identity: a writer reaches it only through an unprotected environment
                        unprotected = self._environment_protection(reader.environment)
                        if not unprotected:
                            continue
                        entry = ("writer", f"a job in {reader.environment}", unprotected[0])
                    found.append(
                        Finding(
                            "TM-STATE-SECRET",
                            (
                                *entry,
                                f"{reader.kind} identity {reader.name}",
                                f"{stack_name} state",
                                f"{secret.address}.{secret.attribute}",
                            ),
                            "state secret",
                        )
                    )
        return found

    def _workflow_paths(self) -> list[Finding]:
        found = []
        for job in self.jobs:
            found += self._unknown_label_paths(job)
            if job.events & PULL_REQUEST_EVENTS:
                found += self._pull_request_runner_paths(job)
                found += self._pull_request_environment_paths(job)
                found += self._pull_request_secret_paths(job)
        return found

    def _unknown_label_paths(self, job: WorkflowJob) -> list[Finding]:
        labels = {pool.label for pool in self.pools}
        return [
            Finding(
                "TM-LABEL",
                ("writer", job.where, f"asks for {unknown}"),
                "a label no runner pool serves (or an old shared pool)",
            )
            for wanted in job.self_hosted_labels
            if (unknown := [label for label in wanted if label not in labels])
        ]

    def _pull_request_runner_paths(self, job: WorkflowJob) -> list[Finding]:
        apply_labels = {p.label for p in self.pools if p.label.endswith("-apply")}
        principal = "fork-author" if "pull_request_target" in job.events else "pr-author"
        return [
            Finding("TM-PR-ON-APPLY", (principal, job.where, f"runs on {sorted(on_apply)}"), "apply runners")
            for wanted in job.self_hosted_labels
            if (on_apply := set(wanted) & apply_labels)
        ]

    def _pull_request_environment_paths(self, job: WorkflowJob) -> list[Finding]:
        apply_environments = {i.environment for i in self.identities if i.kind == "apply"}
        return [
            Finding("TM-PR-APPLY-ENV", ("pr-author", job.where, f"environment {environment}"), "apply identity")
            for environment in job.environments
            if environment in apply_environments
        ]

    def _pull_request_secret_paths(self, job: WorkflowJob) -> list[Finding]:
        return [
            Finding("TM-PR-SECRET", ("pr-author", job.where, f"secret {secret}"), "a secret in a pull-request job")
            for secret in job.secrets
        ]


def main(argv: list[str]) -> int:
    synth = Path(argv[0] if argv else "cdktf.out")
    workflows = Path(argv[1] if len(argv) > 1 else ".github/workflows")
    try:
        model = Model(load(synth, workflows))
    except (OSError, ValueError) as error:
        print(f"threat-model: {error}", file=sys.stderr)
        return 2
    problems = model.findings()
    for problem in problems:
        print(problem)
    print(
        f"{len(problems)} path(s); {len(model.identities)} identities, {len(model.pools)} runner pools, "
        f"{len(model.jobs)} workflow jobs, github stack: {'yes' if model.inputs.github is not None else 'no'}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
