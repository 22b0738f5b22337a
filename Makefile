# dotcoin — one-command entry points. Each target installs what is missing first.
#
#   make run     start a node on the main (demo) network, mining to a fresh wallet address
#   make devnet  start a local network of three mining nodes (see contrib/devnet.sh)
#   make test    build everything and run every test (what CI runs)
#   make bench   run the benchmarks
#   make fuzz    run every fuzz target for FUZZ_SECONDS seconds (needs nightly)

CARGO ?= cargo
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(CURDIR)/target
BIN := $(CARGO_TARGET_DIR)/debug

.PHONY: deps build run devnet test bench lint fuzz

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

# Fuzzing (tests/fuzz): each target runs for FUZZ_SECONDS under libFuzzer; new inputs it
# finds go into tests/fuzz/corpus/<target>/ (minimise with `cargo +nightly fuzz cmin
# --fuzz-dir tests/fuzz <target>` before committing them), crashes into
# tests/fuzz/artifacts/. The build has its own target directory because it uses nightly
# and sanitizer flags; the first one also compiles RocksDB's C++ (dotcoind links it), so
# it takes a while. `make test` replays the committed corpus on stable.
FUZZ_SECONDS ?= 60
FUZZ_TARGET_DIR ?= $(CURDIR)/tests/fuzz/target
FUZZ := CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) $(CARGO) +nightly fuzz

fuzz: deps
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	@for target in $$($(FUZZ) list --fuzz-dir tests/fuzz); do \
		echo "== fuzzing $$target for $(FUZZ_SECONDS) s"; \
		$(FUZZ) run --fuzz-dir tests/fuzz $$target -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done
