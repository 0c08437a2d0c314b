# Every target sets up what it needs: a fresh clone needs only python3 (and npm for the JavaScript interop check).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.carbonid-installed
JS_DIR := tests/interop/js
JS_STAMP := $(JS_DIR)/node_modules/.package-lock.json

.PHONY: install test lint typecheck layers pytest demo bench clean browser-tools

# Debian packages some checks need, installed when missing and we may (root with apt-get); `$(call apt,CMD,PKGS)`.
apt = command -v $(1) >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	(apt-get install -y -qq $(2) >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && \
	apt-get install -y -qq $(2) >/dev/null 2>&1)); } || echo "$(1) is not installed: the checks that need it will say so"

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# The independent Data Integrity verifier (digitalbazaar's JavaScript suite) used by tests/interop.
$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: the JavaScript interop tests will be skipped"; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

# Headless Chromium renders the certificate page at phone size; zbarimg decodes the QR codes.
browser-tools:
	@$(call apt,chromium,chromium fonts-noto-cjk)
	@$(call apt,zbarimg,zbar-tools)

pytest: install $(JS_STAMP) browser-tools
	$(BIN)/pytest

test: lint typecheck layers pytest

demo: install
	$(BIN)/carbonid demo

# wrk (Debian package) drives the HTTP benchmarks; installed here when missing and we may. Every benchmark
# runs; the report (Markdown + JSON) goes to build/bench/ and stdout. `make bench BENCH_ARGS="--quick"`
# tries the machinery in seconds; BENCH_ARGS="--only resolver,regional" picks benchmarks (--list names them).
bench: install browser-tools
	@$(call apt,wrk,wrk)
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(JS_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache
