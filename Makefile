# Two entry points, each self-contained on a fresh machine with python3 and make:
#   make demo   - set up .venv and run the tutorial story (examples/demo.py)
#   make test   - set up .venv and run ruff, mypy --strict and pytest (with doctests)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo mnist houses test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# The two real problems on their own (the demo runs them too).
mnist: $(STAMP)
	$(BIN)/python examples/digits_mnist.py --data mnist

houses: $(STAMP)
	$(BIN)/python examples/house_prices.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# CI uses a fixed, derandomized hypothesis profile; HYPOTHESIS_PROFILE=dev explores more.
pytest: $(STAMP)
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/python -m pytest

test: lint typecheck pytest

# make bench BENCH_ARGS=--quick for a short pass; see examples/benchmark.py --help.
bench: $(STAMP)
	$(BIN)/python examples/benchmark.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
