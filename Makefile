# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ISSUER := $(BIN)/issuer
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-fast browser-deps bench lint clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

## make run: set up .venv, initialise the database, keys and frameworks, create demo accounts, serve on SQLite.
run: export ISSUER_BASE_URL ?= http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(ISSUER) init
	$(ISSUER) demo
	$(ISSUER) run --host $(HOST) --port $(PORT)

# Test processes (pytest-xdist): one per core by default; TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= auto

## make test: set up .venv with the test extras and run the whole suite.
test: $(VENV)/.installed browser-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not browser" -x -q

# Browser tests drive Debian's chromium through Playwright (no browser download).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ]; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "warning: could not install chromium; browser tests will fail"; \
		else \
			echo "note: install Debian's chromium package (sudo apt-get install chromium) for the browser tests"; \
		fi; \
	fi

## make screenshots: regenerate docs/screenshots/*.png (key pages at a desktop and a phone size; see README).
screenshots: $(VENV)/.installed browser-deps
	$(BIN)/python -m tests.browser.screenshots --out docs/screenshots

## make bench: the signing and verification benchmark.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/credentials.py --n 500

## make lint: ruff and mypy (configured in pyproject.toml), installed into .venv from the lint extra.
# Not `ruff format --check` yet: most files are not in ruff's format.
$(VENV)/.installed-lint: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,lint]"
	touch $@

# Both run even when the first finds something; the target fails if either did.
lint: $(VENV)/.installed-lint
	status=0; $(BIN)/ruff check . || status=1; $(BIN)/mypy || status=1; exit $$status

clean:
	rm -rf $(VENV) instance .pytest_cache
