# Everyday commands. `make run` and `make test` are the README's two commands.
PYTHON ?= python3

.PHONY: install install-test run test lint typecheck format

install:
	$(PYTHON) -m pip install --quiet -e .

install-test:
	$(PYTHON) -m pip install --quiet -e '.[test]'

run: install
	parley serve

test: install-test lint typecheck
	$(PYTHON) -m pytest -q -p no:cacheprovider

lint:
	$(PYTHON) -m ruff check server tests

typecheck:
	$(PYTHON) -m mypy server

format:
	$(PYTHON) -m ruff format server tests
	$(PYTHON) -m ruff check --fix server tests
