# `make run` serves Monid on http://127.0.0.1:8000 with its worker; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format setup test-deps clean bench-async bench-crash bench-costs bench-pages bench-discover bench-sync \
	bench-sync-profile bench-memory bench-validation bench-idle

$(VENV)/.installed: requirements.txt client/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# A laptop's settings: debug on, the secret key generated into var/ (DJANGO_DEBUG is off unless set).
setup run: export DJANGO_DEBUG ?= 1

setup: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_catalog
	$(PY) manage.py demo_setup

run: setup
	$(PY) manage.py devserver 127.0.0.1:8000

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work here), the seed's
# TypeScript example runs on Node.js, and Monid's own CLI is installed with npm (by its tests, into var/npm); as
# root on Debian what is missing is installed here. Elsewhere we say what to install, and the tests that need it
# say loudly that they did not run.
test-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      $$(command -v node >/dev/null || echo nodejs) $$(command -v npm >/dev/null || echo npm) >/dev/null; \
	  else \
	    echo "!!! Browser tests need Chromium, the seed examples Node.js and the CLI tests npm:" \
	      "sudo apt-get install chromium nodejs npm" >&2; \
	  fi; \
	fi

test: $(VENV)/.installed test-deps lint
	$(PY) -m pytest $(ARGS)

# ruff.toml holds the rules and the format (line length 120); `make format` fixes what it can and formats the tree.
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Each starts its own deployment on a fresh database of DATABASE_URL's kind (SQLite when unset); ARGS go to the script.
bench-async: $(VENV)/.installed
	$(PY) bench/async_runs.py $(ARGS)

bench-crash: $(VENV)/.installed
	$(PY) bench/crash.py $(ARGS)

# Nothing posted: the share of a core that web and qcluster (which dispatches) use while idle.
bench-idle: $(VENV)/.installed
	$(PY) bench/idle.py $(ARGS)

# Monid and the PDL emulator under gunicorn: requests per second, added latency and web CPU per run (against a 401),
# direct vs through /v1/run; without DATABASE_URL, on SQLite then on the local PostgreSQL + Redis if they answer.
bench-sync: $(VENV)/.installed
	$(PY) bench/sync_overhead.py $(ARGS)

# No gunicorn: the same sync runs through the whole Django stack in one process under pyinstrument, by part.
bench-sync-profile: $(VENV)/.installed
	$(PY) bench/sync_profile.py $(ARGS)

# No deployment: 1,000,000 runs loaded into a fresh database, the cost summary timed against a COUNT(*).
bench-costs: $(VENV)/.installed
	$(PY) -m bench.cost_summary $(ARGS)

# No deployment either: the same 1,000,000 runs, then the runs list (first, filtered, deep page) and a run page timed.
bench-pages: $(VENV)/.installed
	$(PY) -m bench.pages $(ARGS)

# No deployment: the seed catalog and 10,000 generated endpoints, then catalog search and POST /v1/discover timed.
bench-discover: $(VENV)/.installed
	$(PY) -m bench.discover $(ARGS)

# No deployment: the Apify emulator's big datasets, each read in a fresh process; its peak memory against the cap.
bench-memory: $(VENV)/.installed
	$(PY) -m bench.dataset_memory $(ARGS)

# No deployment: a valid run's admission and the refusal of hostile inputs (a 2.5 MB one among them), side by side.
bench-validation: $(VENV)/.installed
	$(PY) bench/validation.py $(ARGS)

clean:
	rm -rf $(VENV) var
