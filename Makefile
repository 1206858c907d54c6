# Two commands do all set-up: `make demo` and `make test`. Both create .venv when it is missing
# and install the locked dependencies (requirements.lock) with uv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HRBRIDGE_HOME ?= $(CURDIR)/.hrbridge

export UV_COMPILE_BYTECODE := 1
export PYTHONDONTWRITEBYTECODE :=
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export HRBRIDGE_HOME
export HRBRIDGE_DEMO_SOURCE  # `make demo HRBRIDGE_DEMO_SOURCE=greenhouse`: candidate_sync reads Greenhouse

.PHONY: install demo test lint lock bench clean browser

install: $(STAMP)

$(STAMP): requirements.lock setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hrbridge demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# Headless Chromium (Debian's package) and a CJK font for the browser tests; Playwright drives this
# executable, its own browser download is never used.
browser:
	@test -x /usr/bin/chromium && fc-list 2>/dev/null | grep -qi wenquanyi || \
	    (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null)

lint: $(STAMP)
	$(BIN)/ruff check .

# Re-resolve the lock after changing dependencies in setup.cfg.
lock: $(STAMP)
	$(BIN)/uv pip compile setup.cfg --extra postgres --extra celery --extra dev \
	    --python-version 3.11 --no-header -o requirements.lock

# Each benchmark prints its figures beside the named baselines; BENCHMARKS.md records them.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_candidate_sync.py
	$(BIN)/python benchmarks/bench_validation.py
	$(BIN)/python benchmarks/bench_migration.py --rows 1000000
	$(BIN)/python benchmarks/bench_retention.py
	$(BIN)/python benchmarks/bench_feedback.py

clean:
	rm -rf $(VENV) .hrbridge .pytest_cache
