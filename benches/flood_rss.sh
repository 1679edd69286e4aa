#!/usr/bin/env bash
# Peak resident memory while a child prints 1 GiB: ProcessExecutor (bounded
# capture + log file) against tokio::process::Command::output() (buffers it all).
# Each mode runs in its own process. Usage: bash benches/flood_rss.sh [BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
bytes="${1:-1073741824}"
cargo bench --bench flood_rss --no-run >/dev/null 2>&1 || cargo bench --bench flood_rss --no-run
for mode in executor tokio; do
  cargo bench --quiet --bench flood_rss -- "$mode" "$bytes"
done
