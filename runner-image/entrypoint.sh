#!/usr/bin/env bash
# Starts ONE ephemeral GitHub Actions runner with a just-in-time (JIT) configuration, in two steps that run in two
# containers of the same Container Apps job execution (constructs/deployment.py GitHubRunners; one execution per
# queued workflow job, KEDA's github-runner scaler):
#
#   jit-config (init container, the only one given the App's key):
#     GitHub App JWT (RS256, signed with openssl from APP_ID + APP_PRIVATE_KEY, valid <= 10 minutes)
#     -> POST /app/installations/{APP_INSTALLATION_ID}/access_tokens   installation token (1 h, this repository,
#                                                                       administration:write only)
#     -> POST /repos/{REPOSITORY}/actions/runners/generate-jitconfig   the JIT configuration of ONE ephemeral runner
#        (name, runner group, RUNNER_LABELS, work folder)                with exactly the pool's labels
#     -> written to RUNNER_JITCONFIG_FILE (mode 0600) on the execution's own EmptyDir volume
#   run-jit (runner container, no secret in its environment):
#     ./run.sh --jitconfig "$(cat RUNNER_JITCONFIG_FILE)"   the runner takes one job, then exits (no config.sh,
#                                                            no registration token)
#
# Environment, jit-config: APP_ID, APP_INSTALLATION_ID, APP_PRIVATE_KEY (PEM, a Key Vault reference of the job),
# REPOSITORY (owner/name), RUNNER_LABELS (comma-separated), RUNNER_JITCONFIG_FILE; optional GITHUB_API_URL
# (https://api.github.com), RUNNER_NAME (default the host name, unique per Container Apps replica), RUNNER_GROUP_ID
# (1, the repository's default group: the only group repository runners have).
# Environment, run-jit: RUNNER_JITCONFIG_FILE; optional RUNNER_HOME (the directory holding run.sh, default the
# working directory).
# Usage: entrypoint.sh jit-config | run-jit     (the modes tools/checks/deployability.py compares the jobs' args with)
# The private key only ever passes through a pipe: it is written to no file and printed nowhere.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too

GITHUB_API_URL=${GITHUB_API_URL:-https://api.github.com}

fail() {
  printf 'runner-entrypoint: error: %s\n' "$*" >&2
  exit 1
}

require() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || fail "$name is not set (see the environment list at the top of $0)"
  done
}

