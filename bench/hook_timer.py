#!/usr/bin/python3
"""Runs one hook process and records what it cost (used by `make bench`, never by a deployment).

bench/hooks.py installs a copy of each measured charm whose `dispatch` is a two-line shell
script exec'ing this file with the log path and the real dispatch. It spawns the real dispatch
(same argv[0]-less call Juju makes, same environment), waits for it, and appends one JSON line:

  hook     the hook name (from JUJU_DISPATCH_PATH)
  wall_us  spawn to exit, in microseconds (this wrapper's own start-up is not included)
  hwm_kb   VmHWM of the hook process itself, sampled every millisecond from /proc while it runs
           (the high-water mark only grows, so the last sample is its peak up to <= 1 ms
           before exit)
  cpu_us   on-CPU time of the hook process itself (/proc/PID/schedstat, same sampling): its own
           code, without the tools and HAProxy processes it waits for
  tree_kb  ru_maxrss from wait4: the largest process of the hook's tree (it includes the hook
           tools and `haproxy -c` the hook ran)
  rc       the exit status
  tools    hook-tool calls, only when the counting flag file exists: then a directory of shims
           (one per tool, each appends its name to a file then execs the real tool) goes first
           on PATH. Counting runs are separate from timed runs: the shims cost a shell each.
"""

import json
import os
import sys
import tempfile
import threading
import time

TOOLS = (
    "relation-ids relation-list relation-get relation-set config-get is-leader status-set "
    "status-get application-version-set open-port close-port opened-ports network-get unit-get "
    "juju-log action-get action-set action-fail action-log leader-get leader-set state-get "
    "state-set state-delete credential-get goal-state secret-get"
).split()


def tool_shims(tmp, count_file):
    real_dir = next(
        (d for d in os.environ.get("PATH", "").split(":") if d and os.path.exists(os.path.join(d, "relation-get"))),
        None,
    )
    if real_dir is None:
        return None
    shim_dir = os.path.join(tmp, "shims")
    os.mkdir(shim_dir)
    for tool in TOOLS:
        real = os.path.join(real_dir, tool)
        if not os.path.exists(real):
            continue
        path = os.path.join(shim_dir, tool)
        with open(path, "w") as f:
            f.write('#!/bin/sh\necho {} >> "{}"\nexec "{}" "$@"\n'.format(tool, count_file, real))
        os.chmod(path, 0o755)
    return shim_dir


def vm_hwm_kb(pid):
    try:
        with open("/proc/{}/status".format(pid)) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def on_cpu_ns(pid):
    """Time the process itself has spent on a CPU (/proc/PID/schedstat, ns; children excluded)."""
    try:
        with open("/proc/{}/schedstat".format(pid)) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def main():
    log_path, real, count_flag = sys.argv[1], sys.argv[2], sys.argv[3]
    env = dict(os.environ)
    hook = env.get("JUJU_DISPATCH_PATH", "").rsplit("/", 1)[-1]
    counting = os.path.exists(count_flag)
    tmp = tempfile.mkdtemp(prefix="hook-timer-") if counting else None
    count_file = os.path.join(tmp, "calls") if counting else None
    if counting:
        shims = tool_shims(tmp, count_file)
        if shims:
            env["PATH"] = shims + ":" + env["PATH"]
    hwm = [0]
    cpu = [0]
    done = threading.Event()
    started = time.perf_counter_ns()
    pid = os.posix_spawn(real, [real], env)

    def sample():
        while not done.is_set():
            hwm[0] = max(hwm[0], vm_hwm_kb(pid))
            cpu[0] = max(cpu[0], on_cpu_ns(pid))
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(pid, 0)
    wall_us = (time.perf_counter_ns() - started) // 1000
    done.set()
    record = {
        "hook": hook,
        "wall_us": wall_us,
        "hwm_kb": hwm[0],
        "cpu_us": cpu[0] // 1000,
        "tree_kb": usage.ru_maxrss,
        "rc": os.waitstatus_to_exitcode(status),
        "tools": None,
    }
    if counting:
        try:
            with open(count_file) as f:
                names = [line.strip() for line in f if line.strip()]
        except OSError:
            names = []
        record["tools"] = len(names)
        record["tool_names"] = {n: names.count(n) for n in sorted(set(names))}
    with open(log_path, "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
    sys.exit(record["rc"] if record["rc"] >= 0 else 1)


if __name__ == "__main__":
    main()
