# Two commands do it all:  `make demo` (set up + demo on generated sample data), `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/newsflow demo --output demo-output

test: setup
	$(BIN)/ruff check pipelines transforms schemas tests bench deploy
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python -m bench.bench_backfill

clean:
	rm -rf $(VENV) demo-output .pytest_cache
