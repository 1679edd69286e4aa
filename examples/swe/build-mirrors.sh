#!/usr/bin/env bash
# Builds the git mirrors of the shipped SWE task set from their
# fast-export streams, one repository per stream, at
# OUT_DIR/agentkit-swe__NAME (the `owner__name` layout `agentctl swe run
# --repos OUT_DIR` reads). The streams carry every commit's author,
# committer, dates and message, so the commit ids are the same on every
# machine and match the base_commit of each instance.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-mirrors.sh OUT_DIR}
mkdir -p "$out"
for stream in "$here"/repos/*.fi; do
  name=$(basename "$stream" .fi)
  dir="$out/agentkit-swe__$name"
  rm -rf "$dir"
  git init -q -b main "$dir"
  git -C "$dir" config core.autocrlf false
  git -C "$dir" fast-import --quiet < "$stream"
  git -C "$dir" -c advice.detachedHead=false checkout -q -f main
done
