"""Quarto post-render step (project.post-render in _quarto.yml): fixes of the rendered pages.

1. Keep every page free of CDN scripts.

Quarto adds require.js and jQuery from cdnjs.cloudflare.com, and a `define('jquery', ...)` shim, to every
page rendered from a notebook with an HTML output, in case the output is a JavaScript widget. The course's
HTML outputs are pandas tables, which need no script, and offline those tags make each lesson page throw
`ReferenceError: define is not defined`. This removes the three tags from the rendered pages (Quarto
runs it with $QUARTO_PROJECT_OUTPUT_DIR set; `python tools/site/post_render.py DIR` does it by hand).

2. DataFrame tables: pandas writes the index column's header as an empty `<th>`, which names nothing
(axe-core: empty-table-header); an empty header cell becomes an empty `<td>`.

3. The lesson's download is the committed notebook itself: Quarto's "Download this notebook" link
serves its own rewrite, NN_name.out.ipynb; the link is pointed at NN_name.ipynb, a copy of the
project's notebook (the lesson, or in the student project the student copy), and the .out.ipynb is
removed. The same link, and "Report an issue", are repeated under the lesson's title for screens too
narrow for the right margin that holds Quarto's (a phone).

4. "Report an issue" opens GitHub's new-issue form pre-filled with the page (title and body; the page's
script tools/site/course.html replaces the path with the full address when it runs).

5. Code lines that wrap (on a phone) continue with a hanging indent: each line of a code cell gets its
own indentation as `--indent` (in characters), from which tools/site/course.css indents its continuation
lines 4 characters past the line's start, so wrapped Python no longer looks dedented.

6. Search snippets: each formula is MathML that also carries its TeX source (<annotation>), and the
search index, built from the pages' text, printed both ("momentum mm = 0.1"); the index keeps the
formula as the page shows it.

Standard library only: the Pages workflow runs it without the course's virtual environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from html import escape, unescape
from pathlib import Path
from urllib.parse import quote, urlencode

# The exact tags Quarto 1.7 writes (quarto-cli: includesForJupyterWidgetDependencies).
CDN_TAGS = re.compile(
    r'<script src="https://cdnjs\.cloudflare\.com/ajax/libs/(?:require\.js|jquery)/[^"]+"[^>]*></script>\s*'
    r"|<script type=\"application/javascript\">define\('jquery', \[\],function\(\) \{return window\.jQuery;\}\)</script>\s*"
)


def strip_cdn_scripts(html: str) -> str:
    """`html` without Quarto's require.js / jQuery tags."""
    return CDN_TAGS.sub("", html)


