#!/usr/bin/env bash
# `chordctl bench --ops get` on a ring of N process nodes against a lone
# node through the same client, in alternating rounds of one run, and the
# ratio of their throughputs (issue #13's "chordctl bench" target).
#
#   bench/ctlbench.sh [N] [ROUNDS] [DURATION] [CONCURRENCY]
#
# Builds nothing: run `make build` first (release chordctl, static node).
# Everything runs on 127.0.0.1; both clusters are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-16}; ROUNDS=${2:-3}; DUR=${3:-10s}; CONC=${4:-16}
CTL=target/release/chordctl
export CHORDCTL_NODE_BIN=${NODE_BIN:-$PWD/target/x86_64-unknown-linux-gnu/release/chord-node}
RING=ctlbench-ring; LONE=ctlbench-lone
cleanup() { $CTL --runtime process --cluster $RING down >/dev/null 2>&1 || true
            $CTL --runtime process --cluster $LONE down >/dev/null 2>&1 || true; }
trap cleanup EXIT
$CTL --runtime process --cluster $RING up "$N" >/dev/null
$CTL --runtime process --cluster $LONE up 1 >/dev/null
ops() { # CLUSTER -> ops/s of one bench round
  $CTL --runtime process --cluster "$1" bench --ops get --concurrency "$CONC" --duration "$DUR" -o json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["throughput"])'
}
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then ring=$(ops $RING); lone=$(ops $LONE); else lone=$(ops $LONE); ring=$(ops $RING); fi
  ratio=$(python3 -c "print(f'{$ring/$lone:.2f}')")
  ratios+=("$ratio")
  echo "round $r: $N process nodes ${ring%.*} ops/s, lone node ${lone%.*} ops/s, ratio $ratio"
done
echo "ratio per round: ${ratios[*]} (median $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'))"
