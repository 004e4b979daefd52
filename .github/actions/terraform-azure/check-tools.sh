#!/usr/bin/env bash
# Fails unless the runner image's verified tools are the ones the workflows need (runner-image/Dockerfile):
# Terraform TERRAFORM_VERSION (default: the Dockerfile's ARG), kubelogin, Python 3.11 and Node on PATH.
# Downloads nothing: a privileged job runs only what the image verified when it was built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dockerfile=${RUNNER_DOCKERFILE:-$here/../../../runner-image/Dockerfile}
wanted=${TERRAFORM_VERSION:-$(sed -n 's/^ARG TERRAFORM_VERSION=//p' "$dockerfile")}
fail() {
  printf 'check-tools: error: %s\n' "$*" >&2
  exit 1
}
[ -n "$wanted" ] || fail "no TERRAFORM_VERSION (and none in $dockerfile)"
for tool in terraform kubelogin python3.11 node; do
  command -v "$tool" >/dev/null || fail "$tool is not on PATH: this job must run on the deployment runner image"
done
have=$(terraform version -json | python3.11 -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])')
[ "$have" = "$wanted" ] || fail "terraform is $have, the runner image pins $wanted (rebuild the image)"
echo "check-tools: terraform $have, $(kubelogin --version 2>&1 | head -1 | tr -s ' '), $(python3.11 --version), node $(node --version)"
