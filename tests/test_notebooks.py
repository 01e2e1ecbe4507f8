"""Checks of the lesson notebooks as files (no kernel): hygiene, Colab badges and install cells,
homework and solutions, the student build, the site's lesson list; and tests of the tools
(tools/badges.py, tools/student.py) on small synthetic notebooks.

The nbval tests (`make nbtest`) re-run the notebooks; these only read them, so they take seconds.
With no notebook in notebooks/ yet, the per-notebook tests are skipped; otherwise every one is checked.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import badges  # tools/badges.py: the URL helpers are shared with `make badges`
import lessons  # tools/lessons.py: which files are lessons
import student  # tools/student.py: the student build

ROOT = Path(__file__).resolve().parent.parent


NOTEBOOKS = lessons.lesson_notebooks(ROOT / "notebooks")
NB_PARAMS = [pytest.param(p, id=p.name) for p in NOTEBOOKS] or [
    pytest.param(
        None, id="none", marks=pytest.mark.skip(reason="no lesson notebooks in notebooks/ yet")
    )
]

KERNELSPEC_NAME = "python3"
SOLUTION_TAG = student.SOLUTION_TAG
# Absolute paths of this machine or a user's home must not leak into a committed output.
ABS_PATH = re.compile(
    r"(?<![\w.~-])(?:/root/|/home/[\w.-]+|/Users/[\w.-]+|/work/|/tmp/|/private/var/|[A-Za-z]:\\Users\\)"
)
TEXT_MIME = re.compile(r"^(text/|application/(json|javascript|vnd\.jupyter\.stderr))")
WIDGET_MIME = "application/vnd.jupyter.widget"
FIG_ALT = re.compile(r"^#\|\s*fig-alt:\s*\S")
COLAB_GUARD = re.compile(r"""^(\s*)if\s+["']google\.colab["']\s+in\s+sys\.modules\s*:""")
PIP_INSTALL = re.compile(r"""\bpip3?\s+install\b|["']pip["']\s*,\s*["']install["']""")
RUNTIME_LINE = re.compile(r"Run time of this notebook: \d+(\.\d+)? min")


@functools.cache
def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def load(path: Path) -> nbformat.NotebookNode:
    """A private copy of the notebook (tests may not change each other's view of it)."""
    return copy.deepcopy(_read(path))


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def output_texts(output) -> list[str]:
    """The text of one output (stream text, error traceback, text-like mime data; images are skipped)."""
    if output.get("output_type") == "stream":
        return [output.get("text", "")]
    if output.get("output_type") == "error":
        return ["\n".join(output.get("traceback", [])), output.get("evalue", "")]
    texts = []
    for mime, data in output.get("data", {}).items():
        if TEXT_MIME.match(mime):
            texts.append(
                data
                if isinstance(data, str)
                else "".join(data)
                if isinstance(data, list)
                else str(data)
            )
    return texts


# ---------------------------------------------------------------------------------------------------
# The checks, as functions returning a list of problems (so that they can be tested on bad notebooks)
# ---------------------------------------------------------------------------------------------------


def hygiene_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Execution counts 1..n, no errors, kernelspec python3, no absolute paths, no widget state."""
    problems = []
    name = nb.metadata.get("kernelspec", {}).get("name")
    if name != KERNELSPEC_NAME:
        problems.append(f"kernelspec name is {name!r}, not {KERNELSPEC_NAME!r}")
    if "widgets" in nb.metadata:
        problems.append("notebook metadata holds widget state ('widgets')")
    expected = 1
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if not cell.source.strip():
            if cell.get("execution_count") is not None or cell.get("outputs"):
                problems.append(f"cell {i}: an empty code cell with an execution count or outputs")
            continue
        if cell.get("execution_count") != expected:
            problems.append(
                f"cell {i}: execution count {cell.get('execution_count')}, expected {expected} "
                "(re-run top to bottom with `make execute NB=...`)"
            )
            expected = (cell.get("execution_count") or expected) + 1
        else:
            expected += 1
        for match in ABS_PATH.finditer(cell.source):
            problems.append(f"cell {i}: absolute path {match.group(0)!r} in the code")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(
                    f"cell {i}: error output {output.get('ename')}: {output.get('evalue')}"
                )
            if any(mime.startswith(WIDGET_MIME) for mime in output.get("data", {})):
                problems.append(f"cell {i}: a widget output (use a plain-text progress bar)")
            for text in output_texts(output):
                if (
                    output.get("output_type") == "stream"
                    and "Traceback (most recent call last)" in text
                ):
                    problems.append(
                        f"cell {i}: a traceback in the cell's {output.get('name')} stream"
                    )
                for match in ABS_PATH.finditer(text):
                    problems.append(f"cell {i}: absolute path {match.group(0)!r} in an output")
    return problems


def figure_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Every cell with an image output starts with `#| fig-alt: ...` and its last line ends with `;`."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if not any(
            mime.startswith("image/")
            for out in cell.get("outputs", [])
            for mime in out.get("data", {})
        ):
            continue
        lines = cell.source.strip().splitlines()
        if not lines or not FIG_ALT.match(lines[0]):
            problems.append(
                f"cell {i}: draws a figure but its first line is not `#| fig-alt: <description>`"
            )
        if lines and not lines[-1].rstrip().endswith(";"):
            problems.append(f"cell {i}: draws a figure but its last line does not end with `;`")
    return problems


def badge_problems(
    nb: nbformat.NotebookNode, notebook: str, owner: str, repo: str, branch: str
) -> list[str]:
    """The first cell is markdown with `# <title>` and a Colab badge to this very notebook in the repo;
    every Colab link of the notebook points there too."""
    problems = []
    first = nb.cells[0] if nb.cells else None
    expected = badges.colab_url(owner, repo, notebook, branch)
    if first is None or first.cell_type != "markdown":
        return ["the first cell is not a markdown cell with the title and the Colab badge"]
    if not re.match(r"#\s+\S", first.source.lstrip()):
        problems.append("the first cell does not start with the title `# ...`")
    if f"]({expected})" not in first.source or badges.BADGE_IMAGE not in first.source:
        problems.append(
            f"the first cell has no Colab badge linking to {expected} (run `make badges`)"
        )
    for i, cell in enumerate(nb.cells):
        for link in badges.COLAB_LINK.findall(cell.source):
            if link != expected:
                problems.append(
                    f"cell {i}: Colab link {link} does not open this notebook ({expected})"
                )
    return problems


def install_problems(nb: nbformat.NotebookNode, owner: str, repo: str) -> list[str]:
    """Cell 2 installs the package from the repository, and every pip install in the notebook runs
    only in Colab (inside `if "google.colab" in sys.modules:`)."""
    problems = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    install = code[0] if code else None
    if install is None or len(nb.cells) < 2 or nb.cells[1] is not install:
        problems.append("the second cell is not the code cell that installs the package in Colab")
    elif badges.install_requirement(owner, repo) not in install.source:
        problems.append(
            f"the install cell does not install `{badges.install_requirement(owner, repo)}` "
            "(run `make badges`)"
        )
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        guard_indent = None
        for line in cell.source.splitlines():
            guard = COLAB_GUARD.match(line)
            indent = len(line) - len(line.lstrip())
            if guard:
                guard_indent = len(guard.group(1))
                continue
            if guard_indent is not None and line.strip() and indent <= guard_indent:
                guard_indent = None  # the guarded block has ended
            if (
                PIP_INSTALL.search(line)
                and not line.lstrip().startswith("#")
                and guard_indent is None
            ):
                problems.append(
                    f"cell {i}: `{line.strip()}` runs outside Colab "
                    '(put it under `if "google.colab" in sys.modules:`)'
                )
    if install is not None and "import sys" not in install.source:
        problems.append("the install cell does not import sys")
    return problems


def homework_items(nb: nbformat.NotebookNode) -> list[int] | None:
    """The numbers of the homework's numbered list, or None if the notebook has no Homework heading.

    The homework is the first markdown cell (not tagged `solution`) with a heading that contains the
    word "Homework"; its items are the top-level numbered lines (`1. ...`) of that cell or, if it has
    none, of the markdown cells right after it.
    """
    cells = nb.cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown" or SOLUTION_TAG in tags(cell):
            continue
        if not re.search(r"(?im)^#{1,6}\s.*\bhomework\b", cell.source):
            continue
        items = _numbered(_after_heading(cell.source))
        j = i + 1
        while (
            not items
            and j < len(cells)
            and cells[j].cell_type == "markdown"
            and SOLUTION_TAG not in tags(cells[j])
        ):
            items = _numbered(cells[j].source)
            j += 1
        return items
    return None


def _after_heading(source: str) -> str:
    match = re.search(r"(?im)^#{1,6}\s.*\bhomework\b.*$", source)
    return source[match.end() :] if match else source


def _numbered(text: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(r"(?m)^(\d+)[.)]\s+\S", text)]


SOLUTION_REF = re.compile(
    r"(?i)\bsolutions?\b(?:\s+(?:to|for|of))?(?:\s+(?:the\s+)?(?:homework|exercises?|tasks?|questions?|problems?|hw))?"
    r"\s*(?:items?\s*)?(?:no\.?\s*|#\s*)?((?:\d+)(?:\s*(?:,|&|and|-|–|to)\s*\d+)*)"
)


def solution_refs(nb: nbformat.NotebookNode) -> set[int]:
    """Homework numbers named by solution markdown cells in their first line, usually a heading
    ("### Solution to homework 2", "### Solution 2: ...", "**Solutions 1-3.**")."""
    refs: set[int] = set()
    for cell in nb.cells:
        if (
            cell.cell_type != "markdown"
            or SOLUTION_TAG not in tags(cell)
            or not cell.source.strip()
        ):
            continue
        first_line = cell.source.strip().splitlines()[0]
        for match in SOLUTION_REF.finditer(first_line):
            spec = match.group(1)
            for lo, hi in re.findall(r"(\d+)(?:\s*(?:-|–|to)\s*(\d+))?", spec):
                refs.update(range(int(lo), int(hi or lo) + 1))
    return refs


def homework_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Numbered 1..n, and each item has a solution: a markdown cell tagged `solution` that says
    "Solution to homework <n>" (plus the code cells tagged `solution` after it), after the homework."""
    items = homework_items(nb)
    solutions = [i for i, c in enumerate(nb.cells) if SOLUTION_TAG in tags(c)]
    if items is None:
        return []  # a lesson without homework may still show worked examples tagged `solution`
    problems = []
    if not items:
        return ["the Homework section has no numbered list (`1. ...`)"]
    if items != list(range(1, len(items) + 1)):
        problems.append(f"homework items are numbered {items}, not 1..{len(items)}")
    refs = solution_refs(nb)
    for n in items:
        if n not in refs:
            problems.append(
                f"homework {n} has no solution (a markdown cell tagged `solution` that says "
                f'"Solution to homework {n}")'
            )
    for n in sorted(refs - set(items)):
        problems.append(f"a solution refers to homework {n}, which the list does not have")
    homework_at = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown"
        and SOLUTION_TAG not in tags(c)
        and re.search(r"(?im)^#{1,6}\s.*\bhomework\b", c.source)
    )
    early = [i for i in solutions if i < homework_at]
    if early:
        problems.append(f"solution cells {early} come before the homework (cell {homework_at})")
    if not any(nb.cells[i].cell_type == "code" for i in solutions):
        problems.append("no code cell is tagged `solution`: worked solutions are run for real")
    return problems


