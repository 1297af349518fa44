#!/usr/bin/env bash
# The one test command: what the README's second command and CI (.ci/run) both run.
# Formatting, lints, then every test in the workspace (unit, integration, end-to-end), then
# the map UI: its setup and build (scripts/setup-ui.sh) and its browser tests in Debian's
# Chromium against a release `firefly serve` on loopback (scripts/e2e.sh, under 5 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== build tools for the HiGHS solver (the rota model's exact check)"
./scripts/setup-solver.sh
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== map UI: setup and build"
./scripts/setup-ui.sh
echo "== map UI: end-to-end tests (release build)"
cargo build --release --locked --bin firefly
timeout 300 ./scripts/e2e.sh
echo "== all checks passed"
