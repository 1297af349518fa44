#!/usr/bin/env bash
# The one test command: what the README's second command and CI (.ci/run) both run.
# Formatting, lints, then every test in the workspace (unit, integration, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== all checks passed"
