# Targets a newcomer can guess. Everything installs itself on first use.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
BUF := node_modules/.bin/buf
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint gen breaking unit e2e eval eval-phi bench-rpc bench-engine bench-phi bench-llm bench-load deploy-check render rules prometheusrule clean help

help:
	@echo "make run | test | lint | gen | breaking | eval | eval-phi | bench-rpc | bench-engine | bench-phi | bench-llm | bench-load"

$(VENV_STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	# The SDK first on the same command line: the server depends on it and it is not on PyPI.
	$(PY) -m pip install --quiet -e ./clients/python -e '.[dev]'
	touch $@

$(BUF): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

build/proto-deps/buf/validate/validate.proto: | $(VENV_STAMP)
	$(PY) scripts/fetch_proto_deps.py

## gen: regenerate the Python stubs from protos/ (committed; CI checks they are fresh)
gen: $(VENV_STAMP)
	PY=$(PY) bash scripts/gen.sh

## run: serve on 127.0.0.1:50051 with SQLite, the local engine and auth on (dev token under .healthai/)
run: $(VENV_STAMP) build/proto-deps/buf/validate/validate.proto
	.venv/bin/healthai-server serve

lint: $(VENV_STAMP) $(BUF) build/proto-deps/buf/validate/validate.proto
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	$(BUF) lint
	.venv/bin/hadolint Dockerfile

## breaking: buf breaking-change check against the previous commit (BASE=<rev> to choose)
breaking: $(BUF) build/proto-deps/buf/validate/validate.proto
	bash scripts/buf_breaking.sh $(BASE)

## test: lint, then every test (unit, contract, property, e2e, deploy) on SQLite and PostgreSQL
test: lint
	$(PY) -m pytest

unit: $(VENV_STAMP)
	$(PY) -m pytest tests/unit -q

e2e: $(VENV_STAMP)
	$(PY) -m pytest tests/e2e -q

## eval: the golden set, then the real-text set's dev part (the blind part: make eval PART=blind)
eval: $(VENV_STAMP)
	.venv/bin/healthai-server eval
	.venv/bin/healthai-server eval --set real --part $(or $(PART),dev)

eval-phi: $(VENV_STAMP)
	.venv/bin/healthai-server eval-phi

## golden-phi: regenerate the PHI golden set (seeded, byte-identical)
golden-phi: $(VENV_STAMP)
	$(PY) scripts/phi_make_golden.py

## bench-phi: PHI detection vs Presidio's pattern-only analyzer (Presidio lives in .venv-bench)
bench-phi: $(VENV_STAMP)
	$(PY) scripts/phi_bench_venv.py
	.venv-bench/bin/python bench/bench_phi.py

## bench-engine: the local engine vs medspaCy's default pipeline, same notes, one process (.venv-bench)
bench-engine: $(VENV_STAMP)
	bash scripts/engine_bench_venv.sh
	.venv-bench/bin/python bench/bench_engine.py

bench-rpc: $(VENV_STAMP)
	$(PY) bench/bench_rpc.py

bench-llm: $(VENV_STAMP)
	$(PY) bench/bench_llm.py

bench-load: $(VENV_STAMP)
	$(PY) bench/bench_load.py

## deploy-check: render and validate the Kubernetes overlays, dashboards and alert rules
deploy-check: $(VENV_STAMP)
	$(PY) -m pytest tests/unit/observability tests/deploy -q

render: $(VENV_STAMP)
	.venv/bin/kubectl kustomize deploy/k8s/overlays/$(or $(OVERLAY),prod)

rules:
	promtool check rules deploy/monitoring/prometheus/healthai-alerts.yaml
	promtool test rules tests/deploy/promtool/healthai-alerts.test.yaml

prometheusrule: $(VENV_STAMP)
	$(PY) scripts/deploy_prometheusrule.py

clean:
	rm -rf .venv .venv-bench node_modules build .mypy_cache .ruff_cache .pytest_cache
