"""The lb-requirer charm (real `LBProvider` from loadbalancer-interface 1.2.1) under ops'
Harness, answered by our Rust code: `tests/loadbalancer_requirer_harness.rs` drives it.

Line protocol on stdin/stdout, every protocol line prefixed with `@@ `:
  -> `@@ {"requests": <requirer app bag>}`  the requests the library wrote
  <- `@@ {"changes": <bag changes>}`         our leader's relation-set (empty value = delete)
  -> `@@ {"report": ..., "status": ...}`     what the library reads back (get-responses action)
Steps, in order: all scenarios as leader; the same bag read by a non-leader; then `http`
withdrawn (its response must be deleted by us).
"""

import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "charms" / "lb-requirer" / "src"))

from ops.testing import Harness  # noqa: E402

from charm import LbRequirerCharm  # noqa: E402

PROVIDER = "haproxy-lb"


def send(obj):
    print("@@ " + json.dumps(obj, sort_keys=True), flush=True)


def receive():
    for line in sys.stdin:
        if line.startswith("@@ "):
            return json.loads(line[3:])
    raise SystemExit("driver: stdin closed")


def exchange(harness, rel):
    send({"requests": dict(harness.get_relation_data(rel, harness.charm.app.name))})
    changes = receive()["changes"]
    harness.update_relation_data(rel, PROVIDER, changes)
    report()


def report(harness=None):
    harness = harness or HARNESS
    out = harness.run_action("get-responses")
    send({"report": json.loads(out.results["responses"]), "status": str(harness.charm.unit.status.message)})


def main():
    global HARNESS
    # The library logs a traceback each time it meets the raw bad-protocol request (expected:
    # the reference cannot load it either); keep the test output readable.
    logging.getLogger("loadbalancer_interface").setLevel(logging.CRITICAL)
    config = json.loads(sys.argv[1])
    harness = Harness(LbRequirerCharm)
    HARNESS = harness
    harness.update_config(config)
    harness.set_leader(True)
    # Our leader has written `version` (spec §1): only then does the library send requests.
    rel = harness.add_relation("lb-provider", PROVIDER, app_data={"version": "1"})
    harness.add_relation_unit(rel, PROVIDER + "/0")
    harness.begin_with_initial_hooks()
    harness.update_relation_data(rel, harness.charm.unit.name, {"ingress-address": "127.0.4.21"})
    exchange(harness, rel)
    # A non-leader reads the same bag (it cannot read its own requests).
    harness.set_leader(False)
    report()
    harness.set_leader(True)
    # Withdraw `http`: the charm removes request_web; we must delete response_web.
    harness.update_config({"requests": config["requests"].replace("http,", "").replace(",http", "")})
    exchange(harness, rel)
    send({"done": True})


if __name__ == "__main__":
    main()
