"""Point every lesson's Colab badge and install cell at the repository named in _quarto.yml.

    python tools/badges.py [--quarto _quarto.yml] [--check] [NOTEBOOK ...]   (default: the lessons)

The repository is written in one place, `website.repo-url` in _quarto.yml (a fork changes only that
line and runs `make badges`). In each notebook this rewrites
  - the Colab badge in the first markdown cell, so that it opens this very notebook:
    https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/notebooks/<file>.ipynb
    (a first markdown cell without a badge gets one);
  - the install cell's requirement `mnist-course @ git+https://github.com/<owner>/<repo>`;
  - every link to a course figure, https://raw.githubusercontent.com/<owner>/<repo>/<branch>/images/<file>
    (the URL works in Colab, which opens a notebook without the repository; the site serves its own
    copy of images/, see tools/site/course.lua);
  - every link to the recorded benchmarks, in markdown https://github.com/<owner>/<repo>/blob/<branch>/benchmarks/<file>
    and in code https://raw.githubusercontent.com/<owner>/<repo>/<branch>/benchmarks/<file> (what
    `mc.read_runs` downloads when the notebook runs outside the repository, e.g. in Colab).
Outputs and everything else stay as they are, and a notebook already up to date is not written, so
running it twice changes nothing. `--check` writes nothing and exits 1 if a notebook is out of date.

The URL helpers here are also what tests/test_notebooks.py checks the notebooks against.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lessons  # noqa: E402  (tools/lessons.py: the one rule for which files are lessons)

ROOT = Path(__file__).resolve().parent.parent
QUARTO_YML = ROOT / "_quarto.yml"

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
# A Colab link to a notebook in some GitHub repository (any owner, repo, branch and path).
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^\s()<>\"']+?\.ipynb")
# The package requirement of the install cell, up to the end of the repository URL.
INSTALL_REQ = re.compile(r"mnist-course\s*@\s*git\+https?://[^\s\"'#@]+")
# A course figure on GitHub, up to `images/` (any owner, repo and branch).
IMAGE_URL = re.compile(
    r"https://raw\.githubusercontent\.com/[^/\s()<>\"']+/[^/\s()<>\"']+/[^/\s()<>\"']+/images/"
)
# The recorded benchmarks on GitHub: a page (markdown links) and a raw file (code), up to `benchmarks/`.
BENCHMARK_PAGE = re.compile(
    r"https://github\.com/[^/\s()<>\"']+/[^/\s()<>\"']+/blob/[^/\s()<>\"']+/benchmarks/"
)
BENCHMARK_RAW = re.compile(
    r"https://raw\.githubusercontent\.com/[^/\s()<>\"']+/[^/\s()<>\"']+/[^/\s()<>\"']+/benchmarks/"
)


class ConfigError(Exception):
    """_quarto.yml does not name a usable GitHub repository."""


def parse_github_url(url: str) -> tuple[str, str]:
    """`https://github.com/<owner>/<repo>` (optionally .git or a trailing /) -> (owner, repo)."""
    match = re.fullmatch(
        r"https://(?:www\.)?github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)/([A-Za-z0-9._-]+?)(?:\.git)?/?",
        str(url).strip(),
    )
    if not match or match.group(2) in {".", ".."}:
        raise ConfigError(
            f"website.repo-url must be a GitHub repository URL like https://github.com/<owner>/<repo>, "
            f"got {url!r}"
        )
    return match.group(1), match.group(2)


def read_site_config(quarto_yml: Path = QUARTO_YML) -> dict:
    """The `website` section of _quarto.yml."""
    if not Path(quarto_yml).is_file():
        raise ConfigError(f"{quarto_yml} not found")
    config = yaml.safe_load(Path(quarto_yml).read_text(encoding="utf-8")) or {}
    website = config.get("website") if isinstance(config, dict) else None
    if not isinstance(website, dict) or not website.get("repo-url"):
        raise ConfigError(
            f"{quarto_yml} has no website.repo-url: add the course repository there, e.g.\n"
            "website:\n  repo-url: https://github.com/<owner>/<repo>"
        )
    return website


def repo_from_config(quarto_yml: Path = QUARTO_YML) -> tuple[str, str, str]:
    """(owner, repo, branch) from website.repo-url and website.repo-branch (default main)."""
    website = read_site_config(quarto_yml)
    owner, repo = parse_github_url(website["repo-url"])
    return owner, repo, str(website.get("repo-branch") or "main")


def colab_url(
    owner: str, repo: str, notebook: str, branch: str = "main", folder: str = "notebooks"
) -> str:
    """The Colab link that opens <folder>/<notebook> of the repository (the student copies live in
    student/notebooks)."""
    return (
        f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{folder}/{notebook}"
    )


def colab_badge(
    owner: str, repo: str, notebook: str, branch: str = "main", folder: str = "notebooks"
) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(owner, repo, notebook, branch, folder)})"


def image_url(owner: str, repo: str, name: str, branch: str = "main") -> str:
    """The URL of images/<name> on GitHub, which a notebook's markdown uses for a course figure."""
    return f"https://raw.githubusercontent.com/{owner}/{repo}/{branch}/images/{name}"


