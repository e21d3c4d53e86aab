#!/usr/bin/env python3
"""make bench-footprint (issue 11 §4 and §5): the static binary's and the .charm's sizes, and
the simulator's cost per hook-tool call (`jujusim bench-tools`), so readers can subtract it.
The peak RSS of a full reconcile with 100 requests comes from bench/hooks.py (hooks-lb.json).
"""

import os
import re
import subprocess
import time

from simlib import BENCH, OURS_BIN, ROOT, SIM, Sim, need, say, write_json

CHARM = ROOT / "haproxy-lb.charm"
TOOL_CALLS = int(os.environ.get("BENCH_TOOL_CALLS", "1000"))


def main():
    need(OURS_BIN, "make build")
    need(CHARM, "make charm")
    need(SIM, "cargo build --release -p jujusim")
    file_out = subprocess.run(["file", "-L", str(OURS_BIN)], capture_output=True, text=True).stdout.strip()
    result = {
        "binary_bytes": OURS_BIN.stat().st_size,
        "binary_file": file_out.split(": ", 1)[-1],
        "charm_bytes": CHARM.stat().st_size,
    }
    sim = Sim("bench-tools")
    try:
        sim.run("deploy", BENCH / "charms/http-bench-unit", "probe")
        out = sim.run("bench-tools", TOOL_CALLS)
    finally:
        sim.destroy()
    m = re.search(r"(\d+) tool calls: (\d+) us per call \(spawning /bin/true: (\d+) us; the simulator's share: (-?\d+) us\)", out)
    if not m:
        raise SystemExit("bench-tools printed something unexpected: {!r}".format(out))
    result["tool_calls"] = int(m.group(1))
    result["tool_call_us"] = int(m.group(2))
    result["spawn_true_us"] = int(m.group(3))
    result["simulator_share_us"] = int(m.group(4))
    # The floor under the Python baseline's hooks: starting the interpreter and importing its
    # libraries, before any hook tool runs (median of 5).
    venv_python = ROOT / ".venv-bench-baseline/bin/python3"
    if venv_python.exists():
        for key, code in (("python_start_ms", "pass"), ("python_imports_ms", "import ops, loadbalancer_interface, jinja2")):
            times = []
            for _ in range(5):
                started = time.perf_counter()
                subprocess.run([str(venv_python), "-c", code], check=True)
                times.append((time.perf_counter() - started) * 1000)
            result[key] = round(sorted(times)[2], 1)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([str(OURS_BIN), "--version"], check=True, capture_output=True)
        times.append((time.perf_counter() - started) * 1000)
    result["ours_start_ms"] = round(sorted(times)[2], 2)
    # haproxy-lb runs `haproxy -v` in every hook (to report the workload version): HAProxy's own
    # time, which the notes subtract from "our own work".
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(["/usr/sbin/haproxy", "-v"], check=True, capture_output=True)
        times.append((time.perf_counter() - started) * 1000)
    result["haproxy_v_ms"] = round(sorted(times)[2], 2)
    say("footprint:", result)
    write_json("footprint.json", result)


if __name__ == "__main__":
    main()
