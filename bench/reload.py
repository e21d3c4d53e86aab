#!/usr/bin/env python3
"""make bench-reload (issue 11 §3): traffic through haproxy-lb while the charm changes
membership 50 times.

Model: haproxy-lb/0, an http-bench-unit app `web` (2 units) and `flap` (1 unit), all serving
with a fast backend (a second HAProxy answering 200, spec/haproxy.md §3 and §9.13) and related
to our reverseproxy endpoint. A membership change is `jujusim config flap publish=false|true`:
flap/0 deletes or restores its `port`, so our relation-changed drops or re-adds its server, a
change HAProxy can only take by a reload (a server added or removed).

Load: two wrk clients at once, bounded in time and connections, against the unit's namespace
address only: 8 keep-alive connections, and 8 with `Connection: close` (a new connection per
request, which is what a reload's listener handover must not drop). One window without any
change, then windows of at most 30 s each while the 50 changes run back to back (each change
is a verified reload of about 1.2 s, so 50 of them take longer than one 30 s window).
"""

import os
import re
import signal
import subprocess
import threading
import time

from simlib import BENCH, OURS_BIN, ROOT, SIM, WORK, Sim, need, records, say, timed_charm, write_json

CHANGES = int(os.environ.get("BENCH_RELOADS", "50"))
WINDOW_S = 25
BASELINE_S = 15
CONNECTIONS = 8


def unit_of(value):
    m = re.match(r"([\d.]+)(us|ms|s)$", value)
    if not m:
        return None
    n, u = float(m.group(1)), m.group(2)
    return n / 1000.0 if u == "us" else n if u == "ms" else n * 1000.0