def student_problems(full: nbformat.NotebookNode, stripped: nbformat.NotebookNode) -> list[str]:
    """No `solution` cell is left, and nothing else was removed or changed."""
    problems = []
    left = [i for i, c in enumerate(stripped.cells) if SOLUTION_TAG in tags(c)]
    if left:
        problems.append(f"student copy still has solution cells {left}")
    n_solutions = sum(SOLUTION_TAG in tags(c) for c in full.cells)
    if len(full.cells) - len(stripped.cells) != n_solutions:
        problems.append(
            f"{len(full.cells) - len(stripped.cells)} cells removed, but {n_solutions} are solutions"
        )
    kept = [c for c in full.cells if SOLUTION_TAG not in tags(c)]
    if len(kept) == len(stripped.cells):
        for i, (a, b) in enumerate(zip(kept, stripped.cells)):
            if a.get("source") == b.get("source") and student.RUN_TIME in a.get("source", ""):
                # the run-time line is the copy's own (tools/student.py)
                a = {**a, "outputs": b.get("outputs")}
            # a homework check: the copy shows what it prints unanswered
            if student.CHECK_TAG in tags(a):
                if "not yet" not in "".join(
                    o.get("data", {}).get("text/plain", "") for o in b.get("outputs", [])
                ):
                    problems.append(
                        f"student cell {i}: the check's output is not the unanswered copy's"
                    )
                metadata = {**a.metadata, "tags": [*tags(a), "nbval-check-output"]}
                a = {**a, "outputs": b.get("outputs"), "metadata": metadata}
            if a != b:
                problems.append(f"student cell {i} differs from the original")
    if full.metadata != stripped.metadata:
        problems.append("notebook metadata changed")
    return problems


