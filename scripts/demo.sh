#!/usr/bin/env bash
# The README's first command: build the map UI and Firefly, load the Bedfordshire demo data
# into ./firefly.db, create the demo users (passwords shown once) and serve the API and the
# map on http://127.0.0.1:8080 until Ctrl-C. Extra arguments go to `firefly demo`.
# Plain HTTP on loopback: the development cookie (--insecure-cookie), since the Secure
# `__Host-` session cookie is for deployments behind TLS.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-ui.sh --no-browser
exec cargo run --release --locked --bin firefly -- demo --insecure-cookie "$@"
