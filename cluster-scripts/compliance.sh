#!/bin/sh
# Compliance validation (Story 3.1, fixed): read-only checks, report written to the reports volume.
set -eu
report="/reports/compliance-$(date -u +%Y%m%dT%H%M%SZ).txt"
status=0
check() { # name, command that prints offending items (empty output = pass)
  found=$(sh -c "$2" || true)
  if [ -z "$found" ]; then echo "PASS $1" >> "$report"; else printf 'FAIL %s\n%s\n' "$1" "$found" >> "$report"; status=1; fi
}
check "namespaces enforce pod security restricted" \
  "kubectl get ns -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.labels.pod-security\.kubernetes\.io/enforce}{\"\n\"}{end}' | grep -v '^kube-' | grep -v ' restricted$'"
check "every namespace has a NetworkPolicy" \
  "for ns in \$(kubectl get ns -o name | cut -d/ -f2 | grep -v '^kube-'); do [ -n \"\$(kubectl get networkpolicy -n \$ns -o name)\" ] || echo \$ns; done"
check "no privileged containers" \
  "kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.spec.containers[*].securityContext.privileged}{\"\n\"}{end}' | grep true"
cat "$report"
exit "$status"
