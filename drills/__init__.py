"""Disaster-recovery drills that really restore (docs/dr-drills.md, issue #32).

Each drill restores one stateful component into scratch space, verifies known data in the copy, measures
RPO (age of the newest data the restore brought back, at the moment recovery was requested) and RTO (wall
time from that moment to a verified copy), records both as a row in Log Analytics, and tears down what it
created in a `finally`, even when a step fails.

Everything that reaches Azure goes through `drills.boundary.Cloud` (the `az` and `kubectl` command lines);
tests replace it with a recording fake. SQL runs through `psql` (`drills.database`) against the restored
server: the tests run it against a real local PostgreSQL.

    python -m drills.run --environment staging --synth cdktf.out [--drill postgres_point_in_time ...]
"""
