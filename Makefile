# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test faults bench lint services clean

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

bench: $(STAMP) services
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .demo .pytest_cache
