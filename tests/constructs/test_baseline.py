"""The in-cluster baseline in both environments' cluster stacks (synthesized app)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from config.loader import load_environment
from constructs.aspects.pod_security import POD_SPEC_PATHS, violations
from constructs.baseline.jobs import image_version
from constructs.compliance_results import COLUMNS as COMPLIANCE_COLUMNS
from constructs.image_pins import digest_of
from tests.conftest import StackJson, resources_of

SCRIPTS = Path(__file__).resolve().parents[2] / "cluster-scripts"
NAMESPACES = {"applications", "monitoring", "backup-system", "compliance"}


@pytest.fixture
def cluster(stacks: dict[str, StackJson], environment: str) -> StackJson:
    return stacks[f"{environment}-cluster"]


def namespace_of(resource: dict) -> str:
    """Namespace references resolve to the namespace resource's construct id."""
    return resource["metadata"]["namespace"]


def namespaces_by_reference(cluster: StackJson) -> dict[str, str]:
    return {
        f"${{kubernetes_namespace_v1.{key}.metadata[0].name}}": ns["metadata"]["name"]
        for key, ns in resources_of(cluster, "kubernetes_namespace_v1").items()
    }


def test_every_namespace_enforces_restricted_without_exemptions(cluster: StackJson) -> None:
    namespaces = resources_of(cluster, "kubernetes_namespace_v1")
    assert {ns["metadata"]["name"] for ns in namespaces.values()} == NAMESPACES
    for ns in namespaces.values():
        labels = ns["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
            assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest"


def test_every_namespace_has_default_deny_dns_quota_and_limits(cluster: StackJson, environment: str) -> None:
    refs = namespaces_by_reference(cluster)
    policies = resources_of(cluster, "kubernetes_network_policy_v1").values()
    deny = {refs[namespace_of(p)] for p in policies if p["metadata"]["name"] == "default-deny-all"}
    assert deny == NAMESPACES
    for policy in policies:
        if policy["metadata"]["name"] == "default-deny-all":
            assert policy["spec"]["pod_selector"] == {} and sorted(policy["spec"]["policy_types"]) == [
                "Egress",
                "Ingress",
            ]
            assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]
    dns = [p for p in policies if p["metadata"]["name"] == "allow-dns-egress"]
    assert {refs[namespace_of(p)] for p in dns} == NAMESPACES
    for policy in dns:
        (rule,) = policy["spec"]["egress"]
        assert sorted((port["port"], port["protocol"]) for port in rule["ports"]) == [("53", "TCP"), ("53", "UDP")]
        assert rule["to"][0]["namespace_selector"]["match_labels"] == {"kubernetes.io/metadata.name": "kube-system"}
        assert rule["to"][0]["pod_selector"]["match_labels"] == {"k8s-app": "kube-dns"}
    scrape = [p for p in policies if p["metadata"]["name"] == "allow-managed-prometheus-scrape"]
    assert {refs[namespace_of(p)] for p in scrape} == {"applications", "monitoring"}
    for policy in scrape:
        peers = policy["spec"]["ingress"][0]["from"]
        assert [peer["pod_selector"]["match_labels"] for peer in peers] == [
            {"rsName": "ama-metrics"},
            {"dsName": "ama-metrics-node"},
        ]
    config = load_environment(environment).baseline
    quotas = resources_of(cluster, "kubernetes_resource_quota_v1").values()
    assert {refs[namespace_of(q)] for q in quotas} == NAMESPACES
    for quota in quotas:
        expected = config.namespaces[refs[namespace_of(quota)]]
        assert quota["spec"]["hard"]["limits.memory"] == expected.limits_memory
        assert quota["spec"]["hard"]["pods"] == str(expected.pods)
    limits = resources_of(cluster, "kubernetes_limit_range_v1").values()
    assert {refs[namespace_of(lr)] for lr in limits} == NAMESPACES
    for limit_range in limits:
        assert set(limit_range["spec"]["limit"][0]["default"]) == {"cpu", "memory"}


