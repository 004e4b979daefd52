#!/bin/sh
# Daily export of cluster object definitions (Story 3.1 backup job, fixed):
# - no etcdctl: AKS runs a managed control plane, etcd is not reachable; Azure backs it up.
# - Secrets are NOT exported (they would leak into the backup volume); they live in Key Vault.
# - Persistent volume snapshots come from Azure Backup for AKS (infra stack), not per-PVC az snapshot loops.
set -eu
stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="/backups/$stamp"
mkdir -p "$target"
for kind in namespaces deployments statefulsets daemonsets services configmaps ingresses \
            persistentvolumeclaims cronjobs networkpolicies resourcequotas limitranges; do
  kubectl get "$kind" --all-namespaces -o yaml > "$target/$kind.yaml"
done
# Keep 30 days of exports on the backup volume.
find /backups -mindepth 1 -maxdepth 1 -type d -mtime +30 -exec rm -rf {} +
echo "backup written to $target"
