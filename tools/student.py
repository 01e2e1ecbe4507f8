"""Student edition: the lessons without their worked solutions, committed in student/, and the
Quarto project that renders them.

    python tools/student.py                 (`make student`) write the copies, then assemble _student/
    python tools/student.py --check         exit 1 if the committed copies are out of date
    python tools/student.py --project-only  assemble _student/ from the committed copies (no nbformat needed)

The copies: student/notebooks/<lesson>.ipynb, one per lesson (tools/lessons.py says which files are
lessons). Each is the lesson without its cells tagged `solution` (nbconvert's TagRemovePreprocessor),
with its Colab badge pointing at the copy itself
(https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/student/notebooks/<lesson>.ipynb),
so that a student who opens a lesson in Colab from the student site gets no solutions. Every other cell,
with its outputs, stays as it is. The copies are committed so that Colab can open them; they go out
of date whenever a lesson changes, which tests/test_site.py detects, and this command regenerates
them (a copy already up to date is not rewritten; a copy of a lesson that no longer exists is removed).
The originals are never written.

The project: _student/ gets the site's files (SITE_FILES: what Quarto reads, _quarto.yml, the pages,
images/, demo/, tools/site/; and notebooks/_metadata.yml with the rest of notebooks/ but the lessons),
the committed copies in notebooks/, and
the profile _quarto-student.yml (from tools/quarto-student.yml, which sets `repo-subdir: student` so
that "View source" leads to the copies). `make student` then runs
`quarto render _student --profile student` and moves the result to _site-student/; the Pages workflow
publishes it under student/.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lessons  # noqa: E402  (tools/lessons.py: the one rule for which files are lessons)

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_TAG = "solution"
STUDENT_FOLDER = "student/notebooks"  # where the committed copies live, relative to the repository
COPIES = ROOT / STUDENT_FOLDER
PROJECT = ROOT / "_student"
PROFILE = ROOT / "tools" / "quarto-student.yml"
MARKER = ".made-by-tools-student"  # in an assembled project: the next run may empty it
# What the student project copies from the repository, besides notebooks/: what Quarto reads for the site
# (_quarto.yml's pages and resources, the draw-a-digit page's assets in demo/, the filters, styles and
# post-render script in tools/site/). A new page or asset is added here as well as to _quarto.yml.
SITE_FILES = (
    "_quarto.yml",
    "index.qmd",
    "demo.qmd",
    "glossary.qmd",
    "images",
    "demo",
    "tools/site",
)


def lesson_notebooks(folder: Path = ROOT / "notebooks") -> list[Path]:
    """The lessons (thin alias of tools/lessons.py's rule, kept for the tests that import it)."""
    return lessons.lesson_notebooks(folder)


def is_solution(cell) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def strip_solutions(nb):
    """A copy of `nb` without the cells tagged `solution` (`nb` itself is left as it is)."""
    from nbconvert.preprocessors import TagRemovePreprocessor

    remover = TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG}, enabled=True)
    student, _ = remover.preprocess(copy.deepcopy(nb), {})
    return student


def repository() -> tuple[str, str, str]:
    """(owner, repo, branch) from website.repo-url in _quarto.yml (see tools/badges.py)."""
    import badges

    try:
        return badges.repo_from_config(ROOT / "_quarto.yml")
    except badges.ConfigError as err:
        raise SystemExit(f"student: {err}") from None


def student_notebook(nb, name: str, owner: str, repo: str, branch: str = "main"):
    """The student copy of lesson `nb` (file name `name`): no solution cells, and its Colab badge
    opening student/notebooks/<name>. `nb` is not changed."""
    import badges

    student = strip_solutions(nb)
    badges.rewrite(student, name, owner, repo, branch, folder=STUDENT_FOLDER)
    drop_run_time(student)
    untouched_checks(student, Path(name).stem)
    return student


CHECK_TAG = "homework-check"  # a homework's check cell: grader.check("hwN")
CHECK_CALL = re.compile(r'^grader\.check\("(\w+)"\)$')


