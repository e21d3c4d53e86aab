#!/bin/bash
# Packs a charm zip the way charmcraft lays one out, from a built binary:
#   charm/build-charm.sh <dispatch binary> <output .charm> [repository root]
# Entries: dispatch (the binary, 0755), metadata.yaml, config.yaml, actions.yaml, manifest.yaml
# (bases in charmcraft's format), README.md (charm/README.md), icon.svg, and hooks/<name>
# symlinks to ../dispatch for the standard hooks and every relation hook of metadata.yaml.
set -euo pipefail
binary="${1:?usage: build-charm.sh <binary> <output.charm> [root]}"
output="${2:?usage: build-charm.sh <binary> <output.charm> [root]}"
root="${3:-$(cd "$(dirname "$0")/.." && pwd)}"

case "$output" in /*) ;; *) output="$PWD/$output" ;; esac
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

install -m 0755 "$binary" "$stage/dispatch"
for file in metadata.yaml config.yaml actions.yaml; do
  install -m 0644 "$root/$file" "$stage/$file"
done
install -m 0644 "$root/charm/README.md" "$stage/README.md"
install -m 0644 "$root/charm/icon.svg" "$stage/icon.svg"
mkdir -m 0755 "$stage/hooks"
for hook in $("$root/charm/hook-names.sh" "$root/metadata.yaml"); do
  ln -s ../dispatch "$stage/hooks/$hook"
done
# The static binary runs on any of these; Juju picks the charm's bases from this file.
cat > "$stage/manifest.yaml" <<MANIFEST
analysis:
  attributes:
  - name: language
    result: unknown
  - name: framework
    result: unknown
bases:
- architectures:
  - amd64
  channel: '22.04'
  name: ubuntu
- architectures:
  - amd64
  channel: '24.04'
  name: ubuntu
charmcraft-started-at: '$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)'
MANIFEST
chmod 0644 "$stage/manifest.yaml"

rm -f "$output"
# -y stores the hooks as symlinks (as charmcraft does); -X drops extra attributes.
(cd "$stage" && zip -q -X -y -r "$output" dispatch hooks metadata.yaml config.yaml \
  actions.yaml manifest.yaml README.md icon.svg)