def api_egress_problems(cluster: StackJson, cilium: bool) -> list[str]:
    """Why the jobs could not reach the API server under the cluster's policy engine (empty: they can)."""
    refs = namespaces_by_reference(cluster)
    cilium_policies = {
        refs.get(m["manifest"]["metadata"]["namespace"]): m["manifest"]["spec"]
        for m in resources_of(cluster, "kubernetes_manifest").values()
        if m["manifest"]["kind"] == "CiliumNetworkPolicy"
    }
    ip_block = {
        refs[namespace_of(p)]
        for p in resources_of(cluster, "kubernetes_network_policy_v1").values()
        if p["metadata"]["name"] == "allow-api-server-egress"  # the jobs' Azure egress is an ipBlock too
        and any("ip_block" in peer for rule in p["spec"].get("egress", []) for peer in rule.get("to", []))
    }
    problems = []
    for namespace in ("backup-system", "compliance"):
        if not cilium:
            if namespace not in ip_block:
                problems.append(f"{namespace}: no API egress policy")
            continue
        if namespace in ip_block:
            problems.append(f"{namespace}: ipBlock egress, which Cilium does not match for the API server")
        spec = cilium_policies.get(namespace)
        if spec is None:
            problems.append(f"{namespace}: no CiliumNetworkPolicy to the API server")
            continue
        if spec["endpointSelector"] != {"matchLabels": {"app.kubernetes.io/part-of": "platform-baseline"}}:
            problems.append(f"{namespace}: the policy does not select the job pods")
        if spec["egress"] != [
            {"toEntities": ["kube-apiserver"], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}
        ]:
            problems.append(f"{namespace}: egress is not kube-apiserver:443")
    return problems


def test_jobs_reach_the_api_server_through_the_cilium_entity(cluster: StackJson, environment: str) -> None:
    cilium = load_environment(environment).aks.network_policy == "cilium"
    assert api_egress_problems(cluster, cilium) == []
    # Failing example: the former ipBlock policy on a Cilium cluster.
    broken = json.loads(json.dumps(cluster))
    broken["resource"]["kubernetes_manifest"] = {
        k: v
        for k, v in resources_of(broken, "kubernetes_manifest").items()
        if v["manifest"]["kind"] != "CiliumNetworkPolicy"
    }
    for namespace in ("backup-system", "compliance"):
        ref = next(r for r, name in namespaces_by_reference(cluster).items() if name == namespace)
        broken["resource"].setdefault("kubernetes_network_policy_v1", {})[f"{namespace}-ip"] = {
            "metadata": {"name": "allow-api-server-egress", "namespace": ref},
            "spec": {"egress": [{"to": [{"ip_block": {"cidr": "10.252.1.0/24"}}]}]},
        }
    assert len(api_egress_problems(broken, cilium=True)) == 4


def test_without_cilium_the_jobs_keep_an_ip_block_policy_to_the_configured_ranges() -> None:
    from constructs.baseline.jobs import ExportsTarget
    from constructs.baseline.platform import ClusterBaseline, ClusterBaselineProps
    from tests.constructs.baseline_stack import synth_with_errors

    config = load_environment("staging")
    out, errors = synth_with_errors(
        lambda stack: ClusterBaseline(
            stack,
            "baseline",
            props=ClusterBaselineProps(
                config=config.baseline,
                cluster_alias="staging",
                network_policy_label="platform.erp/network-policy",
                job_image="stgworkloadsacrerp01.azurecr.io/platform/kubectl:v1.33.5",
                network_policy="azure",
                exports=ExportsTarget("client", "https://st.blob.core.windows.net/cluster-exports", "10.0.3.0/24"),
            ),
        )
    )
    assert errors == []
    assert api_egress_problems(out, cilium=False) == []
    assert resources_of(out, "kubernetes_manifest") == {}
    policies = [
        p
        for p in resources_of(out, "kubernetes_network_policy_v1").values()
        if p["metadata"]["name"] == "allow-api-server-egress"
    ]
    assert len(policies) == 2
    for policy in policies:
        (rule,) = policy["spec"]["egress"]
        assert [peer["ip_block"]["cidr"] for peer in rule["to"]] == list(config.baseline.api_server_cidrs)


def job_image_problems(image: str, registry: str, kubernetes_version: str) -> list[str]:
    """Why a job image breaks the day-one promises (empty: it keeps them)."""
    problems = []
    if not image.startswith(f"{registry}.azurecr.io/"):
        problems.append("not from the environment's registry (Gatekeeper allowed registries)")
    tag = image.split("@", 1)[0].rsplit(":", 1)[1]
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.\d+", tag)
    if match is None:
        problems.append(f"tag {tag} is not a kubectl release")
    else:
        cluster_major, cluster_minor = (int(part) for part in kubernetes_version.split("."))
        major, minor = int(match[1]), int(match[2])
        if major != cluster_major or abs(minor - cluster_minor) > 1:
            problems.append(f"kubectl {tag} is outside the version skew of cluster {kubernetes_version}")
    return problems


