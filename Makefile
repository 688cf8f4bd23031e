# Front door for humans; CI runs .ci/run, which calls `make test`.
# `make help` lists the targets.
N ?= 16
STATIC_TARGET := x86_64-unknown-linux-gnu
NODE_STATIC := target/$(STATIC_TARGET)/release/chord-node
CHORDCTL := target/release/chordctl
export CHORDCTL_NODE_BIN := $(CURDIR)/$(NODE_STATIC)

.PHONY: help build up down test test-rust test-sim test-deploy test-api bench

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## static chord-node (for the image) and chordctl, release builds
	RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target $(STATIC_TARGET) -p chord-node
	cargo build --release -p chordctl

up: build ## build, then start an N-node ring in containers (N=16)
	$(CHORDCTL) up $(N)

down: ## remove the ring's containers and network
	$(CHORDCTL) down

test: test-rust test-sim test-deploy test-api ## every test suite (what CI runs after its installs)

test-rust: ## Rust unit, cluster, replication, chordctl (process + docker) and compose tests
	RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target $(STATIC_TARGET) -p chord-node
	cargo test --workspace -- --test-threads 2

test-sim: ## the simulator's pytest suite
	cd sim && python3 -m pytest -q

test-deploy: ## Kubernetes manifests: schemas (offline) and invariants against the node's source
	cd deploy && python3 -m pytest -q tests

test-api: ## schemathesis against a live 3-node ring (needs the builds of test-rust)
	api/fuzz.sh

bench: ## side-by-side benchmark (installs wrk and Redis from Debian)
	bench/run.sh
