#!/usr/bin/env bash
# HTTP load benchmark of the release binary on loopback (never any other address):
# throughput and p50/p99 latency for the cached hotspot GeoJSON and the premises GeoJSON
# at 64 and 256 connections, with wrk, as a browser asks for them (brotli) and, for the
# hotspots, as a gzip-only client does. Installs wrk from Debian if missing.
# The server and wrk are pinned to separate cores (taskset; the server gets the last core,
# wrk the others), so that neither preempts the other: on a shared core the load
# generator's time slices show up as server latency. FIREFLY_BENCH_PIN=0 turns that off.
# Usage: scripts/bench-http.sh [SECONDS]   (default 10 s per run)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
fi
cargo build --release --quiet --bin firefly
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/firefly"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
db="$work/bench.db"
(cd "$work" && "$bin" --db "$db" demo --no-serve --data "$OLDPWD/data" >/dev/null)
password="bench-password-$(date +%s%N)"
printf '%s\n' "$password" | "$bin" --db "$db" users add bench --role planner --password-stdin >/dev/null
cores=$(nproc)
server_pin=(); wrk_pin=(); wrk_threads=2
if [ "${FIREFLY_BENCH_PIN:-1}" != 0 ] && [ "$cores" -ge 2 ] && command -v taskset >/dev/null; then
  server_pin=(taskset -c "$((cores - 1))")
  wrk_pin=(taskset -c "0-$((cores - 2))")
  wrk_threads=$((cores - 1))
fi
port=$((20000 + RANDOM % 20000))
(cd "$work" && exec "${server_pin[@]}" "$bin" --db "$db" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1) &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
token=$(curl -sf -X POST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"bench\",\"password\":\"$password\"}" | sed -E 's/.*"token":"([^"]+)".*/\1/')
# A map viewport over Luton town centre, as the map UI asks for it.
hotspots="/api/v1/hotspots?method=kde&cell=50&bbox=-0.44,51.87,-0.40,51.89"
premises="/api/v1/premises"
# What Chromium sends (it decodes brotli and zstd too); wrk decodes nothing, it counts bytes.
browser='gzip, deflate, br, zstd'
body_size() {
  curl -sf -H "Authorization: Bearer $token" -H "accept-encoding: $2" "http://127.0.0.1:$port$1" -o /dev/null -w '%{size_download}'
}
# Warm the caches: the first hotspot request scores the data and the first premises
# request ranks the venues (a cold burst is answered too, by one computation per key).
# The second request of an answer has it recompressed at brotli's best level in the
# background; wait for that, as a popular answer on a live server would have it.
for path in "$hotspots" "$premises"; do
  for enc in "$browser" gzip; do body_size "$path" "$enc" >/dev/null; done
  last=$(body_size "$path" "$browser")
  for _ in $(seq 50); do
    sleep 0.2
    now=$(body_size "$path" "$browser")
    [ "$now" -lt "$last" ] && break
  done
done
size_br=$(body_size "$hotspots" "$browser")
size_gz=$(body_size "$hotspots" gzip)
pinning="not pinned"
[ ${#server_pin[@]} -gt 0 ] && pinning="server on core $((cores - 1)), wrk ($wrk_threads threads) on cores 0-$((cores - 2))"
echo "firefly HTTP benchmark: wrk, ${secs}s per run, release binary on 127.0.0.1, $cores cores ($pinning)"
echo "hotspot viewport: ${size_br} bytes brotli, ${size_gz} bytes gzip; premises: $(body_size "$premises" "$browser") bytes brotli"
run() { # path, accept-encoding, label
  for conns in 64 256; do
    echo "== GET $1 ($3), $conns connections"
    "${wrk_pin[@]}" wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $token" -H "accept-encoding: $2" \
      "http://127.0.0.1:$port$1" | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors|requests in'
  done
}
run "$hotspots" "$browser" "as a browser asks: brotli"
run "$premises" "$browser" "as a browser asks: brotli"
run "$hotspots" gzip "a gzip-only client"
