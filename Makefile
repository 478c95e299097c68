# The two quick-start targets: `make run` (set up, then the main job on the bundled
# sample data) and `make test` (set up, then lint and the whole test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,spark,forecast,capture]'
	@# the browser test drives Debian's Chromium; install it when missing and we are root
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi
	touch $@

run: $(VENV)/.run-deps
	$(BIN)/tokenstat demo

test: $(VENV)/.test-deps
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/python -m pytest -q

lint: $(VENV)/.test-deps
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)

bench: $(VENV)/.test-deps
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_ledger.py

# the importer fuzz suite with many more examples than CI runs (FUZZ_EXAMPLES per importer)
FUZZ_EXAMPLES ?= 500
fuzz: $(VENV)/.test-deps
	TOKENSTAT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/sources/test_fuzz.py

clean:
	rm -rf $(VENV) build *.egg-info
