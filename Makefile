# haproxy-lb: every command a developer or CI needs. `make demo` and `make test` do all set-up
# on a fresh Debian machine themselves (apt-get, venvs).
SHELL := /bin/bash
.DEFAULT_GOAL := build

TARGET      := x86_64-unknown-linux-gnu
BIN         := target/$(TARGET)/release/haproxy-lb
CHARM       := haproxy-lb.charm
# With an explicit --target, RUSTFLAGS reach only the target code, not proc macros (askama).
STATIC_ENV  := RUSTFLAGS='-C target-feature=+crt-static'
APT_PACKAGES := haproxy curl socat iproute2 python3-venv zip unzip file openssl python3 util-linux swift-proxy swift-account swift-container swift-object memcached pebble strace wrk

.PHONY: build check-static charm check-charm charm-lint charmcraft-project test demo bench lint deps clean venv-lb ops-venvs \
  bench-build bench-venvs bench-start bench-hooks bench-render bench-reload bench-footprint bench-report

# charmcraft, for `charm-lint` only (PyPI, in a venv this Makefile creates).
CHARMCRAFT_VENV    := .venv-charmcraft
CHARMCRAFT_VERSION := 4.5.0
# The largest static binary we accept (issue 3: goal < 5 MB).
MAX_BINARY_BYTES   := 5000000

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

## check-static: the release binary is statically linked, small, and runs with no libraries at all
check-static: build
	@out="$$(file -L $(BIN))"; echo "$$out"; \
	  case "$$out" in *"statically linked"*|*"static-pie linked"*) ;; \
	  *) echo "FAIL: $(BIN) is not statically linked" >&2; exit 1 ;; esac
	@out="$$(ldd $(BIN) 2>&1 || true)"; echo "ldd: $$out"; \
	  case "$$out" in *"=>"*) echo "FAIL: $(BIN) links shared libraries" >&2; exit 1 ;; \
	  *"statically linked"*|*"not a dynamic executable"*) ;; \
	  *) echo "FAIL: unexpected ldd output" >&2; exit 1 ;; esac
	@size=$$(stat -c %s $(BIN)); echo "size: $$size bytes"; \
	  [ $$size -lt $(MAX_BINARY_BYTES) ] || { echo "FAIL: $(BIN) is $$size bytes, over $(MAX_BINARY_BYTES)" >&2; exit 1; }
	@# Proof it needs nothing from the machine: run it in an empty root.
	@if [ "$$(id -u)" = 0 ]; then \
	  root=$$(mktemp -d) && cp $(BIN) $$root/dispatch && \
	  chroot $$root /dispatch --version && rm -rf $$root; \
	else echo "NOTE: not root, so the empty-root run of $(BIN) was not done"; fi

## charm: haproxy-lb.charm, the zip Juju deploys (the static binary as dispatch, hooks symlinks)
charm: check-static
	charm/build-charm.sh $(BIN) $(CHARM)
	@$(MAKE) --no-print-directory check-charm

## check-charm: the zip's entries and modes (unzip -Z)
check-charm:
	@listing="$$(unzip -Z $(CHARM))"; \
	for entry in dispatch metadata.yaml config.yaml actions.yaml manifest.yaml README.md icon.svg; do \
	  grep -Eq " $$entry$$" <<<"$$listing" || { echo "FAIL: $(CHARM) lacks $$entry" >&2; exit 1; }; \
	done; \
	grep -Eq '^-rwxr-xr-x .* dispatch$$' <<<"$$listing" || { echo "FAIL: dispatch is not 0755" >&2; exit 1; }; \
	for hook in $$(charm/hook-names.sh metadata.yaml); do \
	  grep -Eq "^lrwxrwxrwx .* hooks/$$hook$$" <<<"$$listing" || { echo "FAIL: hooks/$$hook is not a symlink" >&2; exit 1; }; \
	  [ "$$(unzip -p $(CHARM) hooks/$$hook)" = ../dispatch ] || { echo "FAIL: hooks/$$hook does not point at ../dispatch" >&2; exit 1; }; \
	done; \
	echo "$(CHARM): $$(grep -c '^[-l]' <<<"$$listing") entries, dispatch 0755, hooks -> ../dispatch"

$(CHARMCRAFT_VENV)/bin/charmcraft:
	python3 -m venv $(CHARMCRAFT_VENV)
	$(CHARMCRAFT_VENV)/bin/pip install -q --disable-pip-version-check charmcraft==$(CHARMCRAFT_VERSION)

## charm-lint: `charmcraft analyse` on the built charm; fails on any finding README.md does not explain
charm-lint: charm $(CHARMCRAFT_VENV)/bin/charmcraft
	$(CHARMCRAFT_VENV)/bin/python charm/analyse.py $(CHARMCRAFT_VENV)/bin/charmcraft $(CHARM)
	@# charm/charmcraft.yaml must load as a charmcraft project next to our metadata/config/actions.
	@project=$$(mktemp -d) && cp charm/charmcraft.yaml metadata.yaml config.yaml actions.yaml $$project/ && \
	  (cd $$project && $(CURDIR)/$(CHARMCRAFT_VENV)/bin/charmcraft expand-extensions >/dev/null 2>$$project/err) \
	  || { cat $$project/err >&2; echo "FAIL: charm/charmcraft.yaml is not a valid charmcraft project" >&2; exit 1; }; \
	  rm -rf $$project; echo "charm/charmcraft.yaml: valid charmcraft project"

