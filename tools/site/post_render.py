"""Quarto post-render step (project.post-render in _quarto.yml): keep every page free of CDN scripts.

Quarto adds require.js and jQuery from cdnjs.cloudflare.com, and a `define('jquery', ...)` shim, to every
page rendered from a notebook with an HTML output, in case the output is a JavaScript widget. The course's
HTML outputs are pandas tables, which need no script, and offline those tags make each lesson page throw
`ReferenceError: define is not defined`. This removes the three tags from the rendered pages (Quarto
runs it with $QUARTO_PROJECT_OUTPUT_DIR set; `python tools/site/post_render.py DIR` does it by hand).

Standard library only: the Pages workflow runs it without the course's virtual environment.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# The exact tags Quarto 1.7 writes (quarto-cli: includesForJupyterWidgetDependencies).
CDN_TAGS = re.compile(
    r'<script src="https://cdnjs\.cloudflare\.com/ajax/libs/(?:require\.js|jquery)/[^"]+"[^>]*></script>\s*'
    r"|<script type=\"application/javascript\">define\('jquery', \[\],function\(\) \{return window\.jQuery;\}\)</script>\s*"
)


def strip_cdn_scripts(html: str) -> str:
    """`html` without Quarto's require.js / jQuery tags."""
    return CDN_TAGS.sub("", html)


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_site"))
    if not out.is_dir():
        print(f"post_render: no rendered site at {out}", file=sys.stderr)
        return 1
    changed = 0
    for page in out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        stripped = strip_cdn_scripts(html)
        if stripped != html:
            page.write_text(stripped, encoding="utf-8")
            changed += 1
    print(f"post_render: removed Quarto's CDN script tags from {changed} page(s) in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
