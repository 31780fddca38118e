# Conveniences for developers; the README's two commands need nothing but Python.
PY ?= .venv/bin/python
FULL_ENV = DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0
# Benchmark size for `make bench`: small (default: a few minutes, CI's smoke check) or full.
SIZE ?= small

.PHONY: venv run test test-full test-embedded ci worker sweep-worker beat schema bench bench-full fuzz

venv:
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'

run: venv
	$(PY) manage.py run_portal

test: venv
	$(PY) -m pytest

test-full: venv
	$(FULL_ENV) $(PY) -m pytest

test-embedded: venv
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest

# One worker on both queues is enough for development; in production the sweep gets a worker
# of its own (sweep-worker, docker-compose's "sweeper"), so it never waits behind a backlog.
worker:
	$(FULL_ENV) .venv/bin/celery -A csoa_portal worker -l info --concurrency 2 -Q celery,sweep

sweep-worker:
	$(FULL_ENV) .venv/bin/celery -A csoa_portal worker -l info --concurrency 1 -Q sweep -n sweeper@%h

beat:
	$(FULL_ENV) .venv/bin/celery -A csoa_portal beat -l info

schema:
	$(PY) manage.py spectacular --validate --fail-on-warn --file var/schema.yml

ci:
	bash .ci/run

# Every benchmark in bench/ against the local PostgreSQL and Redis, then one results table
# (bench/results/summary_$(SIZE).json, .md, .png). BENCH_DATABASE_NAME picks the databases.
bench:
	$(PY) bench/run.py --size $(SIZE)

bench-full:
	$(PY) bench/run.py --size full

# API fuzzing (tests/api/test_fuzz.py) with far more generated requests per operation than CI
# runs; set FULL_ENV's variables in the environment for full mode.
FUZZ_EXAMPLES ?= 100
fuzz: venv
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_TIMEOUT=14400 $(PY) -m pytest tests/api/test_fuzz.py
