# tenderhall — the two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export TENDERHALL_DATA_DIR ?= $(CURDIR)/var
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install system-deps lint typecheck check pytest pytest-postgres bench clean-data messages

## Start the platform with demo data on the embedded default (SQLite + files under ./var).
run: install system-deps
	$(BIN)/tenderhall migrate --no-input -v0
	TENDERHALL_PUBLIC_URL=$${TENDERHALL_PUBLIC_URL:-http://127.0.0.1:8000} $(BIN)/tenderhall demo --if-empty
	$(BIN)/tenderhall ca crl >/dev/null
	TENDERHALL_PUBLIC_URL=$${TENDERHALL_PUBLIC_URL:-http://127.0.0.1:8000} $(BIN)/tenderhall serve --host 127.0.0.1 --port 8000

## Every check CI runs: lint, types, layers, Django checks, migrations, pytest (SQLite, then PostgreSQL when set).
test: install system-deps lint typecheck check pytest pytest-postgres

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

# Debian packages: chromium (browser tests), age (interop tests), a CJK font and pango (PDFs by WeasyPrint).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v age >/dev/null 2>&1 || missing="$$missing age"; \
	[ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "WARNING: missing Debian packages:$$missing (run as root or: $(SUDO) apt-get install$$missing)"; \
	  fi; \
	fi

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

check:
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python -m django check --fail-level WARNING
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python -m django makemigrations --check --dry-run

# Everything, browser tests included, on the embedded default (SQLite).
pytest:
	env -u TENDERHALL_TEST_DATABASE_URL $(BIN)/pytest -q -p no:cacheprovider

# The DB suite again on PostgreSQL when TENDERHALL_TEST_DATABASE_URL is set (.ci/run sets it when one answers).
pytest-postgres:
	@if [ -n "$$TENDERHALL_TEST_DATABASE_URL" ]; then \
	  echo "== pytest on PostgreSQL ($$TENDERHALL_TEST_DATABASE_URL)"; \
	  $(BIN)/pytest -q -p no:cacheprovider -m "not e2e"; \
	else echo "== TENDERHALL_TEST_DATABASE_URL not set: PostgreSQL run skipped"; fi

## Benchmarks: each prints a table and writes benchmarks/results/<name>.json.
bench: install system-deps
	@mkdir -p benchmarks/results
	@failed=""; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "targets missed or failed:$$failed"; exit 1; fi

clean-data:
	rm -rf var
