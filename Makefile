# xinyidai — two commands: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export OMP_WAIT_POLICY := PASSIVE

.PHONY: demo test install install-dev browser lint typecheck pytest messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs pinned versions from requirements.lock (uv pip compile output) for reproducible installs.
install: $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'

# Debian's Chromium for the browser tests (Playwright's own download cannot work offline).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will fail"; \
	  else echo "warning: /usr/bin/chromium missing; run 'sudo apt-get install chromium fonts-noto-cjk'"; fi; \
	fi

demo: install
	XYD_ENVIRONMENT=demo $(BIN)/xinyidai demo --port $(PORT)

lint:
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools

typecheck:
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest:
	$(BIN)/pytest

test: install-dev browser lint typecheck pytest

messages:
	$(BIN)/python tools/i18n.py update

bench: install-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
