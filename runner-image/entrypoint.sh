#!/usr/bin/env bash
# Registers ONE ephemeral GitHub Actions runner for the repository, authenticated as a GitHub App, then runs it.
# Started by the Container Apps job (one execution per queued workflow job, KEDA's github-runner scaler).
#
#   GitHub App JWT (RS256, signed with openssl from APP_ID + APP_PRIVATE_KEY, valid <= 10 minutes)
#     -> POST /app/installations/{APP_INSTALLATION_ID}/access_tokens   installation token (1 h, this repository,
#                                                                       administration:write only)
#     -> POST /repos/{REPOSITORY}/actions/runners/registration-token   registration token (1 h, one use)
#     -> config.sh --ephemeral --unattended --disableupdate            the runner takes one job, then exits
#     -> run.sh                                                        without the App's key in its environment
#
# Environment: APP_ID, APP_INSTALLATION_ID, APP_PRIVATE_KEY (PEM, from the job's secret), REPOSITORY (owner/name),
# RUNNER_LABELS (comma-separated); optional GITHUB_API_URL (https://api.github.com), GITHUB_URL
# (https://github.com), RUNNER_HOME (the directory holding config.sh and run.sh, default the working directory),
# RUNNER_NAME (default the host name, unique per Container Apps replica).
# Usage: entrypoint.sh              register and run
#        entrypoint.sh registration-token   print a registration token and exit (the token step alone)
# Writes nothing but what config.sh writes; the private key only ever passes through a pipe.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too

GITHUB_API_URL=${GITHUB_API_URL:-https://api.github.com}
GITHUB_URL=${GITHUB_URL:-https://github.com}
RUNNER_HOME=${RUNNER_HOME:-$PWD}

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
  require APP_ID APP_INSTALLATION_ID APP_PRIVATE_KEY REPOSITORY
  [[ $APP_ID =~ ^[0-9]+$ ]] || fail "APP_ID must be the GitHub App's numeric id, got '$APP_ID'"
  [[ $APP_INSTALLATION_ID =~ ^[0-9]+$ ]] || fail "APP_INSTALLATION_ID must be numeric, got '$APP_INSTALLATION_ID'"
  [[ $REPOSITORY =~ ^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$ ]] || fail "REPOSITORY must be owner/name, got '$REPOSITORY'"
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

registration_token() {
  local jwt installation_token body response
  jwt=$(app_jwt)
  # Narrowed to this repository and the one permission that registers runners.
  body=$(jq -cn --arg repo "${REPOSITORY#*/}" '{repositories: [$repo], permissions: {administration: "write"}}')
  response=$(github_post "/app/installations/$APP_INSTALLATION_ID/access_tokens" "$jwt" "$body" \
    "Check APP_ID and APP_PRIVATE_KEY (the App's private key) and APP_INSTALLATION_ID.")
  installation_token=$(token_of "$response" "the installation token endpoint")
  response=$(github_post "/repos/$REPOSITORY/actions/runners/registration-token" "$installation_token" '{}' \
    "The App needs Administration: read and write on $REPOSITORY and must be installed on it.")
  token_of "$response" "the registration token endpoint"
}

main() {
  check_settings
  if [ "${1:-}" = registration-token ]; then
    registration_token
    printf '\n'
    return
  fi
  require RUNNER_LABELS
  local token
  token=$(registration_token)
  cd "$RUNNER_HOME"
  # --disableupdate: the runner never replaces itself with a release downloaded at job time (unverified, and lost
  # at the next ephemeral start anyway); the release is the image's, kept current by Renovate and a rebuild inside
  # GitHub's 30-day support window (docs/delivery.md "Runner release").
  ./config.sh --unattended --ephemeral --disableupdate --replace \
    --url "$GITHUB_URL/$REPOSITORY" --token "$token" \
    --name "${RUNNER_NAME:-$(hostname)}" --labels "$RUNNER_LABELS" --work _work
  # The jobs this runner takes inherit its environment: they must not see the App's key.
  unset APP_PRIVATE_KEY token
  exec ./run.sh
}

main "$@"
