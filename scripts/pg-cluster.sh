#!/usr/bin/env bash
# Runs a throwaway PostgreSQL + PostGIS cluster in a folder, for tests and development:
#   scripts/pg-cluster.sh start DIR [PORT]  initdb (the first time) in DIR/data, start, wait until
#       ready, make the database firefly with PostGIS; prints its URL, alone, on stdout:
#       postgres://firefly@127.0.0.1:PORT/firefly (PORT: the first free from 55432 if not given)
#   scripts/pg-cluster.sh stop DIR          fast shutdown; fine when it isn't running
# Listens on 127.0.0.1 only (and a unix socket in DIR); superuser firefly, trust auth, loopback
# only; TLS with test certificates in DIR/tls (see make_tls). start on a running DIR reuses it and prints the same URL. Server log: DIR/log.
# initdb and postgres refuse to run as root, so as root (CI) they run as the system user
# firefly-pg, which owns DIR. Needs scripts/setup-postgres.sh first.
set -euo pipefail

pg_user=firefly-pg
log() { echo "pg-cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2; }
is_root() { [ "$(id -u)" = 0 ]; }
as_pg() { if is_root; then runuser -u "$pg_user" -- "$@"; else "$@"; fi; }

# Debian's server binaries: those of the cluster's own major, or for a new one the newest major
# with PostGIS installed (a pg_ctl on PATH, e.g. /usr/local/bin, may be another build).
# PG_BINDIR overrides.
find_bindir() {
  local data=$1 d m best=""
  if [ -n "${PG_BINDIR:-}" ]; then
    echo "$PG_BINDIR"
    return
  fi
  if [ -f "$data/PG_VERSION" ]; then
    best=$(cat "$data/PG_VERSION")
  else
    for d in /usr/lib/postgresql/*/bin; do
      m=${d#/usr/lib/postgresql/}
      m=${m%/bin}
      [[ $m =~ ^[0-9]+$ ]] || continue
      [ -x "$d/initdb" ] || continue
      [ -e "/usr/share/postgresql/$m/extension/postgis.control" ] || continue
      if [ -z "$best" ] || [ "$m" -gt "$best" ]; then best=$m; fi
    done
  fi
  if [ -z "$best" ] || [ ! -x "/usr/lib/postgresql/$best/bin/pg_ctl" ]; then
    die "no PostgreSQL with PostGIS in /usr/lib/postgresql; run scripts/setup-postgres.sh"
  fi
  echo "/usr/lib/postgresql/$best/bin"
}

# TLS for the cluster, so that clients can be tested in every sslmode: in DIR/tls, a test CA
# (ca.crt), the server's certificate from it for IP 127.0.0.1 only (so verify-full to
# "localhost" fails and verify-ca passes), a client certificate for the role firefly_cert
# (which may log in only with it), and an unrelated CA (other-ca.crt) that trusts nothing
# here. Only when openssl is there; the server then takes TLS and plain connections alike.
# Also the role firefly_password, which must log in with SCRAM (password
# firefly-test-password: a throwaway cluster on loopback), for channel binding over TLS.
make_tls() {
  local dir=$1 tls=$1/tls
  command -v openssl >/dev/null || { log "no openssl: the cluster has no TLS"; return; }
  as_pg mkdir -p "$tls"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  ca() { # NAME CN
    as_pg openssl req -x509 "${ec[@]}" -days 3650 -subj "/CN=$2" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$tls/$1.key" -out "$tls/$1.crt" 2>/dev/null
  }
  leaf() { # NAME CN EXTENSIONS
    printf '%b' "$3" | as_pg tee "$tls/$1.ext" >/dev/null
    as_pg openssl req -new "${ec[@]}" -subj "/CN=$2" -keyout "$tls/$1.key" -out "$tls/$1.csr" 2>/dev/null
    as_pg openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
      -CAcreateserial -days 3650 -extfile "$tls/$1.ext" -out "$tls/$1.crt" 2>/dev/null
  }
  ca ca "Firefly test CA"
  ca other-ca "Firefly unrelated test CA"
  leaf server 127.0.0.1 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
  leaf client firefly_cert 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'
  as_pg chmod 600 "$tls"/*.key
  printf '%s\n' "ssl = on" "ssl_cert_file = '$tls/server.crt'" "ssl_key_file = '$tls/server.key'" \
    "ssl_ca_file = '$tls/ca.crt'" | as_pg tee -a "$data/postgresql.conf" >/dev/null
  # First match wins: firefly_cert by certificate only, firefly_password by password, everyone
  # else as initdb wrote.
  { echo "hostssl all firefly_cert 127.0.0.1/32 cert"
    echo "host all firefly_password 127.0.0.1/32 scram-sha-256"
    cat "$data/pg_hba.conf"; } >"$dir/pg_hba.new"
  as_pg tee "$data/pg_hba.conf" <"$dir/pg_hba.new" >/dev/null
  rm -f "$dir/pg_hba.new"
}

# Something accepts connections on 127.0.0.1:$1.
port_busy() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { as_pg "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; }

start() {
  local dir=$1 port=${2:-} i=0
  [ -z "$port" ] || [[ $port =~ ^[0-9]+$ ]] || die "bad port: $port"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  data=$dir/data
  bindir=$(find_bindir "$data")
  # The socket's path has to fit in a sockaddr_un (107 bytes).
  [ "${#dir}" -le 80 ] || die "$dir is too long a path for the server's socket; use a shorter one"
  if is_root; then
    id -u "$pg_user" >/dev/null 2>&1 ||
      useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$pg_user"
    chown "$pg_user:" "$dir"
  fi
  chmod 700 "$dir"
  as_pg test -w "$dir" || die "$pg_user cannot reach $dir (a parent folder is closed); use one under /tmp"
  # The server's programs complain about a working directory they can't read (like /root).
  cd "$dir"

  if [ -f "$data/PG_VERSION" ] && running; then
    local on
    on=$(sed -n 4p "$data/postmaster.pid")
    [ -z "$port" ] || [ "$port" = "$on" ] ||
      die "the cluster in $dir already runs on port $on, not $port; stop it first"
    port=$on
    log "reusing the cluster running in $dir on port $port"
  else
    if [ -z "$port" ]; then
      port=55432
      while port_busy "$port"; do
        port=$((port + 1))
        [ "$port" -lt 55532 ] || die "no free port in 55432-55531 on 127.0.0.1"
      done
    elif port_busy "$port"; then
      die "port $port on 127.0.0.1 is already in use"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      log "initdb in $data"
      # -A trust: initdb's pg_hba.conf names only the unix socket and loopback addresses.
      as_pg "$bindir/initdb" -D "$data" -U firefly -E UTF8 --locale=C -A trust >&2
      printf '%s\n' "listen_addresses = '127.0.0.1'" "unix_socket_directories = '$dir'" |
        as_pg tee -a "$data/postgresql.conf" >/dev/null
      make_tls "$dir"
    fi
    log "starting $("$bindir/postgres" --version) on 127.0.0.1:$port (log: $dir/log)"
    as_pg "$bindir/pg_ctl" start -D "$data" -l "$dir/log" -w -t 30 -o "-p $port" >&2 ||
      { tail -n 20 "$dir/log" >&2 || true; die "the server did not start (log: $dir/log)"; }
  fi

  until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U firefly -d postgres; do
    i=$((i + 1))
    [ "$i" -lt 60 ] || die "the server is not ready after 30 s (log: $dir/log)"
    sleep 0.5
  done
  # Over TCP like the URL, which this proves; the NOTICE of IF NOT EXISTS is noise.
  psql_() {
    PGOPTIONS='-c client_min_messages=warning' \
      "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U firefly "$@"
  }
  if [ -z "$(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'firefly'")" ]; then
    psql_ -d postgres -c 'CREATE DATABASE firefly' >&2
  fi
  psql_ -d firefly -c 'CREATE EXTENSION IF NOT EXISTS postgis' >&2
  if [ -f "$dir/tls/client.crt" ] &&
    [ -z "$(psql_ -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'firefly_cert'")" ]; then
    psql_ -d postgres -c 'CREATE ROLE firefly_cert LOGIN' >&2
    psql_ -d postgres -c "CREATE ROLE firefly_password LOGIN PASSWORD 'firefly-test-password'" >&2
  fi
  echo "postgres://firefly@127.0.0.1:$port/firefly"
}

stop() {
  local dir=$1
  data=$dir/data
  if [ ! -f "$data/PG_VERSION" ]; then
    log "no cluster in $dir"
    return
  fi
  dir=$(cd "$dir" && pwd -P)
  data=$dir/data
  cd "$dir"
  bindir=$(find_bindir "$data")
  if running; then
    as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 30 >&2
  else
    log "not running in $dir"
  fi
}

case "${1:-}" in
  start)
    if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
    start "$2" "${3:-}"
    ;;
  stop)
    [ $# = 2 ] || usage
    stop "$2"
    ;;
  *) usage ;;
esac
