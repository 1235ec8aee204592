# Targets a newcomer can guess. Everything installs itself on first use.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
BUF := node_modules/.bin/buf
TS_DEPS := clients/typescript/node_modules/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run console test lint gen clients clients-deps breaking unit e2e eval eval-phi bench-rpc bench-engine bench-phi bench-llm drug-lexicon bench-load bench-chaos bench-tls bench-stall bench-shadow bench-batch deploy-check render rules prometheusrule clean help

help:
	@echo "make run | console | test | lint | gen | clients | breaking | eval | eval-phi | bench-rpc | bench-engine | bench-phi | bench-llm | bench-load | bench-chaos | bench-tls | bench-stall | bench-shadow | bench-batch"

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

$(TS_DEPS): clients/typescript/package.json clients/typescript/package-lock.json
	cd clients/typescript && npm ci --no-audit --no-fund --silent
	touch $@

## clients-deps: the TypeScript client's pinned packages (npm ci in clients/typescript)
clients-deps: $(TS_DEPS)

## clients: regenerate the TypeScript and Go clients (buf.gen.yaml; committed, CI checks they are fresh)
# Needs no Python venv: fetching validate.proto takes only pip. Go plugins: Debian (clients/go/README.md).
clients: $(BUF) $(TS_DEPS)
	$(or $(wildcard $(PY)),python3) scripts/fetch_proto_deps.py
	bash scripts/gen_clients.sh

## run: serve on 127.0.0.1:50051 (plaintext, loopback) with SQLite, the local engine and auth on (dev token under .healthai/)
run: $(VENV_STAMP) build/proto-deps/buf/validate/validate.proto
	# Plaintext on loopback (127.0.0.1:50051), and said so: the server logs "serving without TLS".
	# With HEALTHAI_TLS_CERT_FILE and HEALTHAI_TLS_KEY_FILE set it serves TLS instead.
	if [ -z "$$HEALTHAI_TLS_CERT_FILE" ]; then export HEALTHAI_PLAINTEXT=$${HEALTHAI_PLAINTEXT-true}; fi; \
	.venv/bin/healthai-server serve

## console: the web review console on http://127.0.0.1:8080, calling the server at HEALTHAI_ADDR (default 127.0.0.1:50051)
console: $(VENV_STAMP)
	.venv/bin/healthai-server console

lint: $(VENV_STAMP) $(BUF) $(TS_DEPS) build/proto-deps/buf/validate/validate.proto
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	$(BUF) lint
	cd clients/typescript && node_modules/.bin/tsc -p tsconfig.json --noEmit
	.venv/bin/hadolint Dockerfile

## breaking: buf breaking-change check against the previous commit (BASE=<rev> to choose)
breaking: $(BUF) build/proto-deps/buf/validate/validate.proto
	bash scripts/buf_breaking.sh $(BASE)

## test: lint, then every test (unit, contract, property, e2e, deploy) on SQLite and PostgreSQL
test: lint $(TS_DEPS)
	mkdir -p build/coverage
	$(PY) -m pytest --cov --cov-report=term:skip-covered

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

## drug-lexicon: rebuild engine/data/drug_lexicon.tsv from drug-named-entity-recognition (in .venv-bench)
drug-lexicon: $(VENV_STAMP)
	bash scripts/engine_bench_venv.sh
	.venv-bench/bin/pip install -q "drug-named-entity-recognition==2.0.9"
	.venv-bench/bin/python scripts/engine_build_drug_lexicon.py

bench-rpc: $(VENV_STAMP)
	$(PY) bench/bench_rpc.py

bench-llm: $(VENV_STAMP)
	$(PY) bench/bench_llm.py

## bench-shadow: what shadow mode adds to the answer's latency (same calls, shadow off and on, one process)
bench-shadow: $(VENV_STAMP)
	$(PY) bench/bench_shadow.py

bench-load: $(VENV_STAMP)
	$(PY) bench/bench_load.py

## bench-chaos: traffic on PostgreSQL while workers, the database and the server are killed; audit vs clients
bench-chaos: $(VENV_STAMP)
	$(PY) bench/bench_chaos.py $(ARGS)

## bench-batch: one batch job vs unary calls at concurrency 8, same notes, same run (ARGS="--notes 20000 --postgres")
bench-batch: $(VENV_STAMP)
	$(PY) bench/bench_batch.py $(ARGS)

## bench-tls: connection set-up and warm-call latency, plaintext vs TLS vs mTLS (real servers)
bench-tls: $(VENV_STAMP)
	$(PY) bench/bench_tls.py

## bench-stall: an authenticated caller's latency while 200 calls that never send their message are held open
bench-stall: $(VENV_STAMP)
	$(PY) bench/bench_stall.py

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
	rm -rf .venv .venv-bench node_modules clients/typescript/node_modules clients/typescript/dist build .mypy_cache .ruff_cache .pytest_cache
