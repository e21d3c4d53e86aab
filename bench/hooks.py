#!/usr/bin/env python3
"""make bench-hooks: hook cost of haproxy-lb against the Python baseline provider (issue 11 §1),
and the peak RSS of a full reconcile (§4), through jujusim with real HAProxy.

Both providers run in one model, each related to its own lb-bench-requirer app (same charm,
same config), so they see the same bags. Every provider hook goes through bench/hook_timer.py,
which records the hook's wall time (spawn to exit), its peak RSS and, in separate counting
runs, its hook-tool calls. Per request count N (1, 10, 100):

  excluding HAProxy: `jujusim fire <unit> lb-consumers-relation-changed` with nothing changed.
      Both charms run their whole reconcile (read every bag, validate, plan, render, compare
      with the installed file, answer, status) and skip `haproxy -c` + reload because the
      rendered bytes equal the installed file.
  including HAProxy: the same fire after a line was appended to the installed haproxy.cfg, so
      the rendered bytes differ from the installed file and each charm also runs `haproxy -c`,
      installs the file and does a verified reload (both charms verify as spec/haproxy.md §3
      says, including its 1 s settle).

A second model relates 1, 10 and 100 http units (bench/charms/http-bench-unit) to haproxy-lb's
reverseproxy endpoint: the baseline speaks only loadbalancer, so those rows have no ratio.
"""

import os
import shutil
import sys
import threading

from simlib import (
    BENCH,
    OURS_BIN,
    ROOT,
    SIM,
    WORK,
    Sim,
    need,
    records,
    say,
    summary_ms,
    timed_charm,
    write_json,
)

RUNS = int(os.environ.get("BENCH_RUNS", "10"))
COUNTS = [int(n) for n in os.environ.get("BENCH_COUNTS", "1,10,100").split(",")]
LB_VENV = ROOT / ".venv-lb"
BASE_VENV = ROOT / ".venv-bench-baseline"


def new_records(log, before, hook):
    return [r for r in records(log)[before:] if r["hook"] == hook]


def measure(sim, unit, log, hook, trigger, runs):
    """`runs` records of `hook` on `unit`, each produced by one `trigger()`."""
    out = []
    for i in range(runs):
        before = len(records(log))
        trigger(i)
        got = new_records(log, before, hook)
        if not got:
            raise RuntimeError("{}: no {} record after trigger {}".format(unit, hook, i))
        bad = [r for r in got if r["rc"] != 0]
        if bad:
            raise RuntimeError("{}: {} failed: {}\n{}".format(unit, hook, bad, sim.run("debug-log")[-3000:]))
        out.extend(got)
    return out


def counted(log, flag, before_trigger):
    """Tool calls of the next hook(s), with the counting shims on."""
    flag.write_text("")
    try:
        before = len(records(log))
        before_trigger()
        return [r for r in records(log)[before:] if r["tools"] is not None]
    finally:
        flag.unlink()


