"""The Colab canary: does the course still install and run on Colab's current package set?

    python tools/colab.py [--freeze FILE_OR_URL] [--os-info FILE_OR_URL] [--venv .venv-colab] [--python PY]
                          [--torch-index URL] [--lessons notebooks/01_intro.ipynb ...]

Colab publishes its runtime's package list (googlecolab/backend-info: `pip-freeze.txt`, `os-info.txt`).
This script builds that runtime, as far as the course is concerned, and uses it as a student would:

1. A venv of Colab's Python (major.minor from `os-info.txt`; `--python` names the interpreter) with Colab's
   pip and Colab's versions of the packages the course touches: the Jupyter kernel stack, the science stack,
   torch and torchvision, the packages named in `BASE`, and every package that the course's install would
   add and that Colab already has (found with `pip install --dry-run --report`). Reused while the freeze
   file is unchanged (a stamp in the venv lists the base); packages a previous run added are uninstalled first.
2. Every lesson runs top to bottom in quick mode (`MNIST_COURSE_QUICK=1`) on an IPython kernel of that venv,
   with `google.colab` in `sys.modules`, so its own first cell installs the course as it does in Colab
   (the `git+https://github.com/...` requirement replaced by this checkout, and the benchmark records a
   lesson reads from GitHub by this checkout's `benchmarks/`).
3. It fails when the install changes a package that was there before, adds a package at another version
   than Colab's, or prints anything but IPython's "Note: you may need to restart the kernel" line; when a
   cell raises; or when a cell writes anything to stderr other than a tqdm progress bar (a warning under a
   plot is a failure).

It prints what the install added (packages, megabytes, seconds) and exits 1 with one line per problem.
Standard library only in this process; the lessons are executed by the venv's own Python (nbclient, as
Colab has it). pip runs with no configuration file (PIP_CONFIG_FILE=/dev/null) and no PIP_* variables, as
in Colab: this machine's own index settings are not Colab's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import lessons  # noqa: E402  (tools/lessons.py: which notebooks are lessons)

BACKEND_INFO = "https://raw.githubusercontent.com/googlecolab/backend-info/main/"
SHARED = ROOT.parent / "shared" / "colab"
#: Colab packages installed into the venv before the lessons run (at Colab's versions), besides those the
#: course's install would add: the kernel, the science stack, and what the course's dependencies could change.
BASE = (
    "pip",
    "setuptools",
    "wheel",
    "torch",
    "torchvision",
    "numpy",
    "pandas",
    "matplotlib",
    "seaborn",
    "scipy",
    "tqdm",
    "platformdirs",
    "protobuf",
    "wrapt",
    "ipywidgets",
    "widgetsnbextension",
    "jupyterlab-widgets",
    "ipykernel",
    "ipython",
    "jupyter-client",
    "jupyter-core",
    "nbclient",
    "nbformat",
    "pyzmq",
    "tornado",
    "traitlets",
    "packaging",
    "typing-extensions",
    "sympy",
    "ml-dtypes",
    "pillow",
    "requests",
    "jinja2",
)
#: The install cell's requirement of the course's package, replaced by this checkout.
REQUIREMENT = re.compile(r"mnist-course\s*@\s*git\+https?://[^\s\"']+")
#: The CUDA libraries of PyPI's torch build.
CUDA_ONLY = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")
#: What a quiet `%pip install` may print: IPython's own note after every %pip command.
ALLOWED_INSTALL_LINES = ("Note: you may need to restart the kernel to use updated packages.",)
#: A tqdm progress bar (the lessons' plain-text progress), the one thing allowed on stderr.
TQDM = re.compile(r"^[^\n]*\d+%\|[^|]*\|[^\n]*$")


class Failure(RuntimeError):
    """Something this script needs is missing or did not work (not a finding about Colab)."""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> str:
    return version.split("+")[0]


def read(source: str | Path) -> str:
    """The text of a file or of an http(s) URL."""
    source = str(source)
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310 (a URL the user names)
            return response.read().decode("utf-8")
    return Path(source).read_text(encoding="utf-8")


def parse_freeze(text: str) -> dict[str, tuple[str, str]]:
    """{canonical name: (name, version)} of a `pip freeze` listing. `name==version` lines, and
    `name @ <wheel URL>` lines whose version is read from the wheel's file name (torch's
    `torch-2.11.0%2Bcpu-cp313-...whl` is 2.11.0+cpu); VCS and other URLs, comments and options are skipped."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pins[canonical(name)] = (name.strip(), version.strip())
        elif " @ " in line and line.rstrip().endswith(".whl"):
            name, _, url = line.partition(" @ ")
            wheel = urllib.parse.unquote(url.rsplit("/", 1)[-1])
            parts = wheel.split("-")
            if len(parts) >= 5:
                pins[canonical(name)] = (name.strip(), parts[1])
    return pins


