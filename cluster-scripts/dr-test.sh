#!/bin/sh
# Weekly DR rehearsal (Story 3.1, fixed): validates the latest export with a client-side dry run
# only (its ServiceAccount can only read, so it cannot change the cluster) and writes the results
# file it reports from (the story's script read a results file it never wrote).
set -eu
results=/tmp/dr-test-results.txt
latest=$(ls -1d /backups/*/ 2>/dev/null | sort | tail -n 1)
if [ -z "$latest" ]; then
  echo "FAIL: no backup export found under /backups" | tee "$results"
  exit 1
fi
: > "$results"
status=0
for file in "$latest"*.yaml; do
  if kubectl apply --dry-run=client -f "$file" > /dev/null 2>>"$results"; then
    echo "PASS $(basename "$file")" >> "$results"
  else
    echo "FAIL $(basename "$file")" >> "$results"
    status=1
  fi
done
cat "$results"
exit "$status"
