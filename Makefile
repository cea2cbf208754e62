# plancycle — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install bench clean stack stack-status stack-down

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list or the pins change.
$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(PY) -m pytest -q

demo: install
	$(PY) -m plancycle.demo --serve

# The production stack on this machine (Postgres, Prefect server, 2 workers, deployments,
# portal) with the sample cycle in it; `make stack-status`, `make stack-down`.
stack: install
	$(VENV)/bin/plancycle stack up --sample

stack-status: install
	$(VENV)/bin/plancycle stack status

stack-down: install
	$(VENV)/bin/plancycle stack down

# One bench per user path, each a whole process against a plain baseline in the same run.
bench: install
	$(PY) bench/chase.py --tls
	$(PY) bench/upload.py
	$(PY) bench/analysis.py
	$(PY) bench/rollup.py
	$(PY) bench/cli.py
	$(PY) bench/year.py
	$(PY) bench/region.py
	$(PY) bench/hostile.py

clean:
	rm -rf demo-output .plancycle .pytest_cache .ruff_cache
