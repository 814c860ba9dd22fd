# The two set-up commands are `make demo` and `make test`; both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make demo` installs the runtime only; `make test` (and the others) add the test extras.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-fast bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

demo: $(STAMP)
	rm -rf demo
	$(BIN)/trackrecord demo demo

test: $(DEV_STAMP)
	$(BIN)/python -m pytest

# Everything but the subprocess-heavy tests (marked slow): the edit-test loop.
test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -m "not slow"

bench: $(DEV_STAMP)
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis
