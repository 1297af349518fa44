#!/usr/bin/env bash
# The one test command: what the README's second command and CI (.ci/run) both run.
# Formatting, lints, then every test in the workspace (unit, integration, end-to-end, on
# SQLite), then the storage and HTTP suites again on PostgreSQL + PostGIS (Debian's
# packages, a throwaway cluster on loopback in a temporary folder), then the map UI: its
# setup and build (scripts/setup-ui.sh) and its browser tests in Debian's Chromium against
# a release `firefly serve` on loopback (scripts/e2e.sh, under 5 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean CI build compiles everything once: incremental caches would only take disk.
if [[ "${CI:-}" == "true" ]]; then export CARGO_INCREMENTAL=0; fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== build tools for the HiGHS solver (the rota model's exact check)"
./scripts/setup-solver.sh
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== PostgreSQL + PostGIS: install (idempotent) and start a throwaway cluster on loopback"
./scripts/setup-postgres.sh
pgdir=$(mktemp -d /tmp/firefly-pg.XXXXXX)
trap './scripts/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"' EXIT
pg_url=$(./scripts/pg-cluster.sh start "$pgdir")
# Over TLS, checked as a deployment should (the cluster's test CA, host name included); the
# TLS test itself tries every sslmode against it (FIREFLY_TEST_POSTGRES_TLS).
tls_url="$pg_url?sslmode=verify-full&sslrootcert=$pgdir/tls/ca.crt"
echo "== cargo test: the storage and HTTP suites on PostgreSQL ($tls_url)"
FIREFLY_TEST_POSTGRES="$tls_url" FIREFLY_TEST_POSTGRES_TLS="$pgdir/tls" cargo test --locked -p api --lib \
  --test 'http*' --test accountability --test replicas --test migrate
echo "== map UI: setup and build"
./scripts/setup-ui.sh
echo "== map UI: end-to-end tests (release build)"
cargo build --release --locked --bin firefly
timeout 300 ./scripts/e2e.sh
echo "== all checks passed"
