"""Runs `charmcraft analyse` on a built charm and fails on any finding README.md does not explain.

usage: analyse.py <charmcraft> <file.charm>
"""

import json
import subprocess
import sys

# Findings we accept, each explained in README.md ("charmcraft analyse").
EXPLAINED = {
    # Option names keep the classic HAProxy charm's underscore style so existing bundles work.
    ("naming-conventions", "warning"),
}
# Attribute checks only describe the charm (a Rust binary: language and framework unknown).
ATTRIBUTES_OK = {"language", "framework"}


def main() -> int:
    charmcraft, charm = sys.argv[1], sys.argv[2]
    run = subprocess.run(
        [charmcraft, "analyse", "--format", "json", charm],
        capture_output=True,
        text=True,
        check=False,
    )
    # charmcraft exits 0 when clean, 3 with warnings, 2 with errors, 1 when it cannot run;
    # the JSON is what we judge, so only a failure to run stops us here.
    if run.returncode not in (0, 2, 3):
        print(run.stdout, run.stderr, sep="\n", file=sys.stderr)
        print(f"FAIL: charmcraft analyse exited {run.returncode}", file=sys.stderr)
        return 1
    results = json.loads(run.stdout)
    unexplained = []
    for check in results:
        name, result = check["name"], check["result"]
        print(f"{name}: {result}")
        if check["check_type"] == "attribute" and name in ATTRIBUTES_OK:
            continue
        if result in ("ok", "nonapplicable") or (name, result) in EXPLAINED:
            continue
        unexplained.append(f"{name}: {result}: {check['text']}")
    if unexplained:
        print("FAIL: findings not explained in README.md:", *unexplained, sep="\n  ", file=sys.stderr)
        return 1
    print(f"charmcraft analyse: {len(results)} checks, no unexplained findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
