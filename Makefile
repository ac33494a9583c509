# Qingling: `make run` (server + demo data on SQLite, the field PWA at /), `make test` (every
# test: lint, the PWA's lint and unit tests, the suite on SQLite and on PostgreSQL).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run setup browser node pwa dist test test-pwa lint-pwa test-engines test-sqlite test-postgres lint check clean

$(VENV)/.installed: pyproject.toml
	scripts/setup.sh "$(PYTHON)" "$(VENV)"
	touch $@

setup: $(VENV)/.installed

run: setup pwa
	$(BIN)/qingling serve --demo

node:
	scripts/ensure-node.sh

# npm ci again only when the lock file is newer than the last install.
pwa/node_modules/.installed: pwa/package-lock.json pwa/package.json
	$(MAKE) node
	cd pwa && npm ci --no-audit --no-fund
	touch $@

# The field PWA, built into pwa/dist (served at /); prints the first-load JS size, fails over budget.
pwa: pwa/node_modules/.installed
	cd pwa && npm run build

# The wheel a bureau installs (docs/deploy.md): the server with the built field app, the command
# view and the rating page inside it, into dist/; prints the wheel's path and size.
dist: setup pwa
	scripts/build-dist.sh $(BIN)/python dist

test-pwa: pwa/node_modules/.installed
	cd pwa && npm test

# ESLint over all of pwa/ (field app, command view, shared core, tests, build scripts).
lint-pwa: pwa/node_modules/.installed
	cd pwa && npm run lint

browser:
	scripts/ensure-browser.sh

test: setup browser lint lint-pwa pwa test-pwa test-engines

# Both suites side by side (each on two workers): ~22 min instead of ~25 one after the
# other on two cores (docs/testing.md). Each suite's output is printed whole when it ends.
test-engines: setup
	@echo "The suite on SQLite and on PostgreSQL, side by side: each prints when it ends."
	$(MAKE) -j2 --output-sync=target test-sqlite test-postgres

# Each suite on two worker processes, a test file to a worker (module fixtures such as the
# installed wheel are made once): most tests wait on a server, a browser or a socket, so two
# share the two cores well. PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= 2
PYTEST_ARGS := -n $(PYTEST_WORKERS) --dist loadfile

test-sqlite: setup
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: setup
	scripts/with-postgres.sh $(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check server sync tests piccolo_conf.py
	$(BIN)/ruff format --check server sync tests piccolo_conf.py
	$(BIN)/mypy sync server

check: test

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis artifacts pwa/node_modules pwa/dist dist build
