# snncompile developer entry points. Every target does its own set-up when it is missing:
#   make demo   - the main job on the embedded default
#   make test   - lint, type check and the whole test suite, in both test worlds:
#                 .venv        numpy 2, spikingjelly 2.0, torch, Lava (lava-nc 0.10 / lava-dl 0.6)
#                 .venv-sj014  .venv's packages with spikingjelly 0.0.0.0.14 (the seed code's
#                              spikingjelly.clock_driven API) in front: the spikingjelly tests
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
ARCH   := $(shell uname -m)
STAMP  := $(VENV)/.snncompile-installed
DEPS   := pyproject.toml requirements/loihi.txt requirements/modern.txt requirements/nir-tools.txt \
	requirements/torch-$(ARCH).txt
LEGACY       := .venv-sj014
LEGACY_PY    := $(LEGACY)/bin/python
LEGACY_STAMP := $(LEGACY)/.snncompile-installed
# The tests that depend on the installed spikingjelly; .venv-sj014 runs them again.
SJ_TESTS := tests/frontend/test_neurons.py tests/models/test_neuron.py \
	tests/frontend/test_spikingjelly2.py tests/test_diagnostics.py tests/models/test_checkpoint.py \
	tests/models/test_spikformer.py::test_same_output_as_spikingjelly_neurons

.PHONY: setup browser demo test test-fast test-sj014 lint typecheck bench clean

setup: $(STAMP) $(LEGACY_STAMP)

# Also upgrades an existing .venv (numpy 1 / spikingjelly 0.0.0.0.14 before): --upgrade moves
# numpy and the compiled packages of requirements/modern.txt to their numpy-2 builds.
$(STAMP): $(DEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q --upgrade -r requirements/torch-$(ARCH).txt -r requirements/modern.txt
	$(PIP) install -q --no-deps --ignore-requires-python lava-nc==0.10.0 lava-dl==0.6.0
	$(PIP) install -q -r requirements/loihi.txt -r requirements/modern.txt
	$(PIP) install -q -e ".[dev]" -r requirements/modern.txt
	$(PIP) install -q --no-deps -r requirements/nir-tools.txt
	touch $(STAMP)

# A small venv whose only own package is spikingjelly 0.0.0.0.14; everything else comes from
# .venv's site-packages through a .pth file (after its own, so 0.0.0.0.14 shadows 2.0).
$(LEGACY_STAMP): $(STAMP) requirements/sj014.txt
	test -x $(LEGACY_PY) || $(PYTHON) -m venv $(LEGACY)
	$(PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" \
	  > "$$($(LEGACY_PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/zz_snncompile_venv.pth"
	$(LEGACY_PY) -m pip install -q --no-deps -r requirements/sj014.txt
	$(LEGACY_PY) -c "import spikingjelly.clock_driven.neuron"
	touch $(LEGACY_STAMP)

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

test: lint typecheck browser $(LEGACY_STAMP)
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory test-sj014

# The spikingjelly-dependent tests with spikingjelly 0.0.0.0.14 (PYTHONPATH: this checkout).
test-sj014: $(LEGACY_STAMP)
	PYTHONPATH=$(CURDIR) $(LEGACY_PY) -m pytest -q -p no:cacheprovider $(SJ_TESTS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) $(LEGACY) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
