# layerserve — every target sets itself up from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8080
RUN_DIR ?= .run
# checkov pins an older boto3 than the project: it gets a virtualenv of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := .tools/checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
AWS_PORT ?= 4566
SAM_BIN := .tools/sam/bin

.PHONY: help venv run test test-models unit lint types imports format bench build layer-size clean env local-env deploy prune-versions

help:
	@echo "make run    - two example versions served on $(HOST):$(PORT), a guarded 10% canary, synthetic traffic"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make lint   - ruff, mypy, the import contracts and checkov on template.yaml"
	@echo "make test-models - opt-in model tests: full-size models and torch exports"
	@echo "make bench  - run the benchmarks (results: bench/README.md)"
	@echo "make build  - sam build (no Docker) and report the runtime layer size"
	@echo "make deploy - make build, then sam deploy (first time: make deploy GUIDED=1)"
	@echo "make prune-versions FUNCTION=<name> [KEEP=3] - after a deploy: delete old published versions"
	@echo 'eval "$$(make -s env)"       - put layerserve and sam on PATH in this shell'
	@echo 'eval "$$(make -s local-env)" - the same, pointed at the stack that make run serves'


venv: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(STAMP)
	@$(BIN)/python -m layerserve.local.ports PORT=$(HOST):$(PORT) AWS_PORT=127.0.0.1:$(AWS_PORT)
	@echo '# In another shell, for layerserve, sam, boto3 and the AWS CLI against this stack, paste:'
	@$(MAKE) -s --no-print-directory local-env HOST=$(HOST) PORT=$(PORT) AWS_PORT=$(AWS_PORT)
	@echo '# (or: eval "$$(make -s local-env HOST=$(HOST) PORT=$(PORT) AWS_PORT=$(AWS_PORT))")'
	$(BIN)/layerserve dev --models $(RUN_DIR)/layer --example 2 --host $(HOST) --port $(PORT) --canary 10 --canary-policy fast --traffic 20 \
	  --aws-port $(AWS_PORT)

test: lint
	$(BIN)/python -m pytest -n 2 --durations=15

# torch (CPU) and its converter are installed here only: the default run does not need them.
test-models: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0 onnxconverter-common==1.16.0
	$(BIN)/python -m pytest -m models -p no:randomly --durations=10

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

lint: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --config-file infra/checkov.yaml

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	touch $@

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

build: $(STAMP)
	bash infra/build.sh

# Shell lines for `eval`: layerserve (.venv/bin) and sam (.tools/sam/bin, from make build) on
# PATH; local-env also points the CLI, boto3 and the AWS CLI at the stack of `make run`.
env:
	@echo 'export PATH="$(CURDIR)/$(BIN):$(CURDIR)/$(SAM_BIN):$$PATH"'

local-env: env
	@echo 'export LAYERSERVE_ENDPOINT=http://$(HOST):$(PORT) AWS_ENDPOINT_URL=http://127.0.0.1:$(AWS_PORT)'
	@echo 'export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1'

deploy: build
	$(SAM_BIN)/sam deploy $(if $(GUIDED),--guided,)

KEEP ?= 3
prune-versions: $(STAMP)
	$(BIN)/layerserve prune-versions $(FUNCTION) --keep $(KEEP)

clean:
	rm -rf $(VENV) $(RUN_DIR) .aws-sam .pytest_cache .mypy_cache .ruff_cache
