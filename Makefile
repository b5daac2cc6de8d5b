# The two commands that matter: `make up` (whole platform on loopback, with demo data)
# and `make test` (whole test suite). Both bootstrap a fresh Debian 12 machine first.
VENV := .venv
PLATFORM := $(VENV)/bin/jmmc-platform

.PHONY: venv up down status test lint bench

venv:
	ci/bootstrap.sh

up: venv
	$(PLATFORM) up

down:
	@if [ -x $(PLATFORM) ]; then $(PLATFORM) down; fi

status:
	$(PLATFORM) status

test: venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: venv
	$(VENV)/bin/python bench/votable_export.py
	$(VENV)/bin/python bench/serve.py
	$(VENV)/bin/python bench/tap.py
	$(VENV)/bin/python bench/oidb.py
	$(VENV)/bin/python bench/jmdc.py
