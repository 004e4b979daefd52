#!/usr/bin/env bash
# Keeps a fresh GitHub OIDC assertion for Entra ID in a file, for the whole job (docs/delivery.md "Token path").
#
#   federated-token.sh start    write the file, export the sign-in variables to the job ($GITHUB_ENV), and leave a
#                               refresher running that rewrites the file every REFRESH_SECONDS (default 240: under
#                               the assertion's 5-minute lifetime) until the runner ends the job
#   federated-token.sh once     write the file once (the refresher's step; the tests run it)
#
# Environment: ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN (GitHub sets them for a job with
# `id-token: write`), RUNNER_TEMP; for `start`: CLIENT_ID, TENANT_ID, SUBSCRIPTION_ID, GITHUB_ENV.
# The assertion goes to a mode-600 file only; it is never printed, nor put in the environment.
set -euo pipefail
shopt -s inherit_errexit

AUDIENCE=api://AzureADTokenExchange
token_file=${AZURE_FEDERATED_TOKEN_FILE:-${RUNNER_TEMP:?RUNNER_TEMP is not set}/azure-federated-token}

fail() {
  printf 'federated-token: error: %s\n' "$*" >&2
  exit 1
}

once() {
  [ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] && [ -n "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ] ||
    fail "no ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN: the job needs 'permissions: id-token: write' (forks never get it)"
  local response token
  response=$(printf 'Authorization: Bearer %s\n' "$ACTIONS_ID_TOKEN_REQUEST_TOKEN" |
    curl --silent --show-error --fail --max-time 30 --retry 3 --header @- \
      "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${AUDIENCE}") || fail "GitHub's OIDC token endpoint refused or failed"
  token=$(jq -r '.value // empty' <<<"$response" 2>/dev/null) || true  # jq: in the runner image
  [ -n "$token" ] || fail "GitHub's OIDC token endpoint answered without a token"
  umask 077
  printf '%s' "$token" >"$token_file.new"
  mv -f "$token_file.new" "$token_file" # atomic: a reader never sees half a token
}

start() {
  local name
  for name in CLIENT_ID TENANT_ID SUBSCRIPTION_ID GITHUB_ENV; do
    [ -n "${!name:-}" ] || fail "$name is not set"
  done
  once
  {
    # Terraform: azurerm provider and backend request their own fresh assertions (ACTIONS_ID_TOKEN_REQUEST_*).
    echo "ARM_USE_OIDC=true"
    echo "ARM_USE_AZUREAD=true"
    echo "ARM_CLIENT_ID=$CLIENT_ID"
    echo "ARM_TENANT_ID=$TENANT_ID"
    echo "ARM_SUBSCRIPTION_ID=$SUBSCRIPTION_ID"
    # kubelogin --login workloadidentity: the file this script keeps fresh.
    echo "AZURE_CLIENT_ID=$CLIENT_ID"
    echo "AZURE_TENANT_ID=$TENANT_ID"
    echo "AZURE_FEDERATED_TOKEN_FILE=$token_file"
    echo "AZURE_AUTHORITY_HOST=https://login.microsoftonline.com/"
  } >>"$GITHUB_ENV"
  # The refresher outlives this step (the runner ends a job's processes when the job ends).
  (
    trap '' HUP
    while sleep "${REFRESH_SECONDS:-240}"; do
      (once) || echo "federated-token: refresh failed (the next try is in ${REFRESH_SECONDS:-240} s)" >&2
    done
  ) </dev/null >/dev/null 2>&1 &
  echo "federated-token: signed in as $CLIENT_ID; the assertion is refreshed every ${REFRESH_SECONDS:-240} s"
}

case ${1:-} in
  start) start ;;
  once) once ;;
  *) fail "usage: $0 start|once" ;;
esac
