#!/usr/bin/env bash
# Reproducible benchmark: installs wrk and Redis (Debian packages), builds the
# release binaries, then runs bench/bench.py, which prints the side-by-side
# table and ratios. Options are passed through (see bench/bench.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release -p chord-node --bin chord-node --example hello --example relay --example load
exec python3 bench/bench.py "$@"
