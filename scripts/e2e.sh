#!/usr/bin/env bash
# The map UI's end-to-end tests: a fresh demo database in a temporary folder, one user per
# role with known passwords, `firefly serve` on a random loopback port, then the tests in
# tests/e2e (node --test, Debian's Chromium through playwright-core). Two more servers on the
# same database serve small PMTiles basemaps written by tests/e2e/make-pmtiles.mjs, raster
# (FIREFLY_URL_PMTILES) and vector (FIREFLY_URL_PMTILES_VECTOR), for the basemap tests.
# FIREFLY_BIN names the binary (default $CARGO_TARGET_DIR or target, release/firefly).
# Everything stays on loopback, over plain HTTP: the servers use the development cookie
# (--insecure-cookie).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${FIREFLY_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/firefly}
WORK=$(mktemp -d)
SERVER_PIDS=()
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK" "${EMPTY:-}"
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

# serve LOG [FLAGS...]: starts `firefly serve` on a random loopback port in $WORK and sets
# URL to its address once it listens.
serve() {
  local log=$1; shift
  (cd "$WORK" && exec "$BIN" serve --addr 127.0.0.1:0 --insecure-cookie "$@" >"$log" 2>&1) &
  SERVER_PIDS+=($!)
  URL=
  for _ in $(seq 1 100); do
    URL=$(sed -n 's/^Firefly API on \(http:\/\/[0-9.:]*\).*/\1/p' "$WORK/$log" | head -1)
    [ -n "$URL" ] && break
    sleep 0.1
  done
  [ -n "$URL" ] || { echo "the server did not start:"; cat "$WORK/$log"; exit 1; }
}
# The release binary alone is a working install: started in an empty folder with only --db,
# it serves the map UI built into it (issue 11). The browser tests below use that server.
EMPTY=$(mktemp -d)
(cd "$EMPTY" && exec "$BIN" --db "$WORK/firefly.db" serve --addr 127.0.0.1:0 --insecure-cookie >serve.log 2>&1) &
SERVER_PIDS+=($!)
URL=
for _ in $(seq 1 100); do
  URL=$(sed -n 's/^Firefly API on \(http:\/\/[0-9.:]*\).*/\1/p' "$EMPTY/serve.log" | head -1)
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "the server did not start:"; cat "$EMPTY/serve.log"; exit 1; }
grep -q "map UI: .*(from the copy built into this binary)" "$EMPTY/serve.log" ||
  { echo "the release binary does not serve its built-in map UI:"; cat "$EMPTY/serve.log"; exit 1; }
[ ! -e "$EMPTY/map-ui" ] || { echo "unexpected map-ui folder in $EMPTY"; exit 1; }
URL="$URL" node -e '
  const url = process.env.URL;
  (async () => {
    const index = await (await fetch(url + "/")).text();
    const app = await fetch(url + "/app.js");
    const body = await app.text();
    if (!index.includes("app.js") || app.status !== 200 || !body.includes("maplibre")) {
      console.error("the built-in map UI is incomplete: / or /app.js"); process.exit(1);
    }
  })().catch((e) => { console.error(e); process.exit(1); });'
echo "== e2e: the release binary ($(du -h "$BIN" | cut -f1)) serves its built-in map UI from an empty folder"
serve serve.log
URL_PLAIN=$URL
echo "== e2e: server on $URL_PLAIN"
node tests/e2e/make-pmtiles.mjs "$WORK/basemap.pmtiles"
serve serve-pmtiles.log --ui-dir "$ROOT/map-ui/dist" --basemap-pmtiles "$WORK/basemap.pmtiles"
URL_PMTILES=$URL
node tests/e2e/make-pmtiles.mjs "$WORK/vector.pmtiles" --vector
serve serve-vector.log --ui-dir "$ROOT/map-ui/dist" --basemap-pmtiles "$WORK/vector.pmtiles"
URL_PMTILES_VECTOR=$URL
echo "== e2e: servers with PMTiles basemaps on $URL_PMTILES (raster) and $URL_PMTILES_VECTOR (vector)"
mkdir -p tests/artifacts
cd tests
FIREFLY_URL=$URL_PLAIN FIREFLY_URL_PMTILES=$URL_PMTILES \
  FIREFLY_URL_PMTILES_VECTOR=$URL_PMTILES_VECTOR FIREFLY_PASSWORD=$PASS timeout 300 node --test --test-concurrency=1 --test-timeout=120000 e2e/
