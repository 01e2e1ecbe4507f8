# MNIST Course: `make site` sets everything up and renders the site; `make test` sets up and tests.
# `make help` lists every target.

PYTHON     ?= $(shell command -v python3.11 || command -v python3)
VENV       ?= .venv
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
NB         ?=
# Exact versions of everything else (`make lock` refreshes the file); CONSTRAINTS= installs from
# pyproject.toml's ranges instead (e.g. when another TORCH_SPEC needs other versions).
CONSTRAINTS ?= constraints.txt
PY         := $(VENV)/bin/python
# The stamp names the torch pin and the constraints file, so changing either reinstalls;
# changes to pyproject.toml or constraints.txt do too.
STAMP      := $(VENV)/.installed-$(shell printf '%s' '$(TORCH_SPEC) $(CONSTRAINTS)' | cksum | cut -d' ' -f1)
# Quarto is looked up when a recipe runs (PATH first, then the venv's quarto-cli).
FIND_QUARTO = $$(command -v quarto || { test -x $(VENV)/bin/quarto && echo $(VENV)/bin/quarto; })

.PHONY: help setup site serve floors colab test lint unit unit-fast nbtest studenttest execute verdicts student badges images bench lock quarto-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'
	@echo "  variables: TORCH_SPEC='$(TORCH_SPEC)'  CONSTRAINTS=$(CONSTRAINTS)  PYTHON=$(PYTHON)  NB=notebooks/<one>.ipynb  THREADS=$(THREADS)"

