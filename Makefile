# Development tasks. `make serve` runs the API with demo data, `make test` runs what CI runs.

PYTHON ?= python3
PYTEST_ARGS ?=

VENV := .venv
BIN := $(VENV)/bin
# Touched after each install, so the install reruns only when pyproject.toml is newer.
INSTALLED := $(VENV)/.installed

.PHONY: install serve test lint format clean bench-load

install: $(INSTALLED)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "$(PYTHON) is Python " + sys.version.split()[0] + "; tourdesk needs 3.11 or newer, so run make with PYTHON=python3.11 or later.")'
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	touch $(INSTALLED)

serve: $(INSTALLED)
	$(BIN)/tourdesk migrate
	$(BIN)/tourdesk seed --demo --if-empty
	$(BIN)/tourdesk serve

lint: $(INSTALLED)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy api schema models tests

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The suite runs once on SQLite and, when TOURDESK_TEST_POSTGRES_URL names a server, once more on
# PostgreSQL. TOURDESK_TEST_REQUIRE_POSTGRES=1 turns a missing URL into a failure, as CI wants.
test: lint
	TOURDESK_TEST_BACKEND=sqlite $(BIN)/pytest $(PYTEST_ARGS)
	@if [ -n "$$TOURDESK_TEST_POSTGRES_URL" ]; then \
		echo "TOURDESK_TEST_BACKEND=postgres $(BIN)/pytest $(PYTEST_ARGS)"; \
		TOURDESK_TEST_BACKEND=postgres $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$TOURDESK_TEST_REQUIRE_POSTGRES" = 1 ]; then \
		echo "TOURDESK_TEST_REQUIRE_POSTGRES=1 but TOURDESK_TEST_POSTGRES_URL is not set; set it to a server URL such as postgres://postgres@127.0.0.1:5432/postgres." >&2; \
		exit 2; \
	else \
		echo "PostgreSQL run skipped: set TOURDESK_TEST_POSTGRES_URL to run the tests on PostgreSQL too."; \
	fi

# Load test against real servers: seeds a fresh database, runs for 60 s and prints the results.
# Options go in LOAD_ARGS, for example LOAD_ARGS="--backend postgres --workers 2 --duration 30";
# `$(BIN)/python bench/load.py --help` lists them.
LOAD_ARGS ?=
bench-load: $(INSTALLED)
	$(BIN)/python bench/load.py $(LOAD_ARGS)

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
