"""Story 3.1's backup CronJob and compliance-validation CronJob, hardened.

Each job runs as its own ServiceAccount with least-privilege (read-only) RBAC, a PSS-restricted pod,
the pinned kubectl image of the cluster's minor version, resource limits and a script mounted read-only
from a ConfigMap built from `cluster-scripts/`. Both reach Azure as the workload identity federated with their
service account (annotation and pod label), through the private endpoints and Entra ID: the backup job uploads its
exports to a container of the geo-redundant application account (`ExportsTarget`, constructs/cluster_exports.py),
the compliance job posts its results to Log Analytics (`ResultsTarget`, constructs/compliance_results.py).

The story's weekly DR-test CronJob is gone: it ran `kubectl apply --dry-run=client`, which proves only that
the YAML parses. The restore drill `aks_restore` (drills/aks.py) restores a namespace from Azure Backup and
checks it with kubectl every week (docs/dr-drills.md).

API egress: with Azure CNI powered by Cilium, Kubernetes `ipBlock` does not match the API server, so the
jobs' egress to it is a `CiliumNetworkPolicy` with `toEntities: [kube-apiserver]` (egress works on AKS:
cilium/cilium#32464); with Azure Network Policy Manager it stays a NetworkPolicy to the configured ranges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from cdktf_cdktf_provider_kubernetes import cron_job_v1, job_v1
from cdktf_cdktf_provider_kubernetes.cluster_role_binding_v1 import (
    ClusterRoleBindingV1,
    ClusterRoleBindingV1Metadata,
    ClusterRoleBindingV1RoleRef,
    ClusterRoleBindingV1Subject,
)
from cdktf_cdktf_provider_kubernetes.cluster_role_v1 import ClusterRoleV1, ClusterRoleV1Metadata, ClusterRoleV1Rule
from cdktf_cdktf_provider_kubernetes.config_map_v1 import ConfigMapV1, ConfigMapV1Metadata
from cdktf_cdktf_provider_kubernetes.manifest import Manifest
from cdktf_cdktf_provider_kubernetes.network_policy_v1 import (
    NetworkPolicyV1,
    NetworkPolicyV1Metadata,
    NetworkPolicyV1Spec,
    NetworkPolicyV1SpecEgress,
    NetworkPolicyV1SpecEgressPorts,
    NetworkPolicyV1SpecEgressTo,
    NetworkPolicyV1SpecEgressToIpBlock,
    NetworkPolicyV1SpecPodSelector,
)
from cdktf_cdktf_provider_kubernetes.persistent_volume_claim_v1 import (
    PersistentVolumeClaimV1,
    PersistentVolumeClaimV1Metadata,
    PersistentVolumeClaimV1Spec,
    PersistentVolumeClaimV1SpecResources,
)
from cdktf_cdktf_provider_kubernetes.service_account_v1 import ServiceAccountV1, ServiceAccountV1Metadata

from config.baseline import BaselineJob
from constructs import Construct

SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "cluster-scripts"
NON_ROOT_UID = 65532
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
# Private address space: Entra ID is reached on public addresses only (through the firewall), never these.
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
PART_OF = {"app.kubernetes.io/part-of": "platform-baseline"}  # every job pod; they all call the API
MANAGED_BY = "terraform-cdktf"
# Everything the backup exports; Secrets deliberately absent.
EXPORTED_RESOURCES = (
    ("", ("namespaces", "services", "configmaps", "persistentvolumeclaims")),
    ("apps", ("deployments", "statefulsets", "daemonsets")),
    ("batch", ("cronjobs",)),
    ("networking.k8s.io", ("ingresses", "networkpolicies")),
    ("", ("resourcequotas", "limitranges")),
)
COMPLIANCE_JOB = "compliance-validation"  # also its service account: the federated credential's subject
COMPLIANCE_READ = (
    ("", ("namespaces", "pods")),
    ("networking.k8s.io", ("networkpolicies",)),
)


@dataclass(frozen=True)
class JobSpec:
    """One hardened job: what it runs, where, with which permissions and volumes."""

    name: str
    namespace: str
    script: str  # file name under cluster-scripts/
    settings: BaselineJob
    image: str
    read_rules: Sequence[tuple[str, Sequence[str]]]
    schedule: str | None = None  # None: a one-off Job
    volumes: Mapping[str, str] | None = None  # mount path -> PVC name
    env: Mapping[str, str] | None = None  # plain settings for the script (never secrets)
    client_id: str | None = None  # workload identity: the Azure identity the pod's token is exchanged for


@dataclass(frozen=True)
class ResultsTarget:
    """Where the compliance job posts its rows (Logs Ingestion API): cross-stack outputs of the infra stack."""

    client_id: str  # the identity federated with the job's service account
    endpoint: str  # the data collection endpoint's logs ingestion URL (private link)
    rule_id: str  # the data collection rule's immutable id
    stream: str
    environment: str
    private_endpoint_cidr: str  # the spoke's private endpoint subnet: the endpoint resolves there


def image_version(image: str) -> str:
    """The tag of a pinned image (`<repository>:<tag>` or `<repository>:<tag>@sha256:...`), or the first 12 hex
    digits of the digest when there is no tag (a label value is at most 63 characters)."""
    name, _, digest = image.partition("@sha256:")
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else digest[:12]


def recommended_labels(job: JobSpec) -> dict[str, str]:
    """The Kubernetes recommended labels, all of which the Gatekeeper required-labels policy demands."""
    return {
        "app.kubernetes.io/name": job.name,
        "app.kubernetes.io/version": image_version(job.image),
        "app.kubernetes.io/component": job.script.removesuffix(".sh"),
        **PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


@dataclass(frozen=True)
class ExportsTarget:
    """Where the backup job uploads (constructs/cluster_exports.py `ClusterExportsWriter`)."""

    client_id: str  # the writer identity (Storage Blob Data Contributor on the container only)
    container_url: str  # https://<account>.blob.core.windows.net/<container>
    private_endpoint_cidr: str  # the subnet of the account's blob private endpoint


@dataclass(frozen=True)
class BaselineJobsProps:
    backup_namespace: str
    compliance_namespace: str
    backup: BaselineJob
    compliance: BaselineJob
    backup_schedule: str
    exports: ExportsTarget
    storage_class: str
    reports_storage_size: str
    api_server_cidrs: Sequence[str]  # Azure Network Policy Manager only
    image: str  # pinned kubectl image in the environment's registry
    cilium: bool = True  # the cluster runs Cilium: API egress by the kube-apiserver entity
    # Namespaces AKS and its add-ons own: the compliance checks skip them, as the Gatekeeper policies do.
    platform_namespaces: Sequence[str] = ()
    compliance_schedule: str = "30 3 * * *"
    results: ResultsTarget | None = None  # None: the compliance job keeps its report on its volume only


def script_text(file_name: str) -> str:
    return (SCRIPTS_DIR / file_name).read_text(encoding="utf-8")


class BaselineJobs(Construct):
    def __init__(self, scope: Construct, id: str, *, props: BaselineJobsProps) -> None:
        super().__init__(scope, id)
        reports_pvc = self._volume_claim(
            "compliance-reports", props.compliance_namespace, props.storage_class, props.reports_storage_size
        )
        jobs = (
            JobSpec(
                "cluster-backup",
                props.backup_namespace,
                "backup.sh",
                props.backup,
                props.image,
                EXPORTED_RESOURCES,
                props.backup_schedule,
                env={"EXPORTS_URL": props.exports.container_url},
                client_id=props.exports.client_id,
            ),
            JobSpec(
                COMPLIANCE_JOB,
                props.compliance_namespace,
                "compliance.sh",
                props.compliance,
                props.image,
                COMPLIANCE_READ,
                props.compliance_schedule,
                {"/reports": reports_pvc},
                {"PLATFORM_NAMESPACES": " ".join(props.platform_namespaces), **_results_env(props.results)},
                props.results.client_id if props.results else None,
            ),
        )
        if props.results is not None:
            self._azure_egress(
                "compliance-results-egress",
                "allow-results-egress",
                props.compliance_namespace,
                props.results.private_endpoint_cidr,
            )
        # Construct ids from roles, not namespace names (those are references to the namespaces).
        for role, namespace in (("backup", props.backup_namespace), ("compliance", props.compliance_namespace)):
            if props.cilium:
                self._api_egress_cilium(role, namespace)
            else:
                self._api_egress(role, namespace, props.api_server_cidrs)
        for job in jobs:
            self._job(job)
        self._azure_egress(
            "backup-allow-exports-egress",
            "allow-exports-egress",
            props.backup_namespace,
            props.exports.private_endpoint_cidr,
        )

    def _volume_claim(self, name: str, namespace: str, storage_class: str, size: str) -> str:
        claim = PersistentVolumeClaimV1(
            self,
            f"{name}-pvc",
            metadata=PersistentVolumeClaimV1Metadata(name=name, namespace=namespace),
            spec=PersistentVolumeClaimV1Spec(
                access_modes=["ReadWriteOnce"],
                storage_class_name=storage_class,
                resources=PersistentVolumeClaimV1SpecResources(requests={"storage": size}),
            ),
            wait_until_bound=False,  # CSI disks bind on first consumer (WaitForFirstConsumer)
        )
        return claim.metadata.name

    def _api_egress_cilium(self, role: str, namespace: str) -> None:
        """The jobs call kubectl; Cilium identifies the API server (wherever it runs) as `kube-apiserver`.

        A custom resource, so a `kubernetes_manifest` (plannable once the cluster exists: infra first)."""
        Manifest(
            self,
            f"{role}-allow-api-server-cilium",
            manifest={
                "apiVersion": "cilium.io/v2",
                "kind": "CiliumNetworkPolicy",
                "metadata": {"name": "allow-api-server-egress", "namespace": namespace},
                "spec": {
                    "endpointSelector": {"matchLabels": PART_OF},
                    "egress": [
                        {
                            "toEntities": ["kube-apiserver"],
                            "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}],
                        }
                    ],
                },
            },
        )

    def _api_egress(self, role: str, namespace: str, cidrs: Sequence[str]) -> None:
        """Azure Network Policy Manager: the private API IP is unknown at plan time, so allow the configured ranges."""
        NetworkPolicyV1(
            self,
            f"{role}-allow-api-server",
            metadata=NetworkPolicyV1Metadata(name="allow-api-server-egress", namespace=namespace),
            spec=NetworkPolicyV1Spec(
                pod_selector=NetworkPolicyV1SpecPodSelector(match_labels=PART_OF),
                policy_types=["Egress"],
                egress=[
                    NetworkPolicyV1SpecEgress(
                        to=[
                            NetworkPolicyV1SpecEgressTo(ip_block=NetworkPolicyV1SpecEgressToIpBlock(cidr=c))
                            for c in cidrs
                        ],
                        ports=[NetworkPolicyV1SpecEgressPorts(port="443", protocol="TCP")],
                    )
                ],
            ),
        )

    def _azure_egress(self, construct_id: str, name: str, namespace: str, private_endpoint_cidr: str) -> None:
        """HTTPS from the workload-identity pods to the private endpoints (blob, data collection endpoint) and to
        Entra ID for the token exchange (public addresses, through the firewall)."""
        NetworkPolicyV1(
            self,
            construct_id,
            metadata=NetworkPolicyV1Metadata(name=name, namespace=namespace),
            spec=NetworkPolicyV1Spec(
                pod_selector=NetworkPolicyV1SpecPodSelector(match_labels={WORKLOAD_IDENTITY_LABEL: "true"}),
                policy_types=["Egress"],
                egress=[
                    NetworkPolicyV1SpecEgress(
                        to=[
                            NetworkPolicyV1SpecEgressTo(
                                ip_block=NetworkPolicyV1SpecEgressToIpBlock(cidr=private_endpoint_cidr)
                            ),
                            NetworkPolicyV1SpecEgressTo(
                                ip_block=NetworkPolicyV1SpecEgressToIpBlock(
                                    cidr="0.0.0.0/0", except_=list(PRIVATE_RANGES)
                                )
                            ),
                        ],
                        ports=[NetworkPolicyV1SpecEgressPorts(port="443", protocol="TCP")],
                    )
                ],
            ),
        )

    def _job(self, job: JobSpec) -> None:
        account = ServiceAccountV1(
            self,
            f"{job.name}-sa",
            metadata=ServiceAccountV1Metadata(
                name=job.name,
                namespace=job.namespace,
                annotations={"azure.workload.identity/client-id": job.client_id} if job.client_id else None,
            ),
            automount_service_account_token=False,  # mounted only into the pods, which call the API
        )
        account_name = account.metadata.name  # each read is a kernel round trip
        role = ClusterRoleV1(
            self,
            f"{job.name}-role",
            metadata=ClusterRoleV1Metadata(name=f"baseline-{job.name}-read"),
            rule=[
                ClusterRoleV1Rule(api_groups=[group], resources=list(resources), verbs=["get", "list"])
                for group, resources in job.read_rules
            ],
        )
        ClusterRoleBindingV1(
            self,
            f"{job.name}-binding",
            metadata=ClusterRoleBindingV1Metadata(name=f"baseline-{job.name}-read"),
            role_ref=ClusterRoleBindingV1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role.metadata.name
            ),
            subject=[ClusterRoleBindingV1Subject(kind="ServiceAccount", name=account_name, namespace=job.namespace)],
        )
        scripts = ConfigMapV1(
            self,
            f"{job.name}-script",
            metadata=ConfigMapV1Metadata(name=f"{job.name}-script", namespace=job.namespace),
            data={job.script: script_text(job.script)},
        )
        scripts_name = scripts.metadata.name
        labels = recommended_labels(job)
        # The workload identity webhook projects the token and AZURE_* variables into labelled pods only.
        pod_labels = {**labels, WORKLOAD_IDENTITY_LABEL: "true"} if job.client_id else labels
        if job.schedule is None:
            job_v1.JobV1(
                self,
                f"{job.name}-job",
                metadata=job_v1.JobV1Metadata(name=job.name, namespace=job.namespace, labels=labels),
                spec=job_v1.JobV1Spec(
                    backoff_limit=job.settings.backoff_limit,
                    active_deadline_seconds=job.settings.active_deadline_seconds,
                    template=job_v1.JobV1SpecTemplate(
                        metadata=job_v1.JobV1SpecTemplateMetadata(labels=pod_labels),
                        spec=_pod_spec(job_v1, "JobV1SpecTemplateSpec", job, account_name, scripts_name),
                    ),
                ),
                wait_for_completion=False,  # the apply must not block on a validation run
            )
            return
        prefix = "CronJobV1SpecJobTemplateSpecTemplateSpec"
        cron_job_v1.CronJobV1(
            self,
            f"{job.name}-cronjob",
            metadata=cron_job_v1.CronJobV1Metadata(name=job.name, namespace=job.namespace, labels=labels),
            spec=cron_job_v1.CronJobV1Spec(
                schedule=job.schedule,
                concurrency_policy="Forbid",
                successful_jobs_history_limit=3,
                failed_jobs_history_limit=3,
                starting_deadline_seconds=600,
                job_template=cron_job_v1.CronJobV1SpecJobTemplate(
                    metadata=cron_job_v1.CronJobV1SpecJobTemplateMetadata(labels=labels),
                    spec=cron_job_v1.CronJobV1SpecJobTemplateSpec(
                        backoff_limit=job.settings.backoff_limit,
                        active_deadline_seconds=job.settings.active_deadline_seconds,
                        template=cron_job_v1.CronJobV1SpecJobTemplateSpecTemplate(
                            metadata=cron_job_v1.CronJobV1SpecJobTemplateSpecTemplateMetadata(labels=pod_labels),
                            spec=_pod_spec(cron_job_v1, prefix, job, account_name, scripts_name),
                        ),
                    ),
                ),
            ),
        )


def _results_env(results: ResultsTarget | None) -> dict[str, str]:
    if results is None:
        return {}
    return {
        "RESULTS_ENDPOINT": results.endpoint,
        "RESULTS_RULE_ID": results.rule_id,
        "RESULTS_STREAM": results.stream,
        "ENVIRONMENT": results.environment,
    }


def _pod_spec(module: ModuleType, prefix: str, job: JobSpec, account: str, scripts: str) -> Any:
    """The PSS-restricted pod of a job; `prefix` names the provider's struct family (Job or CronJob)."""

    def struct(suffix: str, **kwargs: Any) -> Any:
        return getattr(module, prefix + suffix)(**kwargs)

    mounts = {"/scripts": "scripts", "/tmp": "tmp", **{path: "data" for path in (job.volumes or {})}}
    volumes = [
        struct("Volume", name="scripts", config_map=struct("VolumeConfigMap", name=scripts, default_mode="0555")),
        struct("Volume", name="tmp", empty_dir=struct("VolumeEmptyDir", size_limit="256Mi")),
        *(
            struct(
                "Volume", name="data", persistent_volume_claim=struct("VolumePersistentVolumeClaim", claim_name=claim)
            )
            for claim in (job.volumes or {}).values()
        ),
    ]
    resources = job.settings
    return struct(
        "",
        service_account_name=account,
        automount_service_account_token=True,  # every job calls the API with kubectl
        restart_policy="Never",
        security_context=struct(
            "SecurityContext",
            run_as_non_root=True,
            run_as_user=str(NON_ROOT_UID),
            run_as_group=str(NON_ROOT_UID),
            fs_group=str(NON_ROOT_UID),
            seccomp_profile=struct("SecurityContextSeccompProfile", type="RuntimeDefault"),
        ),
        container=[
            struct(
                "Container",
                name=job.name,
                image=job.image,
                command=["/bin/sh", f"/scripts/{job.script}"],
                env=[struct("ContainerEnv", name=name, value=value) for name, value in sorted((job.env or {}).items())]
                or None,
                resources=struct(
                    "ContainerResources",
                    requests={"cpu": resources.cpu_request, "memory": resources.memory_request},
                    limits={"cpu": resources.cpu_limit, "memory": resources.memory_limit},
                ),
                security_context=struct(
                    "ContainerSecurityContext",
                    run_as_non_root=True,
                    run_as_user=str(NON_ROOT_UID),
                    allow_privilege_escalation=False,
                    privileged=False,
                    read_only_root_filesystem=True,
                    capabilities=struct("ContainerSecurityContextCapabilities", drop=["ALL"]),
                    seccomp_profile=struct("ContainerSecurityContextSeccompProfile", type="RuntimeDefault"),
                ),
                volume_mount=[
                    struct("ContainerVolumeMount", name=volume, mount_path=path, read_only=volume == "scripts")
                    for path, volume in mounts.items()
                ],
            )
        ],
        volume=volumes,
    )