def parse_wrk(text):
    out = {"requests": 0, "errors": 0, "non2xx": 0}
    m = re.search(r"(\d+) requests in", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
        out["errors"] = sum(map(int, m.groups()))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    for pct in ("50", "99"):
        m = re.search(r"^\s+{}(?:\.000)?%\s+(\S+)".format(pct), text, re.M)
        if m:
            out["p{}_ms".format(pct)] = unit_of(m.group(1))
    return out


def load_window(url, seconds, stop=None):
    """Both clients at once for `seconds`, or until `stop` is set (wrk prints its results on
    SIGINT); (keepalive, close) results."""
    procs = {}
    for name, close in (("keepalive", False), ("close", True)):
        args = ["wrk", "-t1", "-c{}".format(CONNECTIONS), "-d{}s".format(seconds), "--timeout", "5s", "--latency"]
        if close:
            args += ["-H", "Connection: close"]
        procs[name] = subprocess.Popen(args + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds + 30
    while any(p.poll() is None for p in procs.values()):
        if stop is not None and stop.is_set():
            time.sleep(1)  # the last change's reload is verified; keep 1 s of load after it
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            break
        if time.monotonic() > deadline:
            for p in procs.values():
                p.kill()
            break
        time.sleep(0.1)
    return {name: parse_wrk(p.communicate(timeout=30)[0]) for name, p in procs.items()}


def combine(windows):
    out = {}
    for kind in ("keepalive", "close"):
        ws = [w[kind] for w in windows]
        out[kind] = {
            "requests": sum(w["requests"] for w in ws),
            "failed": sum(w["errors"] + w["non2xx"] for w in ws),
            "socket_errors": {
                k: sum(w.get("socket_errors", {}).get(k, 0) for w in ws) for k in ("connect", "read", "write", "timeout")
            },
            "non2xx": sum(w["non2xx"] for w in ws),
            # Each window's percentiles; the table shows the median p50 and the worst p99.
            "p50_ms": sorted(w.get("p50_ms") or 0 for w in ws)[len(ws) // 2],
            "p99_ms": max(w.get("p99_ms") or 0 for w in ws),
            "windows": len(ws),
        }
    return out


def master_reloads(sim):
    """The master's reload count (`show proc`, spec/haproxy.md §3)."""
    show = sim.exec("haproxy-lb/0", "echo 'show proc' | socat stdio UNIX-CONNECT:/run/haproxy-master.sock", check=False)
    m = re.search(r"^\d+\s+master\s+(\d+)", show, re.M)
    return int(m.group(1)) if m else None


def main():
    need(SIM, "cargo build --release -p jujusim")
    need(OURS_BIN, "make build")
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / "ours-reload.jsonl"
    log.unlink(missing_ok=True)
    ours = timed_charm(
        [(ROOT / f, f) for f in ("metadata.yaml", "config.yaml", "actions.yaml")],
        WORK / "charms/haproxy-lb-reload", OURS_BIN, log, WORK / "count-tools-never",
    )
    web = BENCH / "charms/http-bench-unit"
    sim = Sim("bench-reload")
    try:
        sim.run("deploy", ours, "haproxy-lb")
        sim.run("deploy", web, "web", "-n", "2", "--config", "serve=true")
        sim.run("deploy", web, "flap", "--config", "serve=true")
        sim.run("relate", "haproxy-lb:reverseproxy", "web:website")
        sim.run("relate", "haproxy-lb:reverseproxy", "flap:website")
        status = sim.status()
        unit = status["applications"]["haproxy-lb"]["units"]["haproxy-lb/0"]
        addr = unit["public-address"]
        ports = [p.split("/")[0] for p in unit.get("open-ports", [])]
        if not ports:
            raise RuntimeError("haproxy-lb/0 opened no port: {}".format(unit))
        url = "http://{}:{}/".format(addr, ports[0])
        check = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url],
                               capture_output=True, text=True)
        if check.stdout != "200":
            raise RuntimeError("{} answered {!r}, not 200: {}".format(url, check.stdout, unit["workload-status"]))
        cfg = sim.exec("haproxy-lb/0", "cat /etc/haproxy/haproxy.cfg")
        servers = sum(1 for line in cfg.splitlines() if line.strip().startswith("server "))
        say("reload: {} ({} servers); {} s without changes".format(url, servers, BASELINE_S))
        quiet = load_window(url, BASELINE_S)

        hooks_before = 0
        done = threading.Event()
        change_times = []
        errors = []

        def changer():
            try:
                for i in range(CHANGES):
                    started = time.perf_counter()
                    sim.run("config", "flap", "publish={}".format("false" if i % 2 == 0 else "true"))
                    change_times.append(time.perf_counter() - started)
            except Exception as e:  # reported below, never hidden
                errors.append(str(e))
            finally:
                done.set()


        hooks_before = len(records(log))
        reloads_before = master_reloads(sim)
        thread = threading.Thread(target=changer)
        started = time.perf_counter()
        thread.start()
        windows = []
        while not done.is_set():
            windows.append(load_window(url, WINDOW_S, done))
            if len(windows) >= 8:  # bound: 8 windows of 25 s, whatever happens
                break
        thread.join(timeout=600)
        elapsed = time.perf_counter() - started
        if errors:
            raise RuntimeError("membership changes failed: {}".format(errors[0]))
        hooks = [r for r in records(log)[hooks_before:] if r["hook"] == "reverseproxy-relation-changed"]
        reload_log = sim.exec("haproxy-lb/0", "grep -c 'Reloading HAProxy\\|Loading success' /var/log/haproxy-lb/haproxy.log || true",
                              check=False)
        reloads_after = master_reloads(sim)
        result = {
            "url_kind": "haproxy-lb unit address (namespace)",
            "servers": servers,
            "changes": len(change_times),
            "change_seconds_median": sorted(change_times)[len(change_times) // 2] if change_times else None,
            "master_reloads": (reloads_after - reloads_before) if None not in (reloads_before, reloads_after) else None,
            "relation_changed_hooks": len(hooks),
            "hook_ms_median": sorted(r["wall_us"] for r in hooks)[len(hooks) // 2] / 1000.0 if hooks else None,
            "load_seconds_during_changes": round(elapsed, 1),
            "connections_per_client": CONNECTIONS,
            "quiet_seconds": BASELINE_S,
            "without_reloads": combine([quiet]),
            "during_reloads": combine(windows),
            "reload_log_lines": reload_log.strip(),
        }
        say("reload: {} changes, master reloads {}, quiet {} / during {}".format(
            result["changes"], result["master_reloads"], result["without_reloads"], result["during_reloads"]))
        write_json("reload.json", result)
    finally:
        sim.destroy()


if __name__ == "__main__":
    main()
