"""Tier hash-record (step 1): a pinned file's sha256 from a stat-keyed record instead of reading the file again.

Verifying the pins hashes 47 MB of provider tarballs; while a file's device, inode, size, mtime and ctime are
those recorded with its hash, the recorded hash is used. With the tier off every file is hashed each run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from runtime.fast import settings
from runtime.fast.settings import atomic_file, tier_on

# Step 1's record: path -> [device, inode, size, mtime_ns, ctime_ns, sha256] of each file it hashed (`sha256_of`).
HASH_RECORD = settings.CACHE_DIR / "verified-files.json"


_hash_record: dict[str, list] = {}
_hash_record_state: list[str] = []  # "loaded", then "changed" once a new hash is recorded


def sha256_of(path: Path) -> str | None:
    """The sha256 of a file (None if missing). With tier hash-record, taken from `HASH_RECORD` while the
    file's stat identity (device, inode, size, mtime and ctime in ns) is the one recorded with it: writing
    a file changes its ctime, which no user-space tool sets back, and replacing it changes its inode, so
    a changed file is hashed again; an unchanged one (47 MB of provider tarballs each run) is not re-read."""
    if not tier_on("hash-record"):
        digest = hash_file(path)
        return digest.hexdigest() if digest else None
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    identity = [status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns]
    if not _hash_record_state:
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(HASH_RECORD.read_bytes())
            if isinstance(loaded, dict):
                _hash_record.update(loaded)
        _hash_record_state.append("loaded")
    entry = _hash_record.get(str(path))
    if isinstance(entry, list) and len(entry) == len(identity) + 1 and entry[:-1] == identity:
        return entry[-1]
    digest = hash_file(path)
    if digest is None:
        return None
    _hash_record[str(path)] = [*identity, digest.hexdigest()]
    _hash_record_state.append("changed")
    return digest.hexdigest()


def save_hash_record() -> None:
    if "changed" in _hash_record_state:
        HASH_RECORD.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(HASH_RECORD) as out:
            out.write(json.dumps(_hash_record, indent=1, sort_keys=True).encode())
        _hash_record_state[:] = ["loaded"]


def hash_file(path: Path) -> hashlib._Hash | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest
