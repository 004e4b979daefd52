"""The fast path's steps and tiers, one module each; runtime/fast_import.py puts them together (`enable()`).

Core (always on with the fast path): `pins` (step 1: verify the pinned distributions), `derive` (step 2: the
providers' tarballs trimmed for the kernel), `packages` (step 3: provider packages without their `__init__`),
`kernel` (step 5: the kernel started at once, directly). Tiers (`settings.TIERS`, each switchable off with
ERP_FAST_TIERS_OFF): `compiling` (compile), `lazy_classes` (lazy-classes), `warm_up` (warm-up), `one_cpu`
(one-cpu), `no_gc` (no-gc), `fast_exit` (fast-exit), `memo` (memo), `hash_record` (hash-record), `inputs` (inputs),
`version_once` (version-once), `code_cache` (code-cache), `defs_on_demand` (defs-on-demand), `sync_optimizer`
(sync-optimizer), `no_creation_stacks` (no-creation-stacks). `settings` holds what they share.
"""