def untouched_checks(nb, lesson: str) -> None:
    """Give each check cell the output it prints in the copy as handed out: the lesson's run printed
    "passed", with the solutions the copy lacks; the copy's skeleton leaves every answer unset, so each
    check says what is missing. The cells are tagged `nbval-check-output`, so that `make studenttest`
    (nbval-lax) runs the copy and compares: what is written here is what the copy prints."""
    cells = [c for c in nb.cells if CHECK_TAG in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return
    import nbformat

    import mnist_course  # only for lessons with checks: it imports torch

    grader = mnist_course.checks.Homework(lesson)
    for cell in cells:
        found = CHECK_CALL.match(cell.source.strip())
        if not found:
            raise SystemExit(
                f'student: {lesson}: a cell tagged {CHECK_TAG} is not one grader.check("hwN") call'
            )
        text = repr(grader.check(found.group(1), {}))
        cell.outputs = [
            nbformat.v4.new_output(
                "execute_result", data={"text/plain": text}, execution_count=cell.execution_count
            )
        ]
        tags = cell.metadata.setdefault("tags", [])
        if "nbval-check-output" not in tags:
            tags.append("nbval-check-output")


RUN_TIME = "Run time of this notebook"  # what the last cell of every lesson prints


def drop_run_time(nb) -> None:
    """Replace the output of the cell that prints the lesson's run time: measured with the solution cells
    that the student copy lacks, it is not the copy's run time, and the note says so without pointing at them (the copy prints its own when run)."""
    line = re.compile(re.escape(RUN_TIME) + r":[^\n]*")
    note = (
        f"{RUN_TIME}: printed here when you run this copy (the instructor edition runs more cells)"
    )
    for cell in nb.cells:
        if cell.cell_type == "code" and RUN_TIME in cell.source:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    output["text"] = line.sub(note, output["text"])


def student_text(path: Path, repo: tuple[str, str, str]) -> str:
    """The exact file content of the student copy of the lesson at `path`."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return nbformat.writes(student_notebook(nb, path.name, *repo)) + "\n"


def check_targets(paths: list[Path], out_dir: Path) -> list[Path]:
    """The copies' paths; stops if one would overwrite a source or land in the lessons' folder."""
    sources = {p.resolve() for p in paths}
    lessons_dir = (ROOT / "notebooks").resolve()
    if out_dir.resolve() == lessons_dir or out_dir.resolve() in {p.parent for p in sources}:
        raise SystemExit(
            f"student: refusing to write into {out_dir}, a folder of original notebooks"
        )
    targets = [out_dir / p.name for p in paths]
    if any(t.resolve() in sources for t in targets):
        raise SystemExit("student: refusing to overwrite an original notebook")
    if len({t.name for t in targets}) != len(targets):
        raise SystemExit("student: two notebooks with the same file name")
    return targets


def stale_copies(
    paths: list[Path], out_dir: Path, repo: tuple[str, str, str], complete: bool = True
) -> list[str]:
    """What `write_student_notebooks` would change: copies missing or different and, when `paths`
    are all the lessons (`complete`), copies of lessons that do not exist."""
    problems = []
    for path, target in zip(paths, check_targets(paths, out_dir)):
        if not target.is_file():
            problems.append(f"{target.name}: no student copy in {out_dir}")
        elif target.read_text(encoding="utf-8") != student_text(path, repo):
            problems.append(
                f"{target.name}: the student copy differs from the lesson without its solutions"
            )
    if complete:
        names = {p.name for p in paths}
        problems += [
            f"{extra.name}: a student copy of no lesson"
            for extra in sorted(out_dir.glob("*.ipynb"))
            if extra.name not in names
        ]
    return problems


def write_student_notebooks(
    paths: list[Path],
    out_dir: Path,
    repo: tuple[str, str, str] | None = None,
    complete: bool = False,
) -> list[Path]:
    """Write the student copy of each lesson into `out_dir` (never over a source; a copy that is up to
    date is left alone). With `complete`, copies of lessons not in `paths` are removed."""
    repo = repo or repository()
    targets = check_targets(paths, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, target in zip(paths, targets):
        text = student_text(path, repo)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            print(f"{target}: up to date")
            continue
        target.write_text(text, encoding="utf-8")
        print(f"{target}: written")
    if complete:
        names = {p.name for p in paths}
        for extra in out_dir.glob("*.ipynb"):
            if extra.name not in names and lessons.is_lesson(extra):
                extra.unlink()
                print(f"{extra}: removed (no such lesson)")
    return targets


def write_project(out: Path, copies: Path = COPIES) -> None:
    """Assemble the student Quarto project in `out`: the site's files, the student copies in
    notebooks/, and the `student` profile. Standard library only (the Pages workflow runs it)."""
    notebooks = (
        sorted(p for p in copies.glob("*.ipynb") if lessons.is_lesson(p)) if copies.is_dir() else []
    )
    if not notebooks:
        raise SystemExit(f"student: no student copies in {copies}; run `make student` first")
    assemble_site(out, notebooks, profile=PROFILE)
    print(f"Student project written to {out}/ ({len(notebooks)} lessons)")


def check_project_dir(out: Path, notebooks: list[Path]) -> None:
    """Stop unless `out` may be emptied: it does not exist, is empty, or is a project made by this tool
    (it holds MARKER), and it holds none of the notebooks and is not the repository or one of its folders."""
    target = out.resolve()
    protected = {
        ROOT.resolve(),
        (ROOT / "notebooks").resolve(),
        COPIES.resolve(),
        (ROOT / "student").resolve(),
    }
    if target in protected or any(target in p.resolve().parents for p in notebooks):
        raise SystemExit(f"student: refusing to assemble a site in {out}: it holds the notebooks")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise SystemExit(
            f"student: refusing to empty {out}, which tools/student.py did not make; "
            "remove it or choose another --out"
        )
    if target.exists() and not target.is_dir():
        raise SystemExit(f"student: refusing to replace the file {out} with a folder")


def assemble_site(out: Path, notebooks: list[Path], profile: Path | None = None) -> None:
    """A renderable copy of the site in `out` (emptied first) with `notebooks` as its lessons: the files
    and folders in SITE_FILES (without caches and files rendered in place), what notebooks/ holds
    besides the lessons, and `profile` as _quarto-student.yml. tests/test_site.py renders both editions
    from such copies."""
    check_project_dir(out, notebooks)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text(
        "Assembled by tools/student.py; emptied by the next run.\n", encoding="utf-8"
    )

    ignore = shutil.ignore_patterns(".*", "__pycache__", "*.out.ipynb", "*_files", "node_modules")
    for name in SITE_FILES:
        entry = ROOT / name
        if entry.is_dir():
            shutil.copytree(entry, out / name, ignore=ignore)
        elif entry.is_file():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(entry, out / name)
    # notebooks/: what it holds besides the lessons (_metadata.yml, files for pages), then the lessons.
    (out / "notebooks").mkdir()
    for entry in sorted((ROOT / "notebooks").iterdir()):
        if entry.name.startswith(".") or entry.name.endswith((".ipynb", ".html", "_files")):
            continue
        if entry.is_dir():
            shutil.copytree(entry, out / "notebooks" / entry.name, ignore=ignore)
        else:
            shutil.copy2(entry, out / "notebooks" / entry.name)
    for path in notebooks:
        shutil.copy2(path, out / "notebooks" / path.name)
    if profile is not None:
        shutil.copy2(profile, out / "_quarto-student.yml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="lessons (default: all, see tools/lessons.py)"
    )
    parser.add_argument(
        "--copies",
        type=Path,
        default=COPIES,
        help=f"folder of the committed student copies (default {STUDENT_FOLDER})",
    )
    parser.add_argument(
        "--out", type=Path, default=PROJECT, help="student Quarto project folder (default _student)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a copy is out of date"
    )
    mode.add_argument(
        "--project-only", action="store_true", help="only assemble the project from the copies"
    )
    mode.add_argument(
        "--copies-only", action="store_true", help="only write the copies, not the project"
    )
    args = parser.parse_args(argv)
    if args.project_only:
        write_project(args.out, args.copies)
        return 0
    complete = not args.notebooks
    paths = args.notebooks or lesson_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"student: no such notebook: {', '.join(missing)}")
    if not paths:
        raise SystemExit("student: no lessons to copy (notebooks/ has none)")
    repo = repository()
    if not (args.check or args.copies_only):
        check_project_dir(args.out, paths)  # before writing anything
    if args.check:
        problems = stale_copies(paths, args.copies, repo, complete)
        for problem in problems:
            print(f"student: {problem}")
        if problems:
            print("student: run `make student` to regenerate the student copies")
        return 1 if problems else 0
    write_student_notebooks(paths, args.copies, repo, complete)
    if not args.copies_only:
        write_project(args.out, args.copies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