def test_jobs_run_the_imported_kubectl_of_the_cluster_minor_version(
    cluster: StackJson, stacks: dict[str, StackJson], environment: str
) -> None:
    config = load_environment(environment)
    registry = f"{config.short_name}workloadsacr{config.unique_suffix}"
    tag = config.baseline.job_image.tag(config.aks.kubernetes_version)
    images = {
        container["image"]
        for resource_type, pod in pod_specs(cluster).values()
        if resource_type != "kubernetes_deployment_v1"  # the OpenTelemetry collector (test_tracing.py)
        for container in pod["container"]
    }
    source = f"{config.baseline.job_image.source_repository}:{tag}"
    assert images == {f"{registry}.azurecr.io/{config.baseline.job_image.repository}:{tag}@{digest_of(source)}"}
    assert all(job_image_problems(image, registry, config.aks.kubernetes_version) == [] for image in images)
    # The infra stack imports exactly that image during apply (no manual step).
    ((data, command),) = [
        (data, provisioner["command"])
        for data in resources_of(stacks[f"{environment}-infra"], "terraform_data").values()
        if "provisioner" in data
        for (provisioner,) in [p.values() for p in data["provisioner"]]
        if config.baseline.job_image.repository in provisioner["command"]
    ]
    assert command.startswith("az acr import ") and "--force" in command
    # By the digest recorded for that tag, so the copy is the manifest the jobs name (a new digest imports again).
    assert f"--source {config.baseline.job_image.source_repository}@{digest_of(source)} " in command
    assert f"--image {config.baseline.job_image.repository}:{tag} " in command
    assert "--name ${azurerm_container_registry." in command  # a reference: the import waits for the registry
    assert data["triggers_replace"] == [
        f"{config.baseline.job_image.source_repository}@{digest_of(source)}",
        f"{config.baseline.job_image.repository}:{tag}",
    ]
    # Failing examples: the former Bitnami image (gone, outside the skew) and a public registry.
    assert job_image_problems(f"{registry}.azurecr.io/platform/kubectl:1.31.4", registry, "1.33") != []
    assert job_image_problems("docker.io/bitnami/kubectl:1.33.5", registry, "1.33") != []


AZURE_JOBS = {"cluster-backup": "cluster-exports", "compliance-validation": "compliance-results"}  # job -> identity


def workload_identity_problems(stack: StackJson) -> list[str]:
    """Each baseline job that reaches Azure claims the identity the infra stack federates with its service account
    (constructs/cluster_exports.py, constructs/compliance_results.py); no other baseline job claims one."""
    claimed = {
        a["metadata"]["name"]: a["metadata"]["annotations"]["azure.workload.identity/client-id"]
        for a in resources_of(stack, "kubernetes_service_account_v1").values()
        if "azure.workload.identity/client-id" in (a["metadata"].get("annotations") or {})
        and "/baseline/" in a["//"]["metadata"]["path"]  # tracing's publisher account is federated on purpose
    }
    labelled = {
        body["metadata"]["name"]
        for resource_type in ("kubernetes_cron_job_v1", "kubernetes_job_v1")
        for body in resources_of(stack, resource_type).values()
        if "azure.workload.identity/use" in json.dumps(body)
    }
    problems = [f"{job}: claims a workload identity" for job in sorted((set(claimed) | labelled) - set(AZURE_JOBS))]
    for job, identity in AZURE_JOBS.items():
        client_id = claimed.get(job, "")
        if not (f"{identity}_identity" in client_id and client_id.endswith("client_id}")):
            problems.append(f"{job}: client id {client_id!r} is not the {identity} identity's")
        if job not in labelled:
            problems.append(f"{job}: pods without the workload identity label")
    return problems