def stats(recs):
    s = summary_ms([r["wall_us"] for r in recs])
    s["hwm_kb_max"] = max(r["hwm_kb"] for r in recs)
    cpu = sorted(r.get("cpu_us", 0) for r in recs)
    s["cpu_ms_median"] = round(cpu[len(cpu) // 2] / 1000.0, 2)
    s["tree_kb_max"] = max(r["tree_kb"] for r in recs)
    return s


def frontends(sim, unit):
    cfg = sim.exec(unit, "cat /etc/haproxy/haproxy.cfg")
    return sum(1 for line in cfg.splitlines() if line.startswith("frontend "))


def lb_section(flag):
    ours_log, base_log = WORK / "ours-lb.jsonl", WORK / "baseline-lb.jsonl"
    for log in (ours_log, base_log):
        log.unlink(missing_ok=True)
    ours = timed_charm(
        [(ROOT / f, f) for f in ("metadata.yaml", "config.yaml", "actions.yaml")],
        WORK / "charms/haproxy-lb", OURS_BIN, ours_log, flag,
    )
    base_src = BENCH / "baseline-charm"
    base = timed_charm(
        [(base_src / f, f) for f in ("metadata.yaml", "config.yaml", "src", "templates")],
        WORK / "charms/haproxy-baseline", base_src / "dispatch", base_log, flag, venv=BASE_VENV,
    )
    requirer = WORK / "charms/lb-bench-requirer"
    shutil.rmtree(requirer, ignore_errors=True)
    shutil.copytree(BENCH / "charms/lb-bench-requirer", requirer)
    (requirer / ".venv-path").write_text(str(LB_VENV))

    sim = Sim("bench-hooks-lb")
    try:
        say("lb: deploying haproxy-lb, haproxy-baseline and two lb-bench-requirer apps")
        sim.run("deploy", ours, "haproxy-lb")
        sim.run("deploy", base, "haproxy-baseline")
        sim.run("deploy", requirer, "req-ours")
        sim.run("deploy", requirer, "req-base")
        sim.run("relate", "haproxy-lb:lb-consumers", "req-ours:lb-provider")
        sim.run("relate", "haproxy-baseline:lb-consumers", "req-base:lb-provider")
        sides = {
            "ours": ("haproxy-lb/0", "req-ours", ours_log),
            "baseline": ("haproxy-baseline/0", "req-base", base_log),
        }
        rids = {k: sim.relation_id(u, "lb-consumers") for k, (u, _, _) in sides.items()}
        hook = "lb-consumers-relation-changed"
        results = {}
        for n in COUNTS:
            say("lb: {} requests".format(n))
            for side, (unit, req_app, log) in sides.items():
                sim.run("config", req_app, "count={}".format(n))
            fires, changes = {}, {}
            for side, (unit, req_app, log) in sides.items():
                served = frontends(sim, unit)
                if served != n:
                    raise RuntimeError("{} serves {} frontends, not {}: {}".format(unit, served, n, sim.workload(unit)))

                def fire(_i, unit=unit, req_app=req_app, side=side):
                    sim.run("fire", unit, hook, "-r", rids[side], "--remote-unit", req_app + "/0")

                def change(_i, unit=unit, fire=fire):
                    # The installed haproxy.cfg no longer matches what the model renders, so the
                    # same reconcile also runs `haproxy -c`, installs and reloads. (A requirer
                    # change would do the same, plus a Python hook of the requirer per run.)
                    sim.exec(unit, "echo '# changed by make bench' >> /etc/haproxy/haproxy.cfg")
                    fire(_i)

                fires[side], changes[side] = fire, change
            # Runs alternate between the two charms (and which goes first), so a change in the
            # machine's background load hits both alike: the ratio is what this bench is for.
            excl = {side: [] for side in sides}
            incl = {side: [] for side in sides}
            for kind, triggers, out in (("excl", fires, excl), ("incl", changes, incl)):
                for i in range(RUNS):
                    order = list(sides) if i % 2 == 0 else list(reversed(list(sides)))
                    for side in order:
                        unit, _, log = sides[side]
                        out[side].extend(measure(sim, unit, log, hook, triggers[side], 1))
            row = {}
            for side, (unit, req_app, log) in sides.items():
                tools_excl = counted(log, flag, lambda: fires[side](0))
                tools_incl = counted(log, flag, lambda: changes[side](0))
                row[side] = {
                    "excluding_haproxy": stats(excl[side]),
                    "including_haproxy": stats(incl[side]),
                    "tools_excluding": tools_excl[-1]["tools"] if tools_excl else None,
                    "tools_including": tools_incl[-1]["tools"] if tools_incl else None,
                    "tool_names_excluding": tools_excl[-1].get("tool_names") if tools_excl else None,
                    "tool_names_including": tools_incl[-1].get("tool_names") if tools_incl else None,
                }
                say(
                    "  {:8} excl {:>8} ms  incl {:>8} ms  tools {}/{}  hwm {} kB".format(
                        side,
                        row[side]["excluding_haproxy"]["median_ms"],
                        row[side]["including_haproxy"]["median_ms"],
                        row[side]["tools_excluding"],
                        row[side]["tools_including"],
                        row[side]["excluding_haproxy"]["hwm_kb_max"],
                    )
                )
            results[str(n)] = row
        return results
    finally:
        sim.destroy()


def http_section(flag):
    log = WORK / "ours-http.jsonl"
    log.unlink(missing_ok=True)
    ours = timed_charm(
        [(ROOT / f, f) for f in ("metadata.yaml", "config.yaml", "actions.yaml")],
        WORK / "charms/haproxy-lb-http", OURS_BIN, log, flag,
    )
    sim = Sim("bench-hooks-http")
    try:
        sim.run("deploy", ours, "haproxy-lb")
        sim.run("deploy", BENCH / "charms/http-bench-unit", "web")
        sim.run("relate", "haproxy-lb:reverseproxy", "web:website")
        rid = sim.relation_id("haproxy-lb/0", "reverseproxy")
        web_rid = sim.relation_id("web/0", "website")
        hook = "reverseproxy-relation-changed"
        have = 1
        results = {}
        port = [8080]
        for n in COUNTS:
            if n > have:
                say("http: adding {} web units".format(n - have))
                sim.run("add-unit", "web", "-n", n - have)
                have = n

            def fire(_i):
                sim.run("fire", "haproxy-lb/0", hook, "-r", rid, "--remote-unit", "web/0")

            def change(_i):
                # One unit's bag changes (its port), as when one backend moves.
                port[0] = 8081 if port[0] == 8080 else 8080
                sim.exec("web/0", "relation-set -r website:{} port={}".format(web_rid, port[0]))

            say("http: {} units".format(n))
            excl = measure(sim, "haproxy-lb/0", log, hook, fire, RUNS)
            try:
                incl = measure(sim, "haproxy-lb/0", log, hook, change, RUNS)
            except RuntimeError as e:
                say("http: including-HAProxy runs failed: {}".format(str(e).splitlines()[0]))
                incl = None
            tools = counted(log, flag, lambda: fire(0))
            results[str(n)] = {
                "excluding_haproxy": stats(excl),
                "including_haproxy": stats(incl) if incl else None,
                "tools_excluding": tools[-1]["tools"] if tools else None,
            }
            say("  ours     excl {:>8} ms  incl {:>8}  tools {}".format(
                results[str(n)]["excluding_haproxy"]["median_ms"],
                results[str(n)]["including_haproxy"]["median_ms"] if incl else "-",
                results[str(n)]["tools_excluding"],
            ))
        return results
    finally:
        sim.destroy()


def main():
    need(SIM, "make bench builds it: cargo build --release -p jujusim")
    need(OURS_BIN, "make bench builds it: make build")
    need(LB_VENV / "bin/python3", "make venv-lb")
    need(BASE_VENV / "bin/python3", "make bench-venvs")
    WORK.mkdir(parents=True, exist_ok=True)
    for name in ("lb", "http"):
        (WORK / ("count-tools-" + name)).unlink(missing_ok=True)
    which = sys.argv[1:] or ["lb", "http"]
    # The two models run at the same time (each in its own thread): the http model's set-up is
    # 100 units joining one by one, each a verified reload that mostly sleeps, and running it
    # beside the lb comparison keeps `make bench` within its time budget. The lb ratios come
    # from interleaved runs, so the http model's load hits both charms alike.
    outcomes = {}

    def run(name, section, out_file):
        try:
            outcomes[name] = (out_file, {"runs": RUNS, "concurrent_with": [w for w in which if w != name],
                                         "results": section(WORK / ("count-tools-" + name))})
        except BaseException as e:  # re-raised below, after both threads end
            outcomes[name] = e

    threads = []
    if "lb" in which:
        threads.append(threading.Thread(target=run, args=("lb", lb_section, "hooks-lb.json")))
    if "http" in which:
        threads.append(threading.Thread(target=run, args=("http", http_section, "hooks-http.json")))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [o for o in outcomes.values() if isinstance(o, BaseException)]
    for name, outcome in outcomes.items():
        if not isinstance(outcome, BaseException):
            write_json(outcome[0], outcome[1])
    if failed:
        raise failed[0]


if __name__ == "__main__":
    main()
