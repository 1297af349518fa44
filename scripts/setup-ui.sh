#!/usr/bin/env bash
# Sets up and builds the map UI, idempotently: Debian's Chromium for the browser tests (when
# root and missing; never a browser download), `npm ci` in map-ui/ and tests/ (lock files
# committed), then the UI build into map-ui/dist (served by `firefly serve`).
# `--no-browser` skips Chromium (the demo needs only the UI build).
set -euo pipefail
cd "$(dirname "$0")/.."
browser=1
[ "${1:-}" = "--no-browser" ] && browser=0

if [ "$browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian's chromium (for the end-to-end tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
  else
    echo "warning: /usr/bin/chromium is missing; install Debian's chromium to run the browser tests" >&2
  fi
fi

npm_ci() {
  # Skip when node_modules matches the lock file already.
  if [ -f "$1/node_modules/.package-lock.json" ] && cmp -s "$1/package-lock.json" "$1/.lock-installed" 2>/dev/null; then
    return
  fi
  echo "== npm ci in $1"
  (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$1/package-lock.json" "$1/.lock-installed"
}
npm_ci map-ui
[ "$browser" = 1 ] && npm_ci tests

echo "== building the map UI"
(cd map-ui && npm run --silent build)
