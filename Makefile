# Compression Lab. Every target creates .venv when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test test-unit test-app test-e2e bench lint chromium venv dev-venv clean

$(VENV)/.runtime-installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.runtime-installed
dev-venv: $(VENV)/.dev-installed

## make run: serve the app on http://localhost:$(PORT)
run: venv
	$(PY) -m streamlit run app.py --server.port $(PORT)

## Debian chromium and the CJK fonts for the end-to-end tests: each installed when it is missing (as root).
## (Chromium alone renders Chinese as empty boxes, so the fonts are checked on their own.)
chromium:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing="$$missing fonts-noto-cjk"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing for the end-to-end tests:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "The end-to-end tests need:$$missing. Run 'sudo apt-get install -y$$missing'."; exit 1; \
	fi

## make test: unit, AppTest and end-to-end (headless Chromium) tests
test: dev-venv chromium
	@set -e; for level in unit app e2e; do \
		start=$$(date +%s); \
		echo "==== tests/$$level ===="; \
		$(PY) -m pytest tests/$$level -q -p no:cacheprovider -rfEs; \
		echo "==== tests/$$level passed in $$(( $$(date +%s) - start )) s ===="; \
	done

test-unit: dev-venv
	$(PY) -m pytest tests/unit -q
test-app: dev-venv
	$(PY) -m pytest tests/app -q
test-e2e: dev-venv chromium
	$(PY) -m pytest tests/e2e -q

## make bench: every benchmark under benchmarks/, ratios measured side by side (browser ones need chromium + playwright)
bench: dev-venv chromium
	@set -e; shopt -s nullglob; for script in benchmarks/*.py; do \
		echo "==== $$script ===="; \
		$(PY) $$script; \
	done

lint: dev-venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check . || true

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
