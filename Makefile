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

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH_SPEC)" $(TORCH_INDEX)
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(OFFLINE) $(VENV)/bin/xtui run examples/quickstart.toml

test: setup
	$(OFFLINE) XTUI_SHARED_DATA=$(SHARED_DATA) $(PY) -m pytest -q -p no:cacheprovider --durations=10

bench: setup
	$(OFFLINE) XTUI_SHARED_DATA=$(SHARED_DATA) $(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
