"""Public images by digest: reference/image_digests.json records, per `<repository>:<tag>`, the digest the tag
resolved to and where that was read (docs/security-model.md "Supply chain"). Synth writes `<repository>:<tag>@<digest>`
(the tag stays readable; the runtime pulls the digest) and imports by digest, so the copy in the environment's registry
is the same manifest. An image the file lists without a digest is an open item: it keeps its tag, the Gatekeeper digest
rule exempts exactly it and the reference check names it (REF-IMAGE)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

DIGESTS_FILE = Path(__file__).resolve().parent.parent / "reference" / "image_digests.json"
# A reference ending in a SHA-256 manifest digest; the Gatekeeper template carries the same pattern.
BY_DIGEST = re.compile(r"@sha256:[a-f0-9]{64}$")


@cache
def _images() -> dict[str, dict[str, Any]]:
    images: dict[str, dict[str, Any]] = json.loads(DIGESTS_FILE.read_text(encoding="utf-8"))["images"]
    return images


def pinned(image: str) -> str:
    """`<repository>:<tag>` -> `<repository>:<tag>@sha256:...` when the file records its digest, else unchanged."""
    entry = _images().get(image)
    return str(entry["pinned"]) if entry else image


def digest_of(image: str) -> str | None:
    """`sha256:...` recorded for `<repository>:<tag>`, or None."""
    found = BY_DIGEST.search(pinned(image))
    return found.group(0)[1:] if found else None


def import_source(image: str) -> str:
    """What `az acr import --source` copies: `<repository>@sha256:...` (the Resource Manager ImportSource takes a
    tag or a digest, not both), or `<repository>:<tag>` for an open item."""
    digest = digest_of(image)
    return f"{image.rsplit(':', 1)[0]}@{digest}" if digest else image


def registry_copy(target: str, source: str) -> str:
    """The image a workload pulls from the environment's registry: `<login server>/<repository>:<tag>` with the
    source's digest appended (import keeps the manifest, so the digest is the same)."""
    digest = digest_of(source)
    return f"{target}@{digest}" if digest else target


def open_images() -> tuple[str, ...]:
    """Images the file lists without a digest, sorted."""
    return tuple(sorted(image for image in _images() if not digest_of(image)))
