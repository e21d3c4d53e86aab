#!/bin/sh
# Prints the hook names the charm ships as `hooks/<name> -> ../dispatch` symlinks: the standard
# hooks, then the five relation hooks of every endpoint in the given metadata.yaml (spec §2).
# Endpoints are the keys two spaces deep under `provides:`, `requires:` and `peers:`.
set -eu
metadata="${1:?usage: hook-names.sh metadata.yaml}"
for hook in install start stop remove upgrade-charm config-changed update-status \
            leader-elected leader-settings-changed post-series-upgrade pre-series-upgrade; do
  echo "$hook"
done
awk '
  /^[^ #]/ { section = $1 }
  (section == "provides:" || section == "requires:" || section == "peers:") &&
    /^  [a-z][a-z0-9_-]*:[ \t]*$/ {
    name = $1; sub(":", "", name)
    n = split("created joined changed departed broken", events, " ")
    for (i = 1; i <= n; i++) print name "-relation-" events[i]
  }
' "$metadata"
