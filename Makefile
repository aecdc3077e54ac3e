# All set-up happens here, so a fresh machine needs only `make quickstart` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@# open_clip_torch pulls PyPI's torchvision, a CUDA build that cannot load beside the CPU
	@# torch wheel and then breaks transformers' image processors (so diffusers' pipelines).
	$(PY) -c 'import torchvision' 2>/dev/null || $(PY) -m pip uninstall -q -y torchvision
	@test -f /usr/share/wordnet/data.noun || (command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq wordnet-base) >/dev/null 2>&1) || echo "note: wordnet-base not installed; WordNet hierarchy tests will fail"
	touch $(STAMP)

.PHONY: install quickstart test test-fast bench
install: $(STAMP)

quickstart: $(STAMP)
	$(PY) -m jaxrobust.main --config=configs/quickstart.py --workdir=$${WORKDIR:-workdir/quickstart}

test: $(STAMP)
	@# One pytest worker per core, a test file per worker at a time: module fixtures build once.
	$(PY) -m pytest -q -n auto --dist loadfile tests

test-fast: $(STAMP)
	@# Day-to-day tier: everything but the tests marked slow (CI runs `make test`).
	$(PY) -m pytest -q -n auto --dist loadfile -m "not slow" tests

bench: $(STAMP)
	$(PY) -m jaxrobust.bench train
