#!/usr/bin/env python3
"""Writes bench/RESULTS.md from bench/out/*.json (what the other bench scripts measured) and
prints a summary. Figures are taken as measured; the goals are reported, never asserted."""

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from simlib import OUT, ROOT

RESULTS = ROOT / "bench" / "RESULTS.md"


def load(name):
    path = OUT / name
    return json.loads(path.read_text()) if path.exists() else None


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:
        return "unknown ({})".format(e)


def machine():
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip()
    started = (OUT / "started").read_text().strip() if (OUT / "started").exists() else "unknown"
    return [
        ("date (UTC, start of the run)", started),
        ("nproc", sh("nproc")),
        ("CPU", cpu),
        ("memory", sh("free -g | awk '/Mem:/ {print $2\" GiB\"}'")),
        ("kernel", platform.release()),
        ("OS", sh(". /etc/os-release && echo $PRETTY_NAME")),
        ("HAProxy", sh("haproxy -v | head -1")),
        ("Rust", sh("rustc --version")),
        ("Python", sh("python3 --version")),
        ("load average at start", (OUT / "loadavg").read_text().strip() if (OUT / "loadavg").exists() else "unknown"),
        ("commit measured", (OUT / "commit").read_text().strip() if (OUT / "commit").exists()
         else sh("git -C {} rev-parse --short HEAD".format(ROOT))),
    ]


def ms(v):
    if v is None:
        return "-"
    if v >= 100:
        return "{:.0f}".format(v)
    if v >= 10:
        return "{:.1f}".format(v)
    return "{:.2f}".format(v)


def span(s):
    if not s:
        return "-"
    return "{} ({}–{})".format(ms(s["median_ms"]), ms(s["min_ms"]), ms(s["max_ms"]))


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    if r < 1:
        speed = 1 / r
        return "{:.3f} ({}× faster)".format(r, "{:.0f}".format(speed) if speed >= 10 else "{:.1f}".format(speed))
    return "{:.2f} ({:.1f}× slower)".format(r, r)


def mb(kb):
    return "{:.1f} MB".format(kb / 1024.0) if kb else "-"


