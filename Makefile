# Zaytoun. `make run` serves the site on its embedded default; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app campaigns
TRANSLATIONS := campaigns/translations
PO := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test test-fast chaos bench worker beat lint install translations extract update-catalogs lock clean

$(BIN)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed translations

%.mo: %.po
	$(BIN)/pybabel -q compile -i $< -o $@

translations: $(BIN)/.installed $(MO)

## The site on its embedded default: SQLite in instance/, tasks in-process, mail in instance/mail/.
run: install
	$(FLASK) db upgrade
	$(FLASK) campaigns seed --demo
	$(FLASK) run --host 127.0.0.1 --port 5000

## Every test: unit tests on SQLite, integration on the machine's PostgreSQL and Redis.
test: install
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not integration"

## The long fault tests (workers killed, Redis and PostgreSQL restarted, SMTP down); `make test` runs short versions.
chaos: install
	$(BIN)/pytest -m chaos

## The benchmark: the production stack on loopback, measured against a bare Flask app; see benchmarks/README.md.
bench: install
	$(BIN)/python -m benchmarks.run

## Celery worker with embedded beat, against REDIS_URL and DATABASE_URL.
worker: install
	$(BIN)/celery -A workers worker --beat --queues zaytoun,periodic --loglevel INFO

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

extract: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output \
		--project Zaytoun -o $(TRANSLATIONS)/messages.pot .

update-catalogs: extract
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete

lock:
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra dev --generate-hashes --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