## charmcraft-project: build/charmcraft-project, the committed tree laid out for `charmcraft pack`
charmcraft-project:
	rm -rf build/charmcraft-project && mkdir -p build/charmcraft-project
	git archive HEAD | tar -x -C build/charmcraft-project
	cp charm/charmcraft.yaml build/charmcraft-project/charmcraft.yaml
	@echo "now: cd build/charmcraft-project && charmcraft pack"

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

## ops-venvs: two ops generations for jujusim's ops-charm tests (jujusim/tests/ops_charms.rs):
## ops 2.23.2 (<= 3.3 argv forms: --format=json last, YAML to relation-set) and ops >= 3.8
## (-r endpoint:id). The tests create them too when absent.
OPS_OLD_VENV := .venv-ops-old
OPS_NEW_VENV := .venv-ops-new
ops-venvs: $(OPS_OLD_VENV)/.installed $(OPS_NEW_VENV)/.installed
$(OPS_OLD_VENV)/.installed:
	flock /tmp/haproxy-lb-ops-venvs.lock sh -c '[ -f $@ ] || { rm -rf $(OPS_OLD_VENV) && python3 -m venv $(OPS_OLD_VENV) && \
	  $(OPS_OLD_VENV)/bin/pip install -q --disable-pip-version-check "ops==2.23.2" && touch $@; }'
$(OPS_NEW_VENV)/.installed:
	flock /tmp/haproxy-lb-ops-venvs.lock sh -c '[ -f $@ ] || { rm -rf $(OPS_NEW_VENV) && python3 -m venv $(OPS_NEW_VENV) && \
	  $(OPS_NEW_VENV)/bin/pip install -q --disable-pip-version-check "ops>=3.8,<4" && touch $@; }'

## test: everything (integration tests drive target/debug/jujusim, built first)
test: deps check-static charm charm-lint venv-lb ops-venvs
	cargo build --locked -p jujusim
	cargo test --workspace --locked --no-fail-fast

## demo: build the charm, run it in a simulated model with real HAProxy and web units, show traffic
# The simulator is a test tool: its debug build (shared with `make test`) builds in a fraction of
# the time of an LTO release build and its tool calls stay well under a millisecond.
JUJUSIM := target/debug/jujusim
demo: deps charm venv-lb
	cargo build --locked -p jujusim
	tests/demo.sh $(CHARM) $(JUJUSIM)

## bench: haproxy-lb measured against a Python ops provider, render scale, reload under load,
## footprint (issue 11); writes bench/RESULTS.md and prints a summary. Each part also runs alone
## (bench-hooks, bench-render, bench-reload, bench-footprint; then bench-report). bench/README.md.
BENCH_VENV := .venv-bench-baseline
BENCH_PINS := bench/baseline-charm/requirements.txt
BENCH_OUT  := bench/out
bench: bench-build bench-venvs
	@$(MAKE) --no-print-directory bench-start
	@start=$$(date +%s); \
	  $(MAKE) --no-print-directory bench-footprint && \
	  $(MAKE) --no-print-directory bench-render && \
	  $(MAKE) --no-print-directory bench-hooks && \
	  $(MAKE) --no-print-directory bench-reload && \
	  echo $$(( $$(date +%s) - start )) > $(BENCH_OUT)/elapsed
	@$(MAKE) --no-print-directory bench-report

## bench-build: what the bench runs (the static charm binary and .charm, a release jujusim)
bench-build: deps charm
	cargo build --release --locked -p jujusim

## bench-venvs: .venv-lb (requirers) and .venv-bench-baseline (the Python baseline, pinned)
bench-venvs: venv-lb $(BENCH_VENV)/.installed
$(BENCH_VENV)/.installed: $(BENCH_PINS)
	rm -rf $(BENCH_VENV) && python3 -m venv $(BENCH_VENV) && \
	  $(BENCH_VENV)/bin/pip install -q --disable-pip-version-check -r $(BENCH_PINS) && touch $@

bench-start:
	@mkdir -p $(BENCH_OUT)
	@date -u '+%Y-%m-%d %H:%M UTC' > $(BENCH_OUT)/started
	@cut -d' ' -f1-3 /proc/loadavg > $(BENCH_OUT)/loadavg
	@git rev-parse --short HEAD > $(BENCH_OUT)/commit 2>/dev/null || echo unknown > $(BENCH_OUT)/commit

bench-hooks: bench-build bench-venvs
	python3 bench/hooks.py

bench-render: deps
	@mkdir -p $(BENCH_OUT)
	$(STATIC_ENV) cargo build --release --locked --target $(TARGET) --bin bench-scale
	target/$(TARGET)/release/bench-scale > $(BENCH_OUT)/scale.json.tmp
	mv $(BENCH_OUT)/scale.json.tmp $(BENCH_OUT)/scale.json

bench-reload: bench-build
	python3 bench/reload.py

bench-footprint: bench-build
	python3 bench/footprint.py

bench-report:
	python3 bench/report.py

clean:
	cargo clean
	rm -f $(CHARM)
	rm -rf build
