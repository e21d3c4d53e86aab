# haproxy-lb: every command a developer or CI needs. `make demo` and `make test` do all set-up
# on a fresh Debian machine themselves (apt-get, venvs).
SHELL := /bin/bash
.DEFAULT_GOAL := build

TARGET      := x86_64-unknown-linux-gnu
BIN         := target/$(TARGET)/release/haproxy-lb
CHARM       := haproxy-lb.charm
# With an explicit --target, RUSTFLAGS reach only the target code, not proc macros (askama).
STATIC_ENV  := RUSTFLAGS='-C target-feature=+crt-static'
APT_PACKAGES := haproxy curl socat iproute2 python3-venv zip unzip file

.PHONY: build charm test demo bench lint deps clean venv-lb

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

## venv-lb: the Python venv with ops + loadbalancer-interface (pinned) for the lb-requirer test
## charm and the loadbalancer golden tests; rebuilt when the pins change
LB_VENV := .venv-lb
LB_PINS := tests/charms/lb-requirer/requirements.txt
venv-lb: $(LB_VENV)/.installed
$(LB_VENV)/.installed: $(LB_PINS)
	flock /tmp/haproxy-lb-venv-lb.lock sh -c '\
	  if [ ! -f $@ ] || [ $(LB_PINS) -nt $@ ]; then \
	    rm -rf $(LB_VENV) && python3 -m venv $(LB_VENV) && \
	    $(LB_VENV)/bin/pip install -q --disable-pip-version-check -r $(LB_PINS) && touch $@; \
	  fi'

## test: everything
test: deps build venv-lb
	cargo test --workspace --locked

clean:
	cargo clean
	rm -f $(CHARM)
