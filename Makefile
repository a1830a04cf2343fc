# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test faults bench soak lint services clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

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
	@for script in $(filter-out bench/soak.py,$(wildcard bench/*.py)); do echo "== $$script"; $(PY) $$script || exit 1; done

# Memory of gateway, ingest and API over 30 minutes (not part of `make bench`).
soak: $(STAMP) services
	$(PY) bench/soak.py

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .demo .pytest_cache
