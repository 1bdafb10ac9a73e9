#!/usr/bin/env bash
# Instructions the gateway executes per chat, counted by valgrind's callgrind: repeatable where
# CPU time on a shared VM is not (a diagnostic, not a benchmark; bench/README.md says how to read it).
#
#   PEERBENCH=<writable copy of ../shared/peerbench, npm ci done> bench/diagnostics/instructions-per-chat.sh [node flags...]
#
# Starts peerbench's fake upstream and the built gateway (dist/) under callgrind with instrumentation
# off, on a new database of the PostgreSQL server at 127.0.0.1:5432; drives WARM chats through it
# at concurrency CONC (V8 is still optimizing for thousands of chats), then counts the user-space
# instructions of the next N (system calls and other processes are not counted). Prints one line:
# the total and the count per chat. Node flags given as arguments go to the gateway (for example
# `-r ./preload.js` to measure a variant). Needs valgrind, createdb/dropdb and curl.
# Knobs: WARM (5000), N (1000), CONC (16), FAKE_TOKENS (50), UPSTREAM_PORT (9031), KEYWARD_PORT (4431),
# KEYWARD_DIR (this checkout), OUT (a temporary directory: callgrind's output and both logs).
set -euo pipefail
PEERBENCH=${PEERBENCH:?set PEERBENCH to a writable copy of ../shared/peerbench with npm ci done}
KEYWARD_DIR=${KEYWARD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
WARM=${WARM:-5000} N=${N:-1000} CONC=${CONC:-16}
export UPSTREAM_PORT=${UPSTREAM_PORT:-9031} KEYWARD_PORT=${KEYWARD_PORT:-4431} GATEWAY_PORT=${GATEWAY_PORT:-8799}
export FAKE_TOKENS=${FAKE_TOKENS:-50} KEYWARD_KEY_SOURCE=PLATFORM
export KEYWARD_TOKEN=kw_instructions_token_$(openssl rand -hex 16)
OUT=${OUT:-$(mktemp -d)}
DB=keyward_instructions_$$
# vgdb (what callgrind_control talks through) names its pipes after USER and HOST, in the gateway's
# environment and in this script's alike.
export USER=${USER:-$(id -un)} HOST=127.0.0.1
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  dropdb -h 127.0.0.1 -U postgres --if-exists "$DB" 2>/dev/null || true
}
trap cleanup EXIT

cd "$PEERBENCH"
node fake-anthropic.mjs "$UPSTREAM_PORT" > "$OUT/fake.log" 2>&1 &
PIDS+=($!)
createdb -h 127.0.0.1 -U postgres "$DB"
env DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" NODE_ENV=production LOG_LEVEL=warn PORT="$KEYWARD_PORT" \
  KEYWARD_MASTER_KEY="$(openssl rand -base64 32)" KEYWARD_BOOTSTRAP_TOKEN="$KEYWARD_TOKEN" \
  ANTHROPIC_API_KEY="sk-ant-instructions-$(openssl rand -hex 8)" ANTHROPIC_BASE_URL="http://127.0.0.1:$UPSTREAM_PORT" \
  KEYWARD_MAX_STREAMS_PER_USER=100000 KEYWARD_MAX_STREAMS_PER_TENANT=100000 \
  valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file --callgrind-out-file="$OUT/callgrind.out" \
  node "$@" "$KEYWARD_DIR/dist/src/main.js" > "$OUT/gateway.log" 2>&1 &
GATEWAY=$!
PIDS+=("$GATEWAY")
for _ in $(seq 1200); do curl -s -o /dev/null "http://127.0.0.1:$KEYWARD_PORT/healthz" && break; sleep 0.5; done
drive() { node bench.mjs --targets targets.all.json --only keyward --conc "$CONC" --requests "$1" --rounds 1 > /dev/null; }
drive "$WARM"
callgrind_control -i on "$GATEWAY" > /dev/null 2>&1
drive "$N"
callgrind_control -i off "$GATEWAY" > /dev/null 2>&1
kill "$GATEWAY"
wait "$GATEWAY" 2>/dev/null || true
total=$(grep -h '^totals:' "$OUT"/callgrind.out* | awk '{sum += $2} END {print sum}')
echo "instructions: $total for $N chats, $((total / N)) per chat (warm-up $WARM, concurrency $CONC, $FAKE_TOKENS tokens; $OUT)"
