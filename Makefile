# Development tasks. `make serve` runs the API with demo data, `make test` runs what CI runs.

PYTHON ?= python3
PYTEST_ARGS ?=

VENV := .venv
BIN := $(VENV)/bin
# Touched after each install, so the install reruns only when pyproject.toml is newer.
INSTALLED := $(VENV)/.installed

.PHONY: install serve test lint format bench bench-load clean

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

# The benchmarks of bench/, on each backend of BENCH_BACKENDS; they take long and are not part of
# `make test`. BENCH_BOOKINGS sizes the page benchmarks and BENCH_EXPORT_BOOKINGS the CSV export
# (430000 bookings are about 1,000,000 guests); growth.py always compares 4300 with 430000. A
# script seeds its data on first use: under bench/var/, or in the PostgreSQL database
# tourdesk_bench_N_1 on TOURDESK_BENCH_POSTGRES_URL. Listing the scripts as prerequisites makes a
# missing one stop the run with "No rule to make target".
BENCH_BACKENDS ?= sqlite postgres
BENCH_BOOKINGS ?= 4300
BENCH_EXPORT_BOOKINGS ?= 430000
BENCH_SCRIPTS := bench/export_guests.py bench/nested_page.py bench/http_page.py bench/growth.py

bench: $(INSTALLED) $(BENCH_SCRIPTS)
	@command -v wrk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }
	@command -v wrk >/dev/null 2>&1 || \
		{ echo "bench/http_page.py needs wrk; install it with: sudo apt-get install wrk" >&2; exit 2; }
	npm ci --prefix bench/postgraphile --no-audit --no-fund
	set -e; for backend in $(BENCH_BACKENDS); do \
		$(BIN)/python bench/export_guests.py --backend $$backend --bookings $(BENCH_EXPORT_BOOKINGS); \
		$(BIN)/python bench/nested_page.py --backend $$backend --bookings $(BENCH_BOOKINGS); \
		$(BIN)/python bench/http_page.py --backend $$backend --bookings $(BENCH_BOOKINGS); \
		$(BIN)/python bench/growth.py --backend $$backend; \
	done

# Load test against real servers: seeds a fresh database, runs for 60 s and prints the results.
# Options go in LOAD_ARGS, for example LOAD_ARGS="--backend postgres --workers 2 --duration 30";
# `$(BIN)/python bench/load.py --help` lists them.
LOAD_ARGS ?=
bench-load: $(INSTALLED)
	$(BIN)/python bench/load.py $(LOAD_ARGS)

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
