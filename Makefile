# The two commands that matter on a fresh machine (Python 3.11, git and pip):
#   make walkthrough   set up .venv, install ksi, and tour the main job on the default registry
#   make test          set up .venv, install ksi with its test tools, and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: walkthrough test lint bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

walkthrough: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" bash examples/walkthrough.sh

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/validate_many.py
	$(BIN)/python benchmarks/merge_large.py
	$(BIN)/python benchmarks/diff_keyed.py
	$(BIN)/python benchmarks/track_decision.py
	$(BIN)/python benchmarks/find_many.py
	$(BIN)/python benchmarks/sync_many.py
	$(BIN)/python benchmarks/mcp_latency.py

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/startup.py --quick
	$(BIN)/python benchmarks/validate_many.py --quick
	$(BIN)/python benchmarks/merge_large.py --quick
	$(BIN)/python benchmarks/diff_keyed.py --quick
	$(BIN)/python benchmarks/track_decision.py --quick
	$(BIN)/python benchmarks/find_many.py --quick
	$(BIN)/python benchmarks/sync_many.py --quick
	$(BIN)/python benchmarks/mcp_latency.py --quick

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis benchmarks/.work