# ---------------------------------------------------------------------------------------------------
# The committed lesson notebooks
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def repo() -> tuple[str, str, str]:
    return badges.repo_from_config(ROOT / "_quarto.yml")


@pytest.mark.parametrize("path", NB_PARAMS)
def test_hygiene(path: Path) -> None:
    assert hygiene_problems(load(path)) == []


@pytest.mark.parametrize("path", NB_PARAMS)
def test_figures_have_alt_text(path: Path) -> None:
    assert figure_problems(load(path)) == []


@pytest.mark.parametrize("path", NB_PARAMS)
def test_colab_badge_opens_this_notebook(path: Path, repo) -> None:
    owner, name, branch = repo
    assert badge_problems(load(path), path.name, owner, name, branch) == []


@pytest.mark.parametrize("path", NB_PARAMS)
def test_install_cell_installs_only_in_colab(path: Path, repo) -> None:
    owner, name, _ = repo
    assert install_problems(load(path), owner, name) == []


@pytest.mark.parametrize("path", NB_PARAMS)
def test_badges_are_up_to_date(path: Path, repo) -> None:
    """`make badges` would change nothing."""
    owner, name, branch = repo
    assert not badges.rewrite(load(path), path.name, owner, name, branch), "run `make badges`"


@pytest.mark.parametrize("path", NB_PARAMS)
def test_last_cell_prints_runtime(path: Path) -> None:
    code = [c for c in load(path).cells if c.cell_type == "code" and c.source.strip()]
    texts = [t for out in code[-1].get("outputs", []) for t in output_texts(out)]
    assert any(RUNTIME_LINE.search(t) for t in texts), (
        "the last code cell should print 'Run time of this notebook: <x> min'"
    )


