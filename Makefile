# Partner Portal — `make run` to try it, `make test` to prove it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: help install run test calendar fuzz e2e chaos bench lint messages format lock migrate seed clean

help:
	@echo "make run      set up everything and serve the demo on http://127.0.0.1:$(PORT)"
	@echo "make test     the whole test suite (SQLite unless DATABASE_URL/REDIS_URL are set)"
	@echo "make install  virtualenv + locked dependencies"
	@echo "make calendar the date-sensitive apps' tests again at 8 moments that break date code"
	@echo "make fuzz     schemathesis against /api/schema/ as three roles (part of .ci/run)"
	@echo "make e2e      the journeys in a real Chromium (Debian's chromium) with axe-core"
	@echo "make chaos    worker kills, Redis paused, PostgreSQL restarted: nothing lost or doubled"
	@echo "make bench    every benchmark at 10,000 and 100,000 customers (PostgreSQL + Redis db 14), one line a figure and scale"
	@echo "make lint     ruff check and format check, lint-imports (the apps' layers), mypy"
	@echo "make messages update the it/de catalogs from the code and compile them (GNU gettext)"
	@echo "make lock     regenerate requirements.lock from pyproject.toml"

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	PORT=$(PORT) $(BIN)/python manage.py seed_demo --quiet-logins

# Emails go to files in var/mail/ (portal/settings/dev.py), links in them follow
# PORT, and the demo logins come last: printed once the server answers /livez.
run: migrate
	@mkdir -p var
	@PORT=$(PORT) $(BIN)/python manage.py seed_demo > var/demo-logins.txt
	@( i=0; until $(BIN)/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$(PORT)/livez', timeout=1)" 2>/dev/null || [ $$i -ge 90 ]; do i=$$((i+1)); sleep 1; done; sleep 0.5; \
	  echo ""; \
	  echo "Emails the portal sends: one file each in $(CURDIR)/var/mail/ (staff: /admin/tenants/outboundemail/)"; \
	  echo "Partner Portal on http://127.0.0.1:$(PORT)/  (sign in as partner.owner@demo.test)"; \
	  cat var/demo-logins.txt ) &
	@PORT=$(PORT) exec $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Each moment in its own pytest process travelling there (scripts/calendar_pass.py;
# CALENDAR_ARGS="--jobs 1 --at 2028-02-29T12:00" to choose).
calendar: install
	$(BIN)/python scripts/calendar_pass.py $(CALENDAR_ARGS)

fuzz: install
	$(BIN)/python -m pytest fuzz $(PYTEST_ARGS)

e2e: install
	$(BIN)/python -m pytest e2e $(PYTEST_ARGS)

chaos: install
	$(BIN)/python scripts/chaos.py

# PostgreSQL and Redis are required (bench/run.py refuses SQLite); it creates and
# drops <name>_bench (and <name>_bench_next) and flushes the Redis database it is
# given. The scales: SCALES="10000 100000" (the default); `make bench
# SCALES=10000` measures the smaller book alone. docs/performance.md
SCALES ?= 10000 100000
bench: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/14} \
		$(BIN)/python bench/run.py --scales $(SCALES) $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# makemessages needs xgettext, compilemessages msgfmt (Debian: gettext); the
# compiled .mo files are committed, so running the portal needs neither.
messages: install
	$(BIN)/python manage.py makemessages -l it -l de --no-obsolete --no-location \
		--ignore=.venv --ignore=tests --ignore=fuzz --ignore=e2e --ignore=bench --ignore=scripts
	$(BIN)/python manage.py compilemessages --ignore=.venv

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock:
	$(PYTHON) -m venv /tmp/portal-lock-venv
	/tmp/portal-lock-venv/bin/pip install --quiet pip-tools==7.6.2
	/tmp/portal-lock-venv/bin/pip-compile --quiet --extra dev --generate-hashes --strip-extras \
		--allow-unsafe -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache .mypy_cache