def main():
    lines = []
    add = lines.append
    hooks = load("hooks-lb.json")
    http = load("hooks-http.json")
    scale = load("scale.json")
    reload_ = load("reload.json")
    foot = load("footprint.json")
    elapsed = (OUT / "elapsed").read_text().strip() if (OUT / "elapsed").exists() else None

    add("# haproxy-lb benchmarks")
    add("")
    add("Written by `make bench` (bench/report.py) from one run; every figure below comes from that run.")
    add("Ratios compare figures measured side by side in the same run. Nothing here is asserted by a test.")
    add("")
    add("## Machine")
    add("")
    add("| | |")
    add("|---|---|")
    for k, v in machine():
        add("| {} | {} |".format(k, v))
    if elapsed:
        add("| `make bench` measuring time | {} s (builds and venvs not included) |".format(elapsed))
    add("")

    # ---- goals
    goals = []
    summary = []
    cpu_goal_ratio = None
    if hooks:
        worst = None
        for n, row in hooks["results"].items():
            o = row["ours"]["excluding_haproxy"]["median_ms"]
            b = row["baseline"]["excluding_haproxy"]["median_ms"]
            speed = b / o if o else None
            if speed is not None and (worst is None or speed < worst[1]):
                worst = (n, speed)
        if worst:
            goals.append((
                "reconcile ≥ 50× faster than the Python baseline, excluding HAProxy's own time",
                "{:.0f}× at {} requests (the smallest of the three; all rows in §1)".format(worst[1], worst[0]),
                worst[1] >= 50,
            ))
        cpu_worst = None
        for n, row in hooks["results"].items():
            o = row["ours"]["excluding_haproxy"].get("cpu_ms_median")
            b = row["baseline"]["excluding_haproxy"].get("cpu_ms_median")
            if o and b and (cpu_worst is None or b / o < cpu_worst[1]):
                cpu_worst = (n, b / o)
        if cpu_worst:
            goals.append((
                "(same, counting only the hook process's own CPU time: no tools, no HAProxy)",
                "{:.0f}× at {} requests (the smallest of the three)".format(cpu_worst[1], cpu_worst[0]),
                cpu_worst[1] >= 50,
            ))
            cpu_goal_ratio = cpu_worst[1]
        peak = max(
            max(r["ours"]["excluding_haproxy"]["hwm_kb_max"], r["ours"]["including_haproxy"]["hwm_kb_max"])
            for r in hooks["results"].values()
        )
        goals.append(("peak RSS of a hook < 5 MB", "{} (VmHWM of the hook process, worst run)".format(mb(peak)), peak < 5 * 1024))
    if foot:
        goals.append(("static binary < 5 MB", "{:.2f} MB ({} bytes)".format(foot["binary_bytes"] / 1e6, foot["binary_bytes"]), foot["binary_bytes"] < 5_000_000))
    if scale:
        big = [r for r in scale["rows"] if r["servers"] == 10000]
        if big:
            t = (big[0]["build_us"] + big[0]["render_us"]) / 1000.0
            goals.append(("plan + render of 10,000 backends < 50 ms", "{} ms".format(ms(t)), t < 50))
    if reload_:
        d = reload_["during_reloads"]
        failed = d["close"]["failed"] + d["keepalive"]["failed"]
        goals.append((
            "0 failed requests across 50 reloads",
            "{} failed of {} ({} master reloads)".format(
                failed, d["close"]["requests"] + d["keepalive"]["requests"], reload_["master_reloads"]),
            failed == 0,
        ))
    add("## Goals")
    add("")
    add("| goal | measured | met |")
    add("|---|---|---|")
    for g, m, ok in goals:
        add("| {} | {} | {} |".format(g, m, "yes" if ok else "**no**"))
        summary.append("{:<80} {:<60} {}".format(g, m, "met" if ok else "MISSED"))
    add("")

    # ---- 1
    if hooks:
        add("## 1. Hook cost: haproxy-lb against a Python ops provider")
        add("")
        add("`lb-consumers-relation-changed` on each provider's unit; {} runs per cell; wall time of the hook".format(hooks["runs"]))
        add("process in ms as median (min–max), measured around the process by `bench/hook_timer.py`.")
        add("*Excluding HAProxy*: the hook fired with nothing changed, so each charm does its whole reconcile")
        add("(read every bag, validate, plan, render, compare with the installed file, answer, status) and")
        add("skips `haproxy -c` + reload because the bytes are unchanged. *Including HAProxy*: the same fire")
        add("after a comment line was appended to the installed haproxy.cfg, so each charm also runs")
        add("`haproxy -c`, installs its rendered file and reloads (measured directly, not subtracted), verifying the")
        add("reload on the master CLI as spec/haproxy.md §3 prescribes (both charms: poll every 100 ms, then a")
        add("1 s settle), which puts a floor of about 1.1 s under both. Tool calls counted in a separate run.")
        add("*Own CPU*: on-CPU time of the hook process itself (`/proc/PID/schedstat`, median), without the")
        add("tool and HAProxy processes it waits for.")
        add("Runs alternate between the two charms (and which goes first), so background load hits both alike.")
        if hooks.get("concurrent_with"):
            add("The http-units model below ran at the same time as this one (its set-up is 100 units joining one")
            add("by one, each a verified reload that mostly sleeps): it keeps `make bench` within its time budget,")
            add("adds background load to both charms alike, and makes absolute times here pessimistic.")
        add("Ratio = ours ÷ baseline.")
        add("")
        add("| requests | charm | excluding HAProxy | including HAProxy | own CPU, excl. (ms) | tool calls (excl / incl) | peak RSS (hook process) | peak RSS (process tree) |")
        add("|---|---|---|---|---|---|---|---|")
        for n, row in hooks["results"].items():
            for side in ("ours", "baseline"):
                r = row[side]
                add("| {} | {} | {} | {} | {} | {} / {} | {} | {} |".format(
                    n, "haproxy-lb" if side == "ours" else "Python baseline",
                    span(r["excluding_haproxy"]), span(r["including_haproxy"]),
                    ms(r["excluding_haproxy"].get("cpu_ms_median")),
                    r["tools_excluding"], r["tools_including"],
                    mb(max(r["excluding_haproxy"]["hwm_kb_max"], r["including_haproxy"]["hwm_kb_max"])),
                    mb(max(r["excluding_haproxy"]["tree_kb_max"], r["including_haproxy"]["tree_kb_max"])),
                ))
            o, b = row["ours"], row["baseline"]
            add("| {} | **ours ÷ baseline** | **{}** | {} | {} | {} | {} | |".format(
                n,
                ratio(o["excluding_haproxy"]["median_ms"], b["excluding_haproxy"]["median_ms"]),
                ratio(o["including_haproxy"]["median_ms"], b["including_haproxy"]["median_ms"]),
                ratio(o["excluding_haproxy"].get("cpu_ms_median"), b["excluding_haproxy"].get("cpu_ms_median")),
                ratio(o["tools_excluding"], b["tools_excluding"]).split(" ")[0] if o["tools_excluding"] and b["tools_excluding"] else "-",
                ratio(o["excluding_haproxy"]["hwm_kb_max"], b["excluding_haproxy"]["hwm_kb_max"]).split(" ")[0],
            ))
            summary.append("hooks {:>3} requests: excl ours {} ms vs baseline {} ms ({}); incl {} vs {} ms".format(
                n, ms(o["excluding_haproxy"]["median_ms"]), ms(b["excluding_haproxy"]["median_ms"]),
                ratio(o["excluding_haproxy"]["median_ms"], b["excluding_haproxy"]["median_ms"]),
                ms(o["including_haproxy"]["median_ms"]), ms(b["including_haproxy"]["median_ms"])))
        add("")
        names = hooks["results"].get("100", {}).get("ours", {}).get("tool_names_excluding")
        bnames = hooks["results"].get("100", {}).get("baseline", {}).get("tool_names_excluding")
        if names or bnames:
            add("Tool calls of one unchanged relation-changed at 100 requests, by tool: haproxy-lb {}; baseline {}.".format(
                ", ".join("{} {}".format(k, v) for k, v in (names or {}).items()),
                ", ".join("{} {}".format(k, v) for k, v in (bnames or {}).items())))
            inames = hooks["results"]["100"]["ours"].get("tool_names_including")
            ibnames = hooks["results"]["100"]["baseline"].get("tool_names_including")
            if inames or ibnames:
                add("With `haproxy -c` + reload at 100 requests: haproxy-lb {}; baseline {} (both log each `haproxy -c`".format(
                    ", ".join("{} {}".format(k, v) for k, v in (inames or {}).items()),
                    ", ".join("{} {}".format(k, v) for k, v in (ibnames or {}).items())))
                add("warning line through `juju-log`).")
            add("Every hook of haproxy-lb logs through `juju-log` at debug level, so logging is part of these counts.")
            add("")
    if http:
        add("### http units (haproxy-lb only: the baseline speaks only loadbalancer)")
        add("")
        add("`reverseproxy-relation-changed` with N related units of bench/charms/http-bench-unit (a shell charm")
        add("publishing hostname and port). *Including HAProxy*: one unit's port moves (`relation-set` through")
        add("`jujusim exec`), a server change haproxy-lb applies with a reload.")
        add("")
        add("| units | excluding HAProxy | including HAProxy | tool calls (excl) | peak RSS (hook process) |")
        add("|---|---|---|---|---|")
        for n, r in http["results"].items():
            inc = r["including_haproxy"]
            add("| {} | {} | {} | {} | {} |".format(
                n, span(r["excluding_haproxy"]), span(inc), r["tools_excluding"],
                mb(max(r["excluding_haproxy"]["hwm_kb_max"], inc["hwm_kb_max"] if inc else 0))))
        add("")

    # ---- 2
    if scale:
        add("## 2. Scale: plan + render, and `haproxy -c`")
        add("")
        add("`bench-scale` (bench/scale.rs, release build): `plan::build` + `render::render` on")
        add("services of 10 checked tcp servers each (10,000 servers = 1,000 frontends + 1,000 backends), median")
        add("of the repetitions; `haproxy -c` on the rendered file, median of 5, inside a network namespace of")
        add("its own (no DNS). µs/server = (build + render) ÷ servers.")
        add("")
        add("| servers | build (µs) | render (µs) | µs / server | haproxy -c (ms) | config size |")
        add("|---|---|---|---|---|---|")
        for r in scale["rows"]:
            add("| {:,} | {:,.0f} | {:,.0f} | {:.2f} | {} | {:,} bytes |".format(
                r["servers"], r["build_us"], r["render_us"], r["per_server_us"], ms(r["haproxy_check_us"] / 1000.0), r["config_bytes"]))
        rows = scale["rows"]
        if len(rows) >= 2:
            a, z = rows[1], rows[-1]
            grow = ((z["build_us"] + z["render_us"]) / (a["build_us"] + a["render_us"])) / (z["servers"] / a["servers"])
            add("")
            add("From {:,} to {:,} servers the cost per server changes by a factor {:.2f} (1.00 = linear).".format(
                a["servers"], z["servers"], grow))
        add("")

    # ---- 3
    if reload_:
        add("## 3. Reload under load")
        add("")
        add("haproxy-lb/0 in front of 3 units, each serving with a second HAProxy answering 200 (spec/haproxy.md")
        add("§3's setup; never python http.server, §9.13). Two wrk clients at once against the unit's namespace")
        add("address: {} keep-alive connections, and {} with `Connection: close`. A membership change is".format(
            reload_["connections_per_client"], reload_["connections_per_client"]))
        add("`jujusim config flap publish=false|true`: the third unit drops or restores its port, so haproxy-lb")
        add("removes or re-adds its server with a verified reload. {} changes ran back to back while the load ran".format(reload_["changes"]))
        add("in windows of at most 25 s ({} s of load in all); the master counted {} reloads meanwhile.".format(
            reload_["load_seconds_during_changes"], reload_["master_reloads"]))
        add("")
        add("| phase | client | requests | requests/s | failed | socket errors (connect/read/write/timeout) | non-2xx | p50 (ms) | p99 (ms) |")
        add("|---|---|---|---|---|---|---|---|---|")
        seconds = {"without_reloads": reload_.get("quiet_seconds", 15), "during_reloads": reload_["load_seconds_during_changes"]}
        for phase, key in (("without reloads", "without_reloads"), ("during {} reloads".format(reload_["changes"]), "during_reloads")):
            for client in ("keepalive", "close"):
                c = reload_[key][client]
                e = c["socket_errors"]
                add("| {} | {} | {:,} | {:,.0f} | {} | {}/{}/{}/{} | {} | {} | {} |".format(
                    phase, "keep-alive" if client == "keepalive" else "Connection: close", c["requests"],
                    c["requests"] / seconds[key], c["failed"],
                    e["connect"], e["read"], e["write"], e["timeout"], c["non2xx"], ms(c["p50_ms"]), ms(c["p99_ms"])))
        add("")
        add("p50 is the median of the windows' p50s, p99 the worst window's p99 (wrk reports per run);")
        add("requests/s divides by the phase's length. During the changes the new-connection client")
        add("(`Connection: close`) ran slower and with higher latency than without; none of its requests failed.")
        add("The cause was not isolated: the same 2 cores also ran every hook, `jujusim`, and each reload's new")
        add("worker beside the draining old one.")
        add("Median `jujusim config` call per change: {:.2f} s; median relation-changed hook: {} ms.".format(
            reload_["change_seconds_median"] or 0, ms(reload_["hook_ms_median"])))
        add("")

    # ---- 4, 5
    if foot or hooks:
        add("## 4. Footprint")
        add("")
        add("| | |")
        add("|---|---|")
        if foot:
            add("| static binary (`dispatch`) | {:,} bytes ({:.2f} MB), {} |".format(foot["binary_bytes"], foot["binary_bytes"] / 1e6, foot["binary_file"]))
            add("| `haproxy-lb.charm` | {:,} bytes ({:.2f} MB) |".format(foot["charm_bytes"], foot["charm_bytes"] / 1e6))
        if hooks and "100" in hooks["results"]:
            r = hooks["results"]["100"]["ours"]["including_haproxy"]
            b = hooks["results"]["100"]["baseline"]["including_haproxy"]
            add("| peak RSS, full reconcile with 100 requests (incl. `haproxy -c` + reload) | {} hook process; {} largest process of its tree (a child: a hook tool, `haproxy -v` or `haproxy -c`) |".format(
                mb(r["hwm_kb_max"]), mb(r["tree_kb_max"])))
            add("| same for the Python baseline | {} hook process; {} tree |".format(mb(b["hwm_kb_max"]), mb(b["tree_kb_max"])))
        add("")
    if foot:
        add("## 5. Simulator overhead per tool call")
        add("")
        add("`jujusim bench-tools {}` inside a unit: one `is-leader --format=json` costs {} µs, of which {} µs".format(
            foot["tool_calls"], foot["tool_call_us"], foot["spawn_true_us"]))
        add("is spawning any process (`/bin/true`) and {} µs the simulator's socket round trip. Multiply by a".format(foot["simulator_share_us"]))
        add("row's tool calls to see how much of a hook is the simulator (a real Juju agent's tool calls cost")
        add("more: each is a jujuc process talking to the unit agent).")
        add("")
        summary.append("tool call {} us ({} us spawn, {} us simulator)".format(foot["tool_call_us"], foot["spawn_true_us"], foot["simulator_share_us"]))
    add("## Where a goal is missed, and why")
    add("")
    missed = [g for g in goals if not g[2]]
    if not missed:
        add("Every goal is met in this run.")
        add("")
    if hooks and foot and any(g[0].startswith("reconcile") for g in missed):
        call_ms = foot["tool_call_us"] / 1000.0
        add("**Reconcile ≥ 50× faster.** A hook is mostly hook-tool calls, and each call is a process")
        add("(`bench-tools`: {:.2f} ms per call here, {:.2f} ms of it only spawning a process). Estimated".format(
            call_ms, foot["spawn_true_us"] / 1000.0))
        add("split of the unchanged relation-changed (tool calls × the bench-tools cost; the rest is the")
        add("process's own work, including start-up):")
        add("")
        # `haproxy -v` runs only in install, upgrade-charm and update-status, not in this hook.
        add("| requests | charm | wall (ms) | tool calls | in tool calls (ms, est.) | own work (ms, est.) |")
        add("|---|---|---|---|---|---|")
        own = {}
        for n, row in hooks["results"].items():
            for side in ("ours", "baseline"):
                r = row[side]
                wall = r["excluding_haproxy"]["median_ms"]
                calls = r["tools_excluding"] or 0
                rest = max(wall - calls * call_ms, 0.0)
                own[(n, side)] = rest
                add("| {} | {} | {} | {} | {} | {} |".format(
                    n, "haproxy-lb" if side == "ours" else "baseline", ms(wall), calls, ms(calls * call_ms), ms(rest)))
        add("")
        pairs = ["{}× at {}".format("{:.0f}".format(own[(n, "baseline")] / own[(n, "ours")]) if own[(n, "ours")] > 0 else "∞", n)
                 for n in hooks["results"]]
        add("Our own work against the baseline's own work: {} requests.".format(", ".join(pairs)))
        cpu_pairs = []
        for n, row in hooks["results"].items():
            o = row["ours"]["excluding_haproxy"].get("cpu_ms_median")
            b = row["baseline"]["excluding_haproxy"].get("cpu_ms_median")
            if o and b:
                cpu_pairs.append("{} ms against {} ms ({:.0f}×) at {}".format(ms(o), ms(b), b / o, n))
        if cpu_pairs:
            add("Measured rather than estimated, the on-CPU time of the hook process itself is {}".format("; ".join(cpu_pairs)))
            add("requests: what our process computes is cheap; the wall time goes to waiting for the processes it")
            add("starts (every tool call) and to the scheduler on a busy 2-core machine. On this")
            add("CPU measure the goal is missed by {:.0f}% ({:.1f}× of 50×).".format(max(0.0, (1 - cpu_goal_ratio / 50) * 100), cpu_goal_ratio)
                if cpu_goal_ratio is not None and cpu_goal_ratio < 50 else "CPU measure the goal is met.")
        last = list(hooks["results"])[-1]
        on = hooks["results"][last]["ours"].get("tool_names_excluding") or {}
        bn = hooks["results"][last]["baseline"].get("tool_names_excluding") or {}
        extra = ["{} {}×".format(k, on.get(k, 0) - bn.get(k, 0)) for k in sorted(on) if on.get(k, 0) > bn.get(k, 0)]
        add("haproxy-lb makes more tool calls than the baseline (at {} requests, the extra ones: {}):".format(last, ", ".join(extra)))
        add("it logs each hook through `juju-log` at debug level, lists all of its relation endpoints and reads")
        add("its ports and address on every hook, where the baseline reads only its one")
        add("endpoint. Those process spawns, not the Rust code, bound the ratio;")
        if "python_imports_ms" in foot:
            add("the baseline's floor is Python itself: starting the interpreter costs {} ms and importing".format(ms(foot["python_start_ms"])))
            add("ops + loadbalancer-interface + Jinja2 {} ms before any hook code runs; our binary starts in {} ms.".format(
                ms(foot["python_imports_ms"]), ms(foot["ours_start_ms"])))
        add("")
    if reload_ and any(g[0].startswith("0 failed") for g in missed):
        d = reload_["during_reloads"]
        add("**0 failed requests across 50 reloads.** With `Connection: close` (a new connection per request,")
        add("what the listener handover must not drop) {} of {:,} failed; the keep-alive client had {} of {:,}".format(
            d["close"]["failed"], d["close"]["requests"], d["keepalive"]["failed"], d["keepalive"]["requests"]))
        add("fail ({} read errors). spec/haproxy.md §3 measured the same on this HAProxy: at a reload the old".format(
            d["keepalive"]["socket_errors"]["read"]))
        add("worker closes its idle keep-alive connections, and a client that sends on one at that moment reads")
        add("a close. haproxy-lb's HTTP frontends carry `option idle-close-on-response` against exactly this")
        add("(tests/haproxy_process_lifecycle.rs): read errors here mean that protection did not hold.")
        add("")
    if any(g[0].startswith("peak RSS") for g in missed) or any(g[0].startswith("static binary") for g in missed) \
            or any(g[0].startswith("plan + render") for g in missed):
        add("A size, memory or render goal is missed above: see the figures in §2 and §4.")
        add("")
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n==== make bench summary (full table: bench/RESULTS.md) ====")
    for s in summary:
        print(s)


if __name__ == "__main__":
    main()
