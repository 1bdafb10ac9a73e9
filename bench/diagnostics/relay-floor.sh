#!/usr/bin/env bash
# peerbench's side-by-side run with bench/diagnostics/bare-relay.ts in Keyward's place: what the
# least a graphql-ws chat gateway can do costs on this machine (no GraphQL, database, vault, usage
# or audit), measured the way Keyward and Portkey are. A diagnostic: bench/README.md says how to read it.
#
#   npm run build && PEERBENCH=<writable copy of ../shared/peerbench, npm ci done> bench/diagnostics/relay-floor.sh
#
# Every knob of run-side-by-side.sh passes through (CONC, REQUESTS, ROUNDS, FAKE_FLUSH, FAKE_DELAY_MS,
# OUT, ...). The relay's rows are the ones named "keyward" in peerbench's tables.
set -euo pipefail
PEERBENCH=${PEERBENCH:?set PEERBENCH to a writable copy of ../shared/peerbench with npm ci done}
checkout=$(cd "$(dirname "$0")/../.." && pwd)
relay="$checkout/dist/bench/diagnostics/bare-relay.js"
[ -f "$relay" ] || { echo "build first: npm run build (no $relay)"; exit 1; }
# run-side-by-side.sh starts "$KEYWARD_DIR/dist/src/main.js": a stand-in checkout whose entry is the relay.
standin=$(mktemp -d)
trap 'rm -rf "$standin"' EXIT
mkdir -p "$standin/dist/src"
printf 'require(%s);\n' "$(node -p 'JSON.stringify(process.argv[1])' "$relay")" > "$standin/dist/src/main.js"
cd "$PEERBENCH"
KEYWARD_DIR="$standin" ./run-side-by-side.sh
