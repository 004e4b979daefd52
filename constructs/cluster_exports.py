"""Cluster exports (Story 3.1's backup CronJob) into geo-redundant storage: the identity the job writes as.

The daily `cluster-backup` CronJob (constructs/baseline/jobs.py) exports the cluster's object definitions and
uploads them as one archive to a container of the application storage account (GZRS in staging, RA-GZRS in
production: the copy survives the region). It writes through workload identity: a user-assigned identity
federated with the job's service account, holding Storage Blob Data Contributor on that one container.

Why blob and not an Azure Files share on the same account: the account has shared keys off (Entra ID only),
and the Azure Files CSI driver mounts SMB shares with the account key; NFS shares need a premium account,
which offers no geo-redundancy. Blob with an Entra token needs no key and scopes the write to one container.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct
from constructs.federation import federated_identity, service_account_subject, service_account_trust
from constructs.interfaces import RoleGrant, grant
from constructs.naming import Naming

WRITER_ROLE = "Storage Blob Data Contributor"  # upload the archive; the lifecycle policy ages them out
EXPORTS_SERVICE_ACCOUNT = "cluster-backup"  # the CronJob's service account (constructs/baseline/jobs.py)


def exports_subject(namespace: str) -> str:
    return service_account_subject(namespace, EXPORTS_SERVICE_ACCOUNT)


@dataclass(frozen=True)
class ClusterExportsWriterProps:
    naming: Naming
    location: str
    resource_group_name: str
    container_id: str  # ARM id of the exports container (StorageContainer.resource_manager_id)
    blob_endpoint: str  # the account's primary blob endpoint (https://<account>.blob.core.windows.net/)
    container_name: str
    oidc_issuer_url: str  # the AKS cluster's issuer, trusted for the job's service account tokens
    namespace: str  # the job's namespace (baseline)


class ClusterExportsWriter(Construct):
    """Exposes `client_id` (the service account annotation) and `container_url` (where the job uploads)."""

    def __init__(self, scope: Construct, id: str, *, props: ClusterExportsWriterProps) -> None:
        super().__init__(scope, id)
        identity, _ = federated_identity(
            self,
            "identity",
            name=props.naming.name("cluster-exports", "id"),
            location=props.location,
            resource_group_name=props.resource_group_name,
            trusts=[service_account_trust(props.oidc_issuer_url, props.namespace, EXPORTS_SERVICE_ACCOUNT)],
        )
        grant(
            self,
            "writes-exports",
            RoleGrant(props.container_id, WRITER_ROLE, identity.principal_id, "Cluster exports: one container"),
        )
        self.client_id = identity.client_id
        self.container_url = f"{props.blob_endpoint}{props.container_name}"
