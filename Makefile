# Two entry points for a new user (see README.md):
#   make book   set up, then build the book at the ci preset into _build/html
#   make test   set up, then run the tests: ruff, unit tests, every chapter under nbval
#               (--nbval-lax) and the browser tests of the built book
PY      ?= python3
VENV    ?= .venv
BIN      = $(VENV)/bin
export QWEM_SCALE ?= ci

.PHONY: setup assets book test lint test-unit test-slow test-notebooks test-browser solve train bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install -e ".[book,dev]"

# MathJax, plotly.js, require.js, widget manager: npm ci + copy (book/_static_offline/vendor)
assets:
	$(BIN)/python tools/vendor_assets.py

solve: setup
	$(BIN)/qwem solve --scale $(QWEM_SCALE)

# Warnings are errors; prints build time, site size and the largest files.
book: setup
	$(BIN)/python tools/build_book.py --scale $(QWEM_SCALE)

test: setup
	$(MAKE) lint test-unit test-notebooks test-browser

# ruff (config in pyproject.toml) and the chapters' cell targets (tools/chapter_stats.py)
lint:
	$(BIN)/ruff check .
	$(BIN)/python tools/chapter_stats.py --check

test-unit:
	$(BIN)/python -m pytest tests -m "not browser and not slow"

# Long checks (minutes on 2 cores): e.g. the ci SGD run's top-50 overlap with M*.
test-slow:
	$(BIN)/python -m pytest tests -m slow

# Every chapter in _toc.yml, run top to bottom at QWEM_SCALE (outputs not compared).
test-notebooks:
	$(BIN)/python tools/sync_notebooks.py
	CI=1 $(BIN)/python -m pytest --nbval-lax -p no:cacheprovider _build/nbval

# The built site (built first if missing or stale) and the stepwise chapter live in
# JupyterLab (slider moved, figure changes); needs /usr/bin/chromium.
test-browser:
	$(BIN)/python -m pytest tests/test_book.py tests/test_jupyterlab.py -m browser

train: setup
	$(BIN)/qwem train --scale $(QWEM_SCALE)

bench: setup
	$(BIN)/python bench/bench_foundation.py

clean:
	rm -rf _build .pytest_cache book/_static_offline/vendor
