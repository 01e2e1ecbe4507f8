"""The glossary page: glossary.qmd, written from glossary.yml (the one data file of the course's terms).

    python tools/glossary.py           write glossary.qmd (unchanged if it is up to date)
    python tools/glossary.py --check   write nothing; exit 1 if glossary.qmd is out of date

glossary.yml lists each term with its plain-words definition and the lesson that introduces it (see
the file's header). The page lists the terms alphabetically, each with an anchor (`glossary.html#seed`,
see `anchor`) that the lessons link to, and a link to its lesson. Both editions of the site render it:
tools/student.py copies every top-level file into the student project, this page and the data included.
tests/test_glossary.py checks the data, that this page is up to date, and that the lessons define every
term at its first use.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "glossary.yml"
PAGE = ROOT / "glossary.qmd"
sys.path.insert(0, str(ROOT / "tools"))
from lessons import lesson_notebooks  # noqa: E402


def load(path: Path = DATA) -> list[dict]:
    """The entries of glossary.yml, each with `term`, `definition`, `lesson` and `also` (a list)."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for entry in entries:
        entry.setdefault("also", [])
    return entries


def anchor(term: str) -> str:
    """The id of a term on the glossary page: lower case, runs of other characters as one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def page(entries: list[dict], lessons: list[Path] | None = None) -> str:
    """The text of glossary.qmd for `entries`."""
    lessons = lesson_notebooks() if lessons is None else lessons
    lines = [
        "---",
        'title: "Glossary"',
        "repo-actions: false  # generated: no 'View source' (the student edition has no copy of this file)",
        "---",
        "",
        "<!-- Written by tools/glossary.py from glossary.yml: edit that file, then run the tool. -->",
        "",
        "The course's terms in plain words, in alphabetical order, each with the lesson that introduces it.",
        "Each lesson defines a term in **bold** where it first uses it.",
        "",
    ]
    for entry in sorted(entries, key=lambda e: e["term"].lower()):
        lesson = int(entry["lesson"])
        where = (
            f"[lesson {lesson}](notebooks/{lessons[lesson - 1].name})"
            if lesson <= len(lessons)
            else f"lesson {lesson}"
        )
        also = f" ({', '.join(entry['also'])})" if entry["also"] else ""
        lines += [
            f"[**{entry['term']}**{also}]{{#{anchor(entry['term'])}}}",
            f":   {' '.join(str(entry['definition']).split())} *Introduced in {where}.*",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = page(load())
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else None
    if "--check" in args:
        if current != text:
            print("glossary.qmd is out of date: run python tools/glossary.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        PAGE.write_text(text, encoding="utf-8")
        print(f"wrote {PAGE.name} ({len(load())} terms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
