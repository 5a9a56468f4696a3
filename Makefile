# motcua — the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages motcua needs at run time: libmagic (upload sniffing), Graphviz (state
# machine SVG), HarfBuzz's subsetter (WeasyPrint font subsetting, 3.5x faster), Liberation
# fonts (Times New Roman's metrics, every Vietnamese letter) for the generated papers.
APT_PACKAGES := libmagic1 graphviz libharfbuzz-subset0 fonts-liberation2
# ... and for the tests only: Chromium (the browser tests drive Debian's build; Playwright
# never downloads its own).
TEST_APT_PACKAGES := chromium
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# axe-core, from npm, injected into pages by the browser tests to check accessibility.
AXE := tests/e2e/node_modules/axe-core/axe.min.js

.PHONY: run test setup system-packages run-packages db demo lint check constraints floors bench clean

# --- A fast, quiet first run (issue #17) ---------------------------------------------------
# `make run` prints one line per step; what the steps say at length goes to var/*.log.
# Python packages are installed by uv (pinned in requirements/constraints.txt, like uv
# itself), which the system's pip puts into the venv first; the venv keeps a pip too.
# The tests' extras (the `dev` Python extras, Chromium, axe-core from npm) are installed by
# `make setup` (and so `make test`, `lint`, `check`) only.

define apt_install
@mkdir -p var; missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  echo "Debian packages: installing$$missing (log: var/apt.log)"; \
  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; } \
    >var/apt.log 2>&1 || { tail -20 var/apt.log; exit 1; }; \
else echo "Debian packages: all present ($(strip $(1)))"; fi
endef

setup: system-packages $(DEV_STAMP) $(AXE)

system-packages:
	$(call apt_install,$(APT_PACKAGES) $(TEST_APT_PACKAGES))

run-packages:
	$(call apt_install,$(APT_PACKAGES))

# $(1): what to install, $(2): what the line calls it.
define uv_install
@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
@mkdir -p var; start=$$(date +%s); \
{ { [ -x $(BIN)/python ] || $(PYTHON) -m venv --without-pip $(VENV); } && \
  { [ -x $(BIN)/uv ] \
    || $(PYTHON) -m pip --python $(BIN)/python install -c requirements/constraints.txt uv \
    || { $(BIN)/python -m ensurepip && $(BIN)/python -m pip install -c requirements/constraints.txt uv; }; } && \
  $(BIN)/uv pip install --python $(BIN)/python -c requirements/constraints.txt -e '$(1)' pip; \
} >var/install.log 2>&1 || { tail -30 var/install.log; echo "$(2): failed (log: var/install.log)"; exit 1; }; \
echo "$(2): installed into $(VENV) by uv in $$(( $$(date +%s) - start )) s (log: var/install.log)"
endef

# What motcua runs with (make run), then the tests' and tools' extras (make setup/test).
$(STAMP): pyproject.toml requirements/constraints.txt
	$(call uv_install,.,Python packages)
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(call uv_install,.[dev],Python packages for the tests)
	@touch $(DEV_STAMP)