def benchmark_url(owner: str, repo: str, name: str, branch: str = "main", raw: bool = False) -> str:
    """benchmarks/<name> on GitHub: its page (markdown links), or with `raw` the file itself (code)."""
    if raw:
        return f"https://raw.githubusercontent.com/{owner}/{repo}/{branch}/benchmarks/{name}"
    return f"https://github.com/{owner}/{repo}/blob/{branch}/benchmarks/{name}"


def install_requirement(owner: str, repo: str) -> str:
    """What the install cell passes to `%pip install` in Colab."""
    return f"mnist-course @ git+https://github.com/{owner}/{repo}"


def rewrite(
    nb: nbformat.NotebookNode,
    notebook: str,
    owner: str,
    repo: str,
    branch: str = "main",
    folder: str = "notebooks",
) -> bool:
    """Rewrite the badge, install requirement and figure URLs of `nb` (in place); True if anything
    changed. `folder` is where the notebook lives in the repository (the badge opens it there)."""
    changed = False
    first_md = next((cell for cell in nb.cells if cell.cell_type == "markdown"), None)
    if first_md is not None:
        url = colab_url(owner, repo, notebook, branch, folder)
        source = COLAB_LINK.sub(url, first_md.source)
        if not COLAB_LINK.search(source):
            source = (
                source.rstrip("\n") + "\n\n" + colab_badge(owner, repo, notebook, branch, folder)
            )
        if source != first_md.source:
            first_md.source, changed = source, True
    images = image_url(owner, repo, "", branch)
    pages, raws = (
        benchmark_url(owner, repo, "", branch),
        benchmark_url(owner, repo, "", branch, raw=True),
    )
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            source = BENCHMARK_PAGE.sub(pages, IMAGE_URL.sub(images, cell.source))
        elif cell.cell_type == "code":
            source = BENCHMARK_RAW.sub(raws, cell.source)
        else:
            continue
        if source != cell.source:
            cell.source, changed = source, True
    requirement = install_requirement(owner, repo)
    for cell in nb.cells:
        if cell.cell_type == "code":
            source = INSTALL_REQ.sub(requirement, cell.source)
            if source != cell.source:
                cell.source, changed = source, True
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks (default: the lessons in notebooks/)"
    )
    parser.add_argument(
        "--quarto", type=Path, default=QUARTO_YML, help="the _quarto.yml to read repo-url from"
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date"
    )
    args = parser.parse_args(argv)
    try:
        owner, repo, branch = repo_from_config(args.quarto)
    except ConfigError as err:
        sys.exit(f"badges: {err}")
    paths = args.notebooks or lessons.lesson_notebooks(ROOT / "notebooks")
    if not paths:
        print("badges: no notebooks found")
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if rewrite(nb, path.name, owner, repo, branch):
            stale.append(path)
            if not args.check:
                nbformat.write(nb, path)
        status = (
            "up to date" if path not in stale else ("out of date" if args.check else "rewritten")
        )
        print(f"{path.name}: {status} ({owner}/{repo}@{branch})")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
