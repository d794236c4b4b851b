# The two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test install migrate seed worker beat bench mutation clean lint format

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# Development targets run with DEBUG on (the settings fail closed without it: no
# development key, Twilio for texts); `DEBUG=false make run` still overrides.
migrate seed run worker beat: export DEBUG ?= true
# SITE_URL (the links `seed_demo` prints, simulate_sms's target) follows the port unless set.
migrate seed run worker beat: export PORT := $(PORT)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# What CI checks first: lint rules, formatting, and the types of the typed modules
# (pyproject.toml lists them). `make format` fixes what can be fixed mechanically.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# --fix-only: apply the fixes, leave reporting what is left to `make lint`
# (before formatting, long lines would stop make here).
format: install
	$(BIN)/ruff check --fix-only .
	$(BIN)/ruff format .

worker: install
	$(BIN)/celery -A clinic worker --loglevel=INFO

beat: install
	$(BIN)/celery -A clinic beat --loglevel=INFO

bench: install
	$(BIN)/python bench/availability.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/day_calendar.py
	$(BIN)/python bench/reminders.py
	$(BIN)/python bench/load.py

# Mutation testing of the privacy and send-path modules ([tool.mutmut] in
# pyproject.toml; docs/mutation.md). Slow, so not in CI. SQLite only: the
# PostgreSQL and Redis tests skip. MUTMUT_CHILDREN=2 on an idle machine;
# MUTANTS='privacy.cookies*' checks one module's mutants again.
MUTMUT_CHILDREN ?= 1
MUTANTS ?=
mutation: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/mutmut run --max-children $(MUTMUT_CHILDREN) $(MUTANTS)
	$(BIN)/python scripts/mutation_score.py

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles mutants
