# Everyday commands. `make run` and `make test` are the README's two commands.
# Both work in the project's own virtual environment: a distribution Python refuses `pip install`
# (PEP 668), and installing into a shared interpreter would re-point its `parley` at this checkout.
SYSTEM_PYTHON ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
NPM ?= npm
CHROMIUM ?= /usr/bin/chromium
# apt-get needs root; elsewhere go through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL = $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

WIDGET_BUNDLE := server/static/widget/widget.js
WIDGET_SOURCES := $(shell find widget/src -type f 2>/dev/null) widget/build.mjs widget/tsconfig.json
CONSOLE_PAGE := server/static/console/index.html
CONSOLE_SOURCES := $(shell find agent_console/src -type f 2>/dev/null) agent_console/build.mjs agent_console/tsconfig.json

.PHONY: install install-test venv node browser pgbouncer nginx deploy-tools widget console run test lint typecheck format

# Debian and Ubuntu ship `venv` without pip (the python3-venv package): installed when missing.
venv: $(PYTHON)

$(PYTHON):
	@$(SYSTEM_PYTHON) -m venv $(VENV) 2>/dev/null || { \
		rm -rf $(VENV); $(APT_INSTALL) python3-venv && $(SYSTEM_PYTHON) -m venv $(VENV); }

# pip costs seconds even when nothing changed: it runs again only when pyproject.toml changes.
install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@ $(VENV)/.installed

# Node.js and npm build the widget; from Debian when the machine has none.
node:
	@command -v $(NPM) >/dev/null || { $(APT_INSTALL) nodejs npm; }

# Chromium for the browser tests (Playwright drives Debian's build).
browser:
	@[ -x $(CHROMIUM) ] || { $(APT_INSTALL) chromium; }

# PgBouncer in transaction mode stands in for Supabase's pooler in the tests.
pgbouncer:
	@[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || { $(APT_INSTALL) pgbouncer; }

# docker-compose and systemd-analyze check the deployment files (tests/deploy); no daemon needed.
deploy-tools:
	@command -v docker-compose >/dev/null || { $(APT_INSTALL) docker-compose; }
	@command -v systemd-analyze >/dev/null || { $(APT_INSTALL) systemd; }

# nginx for the rolling-restart test, which runs deploy/nginx/parley.conf for real.
NGINX ?= /usr/sbin/nginx
nginx:
	@[ -x $(NGINX) ] || { $(APT_INSTALL) nginx; }

# The customer widget: dependencies exactly as locked, then the bundle the server serves at
# /widget.js. The build fails when the bundle grows past its size budget.
widget: $(WIDGET_BUNDLE)

widget/node_modules/.package-lock.json: widget/package.json widget/package-lock.json | node
	cd widget && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WIDGET_BUNDLE): widget/node_modules/.package-lock.json $(WIDGET_SOURCES)
	cd widget && $(NPM) run --silent build

# The agent console: the same approach, built into server/static/console/ (served at /console/).
console: $(CONSOLE_PAGE)

agent_console/node_modules/.package-lock.json: agent_console/package.json agent_console/package-lock.json | node
	cd agent_console && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE_PAGE): agent_console/node_modules/.package-lock.json $(CONSOLE_SOURCES)
	cd agent_console && $(NPM) run --silent build

run: install widget console
	$(VENV)/bin/parley serve

test: install-test widget console browser pgbouncer nginx deploy-tools lint typecheck
	$(PYTHON) -m pytest -q -p no:cacheprovider

# The TypeScript linter (Biome), kept apart from the clients' own dependencies.
LINT_TOOLS := tools/lint/node_modules/.package-lock.json
$(LINT_TOOLS): tools/lint/package.json tools/lint/package-lock.json | node
	cd tools/lint && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: install-test $(LINT_TOOLS) widget/node_modules/.package-lock.json agent_console/node_modules/.package-lock.json
	$(PYTHON) -m ruff check server tests bench
	$(PYTHON) -m ruff format --check server tests bench
	$(PYTHON) -m server.wire_codegen --check
	$(PYTHON) -c "import sys; from importlinter.cli import lint_imports_command as c; sys.argv[0] = 'lint-imports'; c()"
	cd widget && $(NPM) run --silent typecheck
	cd agent_console && $(NPM) run --silent typecheck
	cd tools/lint && $(NPM) run --silent lint

typecheck: install-test
	$(PYTHON) -m mypy server

format: install-test
	$(PYTHON) -m ruff format server tests bench
	$(PYTHON) -m ruff check --fix server tests bench