@pytest.mark.parametrize("path", NB_PARAMS)
def test_last_cell_says_what_the_outputs_were_made_with(path: Path) -> None:
    """Results depend slightly on torch version, device and threads: the last cell prints them
    (`print(mc.environment_info())`, a line "Made with: torch ..., device ..., N CPU threads, ...")."""
    code = [c for c in load(path).cells if c.cell_type == "code" and c.source.strip()]
    lines = [
        line
        for out in code[-1].get("outputs", [])
        for t in output_texts(out)
        for line in t.splitlines()
    ]
    assert any(line.startswith("Made with: torch ") for line in lines), (
        "the last code cell should print mc.environment_info() (re-run with `make execute NB=...`)"
    )


@pytest.mark.parametrize("path", NB_PARAMS)
def test_every_homework_has_a_solution(path: Path) -> None:
    assert homework_problems(load(path)) == []


@pytest.mark.parametrize("path", NB_PARAMS)
def test_student_copy_removes_exactly_the_solutions(path: Path) -> None:
    full = load(path)
    stripped = student.strip_solutions(full)
    student.untouched_checks(stripped, path.stem)  # the check cells as the copy shows them
    assert student_problems(full, stripped) == []
    assert full == _read(path), "strip_solutions changed the original notebook"


def test_student_build_writes_copies_only(tmp_path: Path) -> None:
    """tools/student.py on the real lessons: copies in <copies> and <out>/notebooks, originals untouched;
    a copy is the lesson without its solutions, its Colab badge aside (it opens the copy)."""
    if not NOTEBOOKS:
        pytest.skip("no lesson notebooks in notebooks/ yet")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in NOTEBOOKS}
    assert (
        student.main(["--copies", str(tmp_path / "copies"), "--out", str(tmp_path / "_student")])
        == 0
    )
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in NOTEBOOKS}
    assert before == after, "the student build changed an original notebook"
    for path in NOTEBOOKS:
        copy_path = tmp_path / "_student" / "notebooks" / path.name
        assert copy_path.is_file()
        copy_nb = nbformat.read(copy_path, as_version=4)
        # badge back to the lesson
        badges.rewrite(copy_nb, path.name, *badges.repo_from_config(ROOT / "_quarto.yml"))
        assert student_problems(load(path), copy_nb) == []
    for name in ["_quarto.yml", "_quarto-student.yml", "index.qmd", "notebooks/_metadata.yml"]:
        assert (tmp_path / "_student" / name).is_file(), name


# ---------------------------------------------------------------------------------------------------
# The site: _quarto.yml, index.qmd
# ---------------------------------------------------------------------------------------------------


def _site() -> dict:
    return yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))


