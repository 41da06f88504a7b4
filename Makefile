# The two commands of the README: `make demo` and `make test`. Both bootstrap .venv; `make test`
# also bootstraps .venv-min, the lowest ansible-core the collection claims.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENV_MIN := .venv-min
MIN_BIN := $(VENV_MIN)/bin
LINK := .collections/ansible_collections/xprotect/encryption
SANITY_ROOT := build/sanity/ansible_collections/xprotect/encryption
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: demo test test-min lint sanity unit integration bench venv dev min clean lab-clean

# ---- bootstrap --------------------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# The lowest ansible-core claimed (requirements-min.txt), and ansible.windows from the same
# `ansible` package as .venv: --no-deps, since that package pins a newer ansible-core.
$(MIN_BIN)/python:
	$(PYTHON) -m venv $(VENV_MIN)

$(VENV_MIN)/.ready: requirements-min.txt requirements.txt requirements-dev.txt | $(MIN_BIN)/python
	$(MIN_BIN)/pip install -q -r requirements-min.txt
	$(MIN_BIN)/pip install -q --no-deps "$$(grep -E '^ansible[<>=]' requirements-dev.txt)"
	touch $@

# The collection resolves from this checkout through a symlink, never from a stale copy.
$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn ../../.. $(LINK)

venv: $(VENV)/.runtime $(LINK)
dev: $(VENV)/.dev $(LINK)
min: $(VENV_MIN)/.ready $(LINK)

# ---- the main job -----------------------------------------------------------------------
demo: venv
	. $(BIN)/activate && bash scripts/demo.sh

# ---- every check ------------------------------------------------------------------------
test: dev min
	. $(BIN)/activate && bash scripts/test.sh

# Only the run on the lowest ansible-core claimed (the last step of `make test`).
test-min: min
	bash scripts/test.sh min

lint: dev
	. $(BIN)/activate && ruff check . && ruff format --check . && ansible-lint

sanity: dev
	. $(BIN)/activate && bash scripts/sanity.sh

unit: dev
	. $(BIN)/activate && pytest -q -n 2 tests/unit

integration: dev
	. $(BIN)/activate && pytest -q -n 2 --dist loadfile tests/integration

bench: dev
	. $(BIN)/activate && for b in benchmarks/bench_*.py; do python "$$b" || exit 1; done

clean:
	rm -rf build tests/output .pytest_cache .ruff_cache .coverage
