"""Screenshots of every page of a rendered site, for looking at it before publishing.

    python tools/screenshots.py [SITE_DIR ...] [--out screenshots] [--width 1280] [--full-page] [--phone] [--print]

Serves each site folder (default: _site and _site-student, those that exist) on 127.0.0.1 as `make serve`
does (tools/serve.py), opens every .html page in headless Chromium through Playwright and writes
<out>/<site>/<page>.png (the first screen, or the whole page with --full-page; with --phone as a 390 x 844
touch screen, <page>.phone.png; with --print the page as printed, <page>.print.pdf, A4, and its first two
pages as <page>.print-1.png and -2.png when pypdfium2 is installed). It also prints, per page, the
browser's console errors and any request for a file of the site that failed (404).

Chromium: Playwright's own browser if installed (`playwright install chromium`), else the system's
(`apt-get install -y chromium`, /usr/bin/chromium), chosen with --chromium.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import serve as site_server  # noqa: E402  (tools/serve.py: the MIME types and gzip of `make serve`)

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def serve(folder: Path) -> tuple[object, str]:
    """Serve `folder` on a free port of 127.0.0.1 in a daemon thread; (server, base URL)."""
    server = site_server.make_server(folder, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def print_pages(pdf: Path, count: int = 2) -> list[Path]:
    """The first `count` pages of `pdf` as PNGs beside it (needs pypdfium2; none without it)."""
    try:
        import pypdfium2
    except ImportError:
        return []
    document, written = pypdfium2.PdfDocument(str(pdf)), []
    for i in range(min(count, len(document))):
        target = pdf.with_name(pdf.name.replace(".pdf", f"-{i + 1}.png"))
        document[i].render(scale=1.2).to_pil().save(target)
        written.append(target)
    return written


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def shoot(
    site: Path,
    out: Path,
    browser,
    width: int,
    full_page: bool,
    phone: bool = False,
    printed: bool = False,
) -> list[str]:
    """Screenshot every page of `site` into `out`; returns the problems seen (console errors, 404s)."""
    problems = []
    server, base = serve(site)
    try:
        for page_path in sorted(site.rglob("*.html")):
            rel = page_path.relative_to(site).as_posix()
            if rel.startswith("site_libs/"):
                continue
            page = browser.new_page(
                **(PHONE if phone else {"viewport": {"width": width, "height": 1000}})
            )
            errors: list[str] = []
            page.on(
                "console",
                lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None,
            )
            page.on(
                "response",
                lambda r, errors=errors: (
                    errors.append(f"{r.status} {r.url}")
                    if r.url.startswith(base) and r.status >= 400
                    else None
                ),
            )
            page.goto(base + rel, wait_until="load")
            page.wait_for_timeout(300)
            target = out / (
                rel.removesuffix(".html").replace("/", "__") + (".phone.png" if phone else ".png")
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            if printed:
                target = target.with_name(target.name.replace(".png", ".print.pdf"))
                page.pdf(path=str(target), format="A4", print_background=True)
                print_pages(target)
            else:
                page.screenshot(path=str(target), full_page=full_page)
            # External resources (MathJax, the badge image) cannot load offline: report only the site's.
            local = [e for e in errors if base in e or not e.startswith("Failed to load resource")]
            problems += [f"{site.name}/{rel}: {e}" for e in local]
            print(f"{target}  ({len(local)} problems)")
            page.close()
    finally:
        server.shutdown()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "sites", nargs="*", type=Path, help="rendered site folders (default: _site, _site-student)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="where the PNGs go")
    parser.add_argument("--width", type=int, default=1280, help="viewport width in CSS pixels")
    parser.add_argument(
        "--full-page", action="store_true", help="the whole page, not only the first screen"
    )
    parser.add_argument(
        "--phone", action="store_true", help="a 390 x 844 touch screen (a phone) instead of --width"
    )
    parser.add_argument(
        "--print",
        dest="printed",
        action="store_true",
        help="print each page to PDF (A4; its first two pages as PNGs with pypdfium2)",
    )
    parser.add_argument(
        "--chromium",
        default=shutil.which("chromium") or shutil.which("chromium-browser"),
        help="Chromium executable (default: the system's, else Playwright's own)",
    )
    args = parser.parse_args(argv)
    sites = args.sites or [p for p in (ROOT / "_site", ROOT / "_site-student") if p.is_dir()]
    if not sites:
        raise SystemExit(
            "screenshots: no rendered site found; run `make site` and `make student` first"
        )
    missing = [str(s) for s in sites if not (s / "index.html").is_file()]
    if missing:
        raise SystemExit(f"screenshots: not a rendered site (no index.html): {', '.join(missing)}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit(
            "screenshots: needs Playwright: .venv/bin/pip install playwright"
        ) from None
    problems = []
    with sync_playwright() as pw:
        launch = {"headless": True, "args": CHROMIUM_FLAGS}
        if args.chromium:
            launch["executable_path"] = args.chromium
        browser = pw.chromium.launch(**launch)
        try:
            for site in sites:
                problems += shoot(
                    site,
                    args.out / site.name,
                    browser,
                    args.width,
                    args.full_page,
                    args.phone,
                    args.printed,
                )
        finally:
            browser.close()
    for problem in problems:
        print("problem:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
