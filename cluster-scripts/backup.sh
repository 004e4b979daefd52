#!/bin/sh
# Daily export of cluster object definitions (Story 3.1 backup job, fixed), uploaded as one archive to the
# geo-redundant application storage account (baseline.exports_container; docs/dr-drills.md):
# - no etcdctl: AKS runs a managed control plane, etcd is not reachable; Azure backs it up.
# - Secrets are NOT exported; they live in Key Vault.
# - Persistent volume snapshots come from Azure Backup for AKS (infra stack), not per-PVC az snapshot loops.
# - Workload identity: the webhook projects a federated token (AZURE_FEDERATED_TOKEN_FILE) that Entra ID
#   exchanges for a storage token of the writer identity (Storage Blob Data Contributor on the container only).
# - Retention: the account's lifecycle policy and blob soft delete/versioning, not this script.
set -eu
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d /tmp/export.XXXXXX)
mkdir -p "$work/$stamp"
for kind in namespaces deployments statefulsets daemonsets services configmaps ingresses \
            persistentvolumeclaims cronjobs networkpolicies resourcequotas limitranges; do
  kubectl get "$kind" --all-namespaces -o yaml > "$work/$stamp/$kind.yaml"
done
tar -czf "$work/$stamp.tar.gz" -C "$work" "$stamp"
token=$(curl --silent --show-error --fail --request POST \
  "${AZURE_AUTHORITY_HOST%/}/$AZURE_TENANT_ID/oauth2/v2.0/token" \
  --data-urlencode "client_id=$AZURE_CLIENT_ID" \
  --data-urlencode "grant_type=client_credentials" \
  --data-urlencode "scope=https://storage.azure.com/.default" \
  --data-urlencode "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer" \
  --data-urlencode "client_assertion@$AZURE_FEDERATED_TOKEN_FILE" | jq -r .access_token)
# The bearer token goes in a header file, not on the command line (visible in the process list).
printf 'Authorization: Bearer %s\n' "$token" > "$work/headers"
curl --silent --show-error --fail --request PUT "$EXPORTS_URL/$stamp.tar.gz" \
  --header @"$work/headers" --header "x-ms-version: 2023-11-03" --header "x-ms-blob-type: BlockBlob" \
  --header "Content-Type: application/gzip" --data-binary @"$work/$stamp.tar.gz"
rm -rf "$work"
echo "backup uploaded to $EXPORTS_URL/$stamp.tar.gz"
