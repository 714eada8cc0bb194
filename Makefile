# Two commands: `make demo` (set up + offline quickstart) and `make test` (set up + the whole suite).
# GPU users: make demo TORCH_SPEC="torch" TORCH_INDEX="--index-url https://download.pytorch.org/whl/cu124"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
PY := $(VENV)/bin/python
STAMP := $(VENV)/.xtui-installed
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
SHARED_DATA ?= $(abspath ../shared/data)

# The suite on two pytest workers with one torch thread each (two tests at a time on 2 cores, not two
# threads fighting per test); tests that read a screen share one worker (tests/conftest.py).
# Three tiers, one folder each: tests/unit, tests/integration (the CLI as a subprocess, real training,
# real terminals) and tests/tui (the app); tests/unit/test_tiers.py keeps each test in its tier.
PYTEST := $(OFFLINE) XTUI_SHARED_DATA=$(SHARED_DATA) OMP_NUM_THREADS=1 $(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup

.PHONY: setup demo test test-fast figures bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH_SPEC)" $(TORCH_INDEX)
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(OFFLINE) $(VENV)/bin/xtui run examples/quickstart.toml

test: setup
	$(PYTEST) --durations=15

# the unit tier: no training, no CLI run through the xtui fixture, no screen (about 80 s on 2 cores);
# the marker filter stays as a safety net (a test using the xtui fixture is `integration` anywhere)
test-fast: setup
	$(PYTEST) -m "not slow and not integration" tests/unit

# the README's figures, from the latest `make demo` run (runs/): xtui runs plot, under stable names
figures: setup
	rm -rf build/figures
	$(OFFLINE) $(VENV)/bin/xtui runs plot quickstart --kind heatmap --kind fewshot --out build/figures
	mkdir -p docs/figures
	cp build/figures/*-udpos-heatmap-K8.png docs/figures/quickstart-heatmap-K8.png
	cp build/figures/*-udpos-fewshot.png docs/figures/quickstart-fewshot.png

bench: setup
	$(OFFLINE) XTUI_SHARED_DATA=$(SHARED_DATA) $(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