$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	@command -v npm >/dev/null || { SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error
	@touch $(AXE)

# Migrations, the cache table, the agencies and the catalog (and the demo), in one process.
db: run-packages $(STAMP)
	@$(BIN)/python manage.py prepare_database

demo: export MOTCUA_SERVED_AT = $(HOST):$(PORT)
demo: run-packages $(STAMP)
	@DEBUG=1 $(BIN)/python manage.py prepare_database --demo

# The demo's papers are rendered in the background (render_documents) while the
# server starts; both background processes are niced, to leave the CPU to the server.
# The demo's e-mail is written to var/mail/. Every process started here is told the address
# served, so links in e-mails and the papers' QR codes point at it (config.siteurl; an
# explicit MOTCUA_SITE_URL wins).
run: export MOTCUA_SERVED_AT = $(HOST):$(PORT)
run: run-packages $(STAMP)
	@DEBUG=1 $(BIN)/python manage.py prepare_database --demo --papers-later
	@echo ""
	@echo "motcua is starting at http://$(HOST):$(PORT)/"
	@echo "  citizens: http://$(HOST):$(PORT)/   officers: http://$(HOST):$(PORT)/workspace/   admin: http://$(HOST):$(PORT)/admin/"
	@echo "  demo logins (password motcua-demo-2026): citizen, reception, specialist, head, signer, supervisor, admin"
	@echo "  staff logins ask for a two-factor code: DEBUG=1 $(BIN)/python manage.py demo_totp USER prints it"
	@echo "    (or add the demo secret MOTCUADEMOTOTPSECRETFORNEWCOMERS to an authenticator app)"
	@echo "  verify a paper: http://$(HOST):$(PORT)/verify/   (the demo signer's certificate password is the demo password)"
	@echo "  e-mail (sign-up confirmations, password resets) is written to files in var/mail/"
	@echo "Embedded default: SQLite in var/, Celery tasks run in-process; periodic jobs (flow"
	@echo "timers, outbox sweep) run every 60 s in the background (var/periodic.log)."
	@echo "National systems (sign-in, population register, national portal, payment) are local"
	@echo "sandboxes from port 8490 (var/sandboxes.log; README \"National connections\")."
	@echo "  national sign-in (VNeID button on the login page): ID number 011085004321, password"
	@echo "    vneid-sandbox, code 123456; the form of \"Thủ tục mẫu ... nộp phí\" is then filled from"
	@echo "    the register, and its fee paid on the payment sandbox once the specialist asks for it"
	@echo "  what the national portal received: http://$(HOST):8492/"
	@echo ""
	@: > var/periodic.log; \
	  DEBUG=1 nice $(BIN)/python manage.py run_periodic_jobs --every 60 >> var/periodic.log 2>&1 & periodic=$$!; \
	  DEBUG=1 nice $(BIN)/python manage.py render_documents >> var/periodic.log 2>&1 & papers=$$!; \
	  DEBUG=1 $(BIN)/python manage.py run_sandboxes > var/sandboxes.log 2>&1 & sandboxes=$$!; \
	  trap "kill $$periodic $$papers $$sandboxes 2>/dev/null" EXIT INT TERM; \
	  DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)
# --- end of the first run ----------------------------------------------------------------

# The import map first (README "Layers", pyproject.toml [tool.importlinter]): an upward
# import or a circle between one app's files fails here in a second, before the suite.
# tests/test_import_map.py checks it again and proves a planted upward import fails.
test: setup
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

check: setup
	$(BIN)/python manage.py makemigrations --check --dry-run

constraints: setup
	@(echo "# Pinned versions for reproducible installs: pip install -c requirements/constraints.txt -e '.[dev]'"; \
	  echo "# Regenerate with: make constraints"; \
	  $(BIN)/pip freeze --exclude-editable | grep -vi '^motcua' | LC_ALL=C sort -f) > requirements/constraints.txt

# Every direct dependency at the lower bound pyproject.toml gives it, in a virtualenv of its
# own (var/floors/venv), and the suite run there: the floors must be true (.ci/floors).
floors: system-packages $(AXE)
	.ci/floors

# Benchmarks (bench/README.md) on PostgreSQL: never the test suite's `test` database.
# The data sets live beside it, in <name>_10k and <name>_1m, made once and reused.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/motcua_bench
BENCH_ARGS ?=

bench: setup
	@command -v wrk >/dev/null || { echo "Installing wrk"; SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }
	@url="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}"; \
	  case "$$url" in postgres://*|postgresql://*) ;; *) echo "make bench needs DATABASE_URL=postgres://..."; exit 2;; esac; \
	  case "$${url%%\?*}" in */test) echo "make bench refuses the test suite's database 'test'"; exit 2;; esac; \
	  export DATABASE_URL="$$url" DJANGO_SETTINGS_MODULE=bench.settings; \
	  $(BIN)/python -c "import sys; sys.path.insert(0, '.'); from bench.common import environment, ensure_database; environment(); import django; django.setup(); from django.db import connection; ensure_database(connection.settings_dict['NAME'])" && \
	  $(BIN)/python manage.py migrate --noinput -v0 && \
	  $(BIN)/python manage.py createcachetable && \
	  $(BIN)/python manage.py load_agencies && \
	  $(BIN)/python manage.py load_procedures && \
	  $(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
