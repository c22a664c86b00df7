# Everyday commands. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
NPM ?= npm
CHROMIUM ?= /usr/bin/chromium
# apt-get needs root; elsewhere go through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL = $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

WIDGET_BUNDLE := server/static/widget/widget.js
WIDGET_SOURCES := $(shell find widget/src -type f 2>/dev/null) widget/build.mjs widget/tsconfig.json
CONSOLE_PAGE := server/static/console/index.html
CONSOLE_SOURCES := $(shell find agent_console/src -type f 2>/dev/null) agent_console/build.mjs agent_console/tsconfig.json

.PHONY: install install-test node browser nginx widget console run test lint typecheck format

install:
	$(PYTHON) -m pip install --quiet -e .

install-test:
	$(PYTHON) -m pip install --quiet -e '.[test]'

# Node.js and npm build the widget; from Debian when the machine has none.
node:
	@command -v $(NPM) >/dev/null || { $(APT_INSTALL) nodejs npm; }

# Chromium for the browser tests (Playwright drives Debian's build).
browser:
	@[ -x $(CHROMIUM) ] || { $(APT_INSTALL) chromium; }

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
	parley serve

test: install-test widget console browser nginx lint typecheck
	$(PYTHON) -m pytest -q -p no:cacheprovider

lint:
	$(PYTHON) -m ruff check server tests

typecheck:
	$(PYTHON) -m mypy server

format:
	$(PYTHON) -m ruff format server tests
	$(PYTHON) -m ruff check --fix server tests
