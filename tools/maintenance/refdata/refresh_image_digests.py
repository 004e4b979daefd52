"""reference/image_digests.json: the digest each public image tag the app runs resolves to, and where it was found.

No registry is reachable where the reference data is refreshed, so the digests are not fetched here: each one is
read from a public repository that pins `<repository>:<tag>@sha256:...` for the exact tag (the code index's
`find_string`), or comes from Renovate (`renovate.json`, custom manager "Public images by digest": the registry's own
answer, recorded as a source `{"registry": ..., "note": "Renovate pull request #..."}`). Edit an entry by hand, then
run this to check every entry and rewrite the file in canonical form; it exits 1 and changes nothing on a problem.

    .venv/bin/python -m tools.maintenance.refdata.refresh_image_digests [--retrieved YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from tools.maintenance.refdata.common import REFERENCE_DIR, meta, write

NAME = "image_digests.json"
IMAGE = re.compile(r"^[a-z0-9.-]+\.[a-z]+(/[a-z0-9._-]+)+:[A-Za-z0-9._-]+$")  # <registry>/<repository>:<tag>
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


def problems(images: dict[str, dict[str, Any]]) -> list[str]:
    """What is wrong with the entries: every pin names its tag, a digest has sources that pin that digest, an
    entry without a digest says why (`open`)."""
    found = []
    for image, entry in sorted(images.items()):
        pinned, _, digest = str(entry.get("pinned", "")).partition("@")
        sources = entry.get("sources", [])
        if not IMAGE.match(image):
            found.append(f"{image}: not <registry>/<repository>:<tag>")
        if pinned != image:
            found.append(f"{image}: `pinned` is {entry.get('pinned')!r}, not this tag (with @<digest> or without)")
        if digest:
            if not DIGEST.match(digest):
                found.append(f"{image}: {digest!r} is not sha256:<64 hex>")
            if not sources:
                found.append(f"{image}: a digest without a source")
            for source in sources:
                if not (source.get("repo") and source.get("path")) and not source.get("registry"):
                    found.append(f"{image}: a source names neither repo and path nor registry: {source}")
                if source.get("digest") != digest:
                    found.append(f"{image}: source {source.get('repo') or source.get('registry')} pins another digest")
        elif not entry.get("open"):
            found.append(f"{image}: no digest and no `open` reason")
    return found


def canonical(images: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The entries with `independent_repositories` counted: distinct repositories (or registries) agreeing."""
    return {
        image: entry
        | {"independent_repositories": len({s.get("repo") or s.get("registry") for s in entry.get("sources", [])})}
        for image, entry in sorted(images.items())
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retrieved", help="the date the entries were read (default: as recorded)")
    args = parser.parse_args(argv)
    current = json.loads((REFERENCE_DIR / NAME).read_text())
    images = canonical(current["images"])
    found = problems(images)
    for problem in found:
        print(f"reference/{NAME}: {problem}", file=sys.stderr)
    if found:
        return 1
    sources = sorted(
        {
            (s["repo"], s["path"], s.get("commit", "")): {
                "repo": s["repo"],
                "path": s["path"],
                "commit": s.get("commit", ""),
            }
            for entry in images.values()
            for s in entry.get("sources", [])
            if s.get("repo")
        }.values(),
        key=lambda s: (s["repo"], s["path"]),
    )
    retrieved = args.retrieved or current["_meta"]["retrieved"]
    sources = [s | {"date": retrieved} for s in sources]
    header = meta(
        sources=sources,
        script="tools.maintenance.refdata.refresh_image_digests",
        retrieved=retrieved,
        note=current["_meta"].get("note", ""),
    )
    write(NAME, {"_meta": header, "images": images})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
