# The two commands a fresh machine needs (see README): `make up` and `make test`.
VENV := .venv
EGOV := $(VENV)/bin/egov

.PHONY: deps up test unit lint bench down
deps:
	scripts/install-deps

up: deps          ## install everything, then run the main job on the lab
	$(EGOV) up

test: deps        ## install everything, then lint and run the whole test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

lint: deps        ## ruff (configured in pyproject.toml)
	$(VENV)/bin/ruff check .

unit: deps        ## only the tests that need no root and no lab
	$(VENV)/bin/pytest tests/unit

bench: deps       ## every benchmark under bench/
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done
