# dotcoin — one-command entry points. Each target installs what is missing first.
#
#   make run     start a node on the main (demo) network, mining to a fresh wallet address
#   make devnet  start a local network of three mining nodes and follow it (contrib/devnet.sh)
#   make compose-up / compose-down   the same three nodes in Docker containers (contrib/docker/)
#   make swarm-up / swarm-down       a scalable network on Docker Swarm (contrib/swarm/)
#   make test    build everything and run every test (what CI runs)
#   make bench   run the benchmarks
#   make fuzz    run every fuzz target for FUZZ_SECONDS seconds (needs nightly)
#   make install build the release binaries and install them into $(PREFIX)/bin (default /usr/local)

CARGO ?= cargo
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(CURDIR)/target
BIN := $(CARGO_TARGET_DIR)/debug
RELEASE_BIN := $(CARGO_TARGET_DIR)/release

.PHONY: deps build run devnet test bench lint fuzz docker-image compose-up compose-down install release-bins swarm-up swarm-down

# RocksDB's bindings are generated with libclang; the dashboard's browser test drives
# Debian's Chromium through chromedriver. The deployment tests need Docker with compose,
# debootstrap (to make the base image where no registry is reachable), systemd-analyze
# for the unit file and jq for contrib/devnet.sh. The third-party client tests
# (tests/clients.rs) install python-bitcoinlib with pip and the npm `bitcoin-core` client
# with npm. tests/prometheus.rs runs Debian's prometheus (and its promtool) against a devnet.
# A fresh Debian machine lacks them all.
DEB_PACKAGES := libclang-dev chromium chromium-driver docker.io docker-compose debootstrap systemd jq curl prometheus
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@missing=""; python3 -m pip --version >/dev/null 2>&1 || missing="$$missing python3-pip"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
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
	BIN=$(BIN) contrib/devnet.sh up 3 --mine
	BIN=$(BIN) contrib/devnet.sh status --follow

COMPOSE := docker-compose -f contrib/docker/docker-compose.yml -p dotcoin
# What ships (the image, and so compose and swarm) is a release build; the tests build
# their image from the dev profile's binaries instead (contrib/docker/build-image.sh).
release-bins: deps
	$(CARGO) build --workspace --release --bins

docker-image: release-bins
	PROFILE=release BIN=$(RELEASE_BIN) contrib/docker/build-image.sh

compose-up: docker-image
	$(COMPOSE) up -d
	@for n in 1 2 3; do \
		for _ in $$(seq 60); do \
			url=$$($(COMPOSE) logs node$$n 2>/dev/null | grep -ao 'http://[0-9.]*:8634/?token=[0-9a-f]*' | tail -1); \
			[ -n "$$url" ] && break; sleep 1; \
		done; \
		echo "node$$n dashboard: $${url/0.0.0.0:8634/127.0.0.1:500$$((n - 1))}"; \
	done

compose-down:
	$(COMPOSE) down

# SWARM_NODES / SWARM_MINERS: replicas of the node and miner services.
swarm-up: docker-image
	contrib/swarm/swarm.sh up $(SWARM_NODES) $(SWARM_MINERS)
	contrib/swarm/swarm.sh status

swarm-down:
	contrib/swarm/swarm.sh down

# One feature resolution for everything: `--all-targets` builds the binaries the functional
# tests start with the same dependency set `cargo test` uses, so nothing compiles twice.
test: deps
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace

# One table of every figure, headed by the CPU and L1 (contrib/bench/report.sh); the other
# criterion benchmarks run with `cargo bench --profile dev -p <crate>`.
bench: build
	BIN=$(BIN) contrib/bench/report.sh

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

# A release build of the three programs (overflow checks on, see Cargo.toml), installed
# into $(DESTDIR)$(PREFIX)/bin. Needs no root when PREFIX is yours; the first build
# compiles RocksDB with optimisations, which takes a while.
PREFIX ?= /usr/local
install: release-bins
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(RELEASE_BIN)/dotcoind $(RELEASE_BIN)/dotcoin-cli $(RELEASE_BIN)/dotcoin-wallet $(DESTDIR)$(PREFIX)/bin/
