"""The documentation stays navigable: the README is a front door, every page is reachable from it, every
relative link and every `docs/<page>.md "Section"` reference in code and docs points at something that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
CODE_SPAN = re.compile(r"`[^`\n]*`")  # `[a-z](-x)` in a pattern is code, not a link
SECTION_REFERENCE = re.compile(r"(docs/[\w/.-]+\.md) \"([^\"]+)\"")


def links(page: Path) -> list[str]:
    return LINK.findall(CODE_SPAN.sub("", page.read_text()))


def markdown_pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    return [
        f"{page.relative_to(root)}: {target}"
        for target in links(page)
        if "://" not in target and not (page.parent / target).resolve().exists()
    ]


def reachable_pages() -> set[Path]:
    seen, todo = set(), [README]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".md":
            continue
        seen.add(page)
        todo += [(page.parent / target).resolve() for target in links(page) if "://" not in target]
    return seen


def headings(page: Path) -> set[str]:
    return {line.lstrip("#").strip() for line in page.read_text().splitlines() if re.match(r"^#+ ", line)}


def bold_leads(page: Path) -> set[str]:
    """Paragraph leads like `**Runner network and egress.**`: sections without a heading of their own."""
    return {lead.rstrip(".") for lead in re.findall(r"^\*\*([^*]+)\*\*", page.read_text(), re.M)}


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move the detail into docs/"
    assert lines[3].startswith("scripts/synth") and lines[4].startswith("scripts/test")


def test_every_relative_link_resolves() -> None:
    assert [problem for page in markdown_pages() for problem in broken_links(page)] == []


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("[gone](missing.md) and [fine](page.md) and [web](https://example.org)\n")
    assert broken_links(page, tmp_path) == ["page.md: missing.md"]


def test_every_docs_page_is_reachable_from_the_readme() -> None:
    reachable = reachable_pages()
    assert [str(page.relative_to(ROOT)) for page in sorted(DOCS.rglob("*.md")) if page.resolve() not in reachable] == []


def tracked_texts() -> dict[str, str]:
    """Every tracked text file but snapshots and locks, by path."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    texts = {}
    for name in files:
        path = ROOT / name
        if "__snapshots__" in name or path.suffix in {".gz", ".lock"} or not path.is_file():
            continue
        try:
            texts[name] = path.read_text()
        except UnicodeDecodeError:
            continue
    return texts


def test_section_references_in_code_and_docs_name_an_existing_section() -> None:
    problems = []
    for name, text in tracked_texts().items():
        for page, section in SECTION_REFERENCE.findall(text):
            target = ROOT / page
            if not target.exists():
                problems.append(f"{name}: {page} does not exist")
            elif not any(
                name == section or name.startswith((f"{section}:", f"{section} ("))
                for name in headings(target) | bold_leads(target)
            ):
                problems.append(f"{name}: {page} has no section {section!r}")
    assert problems == []


def test_no_reference_names_a_readme_section() -> None:
    """The README keeps no sections of detail: a reference to a README section points at nothing."""
    pattern = re.compile("README" + ' "[^"]+"')  # split: this line is not a reference itself
    assert [f"{name}: {match}" for name, text in tracked_texts().items() for match in pattern.findall(text)] == []


def test_the_handbooks_page_lists_every_environment_in_promotion_order() -> None:
    from config.loader import ENVIRONMENTS
    from tools.docgen.handbook import INDEX, index_table

    assert index_table(ENVIRONMENTS) in INDEX.read_text(), "run python -m tools.docgen.handbook cdktf.out --write"