def test_jobs_that_reach_azure_claim_their_own_workload_identity(cluster: StackJson) -> None:
    assert workload_identity_problems(cluster) == []
    # Failing example: the backup job's account given the compliance identity.
    broken = json.loads(json.dumps(cluster))
    accounts = {a["metadata"]["name"]: a for a in resources_of(broken, "kubernetes_service_account_v1").values()}
    compliance_annotations = accounts["compliance-validation"]["metadata"]["annotations"]
    accounts["cluster-backup"]["metadata"]["annotations"] = compliance_annotations
    client_id = compliance_annotations["azure.workload.identity/client-id"]
    assert workload_identity_problems(broken) == [
        f"cluster-backup: client id {client_id!r} is not the cluster-exports identity's"
    ]
    # Failing example: a pod of another job labelled for workload identity.
    relabelled = json.loads(json.dumps(cluster))
    for body in resources_of(relabelled, "kubernetes_cron_job_v1").values():
        if body["metadata"]["name"] == "cluster-backup":
            body["metadata"]["name"] = "another-job"
    assert "another-job: claims a workload identity" in workload_identity_problems(relabelled)


def pod_specs(cluster: StackJson) -> dict[str, tuple[str, dict]]:
    found = {}
    for resource_type, path in POD_SPEC_PATHS.items():
        for key, resource in resources_of(cluster, resource_type).items():
            node = resource
            for part in path:
                node = node[part]
            found[f"{resource_type}.{key}"] = (resource_type, node)
    return found


