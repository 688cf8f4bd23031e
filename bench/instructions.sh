#!/usr/bin/env bash
# Instructions per request, which do not depend on how busy the machine is:
# valgrind's callgrind counts them. The nodes run under callgrind; after a
# warm-up of W keep-alive GETs their counters are zeroed (callgrind_control
# -z), N more GETs run, and the counts are dumped (-d): start-up, warm-up and
# shutdown are left out, and one run is enough. (Two runs of different
# lengths and their difference, as this script did first, varied by 10 k
# instructions a request between runs: the runs' start-ups differ.)
#
#   [KEEP=DIR] bench/instructions.sh [BIN] [N] [W]
#
# 0-hop: a lone node (maintenance timers at 10 minutes, so only requests
# count) answers GETs of a key it holds. 1-hop: two nodes (stabilize and
# repair 1 s), GETs through the first of a key the second owns, measured
# once the owner's view has settled: until three repair periods after its
# range changed and a repair round since, an owner does not trust its own
# copy and asks the other holders too (see node/src/absence.rs), which is
# not the steady state. The 1-hop figures include the few ticks of the run.
# Everything runs on 127.0.0.1; every process started is stopped by its pid.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/chord-node}
N=${2:-2000}
W=${3:-200}
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
zero() { for p in "$@"; do callgrind_control -z "$p" >/dev/null; done; }
dump() { for p in "$@"; do callgrind_control -d "$p" >/dev/null; done; }

zero_hop() { # PORT -> instructions per GET
  node "$OUT/zero" --listen "127.0.0.1:$1" --stabilize-ms 600000 --repair-ms 600000
  local pid=${PIDS[-1]}
  wait_for "127.0.0.1:$1/healthz" ok
  curl -sf -XPUT "127.0.0.1:$1/kv/k" -d '{"a":1}' >/dev/null
  get "$1" "$W" k
  zero "$pid"; get "$1" "$N" k; dump "$pid"
  stop
  echo $(( $(total "$OUT/zero.1") / N ))
}

one_hop() { # PORT_A PORT_B -> "entry owner" instructions per GET
  local f=(--stabilize-ms 1000 --repair-ms 1000) B=$2
  node "$OUT/a" --listen "127.0.0.1:$1" "${f[@]}"
  wait_for "127.0.0.1:$1/healthz" ok
  node "$OUT/b" --listen "127.0.0.1:$2" --join "127.0.0.1:$1" "${f[@]}"
  wait_for "127.0.0.1:$B/readyz" true
  wait_for "127.0.0.1:$1/status" "127.0.0.1:$B"
  local key=""
  for k in $(seq 1 500); do
    owner=$(curl -s -XPUT -o /dev/null -D - "127.0.0.1:$1/kv/k$k" -d 1 | tr -d '\r' | awk 'tolower($1)=="x-chord-owner:" {print $2}')
    if [ "$owner" = "127.0.0.1:$B" ]; then key=k$k; break; fi
  done
  [ -n "$key" ] || { echo "no key owned by the second node" >&2; exit 1; }
  # Settled: five repair rounds at the owner after the ring formed, more
  # than the three periods of the window plus one round that syncs.
  local r0; r0=$(rounds "$B")
  for _ in $(seq 1 300); do [ "$(rounds "$B")" -ge $((r0 + 5)) ] && break; sleep 0.2; done
  [ "$(rounds "$B")" -ge $((r0 + 5)) ] || { echo "the owner ran no repair rounds" >&2; exit 1; }
  get "$1" "$W" "$key"
  local a=${PIDS[0]} b=${PIDS[1]}
  zero "$a" "$b"; get "$1" "$N" "$key"; dump "$a" "$b"
  kill -INT "${PIDS[@]}"; wait "${PIDS[@]}" || true; PIDS=()
  echo "$(( $(total "$OUT/a.1") / N )) $(( $(total "$OUT/b.1") / N ))"
}

rounds() { curl -sf "127.0.0.1:$1/metrics" | awk '/^chord_repair_rounds_total/ {print $2; exit}'; }
z=$(zero_hop 25801)
read -r a b <<<"$(one_hop 25803 25804)"
echo "instructions per GET ($BIN, $N requests after $W):"
echo "  0-hop, lone node:          $z"
echo "  1-hop, at the entry:       $a  (includes its ticks)"
echo "  1-hop, at the owner:       $b  (includes its ticks)"
