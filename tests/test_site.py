"""The website in both editions, the student copies, the course figures and the publishing workflows.

Without Quarto (seconds):
  - the committed student copies (student/notebooks/) are up to date with the lessons (`make student`),
    and no text in them points at the solutions they leave out;
  - the lessons show course figures by their GitHub URL, and the files exist in images/;
  - every code cell's `#|` options are valid YAML (Quarto stops at the first that is not);
  - tools/images.py draws every figure; the workflows pass actionlint and do what the README says.
With Quarto and npm (about 60 s): the Pages workflow's own build steps run on a clean copy of the
repository (as GitHub runs them: npm ci, both editions, the student one under student/), and the HTML
is checked: every lesson page, as many figures as the
notebook has image outputs, every internal link, image and anchor resolves, no solution cell or pointer
to one in the student pages, the Colab badge / "View source" / download links lead to the right
notebooks, one "Other Formats" link, the navbar marks only the page itself as current, the search index
lists every lesson, figures open in a lightbox, the download is the committed notebook, "Report an
issue" names the page, the student index leads to student/notebooks/.
In Chromium: every page of both editions works offline; at 1280 x 900 and at 390 x 844 (a phone, touch)
every page is opened once, its width checked (no sideways scroll on the phone) and axe-core run on it
(no critical or serious violation). How the pages read (issue 44): text outputs keep their lines in a
focusable scroll box, wrapped code has a hanging indent, skip link and focus rings, "On this page" and
Top on a phone, figures at natural size on a tap, axe-core with the search / phone sidebar / a figure
open, print media, search snippets with each formula once. The browser: tests/site_browser.py (skips
without one, fails with CI=true).

Quarto is taken from PATH; otherwise, when ../shared/quarto/install.sh exists (this project's machines
and CI), that script installs Quarto 1.7.34 into the user's cache. Without either, the render tests are
skipped with the reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import badges
import images  # tools/images.py
import lessons
import lint_workflows
import serve  # tools/serve.py
import site_build  # tests/site_build.py: the Pages build, shared with test_demo
import student
from site_build import pages_build_steps
from site_build import workflow as _workflow

ROOT = Path(__file__).resolve().parent.parent


LESSONS = lessons.lesson_notebooks(ROOT / "notebooks")
LESSON_PARAMS = [pytest.param(p, id=p.name) for p in LESSONS] or [
    pytest.param(None, id="none", marks=pytest.mark.skip(reason="no lessons in notebooks/ yet"))
]
RENDER_BUDGET_S = 180  # both editions; a normal render takes about 20 s each on 2 cores

# Text that points a student at the worked solutions, which the student edition removes.
SOLUTION_POINTER = re.compile(
    r"(?i)\bsolutions?\s+(?:to|for|of)\s+(?:the\s+)?(?:homework|exercises?|tasks?|questions?|problems?)"
    r"|\b(?:see|in|from|check|compare\s+(?:it\s+)?with|look\s+at|shown\s+in)\s+(?:the\s+)?(?:worked\s+)?solutions?\b"
    r"|\b(?:worked|model|sample|reference)\s+solutions?\b"
    r"|\bsolutions?\s+(?:below|above|at\s+the\s+end|that\s+follows?)"
    r"|\bsolutions?\s+(?:no\.?\s*)?\d"
)
MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)")
HTML_IMAGE = re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']([^"']+)""", re.I)


def repo() -> tuple[str, str, str]:
    return badges.repo_from_config(ROOT / "_quarto.yml")


def markdown_text(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def solution_pointers(text: str) -> list[str]:
    """The sentences of `text` that point at solutions."""
    sentences = re.split(r"(?<=[.!?])\s+|\n\s*\n", text)
    return [" ".join(s.split()) for s in sentences if SOLUTION_POINTER.search(s)]


def image_count(nb: nbformat.NotebookNode) -> int:
    """Image outputs of the notebook's code cells (Quarto shows each as one figure)."""
    return sum(
        any(m.startswith("image/") for m in out.get("data", {}))
        for c in nb.cells
        if c.cell_type == "code"
        for out in c.get("outputs", [])
    )


def cell_options(source: str) -> str:
    """The leading `#| key: value` lines of a code cell, as YAML text."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        lines.append(line[2:].removeprefix(" "))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# The student copies (no Quarto needed)
# ---------------------------------------------------------------------------------------------------


def test_student_copies_are_up_to_date() -> None:
    """student/notebooks/ holds exactly the student copy of every lesson (`make student` writes them)."""
    if not LESSONS:
        pytest.skip("no lessons in notebooks/ yet")
    problems = student.stale_copies(LESSONS, student.COPIES, repo())
    assert not problems, "run `make student` (then commit student/):\n" + "\n".join(problems)


@pytest.mark.parametrize("path", LESSON_PARAMS)
def test_student_copy_points_nowhere_at_solutions(path: Path) -> None:
    """What a student reads makes sense without the solutions: no "see the solution", "the solutions to
    homework 2 show ...", and the badge opens the student copy."""
    nb = student.student_notebook(nbformat.read(path, as_version=4), path.name, *repo())
    found = solution_pointers(markdown_text(nb))
    assert not found, (
        f"{path.name}: text outside the solution cells points at the solutions, which the "
        "student edition removes; rewrite it so it reads right without them:\n" + "\n".join(found)
    )
    owner, name, branch = repo()
    assert (
        badges.colab_url(owner, name, path.name, branch, student.STUDENT_FOLDER)
        in nb.cells[0].source
    )


def test_solution_pointer_phrases() -> None:
    flagged = [
        "The solutions to homework 2 and 3 show both effects.",
        "See the solution for the details.",
        "(compare with the worked solution)",
        "The solution below trains longer.",
        "as in solution 2",
        "Solutions for the exercises follow.",
    ]
    fine = [
        "Adam finds a good solution quickly.",
        "the solution of the linear system is unique",
        "This homework has no single right answer.",
        "A closed-form solution exists for least squares.",
    ]
    assert [s for s in flagged if not solution_pointers(s)] == []
    assert [s for s in fine if solution_pointers(s)] == []


def _tiny_lesson(text: str = "Homework: try it.") -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        new_markdown_cell(
            f"# T\n\n{badges.colab_badge('mnist-course', 'mnist-course', '09_x.ipynb')}"
        ),
        new_markdown_cell(text),
        new_markdown_cell("### Solution to homework 1", metadata={"tags": ["solution"]}),
        new_code_cell("x = 1", metadata={"tags": ["solution"]}),
    ]
    return nb


