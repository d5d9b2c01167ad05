# migrator — every target installs what it needs first, so that on a fresh machine
# `make demo` and `make test` are the only two commands a user has to know.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint demo bench fuzz clean locale

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check migrator tests benchmarks
	$(BIN)/ruff format --check migrator tests benchmarks
	$(BIN)/mypy

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash samples/demo.sh

bench: install
	$(BIN)/python -m compileall -q migrator  # as an installed package has: no compiling on each run
	$(BIN)/python -m benchmarks.run

fuzz: install
	MIGRATOR_FUZZ_EXAMPLES=2000 $(BIN)/pytest tests/test_fuzz.py

# The translations: pull the messages out of the code and templates into migrator/locale/migrator.pot,
# merge them into each language's .po, and compile the .mo files the package ships (committed, so a
# wheel and `make install` have them without this step).
locale: install
	$(BIN)/pybabel --quiet extract -F babel.cfg -k N_ -k _h -k ngettext:1,2 --no-location --omit-header -o migrator/locale/migrator.pot .
	for lang in fr de it; do $(BIN)/pybabel --quiet update --no-fuzzy-matching -i migrator/locale/migrator.pot -d migrator/locale -D migrator -l $$lang; done
	$(BIN)/pybabel --quiet compile -d migrator/locale -D migrator

clean:
	rm -rf $(VENV) build *.egg-info demo-output
