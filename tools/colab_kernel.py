"""Step 2 of the Colab canary (tools/colab.py), run by the Colab venv's own Python: every lesson top to
bottom on that venv's kernel, in quick mode, with `google.colab` in `sys.modules`, so that its install
cell installs the course as in Colab. Writes a JSON report to $COLAB_CANARY_RESULTS: the problems found,
the seconds each lesson took, and the install's seconds and megabytes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from colab import ALLOWED_INSTALL_LINES, REQUIREMENT, TQDM

#: The course's benchmark records, which a lesson outside a clone reads from GitHub (`mc.read_runs`).
BENCHMARKS = re.compile(
    r"https://raw\.githubusercontent\.com/[^/\s\"']+/[^/\s\"']+/[^/\s\"']+/benchmarks/"
)
FAKE_COLAB = (
    "import sys, types\n"
    'sys.modules["google.colab"] = types.ModuleType("google.colab")  # what the install cell looks for'
)


def checkout_copy(root: Path, into: Path) -> Path:
    """The working tree's files that git tracks or would track (not ignored), copied to `into`: what
    `pip install git+...` would build, with this checkout's changes, without writing into the checkout."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = root / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def sizes(names: set[str]) -> float:
    """Megabytes on disk of the installed distributions `names`."""
    total = 0
    for dist in metadata.distributions():
        if dist.metadata["Name"] and dist.metadata["Name"].lower() in names:
            for file in dist.files or ():
                try:
                    total += Path(str(dist.locate_file(file))).stat().st_size
                except OSError:
                    pass
    return total / 1e6


def lines_of(output: dict) -> list[str]:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    else:
        text = output.get("data", {}).get("text/plain", "")
    return [line for line in re.split(r"[\r\n]+", text) if line.strip()]


def execute_lessons(paths: list[Path], root: Path, timeout: int) -> int:
    results = Path(os.environ["COLAB_CANARY_RESULTS"])
    before = {d.metadata["Name"].lower() for d in metadata.distributions() if d.metadata["Name"]}
    problems: list[str] = []
    report = {"lessons": {}, "install_s": 0.0, "added_mb": 0.0, "problems": problems}
    scratch = Path(tempfile.mkdtemp(prefix="colab-lessons-"))
    source = checkout_copy(root, scratch / "mnist-course")
    os.environ["MNIST_COURSE_QUICK"] = "1"
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        install = nb.cells[1]
        if not REQUIREMENT.search(install.source):
            problems.append(
                f"{path.name}: cell 1 is not the install cell (no `mnist-course @ git+...`)"
            )
            continue
        install.source = REQUIREMENT.sub(f"mnist-course @ {source.as_uri()}", install.source)
        # this checkout's benchmark records, not those on GitHub's main branch
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = BENCHMARKS.sub((source / "benchmarks").as_uri() + "/", cell.source)
        nb.cells.insert(0, nbformat.v4.new_code_cell(FAKE_COLAB))
        folder = scratch / path.stem
        folder.mkdir()
        start = time.perf_counter()
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(folder)}},
        )
        client.execute()
        report["lessons"][path.name] = time.perf_counter() - start
        timing = nb.cells[2].metadata.get("execution", {})
        if "iopub.execute_input" in timing and not report["install_s"]:
            from datetime import datetime

            t0, t1 = (
                datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                for k in ("iopub.execute_input", "shell.execute_reply")
            )
            report["install_s"] = (t1 - t0).total_seconds()
        for line in (line for output in nb.cells[2].outputs for line in lines_of(output)):
            if line.strip() not in ALLOWED_INSTALL_LINES:
                problems.append(f"{path.name}: the install cell printed: {line.strip()[:300]}")
        for number, cell in enumerate(nb.cells[1:], start=0):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    problems.append(
                        f"{path.name}, cell {number}: {output['ename']}: {output['evalue'][:300]}"
                    )
                elif output.get("name") == "stderr":
                    for line in lines_of(output):
                        if not TQDM.match(line):
                            problems.append(
                                f"{path.name}, cell {number} wrote to stderr: {line.strip()[:300]}"
                            )
        print(f"colab: {path.name}: ran in {report['lessons'][path.name]:.0f} s", flush=True)
    after = {d.metadata["Name"].lower() for d in metadata.distributions() if d.metadata["Name"]}
    report["added_mb"] = sizes(after - before)
    results.write_text(json.dumps(report, indent=1))
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if problems else 0