def test_student_copy_does_not_show_the_instructor_run_time() -> None:
    """The last cell's run time was measured with the solutions the copy lacks: the copy says so instead."""
    nb = _tiny_lesson()
    nb.cells.append(new_code_cell('print(f"Run time of this notebook: {t:.1f} min")\nprint(info)'))
    nb.cells[-1].outputs = [
        nbformat.v4.new_output(
            "stream", name="stdout", text="Run time of this notebook: 3.2 min\nMade with: torch\n"
        )
    ]
    copy = student.student_notebook(nb, "09_x.ipynb", "mnist-course", "mnist-course")
    text = copy.cells[-1].outputs[0]["text"]
    assert (
        "3.2 min" not in text
        and "printed here when you run this copy" in text
        and "Made with: torch" in text
    )
    assert not solution_pointers(text)
    # the lesson is untouched
    assert nb.cells[-1].outputs[0]["text"].startswith("Run time of this notebook: 3.2 min")


def test_stale_copies_are_found_and_regenerated(tmp_path: Path) -> None:
    lessons_dir, copies = tmp_path / "lessons", tmp_path / "copies"
    lessons_dir.mkdir()
    lesson = lessons_dir / "09_x.ipynb"
    nbformat.write(_tiny_lesson(), lesson)
    rep = ("mnist-course", "mnist-course", "main")
    assert student.stale_copies([lesson], copies, rep) == [
        "09_x.ipynb: no student copy in " + str(copies)
    ]
    student.write_student_notebooks([lesson], copies, rep, complete=True)
    assert student.stale_copies([lesson], copies, rep) == []
    written = (copies / "09_x.ipynb").read_text(encoding="utf-8")
    assert "Solution to homework" not in written and "student/notebooks/09_x.ipynb" in written
    nbformat.write(_tiny_lesson("Homework: try it twice."), lesson)  # the lesson changes
    assert "differs" in "".join(student.stale_copies([lesson], copies, rep))
    # a lesson removed from the course
    (copies / "08_gone.ipynb").write_text(written, encoding="utf-8")
    assert any("08_gone" in p for p in student.stale_copies([lesson], copies, rep))
    student.write_student_notebooks([lesson], copies, rep, complete=True)
    assert (
        student.stale_copies([lesson], copies, rep) == []
        and not (copies / "08_gone.ipynb").exists()
    )