def test_every_pod_template_is_hardened(cluster: StackJson) -> None:
    specs = pod_specs(cluster)
    assert len(specs) == 3  # two jobs and the OpenTelemetry collector
    for address, (resource_type, pod) in specs.items():
        # The Aspect's own rules, over the synthesized JSON...
        assert (
            violations(
                resource_type, {"spec": pod} if resource_type == "kubernetes_pod_v1" else _wrap(resource_type, pod)
            )
            == []
        ), address
        # ...and the literal values, independently of the Aspect.
        assert pod["security_context"]["run_as_non_root"] is True and pod["security_context"]["run_as_user"] != "0"
        assert pod["security_context"]["seccomp_profile"] == {"type": "RuntimeDefault"}
        if resource_type == "kubernetes_deployment_v1":
            continue  # the OpenTelemetry collector: its own literal checks are in test_tracing.py
        assert pod["automount_service_account_token"] is True and pod["restart_policy"] == "Never"
        (container,) = pod["container"]
        context = container["security_context"]
        assert context["allow_privilege_escalation"] is False and context["read_only_root_filesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert set(container["resources"]["limits"]) == {"cpu", "memory"} == set(container["resources"]["requests"])
        assert ":" in container["image"] and not container["image"].endswith(":latest")
        mounts = {m["mount_path"]: m for m in container["volume_mount"]}
        assert mounts["/scripts"]["read_only"] is True and "/tmp" in mounts
        volumes = {v["name"]: v for v in pod["volume"]}
        assert "empty_dir" in volumes["tmp"] and "config_map" in volumes["scripts"]


def _wrap(resource_type: str, pod: dict) -> dict:
    wrapped: dict = pod
    for part in reversed(POD_SPEC_PATHS[resource_type]):
        wrapped = {part: wrapped}
    return wrapped


def test_schedules_limits_and_service_accounts(cluster: StackJson, environment: str) -> None:
    config = load_environment(environment).baseline
    cron_jobs = {c["metadata"]["name"]: c for c in resources_of(cluster, "kubernetes_cron_job_v1").values()}
    assert {name: c["spec"]["schedule"] for name, c in cron_jobs.items()} == {
        "cluster-backup": "0 2 * * *",
        "compliance-validation": config.compliance_schedule,  # daily: its results' alerts look back two days
    }
    for cron_job in cron_jobs.values():
        spec = cron_job["spec"]
        assert spec["concurrency_policy"] == "Forbid"
        assert spec["successful_jobs_history_limit"] == 3 and spec["failed_jobs_history_limit"] == 3
        job_spec = spec["job_template"]["spec"]
        assert job_spec["backoff_limit"] == config.backup_job.backoff_limit
        assert job_spec["active_deadline_seconds"] == config.backup_job.active_deadline_seconds
        assert job_spec["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "platform-baseline"
    assert not resources_of(cluster, "kubernetes_job_v1")  # the compliance checks run on a schedule, not once
    accounts = {
        a["metadata"]["name"]: a
        for a in resources_of(cluster, "kubernetes_service_account_v1").values()
        if "/baseline/" in a["//"]["metadata"]["path"]  # the baseline's own (tracing has one too)
    }
    assert set(accounts) == {"cluster-backup", "compliance-validation"}
    assert all(a["automount_service_account_token"] is False for a in accounts.values())


def test_rbac_is_read_only_and_never_reads_secrets(cluster: StackJson) -> None:
    roles = resources_of(cluster, "kubernetes_cluster_role_v1").values()
    assert len(roles) == 2
    for role in roles:
        for rule in role["rule"]:
            assert rule["verbs"] == ["get", "list"], role["metadata"]["name"]
            assert "secrets" not in rule["resources"] and "*" not in rule["resources"]
    assert len(resources_of(cluster, "kubernetes_cluster_role_binding_v1")) == 2


def test_scripts_come_from_files_and_are_fixed(cluster: StackJson) -> None:
    config_maps = {c["metadata"]["name"]: c for c in resources_of(cluster, "kubernetes_config_map_v1").values()}
    for name, script in (
        ("cluster-backup-script", "backup.sh"),
        ("compliance-validation-script", "compliance.sh"),
    ):
        assert config_maps[name]["data"] == {script: (SCRIPTS / script).read_text()}
    backup = "\n".join(line for line in (SCRIPTS / "backup.sh").read_text().splitlines() if not line.startswith("#"))
    assert "etcdctl" not in backup and "az snapshot" not in backup
    assert "secret" not in backup.split("for kind in")[1].split("; do")[0]
    # Uploads to the geo-redundant container; the bearer token travels in a header file, never in argv.
    assert 'PUT "$EXPORTS_URL/$stamp.tar.gz"' in backup and '--header @"$work/headers"' in backup
    assert "Bearer $token" not in backup.replace("'Authorization: Bearer %s\\n' \"$token\"", "")
    assert "/backups" not in backup


def test_managed_prometheus_agent_settings(cluster: StackJson, environment: str) -> None:
    (settings,) = [
        c
        for c in resources_of(cluster, "kubernetes_config_map_v1").values()
        if c["metadata"]["name"] == "ama-metrics-settings-configmap"
    ]
    assert settings["metadata"]["namespace"] == "kube-system"
    assert settings["data"]["schema-version"] == "v1"
    assert settings["data"]["prometheus-collector-settings"] == f'cluster_alias = "{environment}"'


def test_volume_claims_use_configured_storage_class(cluster: StackJson, environment: str) -> None:
    claims = resources_of(cluster, "kubernetes_persistent_volume_claim_v1").values()
    assert {c["metadata"]["name"] for c in claims} == {"compliance-reports"}  # exports go to blob storage
    assert all(c["spec"]["storage_class_name"] == load_environment(environment).baseline.storage_class for c in claims)


def ingress_problems(cluster: StackJson, ip_address: str, subnet: str) -> list[str]:
    """Why nothing would answer at the gateway's backend address over HTTPS (empty: the ingress does)."""
    controllers = [
        m["manifest"]
        for m in resources_of(cluster, "kubernetes_manifest").values()
        if m["manifest"]["kind"] == "NginxIngressController"
    ]
    if len(controllers) != 1:
        return [f"expected one NginxIngressController, found {len(controllers)}"]
    spec = controllers[0]["spec"]
    annotations = spec.get("loadBalancerAnnotations", {})
    problems = []
    if annotations.get("service.beta.kubernetes.io/azure-load-balancer-internal") != "true":
        problems.append("load balancer is not internal")
    if annotations.get("service.beta.kubernetes.io/azure-load-balancer-ipv4") != ip_address:
        problems.append("load balancer IP is not the gateway's backend address")
    if annotations.get("service.beta.kubernetes.io/azure-load-balancer-internal-subnet") != subnet:
        problems.append("load balancer is not in the backend address's subnet")
    if not spec.get("defaultSSLCertificate", {}).get("keyVaultURI", "").startswith("${"):
        problems.append("no Key Vault certificate for HTTPS")
    return problems


def test_an_internal_ingress_answers_at_the_gateway_backend_address(cluster: StackJson, environment: str) -> None:
    config = load_environment(environment)
    ip_address, subnet = config.app_gateway.ingress_ip_address, config.network.spoke.aks_user.name
    assert ingress_problems(cluster, ip_address, subnet) == []
    (controller,) = [
        m
        for m in resources_of(cluster, "kubernetes_manifest").values()
        if m["manifest"]["kind"] == "NginxIngressController"
    ]
    uri = controller["manifest"]["spec"]["defaultSSLCertificate"]["keyVaultURI"]
    assert "backend-certificate" in uri and uri.endswith("versionless_id}")  # the infra stack's ingress certificate
    # Failing examples: no controller (the former state) and a public one.
    assert ingress_problems({"resource": {}}, ip_address, subnet) != []
    public = json.loads(json.dumps(cluster))
    for body in resources_of(public, "kubernetes_manifest").values():
        body["manifest"]["spec"].get("loadBalancerAnnotations", {}).pop(
            "service.beta.kubernetes.io/azure-load-balancer-internal", None
        )
    assert ingress_problems(public, ip_address, subnet) == ["load balancer is not internal"]


def admits_ingress_from(cluster: StackJson, namespace: str, source_namespace: str) -> bool:
    refs = namespaces_by_reference(cluster)
    return any(
        refs[namespace_of(p)] == namespace
        and "Ingress" in p["spec"]["policy_types"]
        and p["spec"]["pod_selector"] == {}
        and any(
            peer.get("namespace_selector", {}).get("match_labels") == {"kubernetes.io/metadata.name": source_namespace}
            and "pod_selector" not in peer
            for rule in p["spec"].get("ingress", [])
            for peer in rule.get("from", [])
        )
        for p in resources_of(cluster, "kubernetes_network_policy_v1").values()
    )


def test_applications_admit_traffic_from_the_ingress_namespace_only(cluster: StackJson) -> None:
    assert admits_ingress_from(cluster, "applications", "app-routing-system")
    assert not any(admits_ingress_from(cluster, ns, "app-routing-system") for ns in NAMESPACES - {"applications"})
    # Failing example: without the policy, default-deny leaves the applications unreachable.
    broken = json.loads(json.dumps(cluster))
    broken["resource"]["kubernetes_network_policy_v1"] = {
        k: v
        for k, v in resources_of(broken, "kubernetes_network_policy_v1").items()
        if v["metadata"]["name"] != "allow-from-ingress"
    }
    assert not admits_ingress_from(broken, "applications", "app-routing-system")


FAKE_KUBECTL = """#!/bin/sh
case "$*" in
  "get ns -o jsonpath="*) printf 'kube-system \\napp-routing-system \\napplications restricted\\n' ;;
  "get ns -o name") printf 'namespace/kube-system\\nnamespace/app-routing-system\\nnamespace/applications\\n' ;;
  "get networkpolicy -n applications -o name") echo networkpolicy/default-deny-all ;;
  "get pods -A -o jsonpath="*)
    printf 'kube-system/cilium-x true\\napp-routing-system/nginx \\napplications/erp false\\n' ;;
esac
"""


FAKE_CURL = """#!/bin/sh
echo "$*" >> "$CURL_LOG"
case "$*" in
  *oauth2/v2.0/token*) echo '{"token_type":"Bearer","access_token":"eyJ0.token"}' ;;
  *dataCollectionRules/*) for arg in "$@"; do case "$arg" in @*) cp "${arg#@}" "$POSTED" ;; esac; done ;;
esac
"""


def compliance_env(cluster: StackJson) -> dict[str, str]:
    jobs = resources_of(cluster, "kubernetes_cron_job_v1").values()
    (job,) = [j for j in jobs if j["metadata"]["name"] == "compliance-validation"]
    (container,) = job["spec"]["job_template"]["spec"]["template"]["spec"]["container"]
    return {env["name"]: env["value"] for env in container["env"]}


def run_compliance(
    tmp_path: Path, platform_namespaces: str | None, results: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real compliance script against a fake API (AKS's namespaces unlabelled, ours compliant) and, with
    `results`, a fake Entra ID and Logs Ingestion API that record what the script sends."""
    (tmp_path / "bin").mkdir(parents=True)
    (tmp_path / "reports").mkdir()
    for name, text in (("kubectl", FAKE_KUBECTL), ("curl", FAKE_CURL)):
        tool = tmp_path / "bin" / name
        tool.write_text(text)
        tool.chmod(0o755)
    script = tmp_path / "compliance.sh"
    text = (SCRIPTS / "compliance.sh").read_text()
    script.write_text(
        text.replace("/tmp/compliance-rows.json", f"{tmp_path}/rows.json").replace("/reports/", f"{tmp_path}/reports/")
    )
    env = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "CURL_LOG": str(tmp_path / "curl.log")}
    env["POSTED"] = str(tmp_path / "posted.json")
    if platform_namespaces is not None:
        env["PLATFORM_NAMESPACES"] = platform_namespaces
    if results is not None:
        token = tmp_path / "federated-token"
        token.write_text("federated.jwt")
        env |= results | {
            "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
            "AZURE_TENANT_ID": "tenant",
            "AZURE_CLIENT_ID": "client",
            "AZURE_FEDERATED_TOKEN_FILE": str(token),
        }
    return subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env, timeout=60)


def test_the_compliance_job_skips_the_namespaces_aks_owns(cluster: StackJson, tmp_path: Path) -> None:
    env = compliance_env(cluster)
    skipped = env["PLATFORM_NAMESPACES"].split()
    assert {"app-routing-system", "gatekeeper-system", "kube-system"} <= set(skipped)
    assert not set(skipped) & NAMESPACES  # our namespaces are always checked
    result = run_compliance(tmp_path / "with", env["PLATFORM_NAMESPACES"])
    assert result.returncode == 0 and "FAIL" not in result.stdout, result.stdout + result.stderr
    # Failing example: the former script (no platform list) fails a clean cluster every day.
    result = run_compliance(tmp_path / "without", None)
    assert result.returncode == 1 and "FAIL every namespace has a NetworkPolicy" in result.stdout


def test_the_compliance_job_posts_one_row_per_check_to_its_rule(cluster: StackJson, tmp_path: Path) -> None:
    """The job's real environment (endpoint, rule and stream from the infra stack), the real script: a token
    from Entra ID with the federated token, then the rows to the rule's stream, failures included."""
    env = compliance_env(cluster)
    assert env["RESULTS_STREAM"] == "Custom-ClusterCompliance_CL"
    assert "logs_ingestion_endpoint" in env["RESULTS_ENDPOINT"] and "immutable_id" in env["RESULTS_RULE_ID"]
    results = {
        "RESULTS_ENDPOINT": "https://dce.eastus-1.ingest.monitor.azure.com",
        "RESULTS_RULE_ID": "dcr-0123",
        "RESULTS_STREAM": env["RESULTS_STREAM"],
        "ENVIRONMENT": env["ENVIRONMENT"],
    }
    result = run_compliance(tmp_path, None, results)  # no platform list: the NetworkPolicy check fails
    assert result.returncode == 1, result.stdout + result.stderr
    calls = (tmp_path / "curl.log").read_text().splitlines()
    assert "https://login.microsoftonline.com/tenant/oauth2/v2.0/token" in calls[0]
    assert "client_assertion=federated.jwt" in calls[0] and "monitor.azure.com//.default" in calls[0]
    rule = (
        "https://dce.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123/streams/Custom-ClusterCompliance_CL"
    )
    assert f"{rule}?api-version=2023-01-01" in calls[1] and "Bearer eyJ0.token" in calls[1]
    rows = {row["Check"]: row for row in json.loads((tmp_path / "posted.json").read_text())}
    assert set(rows) == {
        "namespaces enforce pod security restricted",
        "every namespace has a NetworkPolicy",
        "no privileged containers",
    }
    failed = rows["every namespace has a NetworkPolicy"]
    assert failed["Passed"] is False and failed["Findings"] == 1 and failed["Detail"] == "app-routing-system"
    assert rows["no privileged containers"]["Passed"] is True and rows["no privileged containers"]["Findings"] == 0
    assert all(row["Environment"] == env["ENVIRONMENT"] for row in rows.values())
    assert set(failed) == set(COMPLIANCE_COLUMNS)  # exactly the table's columns


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("acr.azurecr.io/platform/kubectl:1.36.5", "1.36.5"),
        ("acr.azurecr.io/platform/kubectl:1.36.5@sha256:" + "ab" * 32, "1.36.5"),  # the tag, not the digest
        ("acr.azurecr.io:5000/platform/kubectl@sha256:" + "ab" * 32, "abababababab"),  # a port is not a tag
    ],
)
def test_the_version_label_is_the_tag_of_a_pinned_image(image: str, version: str) -> None:
    assert image_version(image) == version
