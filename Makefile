# The two commands of README.md, and the edit-test loop. Each sets up .venv on a fresh machine first.
# VENV=path uses another virtualenv (scripts/setup.sh creates or updates it).
VENV ?= .venv
PY := $(VENV)/bin/python
SETUP := VENV=$(VENV) bash scripts/setup.sh
LINTED := generator tests benchmarks

.PHONY: site test test-fast lint serve bench clean

site:
	$(SETUP)
	bash scripts/cjk-font.sh
	$(PY) -m mkdocs build --strict

# Everything: builds the real site, trains, drives Chromium.
test:
	$(SETUP)
	bash scripts/browser-deps.sh
	$(PY) -m pytest

# The edit-test loop (under a minute): no site build, no training, no browser.
test-fast:
	$(SETUP)
	$(PY) -m pytest -m "not slow and not browser" -p no:cacheprovider -q

lint:
	$(SETUP)
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m mypy generator

serve:
	$(SETUP)
	$(PY) -m mkdocs serve

bench:
	$(SETUP)
	$(PY) benchmarks/run.py $(ARGS)

clean:
	rm -rf site .cache
