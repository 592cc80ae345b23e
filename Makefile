# macops.tokens developer entry points. `make test` runs every check; `make demo` arrives with the roles.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
BASE_PYTHON ?= $(shell command -v python3.11 || command -v python3)
STAMP := $(VENV)/.installed
PIP_BOOTSTRAP_DIR := $(HOME)/.ansible/test/cache

.PHONY: help demo test lint ee sanity units evidence pytest macsim-tests integration molecule venv system-deps clean constraints fleet-up fleet-down bench

help:
	@echo "make demo        simulated fleet: audit, remediate, before/after table, HTML report (under ./demo)"
	@echo "make test        run every check (lint, sanity on 3.11/3.8/3.9, units, pytest, molecule)"
	@echo "make lint|ee|sanity|units|evidence|macsim-tests|integration|molecule   one check (pytest: both suites)"
	@echo "make fleet-up SCENARIO=versions   bring a simulated fleet up (inventory: .macsim/inventory.yml)"
	@echo "make fleet-down  take it down"
	@echo "make bench       audit.yml vs today's one-command-per-check playbook (tests/perf/baseline.yml) on 50"
	@echo "                 simulated Macs with a Mac's tool latency, then 200 and 500 Macs, remediate.yml twice;"
	@echo "                 prints the table and targets, writes bench.json (BENCH_ARGS=--help; 13.5 min measured here)"

system-deps:
	@missing=""; \
	[ -x /usr/sbin/sshd ] || missing="$$missing openssh-server"; \
	command -v sudo >/dev/null || missing="$$missing sudo"; \
	command -v ssh >/dev/null || missing="$$missing openssh-client"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 1; fi; \
	  echo "installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): requirements/dev.txt requirements/constraints.txt tools/macsim/pyproject.toml
	@test -x $(PY) || $(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements/dev.txt -c requirements/constraints.txt
	$(PY) -m pip install -q --no-deps -e tools/macsim
	@touch $@

venv: system-deps $(STAMP) pythons pip-bootstrap

# The simulated Macs' Pythons (3.8 and 3.9), found under pyenv, linked where ansible-test looks.
.PHONY: pythons
pythons:
	@mkdir -p $(VENV)/pythons
	@for v in 3.8 3.9; do \
	  p=$$(ls -d $${PYENV_ROOT:-$(HOME)/.pyenv}/versions/$$v.*/bin/python$$v 2>/dev/null | sort -V | tail -n 1); \
	  [ -n "$$p" ] || p=$$(command -v python$$v || true); \
	  if [ -n "$$p" ]; then ln -sfn "$$p" $(VENV)/pythons/python$$v; else echo "python$$v not found: sanity falls back to a static check"; fi; \
	done

# ansible-test downloads a pip bootstrap script from a host we cannot reach; give it ours.
.PHONY: pip-bootstrap
pip-bootstrap: $(STAMP)
	@v=$$($(PY) -c "import ansible_test, pathlib, re; t = (pathlib.Path(ansible_test.__file__).parent / '_internal/python_requirements.py').read_text(); print(re.search(r\"pip='([0-9.]+)'\", t).group(1))"); \
	mkdir -p $(PIP_BOOTSTRAP_DIR); \
	cp tools/ansible_test_get_pip.py $(PIP_BOOTSTRAP_DIR)/get_pip_$${v//./_}.py

test: venv
	$(PY) tools/run_checks.py

lint: venv
	$(PY) tools/run_checks.py lint
ee: venv
	$(PY) tools/run_checks.py ee
sanity: venv
	$(PY) tools/run_checks.py sanity
units: venv
	$(PY) tools/run_checks.py units
pytest: venv
	$(PY) tools/run_checks.py pytest
macsim-tests: venv
	$(PY) tools/run_checks.py macsim-tests
integration: venv
	$(PY) tools/run_checks.py integration
molecule: venv
	$(PY) tools/run_checks.py molecule
evidence: venv
	$(PY) tools/run_checks.py evidence

demo: venv
	$(PY) tools/demo/demo.py run

BENCH_ARGS ?=
bench: venv
	PYTHONPATH=$(ROOT)/tools/macsim/src $(PY) tools/bench.py $(BENCH_ARGS)

SCENARIO ?= versions
fleet-up: venv
	$(VENV)/bin/macsim --workdir .macsim/fleet fleet up $(SCENARIO) --inventory .macsim/inventory.yml
fleet-down: venv
	$(VENV)/bin/macsim --workdir .macsim/fleet fleet down

constraints: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -vE '^(pip|setuptools|wheel)==' > requirements/constraints.txt

clean:
	-$(VENV)/bin/macsim --workdir .macsim/fleet fleet down 2>/dev/null
	rm -rf build collections .macsim tests/output