check_settings() {
  require APP_ID APP_INSTALLATION_ID APP_PRIVATE_KEY REPOSITORY RUNNER_LABELS RUNNER_JITCONFIG_FILE
  [[ $APP_ID =~ ^[0-9]+$ ]] || fail "APP_ID must be the GitHub App's numeric id, got '$APP_ID'"
  [[ $APP_INSTALLATION_ID =~ ^[0-9]+$ ]] || fail "APP_INSTALLATION_ID must be numeric, got '$APP_INSTALLATION_ID'"
  [[ $REPOSITORY =~ ^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$ ]] || fail "REPOSITORY must be owner/name, got '$REPOSITORY'"
  [[ ${RUNNER_GROUP_ID:-1} =~ ^[0-9]+$ ]] || fail "RUNNER_GROUP_ID must be numeric, got '$RUNNER_GROUP_ID'"
  [[ $RUNNER_LABELS =~ ^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$ ]] ||
    fail "RUNNER_LABELS must be comma-separated labels, got '$RUNNER_LABELS'"
  # Tokens travel only over TLS; plain http is accepted for a loopback API (the offline test's fake GitHub).
  [[ $GITHUB_API_URL =~ ^https://|^http://127\.0\.0\.1(:[0-9]+)?$ ]] ||
    fail "GITHUB_API_URL must be an https:// URL, got '$GITHUB_API_URL'"
}

base64url() {
  openssl base64 -A | tr '+/' '-_' | tr -d '='
}

# The App's JWT: header.payload.signature, RS256 (RSASSA-PKCS1-v1_5 with SHA-256). iat 60 s in the past
# allows for clock drift; exp 9 minutes ahead stays under GitHub's 10-minute limit.
app_jwt() {
  local now header payload signature
  now=$(date +%s)
  header=$(printf '{"alg":"RS256","typ":"JWT"}' | base64url)
  payload=$(jq -cnj --arg iss "$APP_ID" --argjson iat "$((now - 60))" --argjson exp "$((now + 540))" \
    '{iat: $iat, exp: $exp, iss: $iss}' | base64url)
  signature=$(printf '%s.%s' "$header" "$payload" |
    openssl dgst -sha256 -sign <(printf '%s\n' "$APP_PRIVATE_KEY") 2>/dev/null | base64url) ||
    fail "APP_PRIVATE_KEY is not a usable PEM private key (openssl could not sign with it)"
  [ -n "$signature" ] || fail "APP_PRIVATE_KEY is not a usable PEM private key (empty signature)"
  printf '%s.%s.%s' "$header" "$payload" "$signature"
}

# POST to the GitHub API with a bearer credential (passed on stdin, never on the command line); prints the body.
# A status other than 201 fails with GitHub's message and the hint given.
github_post() {
  local path=$1 credential=$2 body=$3 hint=$4 response status
  response=$(printf 'Authorization: Bearer %s\n' "$credential" |
    curl --silent --show-error --max-time 30 --retry 3 --retry-connrefused \
      --request POST --header @- \
      --header 'Accept: application/vnd.github+json' --header 'X-GitHub-Api-Version: 2022-11-28' \
      --data "$body" --write-out '\n%{http_code}' "$GITHUB_API_URL$path") ||
    fail "POST $GITHUB_API_URL$path failed (network): is the API reachable from the runners' subnet?"
  status=${response##*$'\n'}
  response=${response%$'\n'*}
  if [ "$status" != 201 ]; then
    fail "POST $path returned HTTP $status: $(jq -r '.message? // empty' <<<"$response" 2>/dev/null || true). $hint"
  fi
  printf '%s' "$response"
}

token_of() {
  local token
  token=$(jq -r '.token // empty' <<<"$1") || true
  [ -n "$token" ] || fail "$2 answered without a token"
  printf '%s' "$token"
}

# The JIT configuration of one runner with exactly the pool's labels, written where the runner container reads it.
jit_config() {
  check_settings
  local jwt installation_token body response encoded
  jwt=$(app_jwt)
  # Narrowed to this repository and the one permission that registers runners.
  body=$(jq -cn --arg repo "${REPOSITORY#*/}" '{repositories: [$repo], permissions: {administration: "write"}}')
  response=$(github_post "/app/installations/$APP_INSTALLATION_ID/access_tokens" "$jwt" "$body" \
    "Check APP_ID and APP_PRIVATE_KEY (the App's private key) and APP_INSTALLATION_ID.")
  installation_token=$(token_of "$response" "the installation token endpoint")
  body=$(jq -cn --arg name "${RUNNER_NAME:-$(hostname)}" --argjson group "${RUNNER_GROUP_ID:-1}" \
    --arg labels "$RUNNER_LABELS" '{name: $name, runner_group_id: $group, labels: ($labels | split(",")),
      work_folder: "_work"}')
  response=$(github_post "/repos/$REPOSITORY/actions/runners/generate-jitconfig" "$installation_token" "$body" \
    "The App needs Administration: read and write on $REPOSITORY and must be installed on it.")
  encoded=$(jq -r '.encoded_jit_config // empty' <<<"$response") || true
  [ -n "$encoded" ] || fail "the generate-jitconfig endpoint answered without encoded_jit_config"
  # 0600: readable by the runner user only (both containers run as 1001); a credential for this one runner.
  (umask 077 && printf '%s' "$encoded" >"$RUNNER_JITCONFIG_FILE") ||
    fail "cannot write RUNNER_JITCONFIG_FILE=$RUNNER_JITCONFIG_FILE (is the shared volume mounted?)"
  printf 'runner-entrypoint: runner %s (id %s) configured with labels %s\n' \
    "$(jq -r '.runner.name' <<<"$response")" "$(jq -r '.runner.id' <<<"$response")" "$RUNNER_LABELS"
}

# Runs the runner from the file jit-config wrote. The file is removed first: it configures this one runner only,
# and the job's steps have no reason to find it.
run_jit() {
  require RUNNER_JITCONFIG_FILE
  [ -s "$RUNNER_JITCONFIG_FILE" ] ||
    fail "no JIT configuration in RUNNER_JITCONFIG_FILE=$RUNNER_JITCONFIG_FILE (did the jit-config step run?)"
  local config
  config=$(cat "$RUNNER_JITCONFIG_FILE")
  rm -f "$RUNNER_JITCONFIG_FILE"
  cd "${RUNNER_HOME:-$PWD}"
  # The runner's release is the image's, kept current by Renovate and a rebuild inside GitHub's 30-day support
  # window (docs/delivery.md "Runner release").
  exec ./run.sh --jitconfig "$config"
}

main() {
  case "${1:-}" in
    jit-config) jit_config ;;
    run-jit) run_jit ;;
    *) fail "usage: $0 jit-config | run-jit (got '${1:-}')" ;;
  esac
}

main "$@"