def _sidebar_notebooks(site: dict) -> list[str]:
    found = []

    def walk(items):
        for item in items or []:
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, dict):
                if str(item.get("href", "")).endswith(".ipynb"):
                    found.append(item["href"])
                walk(item.get("contents"))

    sidebar = site["website"]["sidebar"]
    for bar in sidebar if isinstance(sidebar, list) else [sidebar]:
        walk(bar.get("contents"))
    return [f for f in found if f.endswith(".ipynb")]


def test_site_config() -> None:
    site = _site()
    assert site["project"]["type"] == "website"
    assert site["execute"]["enabled"] is False, "the site must never execute the notebooks"
    owner, repo, _ = badges.repo_from_config(ROOT / "_quarto.yml")
    assert (owner, repo) == badges.parse_github_url(site["website"]["repo-url"])
    assert site["website"].get("repo-actions"), "pages should link to the repository (repo-actions)"
    text = (ROOT / "_quarto.yml").read_text(encoding="utf-8")
    assert text.count(f"{owner}/{repo}") == 1, (
        "write the repository's owner/name only in website.repo-url"
    )
    meta = yaml.safe_load((ROOT / "notebooks" / "_metadata.yml").read_text(encoding="utf-8"))
    assert "ipynb" in meta["format"], "lesson pages offer their notebook for download"


def _navbar_notebooks(site: dict) -> list[str]:
    found = []

    def walk(items):
        for item in items or []:
            if isinstance(item, dict):
                if str(item.get("href", "")).endswith(".ipynb"):
                    found.append(item["href"])
                walk(item.get("menu"))

    navbar = site["website"].get("navbar", {})
    walk(navbar.get("left"))
    walk(navbar.get("right"))
    return found


def test_sidebar_lists_the_lessons_in_order() -> None:
    listed = _sidebar_notebooks(_site())
    assert _navbar_notebooks(_site()) == listed, (
        "the navbar's Lessons menu and the sidebar list the same lessons"
    )
    assert listed == sorted(listed), "lessons appear in the sidebar in file order (01, 02, ...)"
    names = [Path(f).name for f in listed]
    unlisted = [p.name for p in NOTEBOOKS if p.name not in names]
    assert not unlisted, f"add these lessons to the sidebar and navbar in _quarto.yml: {unlisted}"
    index = (ROOT / "index.qmd").read_text(encoding="utf-8")
    assert not [n for n in names if f"notebooks/{n}" not in index], "index.qmd lists every lesson"
    missing = [f for f in listed if not (ROOT / f).is_file()]
    if missing and NOTEBOOKS:
        pytest.skip(f"lessons in the sidebar but not written yet: {missing}")


# ---------------------------------------------------------------------------------------------------
# The tools and the checks, on small synthetic notebooks
# ---------------------------------------------------------------------------------------------------


