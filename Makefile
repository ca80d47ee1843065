# Everything runs from a virtualenv in .venv, created on first use from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
WORKER_PROCESSES ?= 2
WORKER_THREADS ?= 8
# As zapq/run.py's WORKER_SHUTDOWN_TIMEOUT_MS: a stopped worker finishes the replies in flight.
WORKER_SHUTDOWN_TIMEOUT_MS := 25000

# Debian packages the tests use: chromium (the console's browser tests), prometheus (promtool).
SYSTEM_PACKAGES := chromium prometheus

.PHONY: system-packages install run chat web worker scheduler services stop test test-unit test-faults test-cluster lint format docs bench seed migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("zapq needs Python 3.11+") if sys.version_info < (3, 11) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The whole service: embedded servers when REDIS_URL/DATABASE_URL are unset, web, worker, scheduler.
## Without WHATSAPP_ACCESS_TOKEN and WHATSAPP_API_URL, a local demo: talk to it with `make chat`.
run: install
	$(PY) -m zapq.run

## Type as a WhatsApp customer to the bot of a `make run` demo.
chat: install
	$(PY) -m zapq.chat

## Each part alone (they start or reuse embedded servers when the URLs are unset). Settings are
## checked first, in one line; `exec` lets Ctrl-C reach the part itself, not a shell around it.
web: install
	$(PY) -m web

worker: install
	$(PY) -m zapq.preflight worker
	dramatiq_worker_timeout=$${dramatiq_worker_timeout:-100} exec $(VENV)/bin/dramatiq actors:boot \
	  --processes $(WORKER_PROCESSES) --threads $(WORKER_THREADS) \
	  --worker-shutdown-timeout $(WORKER_SHUTDOWN_TIMEOUT_MS)

scheduler: install
	$(PY) -m zapq.preflight scheduler
	$(VENV)/bin/periodiq actors:boot

services: install
	$(PY) -m zapq.services start

stop: install
	$(PY) -m zapq.services stop

migrate: install
	$(PY) -c 'import zapq.runtime as r; r.boot(); print("schema up to date")'

## The dealership's demo inventory (idempotent); then the campaigns look at the new stock.
seed: install
	$(PY) -m zapq.conversation.seed
	$(PY) -m zapq.reengagement inventory-changed

## Both layers: pure logic and real servers, spread over TEST_WORKERS processes, each with its own
## embedded Redis and PostgreSQL (var/test-gw<N>).
TEST_WORKERS ?= 3
test: install system-packages
	$(PY) -m pytest -n $(TEST_WORKERS)

## Installs what is missing of SYSTEM_PACKAGES with apt-get (as root, on Debian); nothing when all are there.
system-packages:
	@missing=""; for package in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  command -v apt-get >/dev/null || { echo "apt-get is missing: install$$missing by hand" >&2; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## The pure-logic layer alone: no server, no process, a few seconds.
test-unit: install
	$(PY) -m pytest -m unit

## Crashes and outages under a 200-customer load against `make run` (tests/faults, about 12 minutes).
## Its own data dir, so it may run beside `make test`.
test-faults: install
	ZAPQ_FAULT_TESTS=1 ZAPQ_DATA_DIR=$${ZAPQ_DATA_DIR:-var/test-faults} $(PY) -m pytest tests/faults -s

## Two web, three worker and two scheduler hosts over one Redis and PostgreSQL host, each a Linux
## network namespace (root and iproute2; without them it fails saying so). A worker host and a
## scheduler host are cut off and killed under load (tests/cluster, about 4 minutes).
test-cluster: install
	ZAPQ_CLUSTER_TESTS=1 ZAPQ_DATA_DIR=$${ZAPQ_DATA_DIR:-var/test-cluster} $(PY) -m pytest tests/cluster -s

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## docs/configuration.md, from the descriptions on zapq/settings.py's fields.
docs: install
	$(PY) -m zapq.settings_docs docs/configuration.md

## `make bench BENCHMARKS="duplicates redis_memory"` runs only those (see `python -m bench --help`).
bench: install
	@command -v wrk >/dev/null || (command -v apt-get >/dev/null && apt-get install -y -qq wrk) || \
	  echo "wrk is missing: the ingest benchmark will be skipped"
	$(PY) -m bench $(BENCHMARKS)

clean:
	rm -rf $(VENV) var
