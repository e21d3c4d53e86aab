#!/usr/bin/env bash
# The haproxy-lb demo (`make demo`): a simulated Juju model with a real HAProxy and real web
# backends. Builds nothing itself: the Makefile hands it the charm and the jujusim binary.
#
#   tests/demo.sh <haproxy-lb.charm> <jujusim binary>
#
# Every address it talks to is one of the model's own network-namespace addresses (198.18.x.y),
# every loop is bounded, and everything it started is torn down on exit, even on failure.
set -euo pipefail

CHARM=$(readlink -f "$1")
SIM=$(readlink -f "$2")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export JUJUSIM_MODEL=${JUJUSIM_MODEL:-/tmp/haproxy-lb-demo}

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
sim() { printf '   $ jujusim %s\n' "$*"; "$SIM" "$@"; }

cleanup() {
  bold "Cleaning up: stopping every process the model started, removing its namespaces"
  "$SIM" destroy >/dev/null 2>&1 || true
  rm -rf "$JUJUSIM_MODEL"
}
trap cleanup EXIT

# Ask the load balancer N times (bounded: 2 s per request) and count who answered.
spread() {
  local addr=$1 port=$2 n=$3
  for _ in $(seq "$n"); do
    curl -s --max-time 2 "http://$addr:$port/" || echo "FAILED"
  done | sort | uniq -c | sed 's/^/     /'
}

status_field() { # unit field
  "$SIM" status --format=json | python3 -c '
import json,sys
unit=sys.argv[1]; app=unit.split("/")[0]; field=sys.argv[2]
u=json.load(sys.stdin)["applications"][app]["units"][unit]
print(u["workload-status"]["message"] if field=="message" else u[field])' "$1" "$2"
}

"$SIM" destroy >/dev/null 2>&1 || true
rm -rf "$JUJUSIM_MODEL"
START=$(date +%s)

bold "1. A new model (a simulated Juju controller: each unit gets its own machine)"
sim init --name demo

bold "2. Deploy haproxy-lb (the Rust charm, one static binary) and 3 units of a web app"
sim deploy "$CHARM" haproxy-lb
sim deploy "$ROOT/tests/charms/web" web -n 3
say "Each web unit serves its own unit name on its machine's address, port 8080."

bold "3. Relate them: web's 'website' (http interface) to our 'reverseproxy'"
sim relate haproxy-lb:reverseproxy web:website
sim status
LB=$(status_field haproxy-lb/0 public-address)
say "haproxy-lb/0 says: $(status_field haproxy-lb/0 message)"

bold "4. Traffic: 30 requests to http://$LB/ (the load balancer); who answered:"
spread "$LB" 80 30

bold "5. The config HAProxy is serving (rendered, checked with haproxy -c, installed atomically):"
"$SIM" exec haproxy-lb/0 -- "sed -n '/^frontend/,\$p' /etc/haproxy/haproxy.cfg" | sed 's/^/     /'

bold "6. Remove web/2 while a client keeps sending requests (bounded: 15 s at most)"
LOG=$(mktemp)
( end=$((SECONDS + 15)); ok=0; bad=0
  while [ $SECONDS -lt $end ] && [ ! -e "$LOG.stop" ]; do
    if curl -sf --max-time 2 "http://$LB/" >/dev/null; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
  done; echo "$ok $bad" > "$LOG" ) &
CLIENT=$!
sleep 1
sim remove-unit web/2
sleep 1
touch "$LOG.stop"; wait "$CLIENT"
read -r OK BAD < "$LOG"; rm -f "$LOG" "$LOG.stop"
say "During the change: $OK requests answered, $BAD failed."
say "Now 30 requests again:"
spread "$LB" 80 30

bold "7. A loadbalancer requirer: ops + loadbalancer-interface 1.2.1 (as kubernetes-control-plane uses it)"
REQ=$(mktemp -d)/lb-requirer
cp -r "$ROOT/tests/charms/lb-requirer" "$REQ"
echo "$ROOT/.venv-lb" > "$REQ/.venv-path"   # the hook env is fresh: where the pinned venv is
sim deploy "$REQ" lb-requirer -n 2
rm -rf "$(dirname "$REQ")"   # the model keeps its own copy
say "It asks, like kubernetes-control-plane: tcp, port_mapping {443: 6443}, an http /livez check."
sim relate haproxy-lb:lb-consumers lb-requirer:lb-provider
say "What the requirer's own library reads back (its get-responses action):"
"$SIM" run lb-requirer/leader get-responses --format json 2>/dev/null | python3 -c '
import json,sys
task=next(iter(json.load(sys.stdin).values()))
for name,r in json.loads(task["results"]["responses"])["responses"].items():
    print("     %s: success=%s address=%s received_hash matches sent_hash: %s" % (name, r.get("success"), r.get("address"), r.get("hash_matches")))'
say "10 TCP connections to $LB:443, who answered:"
for i in $(seq 10); do
  printf 'hello %s\n' "$i" | timeout 3 socat -t 2 - "TCP:$LB:443" || echo "FAILED"
done | awk '{print $1}' | sort | uniq -c | sed 's/^/     /'

bold "8. Operator action: juju run haproxy-lb/0 stats (HAProxy's runtime API, no reload)"
sim run haproxy-lb/0 stats

bold "Done in $(( $(date +%s) - START )) s. The model is torn down next."
