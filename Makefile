# haproxy-lb: every command a developer or CI needs. `make demo` and `make test` do all set-up
# on a fresh Debian machine themselves (apt-get, venvs).
SHELL := /bin/bash
.DEFAULT_GOAL := build

TARGET      := x86_64-unknown-linux-gnu
BIN         := target/$(TARGET)/release/haproxy-lb
CHARM       := haproxy-lb.charm
# With an explicit --target, RUSTFLAGS reach only the target code, not proc macros (askama).
STATIC_ENV  := RUSTFLAGS='-C target-feature=+crt-static'
APT_PACKAGES := haproxy curl socat iproute2 python3-venv zip unzip file openssl python3 util-linux

.PHONY: build charm test demo bench lint deps clean

## deps: install the system packages tests and the demo need (idempotent)
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## build: the static charm binary
build:
	$(STATIC_ENV) cargo build --release --locked --target $(TARGET) --bin haproxy-lb

## lint: formatting and clippy, as CI's hook checks them
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## test: everything
test: deps build
	cargo test --workspace --locked

clean:
	cargo clean
	rm -f $(CHARM)
