# sluice: stream a MySQL table into Kafka as Avro and out again as JSON lines.
#
#   make up && make run       bring the local stack up, run the pipeline
#   make test                 run every test
#   make help                 list every target
#
# STACK=native (default) runs MariaDB, Kafka and Apicurio Registry natively from stack/;
# STACK=docker uses docker/docker-compose.yml instead (needs a Docker engine).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
STACK ?= native
CARGO ?= cargo
COMPOSE_FILE := docker/docker-compose.yml
COMPOSE = $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose) -f $(COMPOSE_FILE)

ifeq ($(STACK),docker)
# Confluent's registry serves the API at its root, Apicurio's under /apis/ccompat/v7.
export SLUICE__REGISTRY__URL ?= http://127.0.0.1:8081
endif

.DEFAULT_GOAL := help
.PHONY: help up down status run simulate test lint unit integration test-cluster test-secure test-binlog-large bench chaos build reset check-cargo image

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

SECURE ?=
up: ## Start the stack (idempotent) and wait until every service answers; SECURE=1 adds Kafka's SASL_SSL and mTLS listeners with ACLs
ifeq ($(STACK),docker)
	IMAGE_TOOL=docker stack/build-image
	$(COMPOSE) up -d --wait
else
	SLUICE_STACK_SECURE=$(SECURE) stack/sluice-stack up
endif

down: ## Stop the stack; data is kept
ifeq ($(STACK),docker)
	$(COMPOSE) down
else
	stack/sluice-stack down
endif

status: ## Show the stack and the running pipeline (watermark, lag, members, dead letters)
ifeq ($(STACK),docker)
	$(COMPOSE) ps
else
	@echo stack; stack/sluice-stack status | sed 's/^/  /' || true
endif
	@stack/pipeline-status

run: up check-cargo ## Start the stack if needed, then the producer and 5 consumers (Ctrl-C stops)
ifeq ($(STACK),docker)
	# The Docker stack runs the pipeline in its own containers: load the sample catalogue into
	# its MySQL (published on 127.0.0.1:3306) when the table is empty, then follow their logs.
	$(CARGO) build --release --locked --quiet --bin sluice-loadgen
	target/release/sluice-loadgen seed --if-empty
	$(COMPOSE) logs -f producer consumer-1 consumer-2 consumer-3 consumer-4 consumer-5
else
	stack/run-pipeline
endif

RATE ?= 200
simulate: check-cargo ## Update random products at RATE rows/s (default 200) to watch changes flow
	$(CARGO) build --release --locked --quiet --bin sluice-loadgen
	target/release/sluice-loadgen simulate --rate $(RATE)

test: check-cargo ## Run every test: unit, then integration against the stack, with the lint beside them
	# The image test's static binaries, then the lint (its own target folder, so no cargo lock is
	# shared), compile at the lowest priority beside the tests, on the CPU the tests leave idle
	# while they wait on servers: the binaries first, as the image test needs them midway. Each
	# is waited for at the end and fails the run if it failed.
	stack/background start image-binaries env SLUICE_IMAGE_PROFILE=image-test stack/build-image --binaries-only
	stack/background start --after image-binaries lint env CARGO_TARGET_DIR=$(CURDIR)/target/lint $(MAKE) --no-print-directory lint
	status=0; $(MAKE) --no-print-directory up unit integration || status=$$?; \
	  stack/background wait lint || status=1; \
	  stack/background wait image-binaries || status=1; \
	  exit $$status

image: check-cargo ## Build the container image localhost/sluice (podman; IMAGE_TOOL=docker for Docker)
	stack/build-image

lint: check-cargo ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit: check-cargo ## Unit tests (no servers needed)
	$(CARGO) test --workspace --locked --lib --bins

