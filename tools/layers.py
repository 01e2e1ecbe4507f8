"""A lesson's two readers: the main line (what a beginner reads) and the "Going deeper" layers.

    python tools/layers.py [NOTEBOOK ...]   main-line words of each lesson's student edition, and its layers

A layer is a markdown cell (or the end of one) holding a collapsed HTML block, which Quarto renders
closed and Jupyter and Colab render natively:

    <details>
    <summary>Going deeper: why the loss takes logits</summary>

    Markdown, maths allowed ...

    </details>

`layers(text)` finds these blocks (and says what is wrong with a malformed one), `main_line(text)` is
the text with every block removed except its summary line (visible while closed), and
`main_line_words(nb)` counts the words a student sees in the lesson with every layer closed: the
markdown of the cells not tagged `solution`, with code blocks, display maths, images, HTML tags and
URLs removed; an inline code span or inline formula counts as one word. CONTRIBUTING.md has the rule;
tests/test_lessons_layers.py checks it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from lessons import lesson_notebooks  # noqa: E402

MAIN_LINE_LIMIT = 3_500
SUMMARY_PREFIX = "Going deeper"

OPEN = re.compile(r"<details\b[^>]*>", re.IGNORECASE)
CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)
SUMMARY = re.compile(r"\s*<summary\b[^>]*>(.*?)</summary\s*>", re.IGNORECASE | re.DOTALL)


@dataclass
class Layer:
    summary: str  # the summary's text, tags removed
    body: str  # the Markdown inside the block, after the summary
    start: int  # offsets of the block in the cell's text
    end: int


def layers(text: str) -> tuple[list[Layer], list[str]]:
    """The "Going deeper" blocks of one markdown cell, and the problems of any malformed one.

    Well formed: `<details>` (alone on its line), then `<summary>Going deeper: ...</summary>` as the
    next thing, a blank line after it (or Markdown inside is not rendered as Markdown), a non-empty
    body, `</details>` alone on its line; blocks are not nested.
    """
    found, problems, pos = [], [], 0
    while True:
        opening = OPEN.search(text, pos)
        closing_stray = CLOSE.search(text, pos)
        if opening is None:
            if closing_stray is not None:
                problems.append("a </details> without its <details>")
            break
        if closing_stray is not None and closing_stray.start() < opening.start():
            problems.append("a </details> without its <details>")
        closing = CLOSE.search(text, opening.end())
        if closing is None:
            problems.append("a <details> that is never closed with </details>")
            break
        inner = text[opening.end() : closing.start()]
        if OPEN.search(inner):
            problems.append("a <details> inside another one (layers are not nested)")
        line_start = text.rfind("\n", 0, opening.start()) + 1
        if (
            text[line_start : opening.start()].strip()
            or not text[opening.end() :].split("\n", 1)[0].strip() == ""
        ):
            problems.append("<details> must stand alone on its line")
        close_line_start = text.rfind("\n", 0, closing.start()) + 1
        rest = text[closing.end() :].split("\n", 1)[0]
        if text[close_line_start : closing.start()].strip() or rest.strip():
            problems.append("</details> must stand alone on its line")
        summary = SUMMARY.match(inner)
        if summary is None:
            problems.append(
                "a <details> whose first element is not <summary>Going deeper: ...</summary>"
            )
            title, body = "", inner
        else:
            title = " ".join(re.sub(r"<[^>]+>", "", summary.group(1)).split())
            body = inner[summary.end() :]
            if not title.startswith(SUMMARY_PREFIX):
                problems.append(f"the summary {title!r} does not start with {SUMMARY_PREFIX!r}")
            if not re.match(r"[ \t]*\n[ \t]*\n", body):
                problems.append(
                    f"no blank line after the summary {title!r} (its Markdown would not render)"
                )
            if not body.strip():
                problems.append(f"the layer {title!r} is empty")
        found.append(Layer(title, body, opening.start(), closing.end()))
        pos = closing.end()
    return found, problems


def main_line(text: str) -> str:
    """The markdown a reader sees with every layer closed: each block replaced by its summary line."""
    blocks, _ = layers(text)
    out, pos = [], 0
    for block in blocks:
        out += [text[pos : block.start], "\n\n" + block.summary + "\n\n"]
        pos = block.end
    out.append(text[pos:])
    return "".join(out)


def visible_words(markdown: str) -> list[str]:
    """The words of rendered `markdown`: code blocks, display maths, images, HTML tags, URLs and
    Markdown punctuation removed; an inline code span or inline formula is one word."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"`[^`\n]+`", " CODE ", text)
    text = re.sub(r"(?<![\\$])\$[^$\n]+\$", " MATH ", text)
    # images: the alt text is not shown
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = re.sub(r"<[^>]+>", " ", text)  # HTML tags
    text = re.sub(r"https?://\S+", " ", text)
    return [w for w in re.split(r"\s+", text) if re.search(r"[A-Za-z0-9]", w)]


def is_solution(cell) -> bool:
    return "solution" in cell.get("metadata", {}).get("tags", [])


def main_line_words(nb) -> int:
    """Words of the student edition's main line: markdown cells not tagged `solution`, layers closed."""
    return sum(
        len(visible_words(main_line("".join(cell["source"]))))
        for cell in nb["cells"]
        if cell["cell_type"] == "markdown" and not is_solution(cell)
    )


def layer_words(nb) -> int:
    """Words inside the layers of the student edition (closed by default; not counted in the main line)."""
    total = 0
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and not is_solution(cell):
            blocks, _ = layers("".join(cell["source"]))
            total += sum(len(visible_words(b.body)) for b in blocks)
    return total


def main(argv: list[str] | None = None) -> int:
    import json

    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)] or lesson_notebooks()
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        count = sum(
            len(layers("".join(c["source"]))[0])
            for c in nb["cells"]
            if c["cell_type"] == "markdown"
        )
        print(
            f"{path.name}: {main_line_words(nb):,} main-line words (limit {MAIN_LINE_LIMIT:,}), "
            f"{count} layers holding {layer_words(nb):,} words"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
