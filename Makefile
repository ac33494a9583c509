# Qingling: `make run` (server + demo data on SQLite), `make test` (every test, SQLite and PostgreSQL).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run setup browser test test-sqlite test-postgres lint check clean

$(VENV)/.installed: pyproject.toml
	scripts/setup.sh "$(PYTHON)" "$(VENV)"
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/qingling serve --demo

browser:
	scripts/ensure-browser.sh

test: setup browser lint test-sqlite test-postgres

test-sqlite: setup
	$(BIN)/pytest

test-postgres: setup
	scripts/with-postgres.sh $(BIN)/pytest

lint: setup
	$(BIN)/ruff check server sync tests piccolo_conf.py
	$(BIN)/ruff format --check server sync tests piccolo_conf.py
	$(BIN)/mypy sync server

check: test

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis artifacts
