# Two entry points for a new user (see README.md):
#   make book   set up, then build the book at the ci preset into _build/html
#   make test   set up, then run the tests (unit tests + every chapter under nbval)
PY      ?= python3
VENV    ?= .venv
BIN      = $(VENV)/bin
export QWEM_SCALE ?= ci

.PHONY: setup book test solve bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install -e ".[book,dev]"

solve: setup
	$(BIN)/qwem solve --scale $(QWEM_SCALE)

book: setup
	$(BIN)/python -m qwemlib.cli book --scale $(QWEM_SCALE)

test: setup
	$(BIN)/python -m pytest tests

bench: setup
	$(BIN)/python bench/bench_foundation.py

clean:
	rm -rf _build .pytest_cache