setup: $(STAMP) ## create .venv with torch, the package (editable, dev extras) and Jupyter

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -n "$(PYTHON)" || { echo "No python3 found: install Python 3.10+ (3.11 preferred)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

site: setup ## set up, then render the website (with solutions) into _site/
	@$(MAKE) --no-print-directory quarto-check
	$(PY) tools/site_assets.py
	QUARTO_PYTHON=$(PY) $(FIND_QUARTO) render --no-execute
	@echo "Site written to _site/: run 'make serve' and open the address it prints (opened as a file, the"
	@echo "draw-a-digit page and the search cannot work: browsers block them on file://)"

PORT ?= 8000
SITE ?= _site
serve: ## serve the rendered site on http://127.0.0.1:8000/ (SITE=_site-student, PORT=...)
	$(or $(wildcard $(PY)),python3) tools/serve.py --dir $(SITE) --port $(PORT)

# The two notebook groups run side by side, one torch thread each (OMP_NUM_THREADS): small quick-mode
# batches gain little from a second thread, and two kernels at one thread each finish in about two
# thirds of the time of one after the other at two threads (measured on 2 cores).
test: setup ## set up, then run the linter, the unit tests and the notebook tests
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory -j2 --output-sync=target nbtest studenttest NB_THREADS=1

# ruff (configured in pyproject.toml): the package, the tools, the tests, the benchmarks and the lessons' code
# cells (ruff reads .ipynb itself). The student copies are made from the lessons (`make student`), never fixed
# by hand: after `ruff format` on the lessons, `python tools/student.py --copies-only` formats them too.
LINT_PATHS = src tools tests benchmarks notebooks student/notebooks
lint: setup ## ruff check and ruff format --check on the code and the notebooks' code cells
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

unit: setup ## unit tests of the package and the notebook checks (hygiene, badges, student build)
	$(PY) -m pytest tests

unit-fast: setup ## the unit tests without the slow, site and browser ones (pyproject.toml's markers)
	$(PY) -m pytest tests -m "not slow and not site and not browser"

# NB_THREADS=N: the notebook tests' kernels use N torch threads (unset: torch's default, one per core).
NB_ENV     = $(if $(NB_THREADS),OMP_NUM_THREADS=$(NB_THREADS))
nbtest: setup ## nbval: every notebook (or NB=...) re-run in quick mode against its stored outputs
	$(NB_ENV) MNIST_COURSE_QUICK=1 PYTHONPATH=tests $(PY) -m pytest --nbval $(or $(NB),$$($(PY) tools/lessons.py notebooks)) --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg -p nbval_history -p no:cacheprovider

# The student copies run from a scratch folder, so that what they write (models/) stays out of student/.
studenttest: setup ## the committed student copies (student/notebooks) run top to bottom without errors (quick mode)
	rm -rf _student-run && mkdir -p _student-run && cp $$($(PY) tools/lessons.py student/notebooks) _student-run/
	$(NB_ENV) MNIST_COURSE_QUICK=1 PYTHONPATH=tests $(PY) -m pytest --nbval-lax $$($(PY) tools/lessons.py _student-run) --nbval-current-env \
	  -p nbval_history -p no:cacheprovider

execute: setup ## re-run the notebooks (or NB=notebooks/x.ipynb) on a fresh kernel, outputs in place, records in benchmarks/records/
	$(PY) tools/execute.py $(NB)

# A copy of each lesson runs in _verdicts/ (its parent, the repository, holds benchmarks/); the notebooks
# are only read. Its record of verdicts and choices (_verdicts/<lesson>.jsonl) is compared with the
# committed run's (benchmarks/records/<lesson>.jsonl, written by `make execute`): data, not printed text.
# Flips are reported, not failures: paste the Markdown it prints into benchmarks/README.md.
# FRESH_SEEDS=1000: rerun with every seed shifted by 1000 instead (at the committed thread count).
THREADS    ?= 1
FRESH_SEEDS ?=
verdicts: setup ## re-run the lessons (or NB=...) at THREADS=1 and compare every verdict and chosen setting with the committed run
	$(PY) tools/verdicts.py $(if $(FRESH_SEEDS),--fresh-seeds $(FRESH_SEEDS),--threads $(THREADS)) $(NB)

student: setup ## regenerate the student copies in student/notebooks (commit them), render them to _site-student/
	$(PY) tools/site_assets.py
	$(PY) tools/student.py
	@q=$(FIND_QUARTO); if [ -n "$$q" ]; then \
	  QUARTO_PYTHON=$(PY) $$q render _student --profile student --no-execute && \
	  rm -rf _site-student && mv _student/_site-student _site-student && \
	  echo "Student site written to _site-student/: run 'make serve SITE=_site-student' to look at it"; \
	else echo "Quarto not found: the student copies are in student/notebooks/ (run 'make site' for how to install Quarto)"; fi

badges: setup ## rewrite every Colab badge, install cell and figure URL from website.repo-url in _quarto.yml
	$(PY) tools/badges.py
	$(PY) tools/student.py --copies-only

images: setup ## redraw the course's figures in images/ (tools/images.py)
	$(PY) tools/images.py

bench: setup ## time the course's data pipeline against the original tutorials' (benchmarks/)
	$(PY) benchmarks/pipeline.py

# The floors: a scratch venv with the lowest versions pyproject.toml allows (tools/floors.py), then the unit
# tests of the package and lesson 1 in quick mode. TORCH_FLOOR is the torch line to test with: here the
# one build this machine has; the `floors` job of .github/workflows/test.yml installs torch's own floors.
TORCH_FLOOR ?= $(TORCH_SPEC)
FLOORS_VENV ?= .venv-floors
floors: ## install the lowest allowed versions in .venv-floors; run the package's unit tests and lesson 1 (quick)
	@test -n "$(PYTHON)" || { echo "No python3 found: install Python 3.10+ (3.11 preferred)"; exit 1; }
	rm -rf $(FLOORS_VENV) && $(PYTHON) -m venv $(FLOORS_VENV)
	$(FLOORS_VENV)/bin/python tools/floors.py --skip torch torchvision > $(FLOORS_VENV)/floors.txt
	$(FLOORS_VENV)/bin/python -m pip install --quiet $(TORCH_FLOOR)
	$(FLOORS_VENV)/bin/python -m pip install --quiet -c $(FLOORS_VENV)/floors.txt -e '.[dev]'
	$(FLOORS_VENV)/bin/python -m pip list 2>/dev/null | grep -iE '^(torch|torchvision|numpy|pandas|matplotlib|seaborn|onnx|onnxruntime|onnxscript|scipy) '
	$(FLOORS_VENV)/bin/python -m pytest -q tests/test_data.py tests/test_train.py tests/test_experiments.py \
	  tests/test_inspection.py tests/test_export.py tests/test_plots.py tests/test_colab.py
	MNIST_COURSE_QUICK=1 PYTHONPATH=tests $(FLOORS_VENV)/bin/python -m pytest --nbval-lax notebooks/01_intro.ipynb \
	  --nbval-current-env -p nbval_history -p no:cacheprovider

# The Colab canary (tools/colab.py): a venv of Colab's Python with Colab's versions of the packages the course
# touches, then every lesson in quick mode on its kernel, installing the course with its own first cell.
# COLAB_FREEZE: Colab's pip-freeze.txt (a file or URL; default ../shared/colab/ when there, else GitHub).
# COLAB_PYTHON: the interpreter of Colab's Python version (default pythonX.Y, e.g. python3.13).
# COLAB_VENV: where its venv lives (default .venv-colab; reused while the freeze file is unchanged).
COLAB_FREEZE ?=
COLAB_PYTHON ?=
COLAB_VENV ?= .venv-colab
colab: ## the Colab canary: install the course on Colab's package set, run every lesson (quick); see README
	$(or $(wildcard $(PY)),python3) tools/colab.py --venv $(COLAB_VENV) $(if $(COLAB_FREEZE),--freeze $(COLAB_FREEZE)) $(if $(COLAB_PYTHON),--python $(COLAB_PYTHON)) $(if $(NB),--lessons $(NB))

lock: ## refresh constraints.txt: install pyproject.toml's newest allowed versions in a temporary venv, pin them
	@test -n "$(PYTHON)" || { echo "No python3 found: install Python 3.10+ (3.11 preferred)"; exit 1; }
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "lock: installing into a temporary venv ($$tmp) ..."; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet $(TORCH_SPEC); \
	"$$tmp/venv/bin/python" -m pip install --quiet -e '.[dev]'; \
	"$$tmp/venv/bin/python" tools/lock.py > "$$tmp/constraints.txt"; \
	mv "$$tmp/constraints.txt" constraints.txt
	@echo "constraints.txt refreshed: review 'git diff constraints.txt', run 'make test', then commit it"

quarto-check:
	@if [ -z "$(FIND_QUARTO)" ]; then \
	  echo "Quarto not found; trying 'pip install quarto-cli' (it downloads Quarto while it installs) ..."; \
	  timeout 300 $(PY) -m pip install --quiet quarto-cli >/dev/null 2>&1 && test -x $(VENV)/bin/quarto || { \
	    echo ""; \
	    echo "Could not install Quarto automatically. Everything else is ready."; \
	    echo "Install Quarto 1.7 or newer from https://quarto.org/docs/get-started/ (or 'conda install -c conda-forge quarto'),"; \
	    echo "then run 'make site' again, or render by hand with:  QUARTO_PYTHON=$(PY) quarto render --no-execute"; \
	    exit 1; }; \
	fi

clean: ## remove rendered output and caches (keeps .venv and the notebooks)
	rm -rf _site _site-student _student _student-run .quarto .pytest_cache
