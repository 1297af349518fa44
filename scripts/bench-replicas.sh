#!/usr/bin/env bash
# Two `firefly serve` replicas on one database, under load on loopback (never any other
# address): the demo data loaded once, one login (its token serves both replicas), then
# two wrk processes at once, each with half the connections on one replica (no load
# balancer needed to split them), asking for the cached hotspot viewport as a browser does.
# Prints each replica's throughput, p50/p99 latency and errors.
#
# Usage: scripts/bench-replicas.sh [sqlite|postgres] [SECONDS] [CONNECTIONS]
#   postgres (default): a throwaway PostgreSQL + PostGIS cluster (scripts/pg-cluster.sh),
#     or the server of FIREFLY_BENCH_POSTGRES (a postgres:// URL of an empty database).
#   sqlite: both replicas on one SQLite file (WAL), for comparison.
# Installs wrk from Debian if missing. Defaults: 10 s, 256 connections in all.
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-postgres}"
secs="${2:-10}"
conns="${3:-256}"
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
fi
cargo build --release --quiet --bin firefly
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/firefly"
work="$(mktemp -d /tmp/firefly-bench.XXXXXX)"
pgdir=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$pgdir" ]; then ./scripts/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"; fi
  rm -rf "$work"
}
trap cleanup EXIT

case "$backend" in
  postgres)
    if [ -n "${FIREFLY_BENCH_POSTGRES:-}" ]; then
      db="$FIREFLY_BENCH_POSTGRES"
    else
      ./scripts/setup-postgres.sh
      # Its own folder: the cluster runs as another user, who cannot enter "$work".
      pgdir="$(mktemp -d /tmp/firefly-bench-pg.XXXXXX)"
      db=$(./scripts/pg-cluster.sh start "$pgdir")
    fi
    ;;
  sqlite) db="$work/bench.db" ;;
  *) echo "usage: $0 [sqlite|postgres] [SECONDS] [CONNECTIONS]" >&2; exit 2 ;;
esac

(cd "$work" && "$bin" --db "$db" demo --no-serve --data "$OLDPWD/data" >/dev/null)
password="bench-password-$(date +%s%N)"
printf '%s\n' "$password" | "$bin" --db "$db" users add bench --role planner --password-stdin >/dev/null

ports=()
for replica in 1 2; do
  port=$((20000 + RANDOM % 20000))
  (cd "$work" && exec "$bin" --db "$db" serve --addr "127.0.0.1:$port" >"$work/server$replica.log" 2>&1) &
  pids+=($!)
  ports+=("$port")
done
for port in "${ports[@]}"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
done
token=$(curl -sf -X POST "http://127.0.0.1:${ports[0]}/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"bench\",\"password\":\"$password\"}" | sed -E 's/.*"token":"([^"]+)".*/\1/')
# A map viewport over Luton town centre, as the map UI asks for it.
hotspots="/api/v1/hotspots?method=kde&cell=50&bbox=-0.44,51.87,-0.40,51.89"
browser='gzip, deflate, br, zstd'
# Warm both replicas' caches (the login made on replica 1 is a session on replica 2 too),
# and give the background brotli recompression of a popular answer time to land.
for port in "${ports[@]}"; do
  for _ in 1 2 3; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
      -H "accept-encoding: $browser" "http://127.0.0.1:$port$hotspots")
    [ "$code" = 200 ] || { echo "replica on $port answered $code" >&2; exit 1; }
  done
done
sleep 3
echo "firefly replicas benchmark: $backend, 2 replicas, $conns connections in all ($((conns / 2)) per replica), ${secs}s, $(nproc) cores, loopback"
for i in 0 1; do
  wrk -t1 -c"$((conns / 2))" -d"${secs}s" --latency -H "Authorization: Bearer $token" \
    -H "accept-encoding: $browser" "http://127.0.0.1:${ports[$i]}$hotspots" >"$work/wrk$i.txt" &
  pids+=($!)
done
wait "${pids[@]:2}"
total=0
for i in 0 1; do
  echo "== replica $((i + 1)) (127.0.0.1:${ports[$i]})"
  grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors|requests in' "$work/wrk$i.txt"
  rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/wrk$i.txt")
  total=$(awk -v a="$total" -v b="${rps:-0}" 'BEGIN { printf "%.0f", a + b }')
done
echo "== both replicas: $total requests/s"
