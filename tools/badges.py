"""Point every lesson's Colab badge and install cell at the repository named in _quarto.yml.

    python tools/badges.py [--quarto _quarto.yml] [--check] [NOTEBOOK ...]   (default: notebooks/*.ipynb)

The repository is written in one place, `website.repo-url` in _quarto.yml (a fork changes only that
line and runs `make badges`). In each notebook this rewrites
  - the Colab badge in the first markdown cell, so that it opens this very notebook:
    https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/notebooks/<file>.ipynb
    (a first markdown cell without a badge gets one);
  - the install cell's requirement `mnist-course @ git+https://github.com/<owner>/<repo>`.
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

ROOT = Path(__file__).resolve().parent.parent
QUARTO_YML = ROOT / "_quarto.yml"

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
# A Colab link to a notebook in some GitHub repository (any owner, repo, branch and path).
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^\s()<>\"']+?\.ipynb")
# The package requirement of the install cell, up to the end of the repository URL.
INSTALL_REQ = re.compile(r"mnist-course\s*@\s*git\+https?://[^\s\"'#@]+")


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


def colab_url(owner: str, repo: str, notebook: str, branch: str = "main") -> str:
    """The Colab link that opens notebooks/<notebook> of the repository."""
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/notebooks/{notebook}"


def colab_badge(owner: str, repo: str, notebook: str, branch: str = "main") -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(owner, repo, notebook, branch)})"


def install_requirement(owner: str, repo: str) -> str:
    """What the install cell passes to `%pip install` in Colab."""
    return f"mnist-course @ git+https://github.com/{owner}/{repo}"


def rewrite(nb: nbformat.NotebookNode, notebook: str, owner: str, repo: str, branch: str = "main") -> bool:
    """Rewrite the badge and install requirement of `nb` (in place); True if anything changed."""
    changed = False
    first_md = next((cell for cell in nb.cells if cell.cell_type == "markdown"), None)
    if first_md is not None:
        url = colab_url(owner, repo, notebook, branch)
        source = COLAB_LINK.sub(url, first_md.source)
        if not COLAB_LINK.search(source):
            source = source.rstrip("\n") + "\n\n" + colab_badge(owner, repo, notebook, branch)
        if source != first_md.source:
            first_md.source, changed = source, True
    requirement = install_requirement(owner, repo)
    for cell in nb.cells:
        if cell.cell_type == "code":
            source = INSTALL_REQ.sub(requirement, cell.source)
            if source != cell.source:
                cell.source, changed = source, True
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: notebooks/*.ipynb)")
    parser.add_argument("--quarto", type=Path, default=QUARTO_YML, help="the _quarto.yml to read repo-url from")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    try:
        owner, repo, branch = repo_from_config(args.quarto)
    except ConfigError as err:
        sys.exit(f"badges: {err}")
    paths = args.notebooks or sorted(p for p in (ROOT / "notebooks").glob("*.ipynb")
                                     if not p.name.endswith(".out.ipynb"))
    if not paths:
        print("badges: no notebooks found")
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if rewrite(nb, path.name, owner, repo, branch):
            stale.append(path)
            if not args.check:
                nbformat.write(nb, path)
        status = "up to date" if path not in stale else ("out of date" if args.check else "rewritten")
        print(f"{path.name}: {status} ({owner}/{repo}@{branch})")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
