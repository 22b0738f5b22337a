# dotcoin — one-command entry points. Each target installs what is missing first.
#
#   make run     start a node on the main (demo) network, mining to a fresh wallet address
#   make devnet  start a local network of three mining nodes (see contrib/devnet.sh)
#   make test    build everything and run every test (what CI runs)
#   make bench   run the benchmarks

CARGO ?= cargo
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(CURDIR)/target
BIN := $(CARGO_TARGET_DIR)/debug

.PHONY: deps build run devnet test bench lint

# RocksDB's bindings are generated with libclang; the dashboard's browser test drives
# Debian's Chromium through chromedriver. A fresh Debian machine lacks all three.
DEB_PACKAGES := libclang-dev chromium chromium-driver
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust from rustup.rs"; exit 1; }

build: deps
	$(CARGO) build --workspace --bins

run: build
	BIN=$(BIN) contrib/run-node.sh

devnet: build
	BIN=$(BIN) contrib/devnet.sh

test: build
	$(CARGO) test --workspace

bench: build
	$(CARGO) bench --profile dev -p dotcoin-common --features signing
	$(CARGO) bench --profile dev -p dotcoind
	BIN=$(BIN) contrib/bench/rpc.sh

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