def make_lesson(
    name: str, owner: str = "mnist-course", repo: str = "mnist-course"
) -> nbformat.NotebookNode:
    """A tiny lesson that follows every convention."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cells = [
        new_markdown_cell(
            f"# A lesson\n\nWhat the student learns.\n\n{badges.colab_badge(owner, repo, name)}"
        ),
        new_code_cell(
            "# In Colab, install the course's helper package (locally, `make setup` has installed it).\n"
            "import sys\n"
            'if "google.colab" in sys.modules:\n'
            f'    %pip install -q "{badges.install_requirement(owner, repo)}"'
        ),
        new_code_cell(
            "import time\nNOTEBOOK_START = time.perf_counter()\nprint(1)",
            outputs=[new_output("stream", name="stdout", text="1\n")],
        ),
        new_code_cell(
            "#| fig-alt: A line that rises.\nplt.plot([1, 2]);",
            outputs=[
                new_output(
                    "display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
                )
            ],
        ),
        new_markdown_cell(
            "## Homework\n\n1. Try a batch size.\n2. Try a learning rate.\n   1. nested, not an item\n"
        ),
        new_markdown_cell(
            "### Solution to homework 1\n\nSmall batches are slower.",
            metadata={"tags": ["solution"]},
        ),
        new_code_cell("x = 1", metadata={"tags": ["solution"]}),
        new_markdown_cell("### Solution to homework 2", metadata={"tags": ["solution"]}),
        new_code_cell("y = 2", metadata={"tags": ["solution", "nbval-ignore-output"]}),
        new_code_cell(
            'print(f"Run time of this notebook: {(time.perf_counter() - NOTEBOOK_START) / 60:.1f} min")',
            outputs=[
                new_output("stream", name="stdout", text="Run time of this notebook: 0.1 min\n")
            ],
        ),
    ]
    count = 0
    for cell in cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
    nb.cells = cells
    return nb


def write_quarto(folder: Path, repo_url: str | None) -> Path:
    website = {"title": "t"} | ({"repo-url": repo_url} if repo_url is not None else {})
    path = folder / "_quarto.yml"
    path.write_text(
        yaml.safe_dump({"project": {"type": "website"}, "website": website}), encoding="utf-8"
    )
    return path


def test_good_synthetic_lesson_passes_every_check() -> None:
    nb = make_lesson("09_x.ipynb")
    assert hygiene_problems(nb) == []
    assert figure_problems(nb) == []
    assert badge_problems(nb, "09_x.ipynb", "mnist-course", "mnist-course", "main") == []
    assert install_problems(nb, "mnist-course", "mnist-course") == []
    assert homework_items(nb) == [1, 2]
    assert homework_problems(nb) == []
    assert student_problems(nb, student.strip_solutions(nb)) == []


def test_checks_catch_bad_notebooks() -> None:
    nb = make_lesson("09_x.ipynb")
    nb.metadata["kernelspec"]["name"] = "myenv"
    nb.metadata["widgets"] = {"state": {}}
    nb.cells[2].execution_count = 5
    nb.cells[2].outputs.append(
        new_output("stream", name="stderr", text="warning in /home/alice/x.py\n")
    )
    nb.cells[2].outputs.append(new_output("error", ename="ValueError", evalue="bad", traceback=[]))
    problems = "\n".join(hygiene_problems(nb))
    for expected in ["kernelspec", "widget", "execution count 5", "/home/alice", "ValueError"]:
        assert expected in problems
    nb = make_lesson("09_x.ipynb")
    nb.cells[2].source += '\nopen("/tmp/pins.txt", "w")'  # a path of one machine, in the code
    assert any("'/tmp/' in the code" in p for p in hygiene_problems(nb))

    nb = make_lesson("09_x.ipynb")
    nb.cells[3].source = "plt.plot([1, 2])"
    assert len(figure_problems(nb)) == 2  # no fig-alt, no trailing `;`

    nb = make_lesson("09_x.ipynb", owner="someone-else")
    assert badge_problems(nb, "09_x.ipynb", "mnist-course", "mnist-course", "main")
    assert badge_problems(
        make_lesson("01_other.ipynb"), "09_x.ipynb", "mnist-course", "mnist-course", "main"
    )

    nb = make_lesson("09_x.ipynb")
    nb.cells[1].source = nb.cells[1].source.replace('if "google.colab" in sys.modules:\n    ', "")
    assert any("outside Colab" in p for p in install_problems(nb, "mnist-course", "mnist-course"))
    nb.cells.append(new_code_cell("!pip install numpy"))
    assert (
        len(
            [
                p
                for p in install_problems(nb, "mnist-course", "mnist-course")
                if "outside Colab" in p
            ]
        )
        == 2
    )

    nb = make_lesson("09_x.ipynb")
    del nb.cells[7:9]  # the solution to homework 2
    assert any("homework 2 has no solution" in p for p in homework_problems(nb))
    nb = make_lesson("09_x.ipynb")
    nb.cells[4].source = "## Homework\n\n1. One.\n3. Three.\n"
    assert any("numbered" in p for p in homework_problems(nb))

    nb = make_lesson("09_x.ipynb")
    assert student_problems(nb, nb)  # nothing removed: solutions left
    over_stripped = student.strip_solutions(nb)
    del over_stripped.cells[2]
    assert student_problems(nb, over_stripped)


def test_solution_references() -> None:
    nb = make_lesson("09_x.ipynb")
    nb.cells[
        5
    ].source = (
        "### Solutions to homework 1-3 and 5\n\nThe solution of 10 epochs is not a reference."
    )
    nb.cells[7].source = "**Solution 4.** Text."
    assert solution_refs(nb) == {1, 2, 3, 4, 5}


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://github.com/mnist-course/mnist-course", ("mnist-course", "mnist-course")),
        ("https://github.com/alice/my.fork.git", ("alice", "my.fork")),
        ("https://www.github.com/Alice-1/course/", ("Alice-1", "course")),
    ],
)
def test_parse_github_url(url: str, expected: tuple[str, str]) -> None:
    assert badges.parse_github_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://gitlab.com/alice/course",
        "https://github.com/alice",
        "github.com/alice/course",
        "https://github.com/alice/course/tree/main",
        "http://github.com/alice/course",
    ],
)
def test_parse_github_url_rejects(url: str) -> None:
    with pytest.raises(badges.ConfigError, match="GitHub repository URL"):
        badges.parse_github_url(url)


def test_badges_rewrite_for_a_fork(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    quarto = write_quarto(tmp_path, "https://github.com/alice/course-fork")
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    path = nb_dir / "09_x.ipynb"
    original = make_lesson("09_x.ipynb")
    nbformat.write(original, path)

    assert badges.main(["--quarto", str(quarto), "--check", str(path)]) == 1
    assert nbformat.read(path, as_version=4) == original, "--check must not write"
    assert badges.main(["--quarto", str(quarto), str(path)]) == 0
    nb = nbformat.read(path, as_version=4)
    assert badge_problems(nb, "09_x.ipynb", "alice", "course-fork", "main") == []
    assert install_problems(nb, "alice", "course-fork") == []
    assert "mnist-course/mnist-course" not in nb.cells[0].source + nb.cells[1].source
    for new, old in zip(nb.cells[2:], original.cells[2:]):
        assert new == old, "only the badge and the install cell change"
    assert [c.get("outputs") for c in nb.cells] == [c.get("outputs") for c in original.cells]

    written = path.read_bytes()
    assert badges.main(["--quarto", str(quarto), str(path)]) == 0
    assert path.read_bytes() == written, "a second run changes nothing"
    assert badges.main(["--quarto", str(quarto), "--check", str(path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_badges_adds_a_missing_badge_and_follows_the_branch(tmp_path: Path) -> None:
    quarto = tmp_path / "_quarto.yml"
    quarto.write_text(
        "website:\n  repo-url: https://github.com/bob/c\n  repo-branch: dev\n", encoding="utf-8"
    )
    nb = make_lesson("09_x.ipynb")
    nb.cells[0].source = "# A lesson\n\nNo badge yet."
    path = tmp_path / "09_x.ipynb"
    nbformat.write(nb, path)
    assert badges.main(["--quarto", str(quarto), str(path)]) == 0
    assert badge_problems(nbformat.read(path, as_version=4), "09_x.ipynb", "bob", "c", "dev") == []


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        ("website:\n  title: x\n", "no website.repo-url"),
        ("project:\n  type: website\n", "no website.repo-url"),
        ("website:\n  repo-url: https://gitlab.com/a/b\n", "GitHub repository URL"),
    ],
)
def test_badges_clear_errors(tmp_path: Path, content: str | None, message: str) -> None:
    quarto = tmp_path / "_quarto.yml"
    if content is not None:
        quarto.write_text(content, encoding="utf-8")
    path = tmp_path / "09_x.ipynb"
    nbformat.write(make_lesson("09_x.ipynb"), path)
    with pytest.raises(SystemExit) as exit_info:
        badges.main(["--quarto", str(quarto), str(path)])
    assert message in str(exit_info.value.code)


def test_student_copy_of_a_synthetic_lesson(tmp_path: Path) -> None:
    src = tmp_path / "lessons"
    src.mkdir()
    path = src / "09_x.ipynb"
    nbformat.write(make_lesson("09_x.ipynb"), path)
    before = path.read_bytes()
    out = tmp_path / "_student"
    assert student.main(["--copies", str(tmp_path / "copies"), "--out", str(out), str(path)]) == 0
    assert path.read_bytes() == before
    copy_nb = nbformat.read(out / "notebooks" / "09_x.ipynb", as_version=4)
    assert "/blob/main/student/notebooks/09_x.ipynb" in copy_nb.cells[0].source, (
        "the badge opens the copy"
    )
    # badge back to the lesson
    badges.rewrite(copy_nb, "09_x.ipynb", "mnist-course", "mnist-course")
    full = nbformat.read(path, as_version=4)
    assert student_problems(full, copy_nb) == []
    assert len(full.cells) - len(copy_nb.cells) == 4
    assert "Homework" in "".join(c.source for c in copy_nb.cells), "the homework itself stays"
    profile = yaml.safe_load((out / "_quarto-student.yml").read_text(encoding="utf-8"))
    assert profile["project"]["output-dir"] == "_site-student"
    assert (out / "_quarto.yml").read_text() == (ROOT / "_quarto.yml").read_text()


def test_student_refuses_to_overwrite_originals(tmp_path: Path) -> None:
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    path = nb_dir / "09_x.ipynb"
    nbformat.write(make_lesson("09_x.ipynb"), path)
    before = path.read_bytes()
    with pytest.raises(SystemExit, match="refusing"):
        student.main(["--copies", str(nb_dir), str(path)])
    with pytest.raises(SystemExit, match="refusing"):
        student.main(["--copies", str(ROOT / "notebooks"), str(path)])
    with pytest.raises(SystemExit, match="refusing"):  # the project folder would hold the originals
        student.main(["--copies", str(tmp_path / "copies"), "--out", str(tmp_path), str(path)])
    with pytest.raises(SystemExit, match="refusing"):
        student.main(["--copies", str(tmp_path / "copies"), "--out", str(ROOT), str(path)])
    assert path.read_bytes() == before


def printed_runtime(nb: nbformat.NotebookNode) -> str | None:
    """The run time the last code cell printed ("2.4" from "Run time of this notebook: 2.4 min")."""
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    found = [
        m.group(1)
        for out in (code[-1].get("outputs", []) if code else [])
        for t in output_texts(out)
        if (m := re.search(r"Run time of this notebook: (\d+(?:\.\d+)?) min", t))
    ]
    return found[-1] if found else None


def index_runtime_problems(index_text: str, notebook: str, nb: nbformat.NotebookNode) -> list[str]:
    """The lesson's row in index.qmd's table ends with the run time the notebook printed (x.y min),
    or, while it has printed none, with a limit (e.g. "≤ 3 min")."""
    rows = [
        line
        for line in index_text.splitlines()
        if line.startswith("|") and f"(notebooks/{notebook})" in line
    ]
    if not rows:
        return [f"index.qmd has no table row for {notebook}"]
    runtime_cell = rows[0].rstrip(" |").rsplit("|", 1)[-1].strip()
    printed = printed_runtime(nb)
    if printed is not None and not re.search(rf"(?<![\d.]){re.escape(printed)} min", runtime_cell):
        return [
            f"index.qmd says {runtime_cell!r} for {notebook}, but its last cell prints {printed} min"
        ]
    if printed is None and not re.search(r"(?:≤|<=)\s*\d+ min", runtime_cell):
        return [
            f"index.qmd says {runtime_cell!r} for {notebook}: give the issue's limit until it is measured"
        ]
    return []


@pytest.mark.parametrize("path", NB_PARAMS)
def test_index_quotes_the_printed_runtime(path: Path) -> None:
    assert (
        index_runtime_problems(
            (ROOT / "index.qmd").read_text(encoding="utf-8"), path.name, load(path)
        )
        == []
    )


def test_index_runtime_check() -> None:
    nb = make_lesson("09_x.ipynb")  # prints 0.1 min
    row = "| [9. X](notebooks/09_x.ipynb) | things | {} |"
    assert index_runtime_problems(row.format("0.1 min"), "09_x.ipynb", nb) == []
    assert index_runtime_problems(row.format("10.1 min"), "09_x.ipynb", nb)
    assert index_runtime_problems(row.format("≤ 3 min"), "09_x.ipynb", nb)
    assert index_runtime_problems("no table", "09_x.ipynb", nb)
    nb.cells[-1].outputs = []
    assert index_runtime_problems(row.format("≤ 3 min"), "09_x.ipynb", nb) == []


def test_badges_rewrites_benchmark_links_in_markdown_and_code(tmp_path: Path) -> None:
    """A fork's notebooks read the fork's recorded runs: the benchmark page (markdown) and raw file (code)."""
    quarto = tmp_path / "_quarto.yml"
    quarto.write_text(
        "website:\n  repo-url: https://github.com/bob/c\n  repo-branch: dev\n", encoding="utf-8"
    )
    nb = make_lesson("09_x.ipynb")
    nb.cells.append(
        new_markdown_cell(
            "See [the runs](https://github.com/mnist-course/mnist-course/blob/main/benchmarks/README.md)."
        )
    )
    nb.cells.append(
        new_code_cell(
            'runs = mc.read_runs("https://raw.githubusercontent.com/mnist-course/mnist-course/main/benchmarks/x.jsonl")'
        )
    )
    path = tmp_path / "09_x.ipynb"
    nbformat.write(nb, path)
    assert badges.main(["--quarto", str(quarto), str(path)]) == 0
    cells = nbformat.read(path, as_version=4).cells
    assert "](https://github.com/bob/c/blob/dev/benchmarks/README.md)" in cells[-2].source
    assert '"https://raw.githubusercontent.com/bob/c/dev/benchmarks/x.jsonl"' in cells[-1].source
    assert badges.benchmark_url("bob", "c", "x.jsonl", "dev", raw=True) in cells[-1].source