def python_version(os_info: str) -> str:
    """ "3.13" from os-info.txt's "Python 3.13.15" line."""
    found = re.search(r"^Python (\d+)\.(\d+)", os_info, re.M)
    if not found:
        raise Failure("os-info.txt names no Python version (a line 'Python X.Y.Z')")
    return f"{found.group(1)}.{found.group(2)}"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without PIP_* settings, with pip reading no configuration file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PYTHONWARNINGS="", **extra)
    return env


def run(
    cmd: list[str], env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, env=env or clean_env(), capture_output=True, text=True)
    if check and done.returncode:
        raise Failure(
            f"{' '.join(cmd[:6])} ... failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return done


def installed(python: Path) -> dict[str, str]:
    """{canonical name: version} of every package in `python`'s environment (what `pip list` shows)."""
    out = run(
        [str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"]
    ).stdout
    return {canonical(n): v for n, _, v in (line.partition("==") for line in out.splitlines()) if v}


def setup_venv(
    venv: Path,
    python: str,
    version: str,
    pins: dict[str, tuple[str, str]],
    freeze_text: str,
    torch_index: str | None,
) -> Path:
    """The venv of step 1 (see the module's docstring); returns its Python."""
    py = venv / "bin" / "python"
    if py.exists():
        found = run(
            [str(py), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
        ).stdout.strip()
        if found != version:
            raise Failure(
                f"{venv} has Python {found}, Colab has {version}: remove {venv} or pass another --venv"
            )
    else:
        print(f"colab: creating {venv} with {python} ...", flush=True)
        run([python, "-m", "venv", str(venv)])
        found = run(
            [str(py), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
        ).stdout.strip()
        if found != version:
            raise Failure(
                f"{python} is Python {found}, Colab's is {version}: pass --python (e.g. python{version}; "
                f"with pyenv: PYENV_VERSION={version}.0 python{version})"
            )
    stamp = (
        venv / f".colab-base-{hashlib.sha256((freeze_text + repr(BASE)).encode()).hexdigest()[:12]}"
    )
    if stamp.exists():
        base = dict(line.split("==", 1) for line in stamp.read_text().split())
        now = installed(py)
        extra = sorted(set(now) - set(base))
        # what an earlier canary run installed: gone, so that the install starts from Colab's state
        if extra:
            print(
                f"colab: removing {len(extra)} packages an earlier run installed: {', '.join(extra)}",
                flush=True,
            )
            run([str(py), "-m", "pip", "uninstall", "-y", "-q", *extra])
        changed = [f"{n}=={v}" for n, v in base.items() if now.get(n) != v]
        # and what it changed (a failed run may have upgraded a package): back to the base's version
        if changed:
            print(f"colab: restoring {', '.join(changed)}", flush=True)
            run(
                [
                    str(py),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "--no-deps",
                    *changed,
                ]
            )
        return py
    constraints = venv / "colab-constraints.txt"
    # PyPI's torch is the CUDA build, which pins its own CUDA libraries (Colab's CPU torch has none): those
    # are left to it, unless --torch-index gives the CPU build that Colab has.
    skip = set() if torch_index else {k for k in pins if CUDA_ONLY.match(k)}
    constraints.write_text(
        "".join(f"{n}=={public(v)}\n" for k, (n, v) in pins.items() if k not in skip)
    )
    index = ["--extra-index-url", torch_index] if torch_index else []
    start = time.perf_counter()
    if "pip" in pins:
        run([str(py), "-m", "pip", "install", "-q", f"pip=={pins['pip'][1]}"])
    wanted = [pins[canonical(n)][0] for n in BASE if canonical(n) in pins and canonical(n) != "pip"]
    print(
        f"colab: installing Colab's versions of {len(wanted)} packages (torch is large) ...",
        flush=True,
    )
    run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-c",
            str(constraints),
            *index,
            *wanted,
        ]
    )
    # What the course's install would add that Colab already has: install Colab's version first, as Colab has it.
    report = venv / "dry-run.json"
    run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            "-c",
            str(constraints),
            *index,
            str(ROOT),
        ]
    )
    added = [item["metadata"]["name"] for item in json.loads(report.read_text())["install"]]
    overlap = [pins[canonical(n)][0] for n in added if canonical(n) in pins]
    if overlap:
        run(
            [
                str(py),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-c",
                str(constraints),
                *index,
                *overlap,
            ]
        )
    for old in venv.glob(".colab-base-*"):
        old.unlink()
    # the base, for later runs
    stamp.write_text("".join(f"{n}=={v}\n" for n, v in installed(py).items()))
    print(f"colab: base ready in {time.perf_counter() - start:.0f} s", flush=True)
    return py


