# xinyidai — two commands: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export OMP_WAIT_POLICY := PASSIVE

.PHONY: demo test install install-dev system-deps browser lint typecheck pytest messages bench validate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs pinned versions from requirements.lock (uv pip compile output) for reproducible installs.
install: $(BIN)/python system-deps
	$(BIN)/pip install --quiet -c requirements.lock -e .

install-dev: $(BIN)/python system-deps
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'

# Pango and a CJK font from Debian for WeasyPrint's PDF credit reports.
system-deps:
	@if ! ldconfig -p | grep -q libpangoft2-1.0 || ! fc-list 2>/dev/null | grep -q "Noto Sans CJK SC"; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk >/dev/null) \
	      || echo "warning: could not install Pango/fonts-noto-cjk; PDF reports will fail"; \
	  else echo "warning: run 'sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk'"; fi; \
	fi

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

# Every benchmark at default sizes (~15 min on 2 cores); BENCH_ARGS=--full for the 1,000,000-firm city,
# BENCH_ARGS="--only ingest" for one, BENCH_ARGS="--home DIR" for quality/rating over a built lake
# (see bench/run.py). pandas is the naive baselines' tool.
bench: install-dev
	$(BIN)/pip install --quiet -c requirements.lock 'pandas>=2.2'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The statistical scorecard on the real data sets in shared/data, beside LR and LightGBM -> docs/validation.md.
# SCORECARDPY_PYTHON=<python of a venv with scorecardpy and pandas<3> adds scorecardpy's own run (see that page).
validate: install-dev
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev,validate]'
	$(BIN)/python tools/validate.py $(if $(SCORECARDPY_PYTHON),--scorecardpy-python $(SCORECARDPY_PYTHON))

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
