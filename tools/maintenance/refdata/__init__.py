"""Refresh scripts for `reference/`: each reads a public Microsoft source (a fetched repository snapshot, a
checkout of a docs folder or a downloaded package) and writes one deterministic, sorted JSON extract with its
source and date in `_meta`. No network at test time: tests read only `reference/`."""