def changes(
    before: dict[str, str], after: dict[str, str], colab: dict[str, tuple[str, str]]
) -> list[str]:
    """What the install did that it must not: a package changed or removed, or one added at a version
    other than Colab's (in Colab, the same install would change it)."""
    problems = [
        f"the install changed {n} {v} -> {after[n]}"
        for n, v in before.items()
        if n in after and after[n] != v
    ]
    problems += [f"the install removed {n} {v}" for n, v in before.items() if n not in after]
    problems += [
        f"the install added {n} {after[n]}, but Colab has {colab[n][1]}"
        for n in after.keys() - before.keys()
        if n in colab and public(colab[n][1]) != public(after[n])
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    local = SHARED / "pip-freeze.txt"
    parser.add_argument(
        "--freeze",
        default=str(local) if local.exists() else BACKEND_INFO + "pip-freeze.txt",
        help="Colab's pip-freeze.txt, a file or URL (default: ../shared/colab/ when there, else "
        "googlecolab/backend-info on GitHub)",
    )
    parser.add_argument("--os-info", help="Colab's os-info.txt (default: beside --freeze)")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-colab")
    parser.add_argument(
        "--python", help="the interpreter to build the venv with (default: pythonX.Y of os-info)"
    )
    parser.add_argument(
        "--torch-index", help="an extra index for torch, e.g. https://download.pytorch.org/whl/cpu"
    )
    parser.add_argument(
        "--lessons", nargs="*", type=Path, help="lessons to run (default: every lesson)"
    )
    parser.add_argument("--timeout", type=int, default=900, help="seconds a lesson's cell may take")
    # step 2, inside the venv
    parser.add_argument("--execute", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute:
        from colab_kernel import execute_lessons  # nbclient: only in the venv

        return execute_lessons(args.lessons, ROOT, args.timeout)

    try:
        freeze_text = read(args.freeze)
        os_info = read(args.os_info or (args.freeze.rsplit("/", 1)[0] + "/os-info.txt"))
        version = python_version(os_info)
        colab = parse_freeze(freeze_text)
        for needed in ("torch", "ipykernel", "nbclient"):
            if needed not in colab:
                raise Failure(f"{args.freeze} lists no {needed}: is it Colab's pip-freeze.txt?")
        py = setup_venv(
            args.venv,
            args.python or f"python{version}",
            version,
            colab,
            freeze_text,
            args.torch_index,
        )
        before = installed(py)
        print(
            f"colab: Python {version}, {len(before)} packages before the install "
            f"(torch {before.get('torch')}, ipywidgets {before.get('ipywidgets')}, protobuf {before.get('protobuf')})",
            flush=True,
        )
        results = Path(tempfile.mkdtemp(prefix="colab-canary-")) / "results.json"
        lesson_paths = [
            p.resolve() for p in (args.lessons or lessons.lesson_notebooks(ROOT / "notebooks"))
        ]
        done = subprocess.run(
            [
                str(py),
                str(Path(__file__).resolve()),
                "--execute",
                "--timeout",
                str(args.timeout),
                "--lessons",
                *map(str, lesson_paths),
            ],
            env=clean_env(
                COLAB_CANARY_RESULTS=str(results),
                PYTHONPATH=str(ROOT / "tools"),
                PYDEVD_DISABLE_FILE_VALIDATION="1",
            ),
        )
        if done.returncode not in (0, 1) or not results.exists():
            raise Failure(f"running the lessons failed ({done.returncode})")
        report = json.loads(results.read_text())
        after = installed(py)
    except Failure as err:
        print(f"colab: {err}", file=sys.stderr)
        return 2

    problems = changes(before, after, colab) + report["problems"]
    added = sorted(after.keys() - before.keys())
    print(
        f"colab: the install added {len(added)} packages, {report['added_mb']:.0f} MB, in {report['install_s']:.0f} s: "
        + ", ".join(f"{n} {after[n]}" for n in added)
    )
    for name, seconds in report["lessons"].items():
        print(f"colab: {name} ran in quick mode in {seconds:.0f} s")
    if problems:
        print(
            f"colab: FAILED, {len(problems)} problem(s):\n  " + "\n  ".join(problems),
            file=sys.stderr,
        )
        return 1
    print(
        "colab: passed: the install changed none of Colab's packages and printed no warning; every lesson ran "
        "with no error and nothing on stderr but progress bars"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
