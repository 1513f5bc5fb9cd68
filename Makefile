# Two commands for learners and CI (see README):
#   make lab    create .venv, install labkit, build the default dataset, start JupyterLab
#               (student notebooks only; `make lab-instructor` shows notebooks/solutions too)
#   make test   create .venv with test extras, run unit tests and every notebook (nbmake)
# Re-running either is fast: the install is redone only when pyproject.toml changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LAB_STAMP := $(VENV)/.installed-lab
DEV_STAMP := $(VENV)/.installed-dev
# nbmake per-cell budget; each solution notebook is meant to finish well inside 60 s
NB_TIMEOUT ?= 300
WORKERS ?= 2

.PHONY: lab lab-instructor grade test check unit notebooks data release clean benchmarks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(LAB_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(LAB_STAMP)

data: $(LAB_STAMP)
	$(BIN)/labkit data build --size small --if-missing

# The learner's lab: the student notebooks; notebooks/solutions is neither listed nor served
# (labkit.grading.lab_contents). The instructor's lab shows everything.
LAB_OPTIONS := --notebook-dir=notebooks --ip=127.0.0.1 --no-browser --allow-root \
	--ServerApp.port_retries=50

lab: $(LAB_STAMP) data
	$(BIN)/jupyter lab $(LAB_OPTIONS) \
		--ServerApp.contents_manager_class=labkit.grading.lab_contents.LearnerContentsManager

lab-instructor: $(LAB_STAMP) data
	$(BIN)/jupyter lab $(LAB_OPTIONS)

# Grade a folder of submissions (SUBS=...), isolated, with the hidden checks; see the README.
SUBS ?= submissions
GRADES ?= grades
grade: $(LAB_STAMP) data
	mkdir -p $(GRADES)
	$(BIN)/labkit check $(SUBS) --hidden notebooks/solutions/hidden \
		--csv $(GRADES)/results.csv --json $(GRADES)/results.json --gradebook $(GRADES)

test: $(DEV_STAMP)
	$(BIN)/labkit data build --size small --if-missing
	$(BIN)/python -m pytest -n $(WORKERS) --nbmake --nbmake-timeout=$(NB_TIMEOUT) tests notebooks

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) tests

notebooks: $(DEV_STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --nbmake --nbmake-timeout=$(NB_TIMEOUT) notebooks

check: $(DEV_STAMP)
	$(BIN)/ruff format --check labkit tests benchmarks
	$(BIN)/ruff check labkit tests benchmarks
	$(BIN)/mypy

release: $(LAB_STAMP)
	$(BIN)/labkit release notebooks/solutions --out notebooks

benchmarks: $(DEV_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