EMPTY_HEADER = re.compile(r"<th((?:\s[^>]*)?)>\s*</th>")
DOWNLOAD = re.compile(r'href="([^"/]+)\.out\.ipynb" download="[^"]*"')
ISSUE = re.compile(r'href="(https://github\.com/[^/"]+/[^/"]+/issues/new)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
TITLE_BLOCK_END = re.compile(r'(<header id="title-block-header"[^>]*>.*?</header>)', re.S)


# A code line as pandoc writes it: its anchor, then (maybe inside a highlighting span) its indentation.
CODE_LINE = re.compile(
    r'<span id="(cb\d+-\d+)">(<a href="#\1" aria-hidden="true" tabindex="-1"></a>(?:<span class="[A-Za-z]+">)?)( +)'
)
MATH = re.compile(r"<math\b[^>]*>(.*?)</math>", re.S)
ANNOTATION = re.compile(r'<annotation encoding="application/x-tex">(.*?)</annotation>', re.S)
TAG = re.compile(r"<[^>]+>")


def hanging_indent(html: str) -> str:
    """Every indented code line marked with its indentation: style="--indent:N"."""
    return CODE_LINE.sub(
        lambda m: (
            f'<span id="{m.group(1)}" style="--indent:{len(m.group(3))}">{m.group(2)}{m.group(3)}'
        ),
        html,
    )


def _flexible(text: str) -> str:
    """A regex for `text` with any whitespace (or none) wherever it has whitespace."""
    return r"\s*".join(re.escape(part) for part in text.split())


def math_texts(html: str) -> list[tuple[str, str, str]]:
    """(text before it, text shown, TeX source) of every formula of `html` that carries its source; the
    text before is up to 24 characters of the page's text right before the formula."""
    body = html[html.find("<main") :] if "<main" in html else html
    body = re.sub(r"<(script|style)\b.*?</\1>", "", body, flags=re.S)
    found, pieces, at = [], [], 0
    for m in MATH.finditer(body):
        pieces.append(unescape(TAG.sub(" ", body[at : m.start()])))
        at = m.end()
        source = ANNOTATION.search(m.group(1))
        before = " ".join("".join(pieces).split())[-24:]
        shown = " ".join(unescape(TAG.sub("", ANNOTATION.sub("", m.group(1)))).split())
        pieces = [shown + " "]  # the next formula's "before" starts after this one
        if source:
            found.append((before, shown, unescape(source.group(1))))
    return found


def clean_search_text(text: str, formulas: list[tuple[str, str, str]]) -> str:
    """`text` with each formula once: "momentum m" + "m" (shown, then its TeX) becomes "momentum m". A
    formula is recognized with the text before it, so that "mm" inside a word is left alone."""
    for before, shown, source in formulas:
        if not before.strip() and len(shown + source) < 8:
            continue
        # the index keeps some "&lt;" as such
        for form in (lambda x: x, lambda x: escape(x, quote=False)):
            pattern = re.compile(
                f"({_flexible(form(before))}\\s*{_flexible(form(shown))})\\s*{_flexible(form(source))}"
            )
            text = pattern.sub(lambda m: m.group(1), text)
    return text


def empty_headers_to_cells(html: str) -> str:
    """Empty `<th>` cells (a DataFrame's index header) as empty `<td>` cells."""
    return EMPTY_HEADER.sub(r"<td\1></td>", html)


def issue_url(base: str, page: str, title: str) -> str:
    query = urlencode(
        {"title": f"Page: {title}", "body": f"Page: {page}\n\nWhat is wrong or unclear:\n"},
        quote_via=quote,
    )
    return f"{base}?{query}"


def fix_page(html: str, page: str) -> tuple[str, list[str]]:
    """`html` (the page at site path `page`) with fixes 1-4; also the notebooks its download link names."""
    html = hanging_indent(empty_headers_to_cells(strip_cdn_scripts(html)))
    found = TITLE.search(html)
    title = unescape(found.group(1)).strip() if found else page
    notebooks = DOWNLOAD.findall(html)
    html = DOWNLOAD.sub(lambda m: f'href="{m.group(1)}.ipynb" download="{m.group(1)}.ipynb"', html)
    issue = None

    def prefill(m: re.Match) -> str:
        nonlocal issue
        issue = escape(issue_url(m.group(1), page, title))
        return f'href="{issue}"'

    html = ISSUE.sub(prefill, html)
    if notebooks and 'class="lesson-links"' not in html:
        name = notebooks[0]
        links = (
            f'<div class="lesson-links"><a href="{name}.ipynb" download="{name}.ipynb">'
            f'<i class="bi bi-download" aria-hidden="true"></i> Download this notebook (.ipynb)</a>'
        )
        if issue:
            links += f'<a href="{issue}"><i class="bi bi-bug" aria-hidden="true"></i> Report an issue</a>'
        links += "</div>"
        html = TITLE_BLOCK_END.sub(lambda m: m.group(1) + links, html, count=1)
    return html, notebooks


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_site"))
    if not out.is_dir():
        print(f"post_render: no rendered site at {out}", file=sys.stderr)
        return 1
    project = Path(
        os.environ.get("QUARTO_PROJECT_DIR")
        or (out.parent if out.name.startswith("_site") else ".")
    )
    # The student edition is published under student/ (the Pages workflow); its pages say so in the issue.
    prefix = "student/" if out.name == "_site-student" else ""
    changed = copied = 0
    formulas: list[tuple[str, str, str]] = []
    for page in out.rglob("*.html"):
        rel = page.relative_to(out).as_posix()
        if rel.startswith("site_libs/"):
            continue
        html = page.read_text(encoding="utf-8")
        formulas += math_texts(html)
        fixed, notebooks = fix_page(html, prefix + rel)
        for name in notebooks:
            source = project / page.parent.relative_to(out) / f"{name}.ipynb"
            if not source.is_file():
                print(
                    f"post_render: {rel} offers {name}.ipynb, but {source} does not exist",
                    file=sys.stderr,
                )
                return 1
            shutil.copyfile(source, page.parent / f"{name}.ipynb")
            (page.parent / f"{name}.out.ipynb").unlink(missing_ok=True)
            copied += 1
        if fixed != html:
            page.write_text(fixed, encoding="utf-8")
            changed += 1
    index = out / "search.json"
    cleaned = 0
    if index.is_file() and formulas:
        entries = json.loads(index.read_text(encoding="utf-8"))
        for entry in entries:
            text = clean_search_text(entry.get("text", ""), formulas)
            cleaned += text != entry.get("text", "")
            entry["text"] = text
        index.write_text(json.dumps(entries, ensure_ascii=False, indent=2), encoding="utf-8")
    print(
        f"post_render: fixed {changed} page(s) in {out}; {copied} download(s) are the committed notebooks; "
        f"{cleaned} search entries with formulas printed once"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
