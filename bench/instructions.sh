#!/usr/bin/env bash
# Instructions per request, which do not depend on how busy the machine is:
# valgrind's callgrind counts them. Two runs of the same load, N1 and then N2
# keep-alive GETs, and the difference over N2 − N1 requests, so start-up and
# shutdown cancel out.
#
#   [KEEP=DIR] bench/instructions.sh [BIN] [N1] [N2]
#
# 0-hop: a lone node (maintenance timers at 10 minutes, so only requests
# count) answers GETs of a key it holds. 1-hop: two nodes (stabilize and
# repair 1 s), GETs through the first of a key the second owns, measured
# once the owner's view has settled: until three repair periods after its
# range changed and a repair round since, an owner does not trust its own
# copy and asks the other holders too (see node/src/absence.rs), which is
# not the steady state. Both figures include the few ticks of the run.
# Everything runs on 127.0.0.1; every process started is stopped by its pid.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/chord-node}
N1=${2:-500}
N2=${3:-2500}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
# KEEP=DIR keeps the callgrind files there for callgrind_annotate.
OUT=${KEEP:-$(mktemp -d)}; mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$OUT"; }
trap cleanup EXIT

get() { # PORT N KEY: N keep-alive GETs, each must be 200
  python3 - "$@" <<'PY'
import http.client, sys
port, n, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
for _ in range(n):
    c.request("GET", "/kv/" + key); r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
}
wait_for() { # URL TEXT: until the answer contains TEXT (no `grep -q` on a pipe: pipefail)
  for _ in $(seq 1 300); do
    local body; body=$(curl -sf "$1" 2>/dev/null || true)
    [[ $body == *"$2"* ]] && return 0
    sleep 0.2
  done
  echo "timed out: $1" >&2; exit 1
}
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n {gsub(",", "", $1); print $1; n=1}'; }
node() { # OUTFILE ARGS...: a node under callgrind, in the background
  local out=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" --threads 1 "$@" >"$out.log" 2>&1 &
  PIDS+=($!)
}
stop() { local p=${PIDS[-1]}; kill -INT "$p"; wait "$p" || true; unset 'PIDS[-1]'; }

zero_hop() { # N PORT -> total
  node "$OUT/zero.$1" --listen "127.0.0.1:$2" --stabilize-ms 600000 --repair-ms 600000
  wait_for "127.0.0.1:$2/healthz" ok
  curl -sf -XPUT "127.0.0.1:$2/kv/k" -d '{"a":1}' >/dev/null
  get "$2" "$1" k
  stop
  total "$OUT/zero.$1"
}

one_hop() { # N PORT_A PORT_B -> "entry owner" totals
  local f=(--stabilize-ms 1000 --repair-ms 1000)
  node "$OUT/a.$1" --listen "127.0.0.1:$2" "${f[@]}"
  wait_for "127.0.0.1:$2/healthz" ok
  node "$OUT/b.$1" --listen "127.0.0.1:$3" --join "127.0.0.1:$2" "${f[@]}"
  wait_for "127.0.0.1:$3/readyz" true
  wait_for "127.0.0.1:$2/status" "127.0.0.1:$3"
  local key=""
  for k in $(seq 1 500); do
    owner=$(curl -s -XPUT -o /dev/null -D - "127.0.0.1:$2/kv/k$k" -d 1 | tr -d '\r' | awk 'tolower($1)=="x-chord-owner:" {print $2}')
    if [ "$owner" = "127.0.0.1:$3" ]; then key=k$k; break; fi
  done
  [ -n "$key" ] || { echo "no key owned by the second node" >&2; exit 1; }
  # Settled: five repair rounds at the owner after the ring formed, more
  # than the three periods of the window plus one round that syncs.
  local r0; r0=$(rounds "$3")
  for _ in $(seq 1 300); do [ "$(rounds "$3")" -ge $((r0 + 5)) ] && break; sleep 0.2; done
  [ "$(rounds "$3")" -ge $((r0 + 5)) ] || { echo "the owner ran no repair rounds" >&2; exit 1; }
  get "$2" "$1" "$key"
  kill -INT "${PIDS[@]}"; wait "${PIDS[@]}" || true; PIDS=()
  echo "$(total "$OUT/a.$1") $(total "$OUT/b.$1")"
}

rounds() { curl -sf "127.0.0.1:$1/metrics" | awk '/^chord_repair_rounds_total/ {print $2; exit}'; }
per() { echo $(( ($2 - $1) / (N2 - N1) )); }
z1=$(zero_hop "$N1" 25801); z2=$(zero_hop "$N2" 25802)
read -r a1 b1 <<<"$(one_hop "$N1" 25803 25804)"
read -r a2 b2 <<<"$(one_hop "$N2" 25805 25806)"
echo "instructions per GET ($BIN, $((N2 - N1)) requests):"
echo "  0-hop, lone node:          $(per "$z1" "$z2")"
echo "  1-hop, at the entry:       $(per "$a1" "$a2")  (includes its ticks)"
echo "  1-hop, at the owner:       $(per "$b1" "$b2")  (includes its ticks)"
