#!/usr/bin/env bash
# The map UI's end-to-end tests: a fresh demo database in a temporary folder, one user per
# role with known passwords, `firefly serve` on a random loopback port, then the tests in
# tests/e2e (node --test, Debian's Chromium through playwright-core). FIREFLY_BIN names the
# binary (default $CARGO_TARGET_DIR or target, release/firefly). Everything stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${FIREFLY_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/firefly}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== e2e: loading the demo data into $WORK"
(cd "$WORK" && "$BIN" demo --data "$ROOT/data" --no-serve >demo.log 2>&1) || { cat "$WORK/demo.log"; exit 1; }
PASS=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
for spec in planner:planner officer:officer liaison:liaison admin:admin; do
  name=e2e-${spec%%:*}; role=${spec##*:}
  extra=(); [ "$role" = officer ] && extra=(--unit LN-FF1)
  printf '%s\n' "$PASS" | (cd "$WORK" && "$BIN" users add "$name" --role "$role" "${extra[@]}" --password-stdin >/dev/null)
done
# A second officer on another unit: the first must not see its itinerary.
printf '%s\n' "$PASS" | (cd "$WORK" && "$BIN" users add e2e-officer2 --role officer --unit BD-FF1 --password-stdin >/dev/null)

(cd "$WORK" && exec "$BIN" serve --addr 127.0.0.1:0 --ui-dir "$ROOT/map-ui/dist" >serve.log 2>&1) &
SERVER_PID=$!
URL=
for _ in $(seq 1 100); do
  URL=$(sed -n 's/^Firefly API on \(http:\/\/[0-9.:]*\).*/\1/p' "$WORK/serve.log" | head -1)
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "the server did not start:"; cat "$WORK/serve.log"; exit 1; }
echo "== e2e: server on $URL"
mkdir -p tests/artifacts
cd tests
FIREFLY_URL=$URL FIREFLY_PASSWORD=$PASS timeout 300 node --test --test-concurrency=1 --test-timeout=120000 e2e/
