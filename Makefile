# The two set-up commands are `make demo` and `make test`; both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make demo` installs the runtime only; `make test` (and the others) add the test extras.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

# Our sources byte-compiled ahead: where PYTHONDONTWRITEBYTECODE is set (as on this project's machines),
# an editable install's modules are otherwise compiled again by every process (~0.2 s a command).
COMPILE := $(BIN)/python -m compileall -q src

.PHONY: demo test test-fast bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(COMPILE)
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

demo: $(STAMP)
	rm -rf demo
	$(BIN)/trackrecord demo demo

test: $(DEV_STAMP)
	$(COMPILE)
	$(BIN)/python -m pytest

# Everything but the subprocess-heavy tests (marked slow): the edit-test loop.
test-fast: $(DEV_STAMP)
	$(COMPILE)
	$(BIN)/python -m pytest -m "not slow"

bench: $(DEV_STAMP)
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis
