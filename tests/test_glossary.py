"""The glossary: glossary.yml (one entry per term), the page tools/glossary.py writes from it, the site
entries, and the rule that the first use of every term in the course, in lesson order, is its
definition in bold or a link to the glossary page.

Every lesson is written to the rule (issues 40-43). PENDING names a lesson still being rewritten, whose
terms are then marked xfail instead of failing; it is empty.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import glossary  # tools/glossary.py
from lessons import lesson_notebooks

ROOT = Path(__file__).resolve().parent.parent

LESSONS = lesson_notebooks()
ENTRIES = glossary.load()
REQUIRED = [
    "tensor",
    "epoch",
    "hidden layer",
    "unit",
    "softmax",
    "sigmoid",
    "tanh",
    "gradient",
    "learning rate",
    "seed",
    "overfitting",
    "regularization",
    "dropout",
    "parameter",
    "logit",
    "cross-entropy",
    "batch",
    "momentum",
    "Adam",
    "batch normalization",
    "convolution",
    "receptive field",
    "data augmentation",
    "validation set",
]
PENDING: dict[int, str] = {}  # lesson number -> the issue that rewrites it


# ---------------------------------------------------------------- reading the lessons' prose
def prose(markdown: str) -> str:
    """The text of a markdown cell as the first-use rule reads it: headings (titles name things, they do
    not use them), code, maths, images, HTML tags and URLs removed; a link to the glossary page becomes
    bold (it counts as a definition), any other link its text."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"(?<![\\$])\$[^$\n]+\$", " ", text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\[([^\]]*)\]\(([^)]*glossary[^)]*)\)", r"**\1**", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"https?://\S+", " ", text)


def bold_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\*\*(.+?)\*\*", text, flags=re.DOTALL)]


def pattern(entry: dict) -> re.Pattern:
    forms = [entry["term"], *entry["also"]]
    # a term may wrap a line
    alternatives = "|".join(
        r"\s+".join(map(re.escape, f.split())) + r"(?:s|es)?"
        for f in sorted(forms, key=len, reverse=True)
    )
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.IGNORECASE)


def first_use(entry: dict, lessons: list[Path] = LESSONS) -> tuple[int, int, str, bool] | None:
    """(lesson number, cell index, the sentence around it, defined there?) of the term's first use in the
    course: every markdown cell of every lesson (solutions and layers included), in order."""
    regex = pattern(entry)
    for number, path in enumerate(lessons, 1):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            text = prose("".join(cell["source"]))
            match = regex.search(text)
            if match:
                defined = any(a <= match.start() and match.end() <= b for a, b in bold_spans(text))
                around = " ".join(text[max(0, match.start() - 60) : match.end() + 60].split())
                return number, index, around, defined
    return None


# ---------------------------------------------------------------- the data and the page
def test_the_data_is_well_formed() -> None:
    terms = [e["term"] for e in ENTRIES]
    assert len(terms) == len({t.lower() for t in terms}), "each term once"
    for entry in ENTRIES:
        assert set(entry) <= {"term", "definition", "lesson", "also"}, entry
        assert isinstance(entry["term"], str) and entry["term"].strip(), entry
        assert isinstance(entry["definition"], str) and len(entry["definition"].split()) >= 5, entry
        assert entry["lesson"] in range(1, len(LESSONS) + 1), (
            f"{entry['term']}: lesson {entry['lesson']}"
        )
        assert isinstance(entry["also"], list), entry
    lesson_order = [e["lesson"] for e in ENTRIES]
    assert lesson_order == sorted(lesson_order), "the entries are in lesson order"


def test_the_terms_the_issue_asks_for_are_there() -> None:
    terms = {e["term"].lower() for e in ENTRIES}
    assert not [t for t in REQUIRED if t.lower() not in terms]


def test_the_page_is_up_to_date() -> None:
    assert glossary.PAGE.read_text(encoding="utf-8") == glossary.page(ENTRIES), (
        "run python tools/glossary.py"
    )


def test_the_page_has_every_term_with_its_anchor_and_lesson() -> None:
    text = glossary.PAGE.read_text(encoding="utf-8")
    for entry in ENTRIES:
        assert f"{{#{glossary.anchor(entry['term'])}}}" in text, entry["term"]
    assert f"notebooks/{LESSONS[0].name}" in text