def test_student_project_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SystemExit, match="refusing"):
        student.write_project(mine)
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_student_project_is_assembled_without_nbformat(tmp_path: Path) -> None:
    """The Pages workflow runs `python tools/student.py --project-only` on a bare Python."""
    if not list(student.COPIES.glob("*.ipynb")):
        pytest.skip("no student copies yet (`make student`)")
    out = tmp_path / "_student"
    code = (
        "import sys; sys.modules['nbformat'] = sys.modules['nbconvert'] = sys.modules['yaml'] = None; "
        "sys.path.insert(0, 'tools'); import student; "
        f"sys.exit(student.main(['--project-only', '--out', {str(out)!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    copied = sorted(p.name for p in (out / "notebooks").glob("*.ipynb"))
    assert copied == sorted(p.name for p in student.COPIES.glob("*.ipynb"))
    for name in [
        "_quarto.yml",
        "_quarto-student.yml",
        "index.qmd",
        "notebooks/_metadata.yml",
        "tools/site/course.lua",
    ]:
        assert (out / name).is_file(), name
    profile = yaml.safe_load((out / "_quarto-student.yml").read_text(encoding="utf-8"))
    assert profile["website"]["repo-subdir"] == "student"


# ---------------------------------------------------------------------------------------------------
# Figures and cell options in the lessons (no Quarto needed)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LESSON_PARAMS)
def test_lesson_figures_work_in_colab_and_exist(path: Path) -> None:
    """A course figure in a lesson's markdown is images/<file> by its GitHub URL (repo-relative paths
    are broken when Colab opens the notebook alone), and images/<file> exists."""
    owner, name, branch = repo()
    problems = []
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "markdown":
            continue
        for src in MD_IMAGE.findall(cell.source) + HTML_IMAGE.findall(cell.source):
            if src.startswith("attachment:") or src == badges.BADGE_IMAGE:
                continue
            if not re.match(r"https?://", src):
                problems.append(
                    f"cell {i}: {src} is a path that Colab cannot open; use "
                    f"{badges.image_url(owner, name, Path(src).name, branch)}"
                )
            elif badges.IMAGE_URL.match(src):
                file = src.split("/images/", 1)[1]
                if not (ROOT / "images" / file).is_file():
                    problems.append(
                        f"cell {i}: {src}: no images/{file} (draw it with tools/images.py)"
                    )
    assert problems == []


@pytest.mark.parametrize("path", LESSON_PARAMS)
def test_cell_options_are_valid_yaml(path: Path) -> None:
    """Quarto reads the `#|` lines of each code cell as YAML and stops the render at the first error
    (e.g. `#| fig-alt: A: B`); quote a value that has ': ' in it."""
    problems = []
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        options = cell_options(cell.source) if cell.cell_type == "code" else ""
        if not options:
            continue
        try:
            parsed = yaml.safe_load(options)
        except yaml.YAMLError as err:
            problems.append(f"cell {i}: {' '.join(str(err).split())[:200]}")
            continue
        if not isinstance(parsed, dict):
            problems.append(f"cell {i}: the #| lines are not `key: value` pairs")
    assert problems == []


def test_images_are_drawn_by_the_script(tmp_path: Path) -> None:
    """tools/images.py draws every figure; each is committed in images/ and has alt text."""
    assert images.main(["--out", str(tmp_path)]) == 0
    for name, figure in images.FIGURES.items():
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert (ROOT / "images" / name).is_file(), (
            f"images/{name} is not committed (run `make images`)"
        )
        assert len(figure.alt) > 40, f"{name}: alt text should describe the figure"


def test_receptive_fields_are_the_lessons() -> None:
    """The figure's fields: mc.receptive_field_table of lesson 4's own plain CNN (what its alt text says)."""
    fields = images.receptive_fields()
    assert [(name, r, j) for name, _, _, r, j in fields] == [
        ("conv1", 3, 1),
        ("conv2", 5, 1),
        ("pool", 6, 2),
        ("conv3", 10, 2),
        ("conv4", 14, 2),
        ("conv5", 18, 2),
    ]
    nested = images.nested_fields(fields)
    for (_, r_in, a), (_, r_out, b) in zip(nested, nested[1:]):
        assert b <= a and a + r_in <= b + r_out, "each field lies inside the next layer's"


# ---------------------------------------------------------------------------------------------------
# The GitHub workflows (no Quarto needed)
# ---------------------------------------------------------------------------------------------------


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_workflows_pass_actionlint(tmp_path: Path) -> None:
    try:
        findings = lint_workflows.lint(lint_workflows.workflows())
        broken = tmp_path / "broken.yml"
        broken.write_text(
            "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: echo ${{ github.no_such_thing }}\n",
            encoding="utf-8",
        )
        caught = lint_workflows.lint([broken])
    except lint_workflows.Unavailable as err:
        pytest.skip(str(err))
    assert findings == []
    assert caught, "actionlint should flag an unknown context property"


def test_test_workflow_runs_the_readme_test_command() -> None:
    wf = _workflow("test.yml")
    events = wf["on"] if isinstance(wf["on"], (list, dict)) else [wf["on"]]
    assert "push" in events and "pull_request" in events
    runs = " ".join(step.get("run", "") for step in _steps(wf))
    assert "bash .ci/run" in runs or "make test" in runs
    assert any(
        step.get("uses", "").startswith("quarto-dev/quarto-actions/setup@") for step in _steps(wf)
    ), "install Quarto so that the render tests run"


def test_browser_tests_cannot_skip_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a browser the browser tests skip on a laptop but fail with CI=true (issue 44), and CI
    installs one: Debian's as root, else Playwright's own (a GitHub runner)."""
    import site_browser

    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    site_browser.find.cache_clear()
    try:
        monkeypatch.setenv("CI", "true")
        with pytest.raises(pytest.fail.Exception, match="CI=true and the browser tests cannot run"):
            site_browser.require()
        monkeypatch.delenv("CI")
        with pytest.raises(pytest.skip.Exception, match="/nonexistent/chromium"):
            site_browser.require()
    finally:
        site_browser.find.cache_clear()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m playwright install --with-deps chromium" in ci and "apt-get install" in ci
    assert ci.index("playwright install") < ci.rindex("make test")
    wf = _workflow("test.yml")
    step = next(s for s in _steps(wf) if "bash .ci/run" in s.get("run", ""))
    assert step.get("env", {}).get("CI") == "true"


def test_pages_workflow_publishes_both_editions() -> None:
    wf = _workflow("pages.yml")
    assert (
        wf["permissions"].get("pages") == "write" and wf["permissions"].get("id-token") == "write"
    )
    steps = _steps(wf)
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("quarto-dev/quarto-actions/setup@") for u in uses)
    assert any(u.startswith("actions/setup-node@") for u in uses), "npm installs ONNX Runtime Web"
    runs = [script for _, script in pages_build_steps()]
    assert runs[0].strip().splitlines()[-1] == "python tools/site_assets.py --require", (
        "the demo's runtime and feature-map model first, as in make site"
    )
    assert "import onnx" in runs[0] and "-c constraints.txt onnx" in runs[0], (
        "tools/feature_maps.py needs onnx"
    )
    renders = [r for r in runs if r.startswith("quarto render")]
    assert renders == [
        "quarto render --no-execute",
        "quarto render _student --profile student --no-execute",
    ]
    text = json.dumps(wf)
    assert "--execute" not in text and "make execute" not in text, (
        "publishing never re-runs the notebooks"
    )
    assert "tools/student.py --project-only" in text and "_site/student" in text
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)


# ---------------------------------------------------------------------------------------------------
# Rendering both editions (needs Quarto)
# ---------------------------------------------------------------------------------------------------


class Site:
    """One rendered edition: its folder, the notebooks its lesson pages come from, parsed pages."""

    def __init__(
        self, name: str, folder: Path, notebooks: dict[str, Path], seconds: float, exclude: str = ""
    ):
        self.name, self.folder, self.notebooks, self.seconds = name, folder, notebooks, seconds
        # a top-level folder that holds another edition (the student one under student/)
        self.exclude = exclude
        self._pages: dict[Path, BeautifulSoup] = {}

    def page(self, rel: str | Path) -> BeautifulSoup:
        path = self.folder / rel
        if path not in self._pages:
            self._pages[path] = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        return self._pages[path]

    def pages(self) -> list[Path]:
        rels = (p.relative_to(self.folder) for p in self.folder.rglob("*.html"))
        return sorted(
            r
            for r in rels
            if "site_libs" not in r.parts and not (self.exclude and r.parts[0] == self.exclude)
        )

    def lesson_page(self, lesson: str) -> str:
        return f"notebooks/{Path(lesson).stem}.html"


@pytest.fixture(scope="module")
def sites(published_build: site_build.Build) -> dict[str, Site]:
    """Both editions, built by the Pages workflow's own `run` steps on a clean copy of the repository
    (what GitHub Pages publishes: the instructor edition at the root, the student edition under student/)."""
    if not LESSONS:
        pytest.skip("no lessons in notebooks/ yet")
    copies = sorted(p for p in student.COPIES.glob("*.ipynb") if lessons.is_lesson(p))
    if [p.name for p in copies] != [p.name for p in LESSONS]:
        pytest.skip(
            "the student copies do not match the lessons (see test_student_copies_are_up_to_date)"
        )
    seconds = published_build.seconds
    return {
        "instructor": Site(
            "instructor",
            published_build.site,
            {p.name: p for p in LESSONS},
            seconds / 2,
            exclude="student",
        ),
        "student": Site(
            "student", published_build.site / "student", {p.name: p for p in copies}, seconds / 2
        ),
    }


EDITIONS = ["instructor", "student"]


def test_render_time(sites: dict[str, Site]) -> None:
    total = sum(site.seconds for site in sites.values())
    assert total < RENDER_BUDGET_S, (
        f"rendering both editions took {total:.0f} s; CI must stay under 10 minutes"
    )


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_lesson_page_exists_with_all_its_figures(
    sites: dict[str, Site], edition: str
) -> None:
    site = sites[edition]
    assert (site.folder / "index.html").is_file()
    for name, notebook in site.notebooks.items():
        rel = site.lesson_page(name)
        assert (site.folder / rel).is_file(), f"{rel} was not rendered"
        page = site.page(rel)
        figures = page.select("main div.cell-output-display img")
        expected = image_count(nbformat.read(notebook, as_version=4))
        assert len(figures) == expected, (
            f"{rel}: {len(figures)} figures, the notebook has {expected} image outputs"
        )
        assert all(img.get("alt") or img.find_parent("figure") for img in figures)


def _targets(page: BeautifulSoup) -> list[str]:
    refs = [a.get("href") for a in page.find_all(["a", "link"])]
    refs += [el.get("src") for el in page.find_all(["img", "script", "source", "iframe"])]
    return [r for r in refs if r]


@pytest.mark.parametrize("edition", EDITIONS)
def test_internal_links_images_and_anchors_resolve(sites: dict[str, Site], edition: str) -> None:
    site = sites[edition]
    owner, name, branch = repo()
    problems = []
    for rel in site.pages():
        page = site.page(rel)
        for ref in _targets(page):
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith(("//", "mailto:", "javascript:", "data:")):
                if f"raw.githubusercontent.com/{owner}/{name}/" in ref:
                    problems.append(
                        f"{rel}: {ref} should be served from the site's images/ (course.lua)"
                    )
                continue
            if (
                "/images/" in f"/{parts.path}"
                and (img := page.find("img", src=ref)) is not None
                and not img.get("alt", "").strip()
            ):
                problems.append(f"{rel}: the course figure {ref} has no alt text")
            target = (
                (site.folder / rel).parent / unquote(parts.path)
                if parts.path
                else site.folder / rel
            )
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(
                    f"{rel}: {ref} -> {target.relative_to(site.folder) if site.folder in target.parents else target} missing"
                )
                continue
            if parts.fragment and target.suffix == ".html":
                other = site.page(target.resolve().relative_to(site.folder.resolve()))
                if (
                    other.find(id=unquote(parts.fragment)) is None
                    and other.find(attrs={"name": parts.fragment}) is None
                ):
                    problems.append(f"{rel}: {ref}: no element with id {parts.fragment!r}")
    assert problems == []


def _lesson(name: str) -> Path:
    return next(p for p in LESSONS if p.name == name)


def _solution_cells(lesson: Path) -> list:
    return [c for c in nbformat.read(lesson, as_version=4).cells if student.is_solution(c)]


def _code_texts(page: BeautifulSoup) -> str:
    return "\n".join(_words(code.get_text()) for code in page.select("div.sourceCode code"))


def _words(text: str) -> str:
    """The text as lower-case words, so that markdown re-rendered by Quarto (list markers, emphasis,
    line breaks, escapes) still matches its source."""
    return " ".join(re.findall(r"\w+", text.lower()))


def _solution_snippets(lesson: Path) -> list[tuple[str, str]]:
    """(kind, words) that identify the lesson's solution cells: the first line of each solution
    markdown cell (usually its heading) and the code of each solution code cell, as `_words`."""
    snippets = []
    for cell in _solution_cells(lesson):
        source = cell.source.strip()
        if cell.cell_type == "markdown" and source:
            heading = _words(source.splitlines()[0])
            if len(heading) > 12:
                snippets.append(("text", heading))
        elif cell.cell_type == "code":
            body = _words("\n".join(l for l in source.splitlines() if not l.startswith("#|")))
            if len(body) > 20:
                snippets.append(("code", body))
    return snippets


def _solution_traces(page: BeautifulSoup, lesson: Path) -> list[str]:
    """What of the lesson's solution cells shows on the page: tagged cells, solution headings, code."""
    traces = [
        f"a cell tagged solution ({div.get('id')})"
        for div in page.select("div.cell[data-tags]")
        if "solution" in div["data-tags"]
    ]
    main = page.select_one("main") or page
    text, code = _words(main.get_text(" ")), _code_texts(main)
    for kind, snippet in _solution_snippets(lesson):
        if snippet in (text if kind == "text" else code):
            traces.append(f"solution {kind} {snippet[:60]!r}")
    return traces


def test_student_pages_have_no_solutions(sites: dict[str, Site]) -> None:
    problems = []
    for lesson in LESSONS:
        rel = sites["student"].lesson_page(lesson.name)
        if not _solution_cells(lesson):
            continue
        full_traces = _solution_traces(sites["instructor"].page(rel), lesson)
        assert full_traces, (
            f"the check finds nothing of {lesson.name}'s solutions on its instructor page"
        )
        problems += [f"{rel}: {t}" for t in _solution_traces(sites["student"].page(rel), lesson)]
        main = sites["student"].page(rel).select_one("main")
        problems += [
            f"{rel}: points at solutions: {s}" for s in solution_pointers(main.get_text(" "))
        ]
    assert problems == []


@pytest.mark.parametrize("edition", EDITIONS)
def test_badge_source_and_download_lead_to_the_editions_notebooks(
    sites: dict[str, Site], edition: str
) -> None:
    """Instructor pages lead to notebooks/<lesson>; student pages to student/notebooks/<lesson> and a
    download without solutions, and nothing in the student site leads to the full notebooks."""
    site = sites[edition]
    owner, name, branch = repo()
    folder = "notebooks" if edition == "instructor" else student.STUDENT_FOLDER
    for lesson in site.notebooks:
        rel = site.lesson_page(lesson)
        page = site.page(rel)
        badge_links = [
            a["href"] for a in page.select("a[href^='https://colab.research.google.com/']")
        ]
        assert badge_links == [badges.colab_url(owner, name, lesson, branch, folder)], rel
        badge = page.select_one(f"a[href='{badge_links[0]}']")
        assert badge.find_parent("figure") is None, (
            f"{rel}: the Colab badge is rendered as a figure"
        )
        sources = [a["href"] for a in page.select("a.toc-action") if "View source" in a.get_text()]
        assert sources and set(sources) == {
            f"https://github.com/{owner}/{name}/blob/{branch}/{folder}/{lesson}"
        }, rel
        formats = page.select(".quarto-alternate-formats a")
        assert len(formats) == 1, (
            f"{rel}: Other Formats lists {[a.get_text(strip=True) for a in formats]}"
        )
        download = nbformat.read((site.folder / rel).parent / formats[0]["href"], as_version=4)
        sources = "\n".join(_words(c.source) for c in download.cells)
        found = [
            snippet for _, snippet in _solution_snippets(_lesson(lesson)) if snippet in sources
        ]
        if edition == "student":
            assert found == [] and not any(student.is_solution(c) for c in download.cells), (
                f"{rel}: the download holds solutions: {found[:3]}"
            )
        else:
            assert len(found) == len(_solution_snippets(_lesson(lesson))), (
                f"{rel}: solutions missing"
            )
    if edition == "student":
        full = re.compile(
            rf"(?:github\.com|colab\.research\.google\.com/github)/{owner}/{name}/blob/[^/]+/notebooks/"
        )
        leaks = [
            f"{rel}: {ref}"
            for rel in site.pages()
            for ref in _targets(site.page(rel))
            if full.search(ref)
        ]
        assert leaks == [], "the student edition links to the notebooks with solutions"


@pytest.mark.parametrize("edition", EDITIONS)
def test_view_source_links_exist_in_the_repository(sites: dict[str, Site], edition: str) -> None:
    site = sites[edition]
    owner, name, branch = repo()
    prefix = f"https://github.com/{owner}/{name}/blob/{branch}/"
    missing = [
        f"{rel}: {a['href']}"
        for rel in site.pages()
        for a in site.page(rel).select("a[href]")
        if a["href"].startswith(prefix) and not (ROOT / a["href"][len(prefix) :]).exists()
    ]
    assert missing == [], (
        "'View source' leads to files that are not in the repository (a page that has "
        "no source in student/ needs `repo-actions: false` in its front matter)"
    )


@pytest.mark.parametrize("edition", EDITIONS)
def test_navbar_marks_only_the_page_itself(sites: dict[str, Site], edition: str) -> None:
    site = sites[edition]
    problems = []
    for rel in site.pages():
        page = site.page(rel)
        for link in page.select("#quarto-header a.nav-link.active, #quarto-header a[aria-current]"):
            target = ((site.folder / rel).parent / link.get("href", "")).resolve()
            if target != (site.folder / rel).resolve():
                problems.append(
                    f"{rel}: the navbar marks {link.get_text(strip=True)!r} ({link.get('href')}) as current"
                )
    assert problems == []


@pytest.mark.parametrize("edition", EDITIONS)
def test_install_cell_is_folded_under_a_caption(sites: dict[str, Site], edition: str) -> None:
    site = sites[edition]
    for lesson in site.notebooks:
        page = site.page(site.lesson_page(lesson))
        first_code = page.select_one("main div.cell div.sourceCode")
        details = first_code.find_parent("details") if first_code else None
        assert details is not None and "code-fold" in details.get("class", []), lesson
        assert "Colab only" in details.summary.get_text(), lesson
        assert "google.colab" in first_code.get_text()


@pytest.mark.parametrize("edition", EDITIONS)
def test_search_index_lists_every_lesson(sites: dict[str, Site], edition: str) -> None:
    site = sites[edition]
    entries = json.loads((site.folder / "search.json").read_text(encoding="utf-8"))
    hrefs = {e["href"].split("#")[0] for e in entries}
    missing = [site.lesson_page(n) for n in site.notebooks if site.lesson_page(n) not in hrefs]
    assert missing == [], f"not in the search index: {missing}"
    if edition == "student":
        found = [
            e["href"]
            for e in entries
            if re.search(r"(?i)solution to homework", e.get("title", "") + e.get("text", ""))
        ]
        assert found == [], f"the student search index holds solutions: {found}"


def test_editions_say_which_they_are(sites: dict[str, Site]) -> None:
    assert "This is the student edition" in sites["student"].page("index.html").get_text()
    assert "This is the student edition" not in sites["instructor"].page("index.html").get_text()
    assert "(student edition)" in sites["student"].page("index.html").title.get_text()


# ---------------------------------------------------------------------------------------------------
# The published site in a browser (needs Chromium and Playwright, like tests/test_demo.py)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(sites: dict[str, Site]) -> Iterator[tuple[str, object]]:
    """(URL, browser): the Pages build of the clean copy served on 127.0.0.1, and headless Chromium."""
    import site_browser  # which Chromium (Debian's or Playwright's own); skip, or fail in CI

    site_browser.require()
    from playwright import sync_api

    server = serve.make_server(sites["instructor"].folder, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_api.sync_playwright() as p:
            browser = site_browser.launch(p)
            yield f"http://127.0.0.1:{server.server_address[1]}", browser
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _visit(browser: object, url: str) -> dict[str, list[str]]:
    """Open `url` in a fresh tab; every request that would leave 127.0.0.1 is recorded and refused, as
    offline. Returns what went wrong: outside requests, failed or 4xx/5xx responses, script errors."""
    found: dict[str, list[str]] = {"outside": [], "failed": [], "errors": []}
    page = browser.new_page()
    page.on("pageerror", lambda e: found["errors"].append(str(e)))
    page.on("response", lambda r: r.status >= 400 and found["failed"].append(f"{r.status} {r.url}"))

    def route(route: object) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
            found["outside"].append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)  # scripts that start after load (search, the demo's runtime)
    if url.endswith("demo.html"):
        page.wait_for_function(
            "!document.getElementById('demo-status').textContent.startsWith('Loading the models')",
            timeout=30_000,
        )
        found["status"] = [page.locator("#demo-status").inner_text()]
    page.close()
    return found


@pytest.mark.parametrize("edition", EDITIONS)
def test_published_pages_send_nothing_to_third_parties(
    sites: dict[str, Site], published: tuple[str, object], edition: str
) -> None:
    """Every page of the Pages build works offline: no request leaves the site (no CDN, web font, badge
    image or MathJax), none fails (the favicon included), no script error (e.g. `define is not defined`)."""
    base, browser = published
    prefix = "" if edition == "instructor" else "student/"
    problems = []
    for rel in sites[edition].pages():
        found = _visit(browser, f"{base}/{prefix}{rel.as_posix()}")
        problems += [
            f"{prefix}{rel}: {kind}: {item}"
            for kind in ("outside", "failed", "errors")
            for item in found[kind]
        ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("edition", EDITIONS)
def test_published_demo_loads_its_runtime_and_models(
    published: tuple[str, object], edition: str
) -> None:
    """The draw-a-digit page of the Pages build finds ONNX Runtime Web (npm ci in the workflow) and both models."""
    base, browser = published
    prefix = "" if edition == "instructor" else "student/"
    found = _visit(browser, f"{base}/{prefix}demo.html")
    assert found["status"] == ["Models loaded: draw a digit."], found


# ---------------------------------------------------------------------------------------------------
# Phones and accessibility (issue 31): HTML checks, then every page in Chromium with axe-core
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("edition", EDITIONS)
def test_figures_open_full_size(sites: dict[str, Site], edition: str) -> None:
    """Every figure of a lesson opens full size on a tap (lightbox: true in _quarto.yml)."""
    site = sites[edition]
    problems = []
    for lesson in site.notebooks:
        rel = site.lesson_page(lesson)
        for img in site.page(rel).select("main div.cell-output-display img"):
            link = img.find_parent("a")
            if link is None or "lightbox" not in link.get("class", []):
                problems.append(f"{rel}: {img.get('src')} does not open in the lightbox")
    assert problems == []


@pytest.mark.parametrize("edition", EDITIONS)
def test_download_is_the_committed_notebook(sites: dict[str, Site], edition: str) -> None:
    """ "Download this notebook" gives the committed notebook (the lesson, or its student copy), not
    Quarto's NN_name.out.ipynb rewrite, and the same link shows under the title for a phone."""
    site = sites[edition]
    committed = ROOT / ("notebooks" if edition == "instructor" else student.STUDENT_FOLDER)
    for lesson in site.notebooks:
        rel = site.lesson_page(lesson)
        page = site.page(rel)
        hrefs = [
            a["href"] for a in page.select(".quarto-alternate-formats a, .lesson-links a[download]")
        ]
        assert hrefs == [lesson, lesson], f"{rel}: download links {hrefs}"
        served = (site.folder / rel).parent / lesson
        assert served.read_bytes() == (committed / lesson).read_bytes(), (
            f"{rel}: {lesson} is not the committed one"
        )
        assert not served.with_suffix(".out.ipynb").exists()


@pytest.mark.parametrize("edition", EDITIONS)
def test_report_an_issue_names_the_page(sites: dict[str, Site], edition: str) -> None:
    site = sites[edition]
    prefix = "" if edition == "instructor" else "student/"
    for lesson in site.notebooks:
        rel = site.lesson_page(lesson)
        links = [a["href"] for a in site.page(rel).select("a[href*='/issues/new']")]
        assert links, f"{rel}: no 'Report an issue' link"
        for href in links:
            query = dict(part.split("=", 1) for part in urlsplit(href).query.split("&"))
            assert "title" in query and unquote(query.get("body", "")).startswith(
                f"Page: {prefix}{rel}"
            ), href


def test_student_index_leads_to_the_student_copies(sites: dict[str, Site]) -> None:
    """The student index says to open student/notebooks/ and shows no instructor run times."""
    text = {
        e: " ".join(sites[e].page("index.html").select_one("main").get_text(" ").split())
        for e in EDITIONS
    }
    assert "jupyter lab student/notebooks/" in text["student"]
    assert not re.search(r"jupyter lab notebooks/", text["student"])
    assert "jupyter lab notebooks/" in text["instructor"]
    assert "CPU run time" in text["instructor"] and "CPU run time" not in text["student"]
    assert not re.search(r"\d+(?:\.\d+)? min\b", text["student"]), (
        "the student index shows run times"
    )


SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""
# How a page reads (issue 44), measured in the same visit as axe-core: printed text outputs whose lines
# wrap (more line boxes than lines), and those wider than their box that are not a focusable scroll box
# with the cue.
READING = r"""() => {
  const lineBoxes = el => {
    const tops = new Set(), walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(n);
      for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
    }
    return tops.size;
  };
  const outputs = [...document.querySelectorAll("main .cell-output > pre")];
  const name = (p, i) => `output ${i + 1}: ${p.textContent.trim().split("\n")[0].slice(0, 50)}`;
  // Code lines that wrap and whose continuation does not start right of the line's first character.
  const flatWraps = [...document.querySelectorAll("main div.sourceCode pre > code > span")].filter(line => {
    const rects = [], walk = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    let first = null;
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(n);
      rects.push(...[...range.getClientRects()].filter(r => r.width > 0));
      const at = n.textContent.search(/\S/);
      if (first === null && at >= 0) { range.setStart(n, at); range.setEnd(n, at + 1); first = range.getBoundingClientRect(); }
    }
    if (first === null) return false;
    const top = Math.round(first.top), tops = [...new Set(rects.map(r => Math.round(r.top)))].sort((a, b) => a - b);
    const next = tops.find(t => t > top + 1);
    if (next === undefined) return false;
    const second = Math.min(...rects.filter(r => Math.round(r.top) === next).map(r => r.left));
    // (a line whose first line box holds only its indentation starts the code at the hanging indent)
    return top <= tops[0] + 1 ? second <= first.left + 1 : second < first.left - 1;
  }).map(line => line.textContent.trim().slice(0, 50));
  return {
    flatWraps,
    outputs: outputs.length,
    wrapped: outputs.map((p, i) => lineBoxes(p) > p.textContent.replace(/\n+$/, "").split("\n").length ? name(p, i) : null)
                    .filter(Boolean),
    scrolling: outputs.filter(p => p.scrollWidth > p.clientWidth + 1).length,
    unreachable: outputs.map((p, i) => p.scrollWidth > p.clientWidth + 1 &&
                             !(p.tabIndex === 0 && p.classList.contains("scrolls-x") &&
                               getComputedStyle(p, "::after").content.includes("scroll sideways")) ? name(p, i) : null)
                        .filter(Boolean),
  };
}"""


@pytest.fixture(scope="module")
def audit(sites: dict[str, Site], published: tuple[str, object], published_build: site_build.Build):
    """audit(edition, size) -> {page: {"width": scrollWidth, "violations": axe-core's, "reading": READING's}}:
    every page of the edition opened once at that size, axe-core (npm, node_modules/axe-core) run on it."""
    import site_browser

    axe = site_browser.axe_script(published_build.clone, ROOT)
    base, browser = published
    done: dict[tuple[str, str], dict] = {}

    def run(edition: str, size: str) -> dict:
        if (edition, size) not in done:
            prefix = "" if edition == "instructor" else "student/"
            context = browser.new_context(**SIZES[size])
            results = {}
            try:
                for rel in sites[edition].pages():
                    page = context.new_page()
                    page.route(
                        re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort()
                    )
                    page.goto(f"{base}/{prefix}{rel.as_posix()}", wait_until="load")
                    page.wait_for_timeout(200)  # the search box and the page's own script
                    width = page.evaluate("document.documentElement.scrollWidth")
                    reading = page.evaluate(READING)
                    page.add_script_tag(path=str(axe))
                    results[f"{prefix}{rel.as_posix()}"] = {
                        "width": width,
                        "violations": page.evaluate(AXE_RUN),
                        "reading": reading,
                    }
                    page.close()
            finally:
                context.close()
            done[(edition, size)] = results
        return done[(edition, size)]

    return run


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_page_fits_a_phone(audit, edition: str) -> None:
    """At 390 x 844 no page scrolls sideways: wide tables, code and formulas scroll in their own box."""
    width = SIZES["phone"]["viewport"]["width"]
    wide = [
        f"{rel}: {r['width']} px wide"
        for rel, r in audit(edition, "phone").items()
        if r["width"] > width
    ]
    assert wide == [], f"pages wider than a {width} px phone:\n" + "\n".join(wide)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("edition", EDITIONS)
def test_no_serious_accessibility_violations(audit, edition: str, size: str) -> None:
    """axe-core finds no critical or serious violation on any page, at desktop and phone sizes."""
    found = [
        f"{rel}: {v['impact']} {v['id']} at {v['nodes']}"
        for rel, r in audit(edition, size).items()
        for v in r["violations"]
        if v["impact"] in ("critical", "serious")
    ]
    assert found == [], "\n".join(found)


# ---------------------------------------------------------------------------------------------------
# The site reads well everywhere (issue 44)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("edition", EDITIONS)
def test_text_outputs_keep_their_lines(audit, edition: str, size: str) -> None:
    """Printed text (the lessons' text tables) is never wrapped, so its columns stay aligned; a line
    wider than the page scrolls inside the output's own box, reachable with the keyboard and marked
    with the "scroll sideways for more" cue."""
    results = audit(edition, size)
    wrapped = [f"{rel}: {o}" for rel, r in results.items() for o in r["reading"]["wrapped"]]
    assert wrapped == [], "text outputs whose lines wrap:\n" + "\n".join(wrapped)
    unreachable = [f"{rel}: {o}" for rel, r in results.items() for o in r["reading"]["unreachable"]]
    assert unreachable == [], (
        "wide text outputs that are not a focusable scroll box with the cue:\n"
        + "\n".join(unreachable)
    )
    assert sum(r["reading"]["outputs"] for r in results.values()) > 50
    if size == "phone":
        assert sum(r["reading"]["scrolling"] for r in results.values()) > 0, (
            "no wide output to check the box with"
        )


FOCUS_RING = r"""() => {
  const el = document.activeElement, cs = getComputedStyle(el);
  const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                     return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                              if (c.length && (c.length < 4 || c[3] > 0.5)) return getComputedStyle(e).backgroundColor; }
                            return "rgb(255, 255, 255)"; };
  const [a, b] = [lum(cs.outlineColor), lum(background(el.parentElement))];
  const name = `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${[...el.classList].slice(0, 2).join(".")} ${(el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 30)}`;
  return {name, style: cs.outlineStyle, width: parseFloat(cs.outlineWidth),
          contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), top: el.getBoundingClientRect().top};
}"""


def _open(browser: object, url: str, size: str) -> tuple[object, object]:
    """(context, page): `url` at `size` with nothing loaded from outside 127.0.0.1."""
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    page.goto(url, wait_until="load")
    page.wait_for_timeout(200)
    return context, page


@pytest.mark.parametrize("edition", EDITIONS)
def test_skip_link_first_and_a_visible_focus_ring(
    sites: dict[str, Site], published: tuple[str, object], edition: str
) -> None:
    """The first Tab stop is "Skip to the content", which moves the focus into the lesson; every one of
    the first Tab stops (navbar, search, sidebar, contents, lesson) shows a focus ring of at least 2 px
    with a contrast of at least 3:1 against what surrounds it (WCAG 2.2, 1.4.11 and 2.4.13)."""
    base, browser = published
    prefix = "" if edition == "instructor" else "student/"
    context, page = _open(
        browser,
        f"{base}/{prefix}{sites[edition].lesson_page(next(iter(sites[edition].notebooks)))}",
        "desktop",
    )
    try:
        page.keyboard.press("Tab")
        first = page.evaluate(FOCUS_RING)
        assert first["name"].startswith("a.skip-link") and first["top"] >= 0, first
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.tagName") == "MAIN"
        page.evaluate("window.scrollTo(0, 0); document.activeElement.blur()")
        page.reload(wait_until="load")
        weak = []
        for _ in range(40):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RING)
            if ring["style"] == "none" or ring["width"] < 2 or ring["contrast"] < 3:
                weak.append(ring)
        assert weak == [], "focus rings under 2 px or 3:1:\n" + "\n".join(map(str, weak))
    finally:
        context.close()


@pytest.mark.parametrize("edition", EDITIONS)
def test_contents_and_back_to_top_on_a_phone(
    sites: dict[str, Site], published: tuple[str, object], edition: str
) -> None:
    """On a phone each lesson has "On this page" under its title (Quarto's contents sit in a margin the
    phone does not show), and a screen down, "Contents" and "Top" buttons that lead back there."""
    base, browser = published
    prefix = "" if edition == "instructor" else "student/"
    site = sites[edition]
    # every lesson of the instructor edition; the student edition's pages are built alike (CI time)
    for lesson in list(site.notebooks)[: None if edition == "instructor" else 1]:
        rel = site.lesson_page(lesson)
        sections = len(site.page(rel).select("nav#TOC > ul > li"))
        context, page = _open(browser, f"{base}/{prefix}{rel}", "phone")
        try:
            contents = page.locator("#phone-toc")
            assert contents.is_visible() and contents.bounding_box()["y"] < 844, (
                f"{rel}: no contents in the first screen"
            )
            assert not page.locator("nav#TOC").is_visible()
            contents.locator("summary").click()
            links = contents.locator("nav > ul > li > a")
            assert links.count() == sections > 2, rel
            target = links.nth(2).get_attribute("href").split("#")[-1]
            links.nth(2).click()
            page.wait_for_timeout(300)
            assert page.evaluate("location.hash") == f"#{target}"
            assert not page.evaluate("document.getElementById('phone-toc').open")
            heading = page.locator(f"[id='{target}']").bounding_box()
            assert 0 <= heading["y"] < 844, (
                f"{rel}: {target} not in view after following the contents"
            )
            jumps = page.locator(".page-jumps")
            assert jumps.is_visible(), f"{rel}: no Top / Contents buttons a screen down"
            page.locator(".page-jumps .jump-contents").click()
            page.wait_for_timeout(200)
            assert page.evaluate("document.getElementById('phone-toc').open")
            assert 0 <= contents.bounding_box()["y"] < 844
            page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
            page.wait_for_timeout(200)
            page.locator(".page-jumps .jump-top").click()
            page.wait_for_timeout(200)
            assert page.evaluate("window.scrollY") == 0
        finally:
            context.close()
    context, page = _open(
        browser, f"{base}/{prefix}{site.lesson_page(next(iter(site.notebooks)))}", "desktop"
    )
    try:
        assert page.locator("nav#TOC").is_visible() and not page.locator("#phone-toc").is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("edition", EDITIONS)
def test_no_serious_accessibility_violations_with_search_or_sidebar_open(
    sites: dict[str, Site],
    published: tuple[str, object],
    published_build: site_build.Build,
    edition: str,
    size: str,
) -> None:
    """axe-core, as in test_no_serious_accessibility_violations, on a lesson with the search open and
    showing results, and on a phone with the sidebar (the lessons menu) open; a search result still
    opens its page."""
    import site_browser

    axe = site_browser.axe_script(published_build.clone, ROOT)
    base, browser = published
    prefix = "" if edition == "instructor" else "student/"
    rel = sites[edition].lesson_page(sorted(sites[edition].notebooks)[1])
    states = ["search", "sidebar"] if size == "phone" else ["search"]
    found = []
    for state in states:
        context, page = _open(browser, f"{base}/{prefix}{rel}", size)
        try:
            if state == "search":
                page.locator(".aa-DetachedSearchButton:visible").first.click()
                page.locator("input.aa-Input").fill("learning rate")
                page.wait_for_selector("li.aa-Item[role='option']")
                page.wait_for_timeout(300)
            else:
                page.locator("nav.quarto-secondary-nav button.quarto-btn-toggle").first.click()
                page.wait_for_selector("#quarto-sidebar.show", state="visible")
                page.wait_for_timeout(400)
            page.add_script_tag(path=str(axe))
            found += [
                f"{state}: {v['impact']} {v['id']} at {v['nodes']}"
                for v in page.evaluate(AXE_RUN)
                if v["impact"] in ("critical", "serious")
            ]
            if state == "search":
                before = page.url
                page.locator("li.aa-Item[role='option']").nth(1).click()
                page.wait_for_load_state("load")
                assert page.url.split("#")[0] != before, "a search result does not open"
        finally:
            context.close()
    assert found == [], "\n".join(found)


PRINTED = r"""() => {
  const hidden = sel => [...document.querySelectorAll(sel)].every(e => getComputedStyle(e).display === "none" || !e.getClientRects().length);
  const chrome = ["#quarto-header", "#quarto-sidebar", "#quarto-margin-sidebar", "nav.quarto-secondary-nav", ".lesson-links",
                  ".phone-toc", ".page-jumps", ".skip-link", "nav.page-navigation", ".code-copy-button", "details.code-fold"];
  const cut = [...document.querySelectorAll("main .cell-output-display, main table, main .cell-output > pre, main .math.display, main img")]
    .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(e => e.tagName + " " + e.textContent.trim().slice(0, 40));
  const hints = [...document.querySelectorAll("main *")].filter(e => getComputedStyle(e, "::after").content.includes("scroll sideways")).length;
  return {shown: chrome.filter(s => !hidden(s)), cut, hints,
          mainWidth: document.querySelector("main").getBoundingClientRect().width, pageWidth: document.documentElement.clientWidth};
}"""


@pytest.mark.parametrize("edition", EDITIONS)
def test_lessons_print_whole(
    sites: dict[str, Site], published: tuple[str, object], edition: str
) -> None:
    """Printed (print media, an A4 page's width), a lesson is the lesson alone at full width: no navbar,
    sidebar, contents, buttons or on-screen hints ("scroll sideways"), and no table, output, formula or
    figure cut at the right edge (lesson 4's speed table lost its last column)."""
    base, browser = published
    prefix = "" if edition == "instructor" else "student/"
    site = sites[edition]
    # 186 mm at 96 px per inch
    context = browser.new_context(viewport={"width": 703, "height": 1000})
    try:
        for lesson in site.notebooks:
            page = context.new_page()
            page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
            page.goto(f"{base}/{prefix}{site.lesson_page(lesson)}", wait_until="load")
            page.wait_for_timeout(200)
            page.emulate_media(media="print")
            page.wait_for_timeout(100)
            printed = page.evaluate(PRINTED)
            rel = site.lesson_page(lesson)
            assert printed["shown"] == [], f"{rel}: printed with {printed['shown']}"
            assert printed["mainWidth"] >= 0.95 * printed["pageWidth"], (
                f"{rel}: not full width: {printed}"
            )
            assert printed["cut"] == [] and printed["hints"] == 0, f"{rel}: {printed}"
            page.close()
    finally:
        context.close()


@pytest.mark.parametrize("edition", EDITIONS)
def test_figures_open_at_full_size_on_a_phone(
    sites: dict[str, Site],
    published: tuple[str, object],
    published_build: site_build.Build,
    edition: str,
) -> None:
    """On a phone a lesson's figures are shown at a third of their size or less; a tap opens each at 90% of
    its natural size or more, in a view that pans (scrolls both ways), which Escape closes, giving the
    focus back; axe-core finds nothing serious with it open."""
    import site_browser

    base, browser = published
    prefix = "" if edition == "instructor" else "student/"
    site = sites[edition]
    rel = site.lesson_page(next(iter(site.notebooks)))
    context, page = _open(browser, f"{base}/{prefix}{rel}", "phone")
    problems = []
    try:
        figures = page.locator("main div.cell-output-display a.lightbox img")
        assert figures.count() > 3
        for i in range(figures.count()):
            figure = figures.nth(i)
            figure.scroll_into_view_if_needed()
            figure.tap()
            page.wait_for_selector("dialog.figure-zoom[open]", timeout=5_000)
            shown = page.evaluate("""() => { const d = document.querySelector('dialog.figure-zoom[open]'),
                img = d.querySelector('img'), box = d.querySelector('.figure-zoom-scroll');
                return {width: img.getBoundingClientRect().width, natural: img.naturalWidth,
                        pans: box.scrollWidth > box.clientWidth, src: img.getAttribute('src')}; }""")
            if shown["width"] < 0.9 * shown["natural"] or not shown["pans"]:
                problems.append(f"{rel}: figure {i + 1}: {shown}")
            if i == 0:
                page.add_script_tag(path=str(site_browser.axe_script(published_build.clone, ROOT)))
                problems += [
                    f"{rel}: with a figure open: {v['impact']} {v['id']} at {v['nodes']}"
                    for v in page.evaluate(AXE_RUN)
                    if v["impact"] in ("critical", "serious")
                ]
            page.keyboard.press("Escape")
            page.wait_for_selector(
                "dialog.figure-zoom[open]", state="detached", timeout=5_000
            ) if page.locator("dialog.figure-zoom[open]").count() else None
            if page.evaluate("document.activeElement.classList.contains('lightbox')") is not True:
                problems.append(f"{rel}: figure {i + 1}: the focus does not return to the figure")
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("edition", EDITIONS)
def test_wrapped_code_has_a_hanging_indent(audit, edition: str, size: str) -> None:
    """A code line that wraps (on a phone) continues right of its own first character, so that wrapped
    Python keeps its indentation (post_render.py: --indent, course.css)."""
    results = audit(edition, size)
    flat = [f"{rel}: {line}" for rel, r in results.items() for line in r["reading"]["flatWraps"]]
    assert flat == [], (
        "wrapped code lines that restart at their own indentation or left of it:\n"
        + "\n".join(flat)
    )


@pytest.mark.parametrize("edition", EDITIONS)
def test_search_snippets_print_each_formula_once(sites: dict[str, Site], edition: str) -> None:
    """The search index has each formula once, as the page shows it, not followed by its TeX source
    ("momentum mm = 0.1"; post_render.py cleans search.json)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "post_render", ROOT / "tools" / "site" / "post_render.py"
    )
    post_render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(post_render)
    site = sites[edition]
    formulas = [
        f
        for rel in site.pages()
        for f in post_render.math_texts((site.folder / rel).read_text(encoding="utf-8"))
    ]
    assert len(formulas) > 20
    entries = json.loads((site.folder / "search.json").read_text(encoding="utf-8"))
    twice = [
        f"{e['href']}: ...{e['text'][:60]}"
        for e in entries
        if post_render.clean_search_text(e["text"], formulas) != e["text"]
    ]
    assert twice == [], "search entries that print formulas twice (shown, then TeX):\n" + "\n".join(
        twice
    )
    assert (
        post_render.clean_search_text(
            "with momentum mm = 0.1 (mostly)", [("with momentum", "m", "m")]
        )
        == "with momentum m = 0.1 (mostly)"
    )
