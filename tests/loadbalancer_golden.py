"""Golden and differential checks of haproxy-lb's loadbalancer wire format against the real
library (`loadbalancer-interface` 1.2.1, run from `.venv-lb`).

Driven by `tests/loadbalancer_golden.rs`, which writes a JSON file of cases made by our Rust
code and runs:

  python loadbalancer_golden.py responses CASES.json
      Each case holds the content of one response and the bytes our Rust code wrote for it.
      The library builds the same response itself (`Response.dumps()`); the bytes must be
      identical. Then the library parses our bytes the way requirers do (`get_response` =
      `Response(request)._update(json.loads(...))`, and the provider-side `Request.loads`)
      without raising, and reads back the same content.

  python loadbalancer_golden.py requests CASES.json
      Each case holds a request string and what our Rust parser made of it (or null when we
      skip it). The library's schema loads the same string; accept/skip and every normalised
      field must agree. For requests carrying a sent_hash, the library's own hash must match.

Prints one line per failure and a closing `N passed, M failed`; exits 1 on any failure.
"""

import json
import sys

from marshmallow import ValidationError
from loadbalancer_interface.schemas import v1


def library_response(case):
    request = v1.Request()
    request.name = case["name"]
    response = v1.Response(request)
    response.address = case["address"]
    response.error = v1.ErrorTypes[case["error"]] if case["error"] else None
    response.error_fields = dict(case["error_fields"])
    response.error_message = case["error_message"]
    response.received_hash = case["received_hash"]
    return response


def check_response(case):
    problems = []
    expected = library_response(case).dumps()
    if expected != case["wire"]:
        problems.append("bytes differ:\n  library: {}\n  ours:    {}".format(expected, case["wire"]))
    # The requirer's read path (LBProvider.get_response).
    request = v1.Request()
    request.name = case["name"]
    parsed = v1.Response(request)
    try:
        parsed._update(json.loads(case["wire"]))
    except Exception as e:  # any exception here fails a requirer hook
        return problems + ["library refused our response: {!r}".format(e)]
    error = parsed.error.name if parsed.error else None
    read_back = {
        "address": parsed.address,
        "error": error,
        "error_fields": parsed.error_fields,
        "error_message": parsed.error_message,
        "received_hash": parsed.received_hash,
    }
    for key, value in read_back.items():
        if value != case[key]:
            problems.append("read back {}={!r}, want {!r}".format(key, value, case[key]))
    if not bool(parsed):
        problems.append("library considers the response invalid (hash is None)")
    # The provider-side read path (LBConsumers.all_requests: Request.loads(request, response)).
    minimal = json.dumps({"id": "x", "name": case["name"], "protocol": "tcp", "port_mapping": {"1": 1}})
    try:
        v1.Request.loads(minimal, case["wire"])
    except Exception as e:
        problems.append("Request.loads refused our response: {!r}".format(e))
    return problems


def normalise_request(request):
    """The library's loaded request as the neutral JSON our Rust side also produces."""
    return {
        "id": request.id,
        "name": request.name,
        "protocol": request.protocol.value,
        "port_mapping": sorted([k, v] for k, v in request.port_mapping.items()),
        "backends": list(request.backends),
        "algorithm": list(request.algorithm),
        "sticky": request.sticky,
        "health_checks": [
            {
                "protocol": hc.protocol.value,
                "port": hc.port,
                "path": hc.path,
                "interval": hc.interval,
                "retries": hc.retries,
            }
            for hc in request.health_checks
        ],
        "public": request.public,
        "tls_termination": request.tls_termination,
        "tls_cert": request.tls_cert,
        "tls_key": request.tls_key,
        "ingress_address": request.ingress_address,
        "sent_hash": request.sent_hash,
    }


def check_request(case):
    try:
        loaded = v1.Request.loads(case["text"])
        library = normalise_request(loaded)
    except (ValidationError, ValueError, TypeError, AttributeError):
        # ValidationError: the reference skips it; ValueError: not JSON (the reference would
        # even crash); TypeError/AttributeError: not an object.
        library = None
    problems = []
    if library != case["ours"]:
        problems.append("library {!r}\n  ours    {!r}".format(library, case["ours"]))
    if library is not None and library["sent_hash"] is not None and case.get("check_hash"):
        loaded.sent_hash = None
        if loaded.hash != library["sent_hash"]:
            problems.append("sent_hash {} but the library computes {}".format(library["sent_hash"], loaded.hash))
    return problems


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        cases = json.load(f)
    check = {"responses": check_response, "requests": check_request}[mode]
    passed = failed = 0
    for case in cases:
        problems = check(case)
        if problems:
            failed += 1
            for p in problems:
                print("FAIL {}: {}".format(case["label"], p))
        else:
            passed += 1
    print("{} passed, {} failed".format(passed, failed))
    sys.exit(1 if failed or not cases else 0)


if __name__ == "__main__":
    main()
