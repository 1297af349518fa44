#!/usr/bin/env bash
# Installs, idempotently, PostgreSQL and PostGIS from Debian's packages (bookworm:
# postgresql-15 and postgresql-15-postgis-3) and openssl, for the throwaway clusters that
# scripts/pg-cluster.sh runs. Quick when both are there: dpkg-query only, no apt at all.
# Starts no server itself: pg-cluster.sh runs its own cluster, not Debian's "main" one.
# Uses sudo when not root.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

# The newest server major already installed (postgresql-15 -> 15), if any.
major=$({ dpkg-query -W -f='${db:Status-Status} ${Package}\n' 'postgresql-[0-9]*' 2>/dev/null || true; } |
  sed -n 's/^installed postgresql-\([0-9][0-9]*\)$/\1/p' | sort -n | tail -n 1)
if [ -n "$major" ] && installed "postgresql-$major-postgis-3" && installed openssl; then
  exit 0
fi

updated=0
# env: sudo would drop DEBIAN_FRONTEND from the environment.
apt_update() { as_root env DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null; updated=1; }
# Debian's supported major is what the "postgresql" metapackage depends on.
candidate_major() {
  { apt-cache depends postgresql 2>/dev/null || true; } |
    sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n 1
}
if [ -z "$major" ]; then
  major=$(candidate_major)
  # A fresh machine may have no package lists yet.
  [ -n "$major" ] || { apt_update; major=$(candidate_major); }
  major=${major:-15}
fi

# openssl: pg-cluster.sh makes the test cluster's TLS certificates with it.
pkgs=("postgresql-$major" "postgresql-$major-postgis-3" openssl)
echo "== installing ${pkgs[*]} (PostgreSQL with PostGIS, openssl for test certificates)"
apt_install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null; }
# Try the package lists as they are first; refresh them only if that fails (stale or missing).
if [ "$updated" = 1 ]; then
  apt_install
else
  apt_install 2>/dev/null || { apt_update && apt_install; }
fi
