#!/bin/sh
# Compliance validation (Story 3.1, fixed): read-only checks, report written to the reports volume.
# Namespaces AKS and its add-ons own (PLATFORM_NAMESPACES, set by the Job from the governance config's policy
# exclusions) carry neither our Pod Security labels nor our NetworkPolicies and run privileged node agents by
# design: they are skipped, as the Gatekeeper policies skip them, so a clean cluster reports PASS.
# With RESULTS_ENDPOINT set (constructs/compliance_results.py), one row per check goes to Log Analytics through
# the Logs Ingestion API, as the workload identity the webhook injects (AZURE_* variables, federated token).
set -eu
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
report="/reports/compliance-$(date -u +%Y%m%dT%H%M%SZ).txt"
rows="/tmp/compliance-rows.json"
platform=" kube-system kube-public kube-node-lease ${PLATFORM_NAMESPACES:-} "
status=0
printf '[' > "$rows"
sep=""
ours() { # keeps lines whose first field (a namespace, or namespace/name) is not a platform namespace
  while read -r first rest; do
    case "$platform" in *" ${first%%/*} "*) ;; *) echo "$first $rest" ;; esac
  done
}
row() { # check name, passed (true/false), findings count, detail: one JSON object (detail reduced to safe text)
  detail=$(printf '%s' "$4" | tr '\n' ' ' | tr -cd 'A-Za-z0-9 ./:_-' | cut -c1-1000)
  printf '%s{"TimeGenerated":"%s","Environment":"%s","Check":"%s","Passed":%s,"Findings":%s,"Detail":"%s"}' \
    "$sep" "$now" "${ENVIRONMENT:-}" "$1" "$2" "$3" "$detail" >> "$rows"
  sep=","
}
check() { # name, command that prints offending items (empty output = pass)
  found=$(eval "$2" || true)
  if [ -z "$found" ]; then
    echo "PASS $1" >> "$report"; row "$1" true 0 ""
  else
    printf 'FAIL %s\n%s\n' "$1" "$found" >> "$report"; status=1
    row "$1" false "$(printf '%s\n' "$found" | wc -l | tr -d ' ')" "$found"
  fi
}
post() { # the rows to the data collection rule's stream; a failed post fails the job (its alert sees no rows)
  token=$(curl -sS --fail -X POST "${AZURE_AUTHORITY_HOST%/}/${AZURE_TENANT_ID}/oauth2/v2.0/token" \
    --data-urlencode "client_id=${AZURE_CLIENT_ID}" \
    --data-urlencode "scope=https://monitor.azure.com//.default" \
    --data-urlencode "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer" \
    --data-urlencode "client_assertion=$(cat "$AZURE_FEDERATED_TOKEN_FILE")" \
    --data-urlencode "grant_type=client_credentials" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  [ -n "$token" ] || { echo "no token for the results" >&2; return 1; }
  curl -sS --fail -X POST \
    "${RESULTS_ENDPOINT%/}/dataCollectionRules/${RESULTS_RULE_ID}/streams/${RESULTS_STREAM}?api-version=2023-01-01" \
    -H "Authorization: Bearer $token" -H "Content-Type: application/json" --data-binary "@$rows"
}
check "namespaces enforce pod security restricted" \
  "kubectl get ns -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.labels.pod-security\.kubernetes\.io/enforce}{\"\n\"}{end}' | ours | grep -v ' restricted$'"
check "every namespace has a NetworkPolicy" \
  "for ns in \$(kubectl get ns -o name | cut -d/ -f2 | ours); do [ -n \"\$(kubectl get networkpolicy -n \$ns -o name)\" ] || echo \$ns; done"
check "no privileged containers" \
  "kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.spec.containers[*].securityContext.privileged}{\"\n\"}{end}' | ours | grep true"
printf ']' >> "$rows"
cat "$report"
if [ -n "${RESULTS_ENDPOINT:-}" ]; then post || status=1; fi
exit "$status"