def test_the_page_checks_catch_a_stale_page(tmp_path, monkeypatch) -> None:
    stale = tmp_path / "glossary.qmd"
    stale.write_text(glossary.page(ENTRIES[:-1]), encoding="utf-8")
    monkeypatch.setattr(glossary, "PAGE", stale)
    assert glossary.main(["--check"]) == 1
    assert glossary.main([]) == 0 and glossary.main(["--check"]) == 0


def test_lesson_links_to_the_glossary_name_existing_anchors() -> None:
    anchors = {glossary.anchor(e["term"]) for e in ENTRIES}
    for path in LESSONS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            for target in re.findall(r"\]\(([^)]*glossary[^)]*)\)", "".join(cell["source"])):
                page, _, fragment = target.partition("#")
                assert page.endswith(("glossary.html", "glossary.qmd")), f"{path.name}: {target}"
                assert not fragment or fragment in anchors, (
                    f"{path.name}: no glossary entry for #{fragment}"
                )


def test_both_editions_of_the_site_render_and_list_the_glossary() -> None:
    site = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert any(str(p).lstrip("/") == "glossary.qmd" for p in site["project"]["render"])
    sidebar = site["website"]["sidebar"]
    hrefs = [
        str(item.get("href", ""))
        for bar in (sidebar if isinstance(sidebar, list) else [sidebar])
        for item in bar["contents"]
        if isinstance(item, dict)
    ]
    assert "glossary.qmd" in hrefs, "the glossary is in the sidebar"
    import student  # tools/student.py: the student project copies SITE_FILES

    assert "glossary.qmd" in student.SITE_FILES
    assert glossary.PAGE.parent == student.ROOT


# ---------------------------------------------------------------- first use = definition
def test_the_first_use_rule_fails_on_a_term_used_before_its_definition(tmp_path) -> None:
    lesson = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["Each epoch is a pass.\n"]},
            {"cell_type": "markdown", "metadata": {}, "source": ["An **epoch** is one pass.\n"]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "01_x.ipynb"
    path.write_text(json.dumps(lesson), encoding="utf-8")
    entry = {"term": "epoch", "also": [], "definition": "", "lesson": 1}
    assert first_use(entry, [path])[3] is False
    lesson["cells"][0]["source"] = [
        "## Epochs\n",
        "Each [epoch](../glossary.html#epoch) is a pass.\n",
    ]
    path.write_text(json.dumps(lesson), encoding="utf-8")
    assert first_use(entry, [path])[:2] == (1, 0) and first_use(entry, [path])[3] is True
    lesson["cells"][0]["source"] = ["Run `epochs=3` of it.\n"]
    path.write_text(json.dumps(lesson), encoding="utf-8")
    assert first_use(entry, [path])[:2] == (1, 1), "code is not a use"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["term"] for e in ENTRIES])
def test_first_use_is_the_definition(entry) -> None:
    found = first_use(entry)
    if found is None:
        if entry["lesson"] in PENDING:
            pytest.xfail(f"{entry['term']!r} is not used yet: {PENDING[entry['lesson']]}")
        pytest.fail(f"{entry['term']!r} (lesson {entry['lesson']}) is never used in the lessons")
    lesson, cell, around, defined = found
    where = f"lesson {lesson}, cell {cell}: ...{around}..."
    if lesson not in PENDING or entry["lesson"] not in PENDING:
        # The rewritten lessons are written to the rule: their terms are defined there, and any earlier
        # mention of a later lesson's term links to the glossary.
        assert lesson == entry["lesson"] or defined, (
            f"{entry['term']!r} is used in lesson {lesson} before lesson {entry['lesson']} defines it: {where}"
        )
        assert defined, (
            f"{entry['term']!r}: its first use is not its bold definition or a glossary link: {where}"
        )
        return
    if not defined or lesson != entry["lesson"]:
        pytest.xfail(
            f"{entry['term']!r} first used without its definition ({where}): {PENDING.get(lesson, 'pending')}"
        )
