"""Shared helpers for the bench drivers: the jujusim CLI, charm copies with the hook timer, and
the result files. Standard library only (runs on the system python3)."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
WORK = Path(os.environ.get("BENCH_WORK", "/tmp/haproxy-lb-bench"))
SIM = Path(os.environ.get("JUJUSIM_BIN", ROOT / "target/release/jujusim"))
OURS_BIN = Path(os.environ.get("OURS_BIN", ROOT / "target/x86_64-unknown-linux-gnu/release/haproxy-lb"))
TIMER = BENCH / "hook_timer.py"


def say(*parts):
    print("[bench]", *parts, flush=True)


class Sim:
    """One jujusim model; `destroy()` kills everything it started."""

    def __init__(self, name):
        self.dir = WORK / ("model-" + name)
        self.destroy()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.run("init", "--name", name)

    def run(self, *args, check=True, timeout=900):
        proc = subprocess.run(
            [str(SIM), "--model", str(self.dir), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            tail = subprocess.run(
                [str(SIM), "--model", str(self.dir), "debug-log"], capture_output=True, text=True
            ).stdout.splitlines()[-30:]
            raise RuntimeError(
                "jujusim {} failed ({}):\n{}{}\n--- debug-log tail ---\n{}".format(
                    " ".join(map(str, args)), proc.returncode, proc.stdout, proc.stderr, "\n".join(tail)
                )
            )
        return proc.stdout

    def timed(self, *args):
        started = time.perf_counter()
        self.run(*args)
        return time.perf_counter() - started

    def destroy(self):
        if self.dir.exists():
            subprocess.run([str(SIM), "--model", str(self.dir), "destroy"], capture_output=True, timeout=300)

    def status(self):
        return json.loads(self.run("status", "--format", "json"))

    def address(self, unit):
        app = unit.split("/")[0]
        return self.status()["applications"][app]["units"][unit]["public-address"]

    def workload(self, unit):
        app = unit.split("/")[0]
        return self.status()["applications"][app]["units"][unit]["workload-status"]

    def relation_id(self, unit, endpoint):
        shown = json.loads(self.run("show-unit", unit, "--format", "json"))
        info = shown.get(unit, shown)["relation-info"]
        ids = [r["relation-id"] for r in info if r["endpoint"] == endpoint]
        if len(ids) != 1:
            raise RuntimeError("{} has relations {} on {}".format(unit, ids, endpoint))
        return ids[0]

    def exec(self, unit, command, check=True):
        return self.run("exec", unit, "--", command, check=check)


def timed_charm(src_files, dest, real_dispatch, log, count_flag, venv=None):
    """A copy of a charm whose dispatch runs through the hook timer.

    `src_files`: (source path, name in the copy) pairs; `real_dispatch` becomes
    `dispatch.real`. Hook records go to `log` (JSON lines)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for src, name in src_files:
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)
    shutil.copy2(real_dispatch, dest / "dispatch.real")
    (dest / "dispatch").write_text(
        "#!/bin/sh\n# make bench: time this hook (bench/hook_timer.py), then exit with its status.\n"
        'exec /usr/bin/python3 {} {} "$(dirname "$0")/dispatch.real" {}\n'.format(TIMER, log, count_flag)
    )
    (dest / "dispatch").chmod(0o755)
    if venv is not None:
        (dest / ".venv-path").write_text(str(venv))
    return dest


def records(log):
    if not Path(log).exists():
        return []
    return [json.loads(line) for line in Path(log).read_text().splitlines() if line.strip()]


def summary_ms(values_us):
    ms = [v / 1000.0 for v in values_us]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2) if ms else None,
        "min_ms": round(min(ms), 2) if ms else None,
        "max_ms": round(max(ms), 2) if ms else None,
    }


def write_json(name, data):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    say("wrote", OUT / name)


def need(path, hint):
    if not Path(path).exists():
        sys.exit("bench: {} is missing ({})".format(path, hint))
