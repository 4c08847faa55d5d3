# `make run` serves Monid on http://127.0.0.1:8000 with its worker; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test setup clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py seed_catalog
	$(PY) manage.py demo_setup

run: setup
	$(PY) manage.py devserver 127.0.0.1:8000

test: $(VENV)/.installed
	$(PY) -m pytest $(ARGS)

clean:
	rm -rf $(VENV) var
