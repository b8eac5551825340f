# snncompile developer entry points. Every target does its own set-up when it is missing:
#   make demo   - the main job on the embedded default
#   make test   - lint, type check and the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
ARCH   := $(shell uname -m)
STAMP  := $(VENV)/.snncompile-installed
DEPS   := pyproject.toml requirements/loihi.txt requirements/torch-$(ARCH).txt

.PHONY: setup browser demo test test-fast lint typecheck bench clean

setup: $(STAMP)

$(STAMP): $(DEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements/torch-$(ARCH).txt "numpy<2"
	$(PIP) install -q --no-deps --ignore-requires-python lava-nc==0.10.0 lava-dl==0.6.0
	$(PIP) install -q -r requirements/loihi.txt
	$(PIP) install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/snncompile info
	$(VENV)/bin/snncompile demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Headless Chromium and its WebDriver from Debian's packages, for the HTML report's browser tests
# (tests/report/test_html_browser.py). Installed only when missing; a no-op with a message where
# it cannot install (not root, or no apt-get): those tests then skip, or fail when CI=true.
BROWSER_PACKAGES := chromium chromium-driver

browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
	  echo "browser: $$(chromium --version 2>/dev/null | head -n1), chromedriver present"; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "browser: Chromium is missing and cannot be installed here (needs root and apt-get;" \
	       "run: apt-get install $(BROWSER_PACKAGES)); the browser tests will skip (fail if CI=true)"; \
	else \
	  echo "browser: installing $(BROWSER_PACKAGES) from Debian's packages"; \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    $(BROWSER_PACKAGES); } >/dev/null || echo "browser: apt-get could not install" \
	    "$(BROWSER_PACKAGES); the browser tests will skip (fail if CI=true)"; \
	fi

test: lint typecheck browser
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
