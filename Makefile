# All set-up happens here, so a fresh machine needs only `make quickstart` or `make test`.
# `make quickstart` installs the package alone; `make test` adds the test extras (torch for the
# diffusion tests, Ray for the executor, scikit-learn, Jupyter) and Debian's WordNet and
# shellcheck, which tests read.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CORE := $(VENV)/.installed-core
DEV := $(VENV)/.installed-dev

$(CORE): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(CORE)

$(DEV): $(CORE)
	$(PY) -m pip install -q -e '.[dev]'
	@# open_clip_torch pulls PyPI's torchvision, a CUDA build that cannot load beside the CPU
	@# torch wheel and then breaks transformers' image processors (so diffusers' pipelines).
	$(PY) -c 'import torchvision' 2>/dev/null || $(PY) -m pip uninstall -q -y torchvision
	@test -f /usr/share/wordnet/data.noun && command -v shellcheck >/dev/null || \
	  (command -v apt-get >/dev/null && apt-get update -qq && \
	   apt-get install -y -qq wordnet-base shellcheck) || \
	  echo "note: install Debian's wordnet-base and shellcheck: tests read them"
	touch $(DEV)

.PHONY: install quickstart test test-fast bench
install: $(DEV)

quickstart: $(CORE)
	$(PY) -m jaxrobust.main --config=configs/quickstart.py --workdir=$${WORKDIR:-workdir/quickstart}

test: $(DEV)
	@# One pytest worker per core, a test file per worker at a time: module fixtures build once.
	$(PY) -m pytest -q -n auto --dist loadfile tests

test-fast: $(DEV)
	@# Day-to-day tier: everything but the tests marked slow (CI runs `make test`).
	$(PY) -m pytest -q -n auto --dist loadfile -m "not slow" tests

bench: $(CORE)
	$(PY) -m jaxrobust.bench train