TEST_LANES ?= 2
integration: check-cargo ## Integration and end-to-end tests against the running stack
	stack/sluice-stack test-deps
	# The end-to-end tests run the binaries as processes: build every one of them first, and
	# every test binary, which stack/test-lanes then runs TEST_LANES at a time.
	$(CARGO) build --workspace --locked --bins
	$(CARGO) test --workspace --locked --test '*' --no-run
	CARGO=$(CARGO) stack/test-lanes $(TEST_LANES)
	# A short seeded run of make chaos (both sources), its seed printed: SEED=<seed> replays it.
	SLUICE_CHAOS_SECONDS=$(CHAOS_SMOKE_SECONDS) SLUICE_TEST_SEED=$(SEED) \
	  $(CARGO) test --locked -p sluice-e2e --test chaos -- --ignored --nocapture --test-threads=1
	# The first cluster test, with a shorter load, on a three-broker stack brought up for it.
	$(MAKE) --no-print-directory test-cluster CLUSTER_TESTS=the_broker_leading_the_most_partitions CLUSTER_SMOKE=1
	# The secured pipeline (SASL_SSL and mTLS with ACLs, MariaDB over TLS), on a stack brought up secured.
	$(MAKE) --no-print-directory test-secure

CLUSTER_TESTS ?=
CLUSTER_SMOKE ?=
test-cluster: check-cargo ## The pipeline on a three-broker Kafka cluster under broker faults (the stack switches to three brokers and back down)
	stack/sluice-stack down
	SLUICE_STACK_KAFKA_BROKERS=3 stack/sluice-stack up
	$(CARGO) build --workspace --locked --bins
	SLUICE_CLUSTER_SMOKE=$(CLUSTER_SMOKE) SLUICE_TEST_SEED=$(SEED) \
	  $(CARGO) test --locked -p sluice-e2e --test cluster -- --ignored --nocapture --test-threads=1 $(CLUSTER_TESTS); \
	  status=$$?; stack/sluice-stack down; exit $$status

SECURE_LOAD_SECONDS ?= 60
test-secure: check-cargo ## The pipeline over SASL_SSL and mTLS with only its ACLs, MariaDB over verified TLS (the stack restarts secured, then stops)
	stack/sluice-stack down
	SLUICE_STACK_SECURE=1 stack/sluice-stack up
	$(CARGO) build --workspace --locked --bins
	SLUICE_SECURE_LOAD_SECONDS=$(SECURE_LOAD_SECONDS) \
	  $(CARGO) test --locked -p sluice-e2e --test secured_pipeline -- --ignored --nocapture --test-threads=1; \
	  status=$$?; stack/sluice-stack down; exit $$status

BENCH_ARGS ?=
# When make was started: the bench judges its whole time, the stack and the build included.
MAKE_STARTED := $(shell date +%s)
bench: up check-cargo ## Measure throughput, latency and memory against Kafka's own ceilings (BENCHMARKS.md)
	$(CARGO) build --workspace --release --locked --bins
	SLUICE_BENCH_MAKE_STARTED=$(MAKE_STARTED) target/release/sluice-bench --markdown BENCHMARKS.md $(BENCH_ARGS)

SEED ?=
CHAOS_SECONDS ?= 180
CHAOS_SMOKE_SECONDS ?= 30
chaos: up check-cargo ## Random faults (kill -9, pauses, server restarts) for CHAOS_SECONDS, polled then from the binlog; SEED=… replays a run; then the binlog source's fixed schedule (ten kills, one inside a million-row transaction)
	$(CARGO) build --workspace --locked --bins
	SLUICE_CHAOS_SECONDS=$(CHAOS_SECONDS) SLUICE_TEST_SEED=$(SEED) \
	  $(CARGO) test --locked -p sluice-e2e --test chaos -- --ignored --nocapture --test-threads=1
	$(CARGO) test --locked -p sluice-e2e --test binlog_fault_schedule -- --ignored --nocapture

BINLOG_LARGE_ROWS ?= 1000000
test-binlog-large: up check-cargo ## One binlog source transaction of BINLOG_LARGE_ROWS rows through a kill -9: each row once, producer peak RSS at most 64 MiB (release builds)
	$(CARGO) build --workspace --release --locked --bins
	SLUICE_BINLOG_TRANSACTION_ROWS=$(BINLOG_LARGE_ROWS) \
	  $(CARGO) test --release --locked -p sluice-e2e --test binlog_large_transaction -- --nocapture

build: check-cargo ## Release build of every binary
	$(CARGO) build --workspace --release --locked

reset: down ## Stop the stack and delete all of its data (.stack/)
	rm -rf .stack

check-cargo:
	@command -v $(CARGO) >/dev/null || { echo "make: cargo not found; install Rust (https://rustup.rs) and try again" >&2; exit 1; }
