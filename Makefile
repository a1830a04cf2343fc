# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test faults bench province soak lint services clean wheelhouse constraints

# The server's and the tests' libraries at the versions constraints/server.txt pins (the
# Dockerfile installs from the same file); `make constraints` moves the pins forward.
$(STAMP): pyproject.toml constraints/server.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints/server.txt -e '.[server,dev]'
	touch $(STAMP)

# What a field gateway installs offline (scripts/wheelhouse.sh): `iotgw provision gateway
# ... --wheelhouse wheelhouse` puts it in the gateway's bundle.
wheelhouse: $(STAMP)
	PY=$(PY) ./scripts/wheelhouse.sh wheelhouse

constraints: $(STAMP)
	$(PY) -m pip install -q pip-tools
	$(PY) -m piptools compile -q --upgrade --strip-extras --allow-unsafe --no-emit-index-url \
	  --no-emit-find-links --extra gateway --extra opcua -o constraints/gateway.txt pyproject.toml
	$(PY) -m piptools compile -q --upgrade --strip-extras --allow-unsafe --no-emit-index-url \
	  --no-emit-find-links --extra server --extra dev -o constraints/server.txt pyproject.toml

services:
	./scripts/ensure-services.sh

demo: $(STAMP) services
	$(PY) -m iotgw demo

test: $(STAMP)
	./scripts/ensure-services.sh --test
	$(PY) -m ruff check .
	$(PY) -m pytest

# The fault and abuse suite alone, with long outages (minutes); `make test` runs it short.
faults: $(STAMP)
	./scripts/ensure-services.sh --test
	IOTGW_FAULTS=long $(PY) -m pytest -m faults --timeout 1800

bench: $(STAMP)
	./scripts/ensure-services.sh --bench
	@for script in $(filter-out bench/soak.py bench/province_scale.py bench/harness.py,$(wildcard bench/*.py)); do echo "== $$script"; $(PY) $$script || exit 1; done

# A province's day (100,000 meters, 5,000 field sensors) through broker, ingest, rollup and
# API: long, and not part of `make bench`; `$(PY) bench/province_scale.py --scale 0.1` for a tenth.
province: $(STAMP)
	./scripts/ensure-services.sh --bench
	$(PY) bench/province_scale.py --seconds 60

# Memory of gateway, ingest and API over 30 minutes (not part of `make bench`).
soak: $(STAMP) services
	$(PY) bench/soak.py

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .demo .pytest_cache wheelhouse
