# The two commands of the quick start: `make run` and `make test`.
# Each creates .venv on first use and reinstalls when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast test-browser browser-tools bench mutate lock messages clean

$(STAMP): pyproject.toml $(wildcard locales/*/LC_MESSAGES/*.po)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/wbs serve --demo

# Everything; with npm, the browser tests' tools first (what cannot be had skips, named by pytest).
test: $(STAMP) browser-tools
	$(BIN)/python -m pytest

# Without the tests that move hundreds of megabytes or drive a browser.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m 'not slow and not browser'

# Only the browser tests (Chromium, axe-core, the Nu HTML checker); see README.
BROWSER_TOOLS := tests/browser/node_modules/.package-lock.json

$(BROWSER_TOOLS): tests/browser/package-lock.json
	npm ci --prefix tests/browser --ignore-scripts --no-audit --no-fund

test-browser: $(STAMP) $(BROWSER_TOOLS)
	$(BIN)/python -m pytest -m browser tests/browser

browser-tools:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "make: npm is missing: the browser tests that need axe-core or the Nu checker will skip (apt-get install npm)"; \
	elif ! $(MAKE) --no-print-directory $(BROWSER_TOOLS); then \
		echo "make: npm ci failed: the browser tests that need axe-core or the Nu checker will skip"; \
	fi

# make bench: every benchmark and a summary (bench/run.py); make bench BENCH_ARGS=--quick for the short run.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Mutation testing of the policy modules (docs/testing.md): two workers, niced, stopped after
# 60 minutes (MUTATE_ARGS="--budget-minutes N"); prints the kill ratio per module and every survivor.
MUTATE_STAMP := $(VENV)/.installed-mutate

$(MUTATE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	nice -n 10 $(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

# make lock: refresh requirements/production.txt, the pinned production install that
# docs/deploy.*.md uses (`pip install --require-hashes`): every package of pyproject.toml's
# dependencies and of its build requirements, at the newest versions they allow, each with the
# sha256 of every file PyPI has for it. Review the diff, then run the tests against it.
LOCK := requirements/production.txt
LOCK_VENV := $(VENV)-lock

lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/python -m pip install --quiet 'pip-tools>=7.4'; }
	CUSTOM_COMPILE_COMMAND='make lock' $(LOCK_VENV)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --all-build-deps \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml

# make messages: the message catalogs after a change of the sources (docs/translating.md):
# extract every string into locales/wbs.pot, merge it into each locales/<lang>/LC_MESSAGES/wbs.po,
# compile them for this checkout. Translate the new entries, then run it again (or `make test`).
messages: $(STAMP)
	$(BIN)/python scripts/messages.py extract
	$(BIN)/python scripts/messages.py update
	$(BIN)/python scripts/messages.py compile

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .hypothesis mutants
