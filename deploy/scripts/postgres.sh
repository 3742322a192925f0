#!/usr/bin/env bash
# Provides a PostgreSQL for run.sh, test.sh and bench.sh. Source it, then call ensure_postgres:
#   - CUSTOMERGRAINS_DB set: used as it is (nothing is installed or started).
#   - otherwise: a project-local server on 127.0.0.1:${CUSTOMERGRAINS_PG_PORT:-55432}, installed from the OS
#     packages when missing (as root), initialised once, started if stopped, with a `customergrains` database.
# Idempotent: a second call reuses what the first set up. Exports CUSTOMERGRAINS_DB and CUSTOMERGRAINS_PG_ADMIN
# (a connection string to the server's `postgres` database, for tests that create their own databases).

pg_log() { echo "[postgres] $*" >&2; }

pg_find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

pg_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    pg_log "PostgreSQL is not installed. Install it (Debian: apt-get install postgresql) or set CUSTOMERGRAINS_DB."
    return 1
  fi
  pg_log "installing PostgreSQL from the OS packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql postgresql-contrib >/dev/null
}

# Runs a command as the owner of the data directory (PostgreSQL refuses to run as root).
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ensure_postgres() {
  if [ -n "${CUSTOMERGRAINS_DB:-}" ]; then
    export CUSTOMERGRAINS_PG_ADMIN="${CUSTOMERGRAINS_PG_ADMIN:-$CUSTOMERGRAINS_DB}"
    return 0
  fi

  local port="${CUSTOMERGRAINS_PG_PORT:-55432}" bin data
  bin=$(pg_find_bin) || { pg_install && bin=$(pg_find_bin); } || { pg_log "no initdb found after install"; return 1; }
  if [ "$(id -u)" = 0 ]; then
    data="${CUSTOMERGRAINS_PG_DATA:-/var/lib/customergrains/postgres-$port}"
  else
    data="${CUSTOMERGRAINS_PG_DATA:-${XDG_STATE_HOME:-$HOME/.local/state}/customergrains/postgres-$port}"
  fi

  if [ ! -f "$data/PG_VERSION" ]; then
    pg_log "initialising a local server in $data"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data" && chmod 700 "$data"
    pg_as_owner "$bin/initdb" -D "$data" -U postgres -A trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi

  if ! pg_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    pg_log "starting the local server on 127.0.0.1:$port"
    pg_as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=500" start >/dev/null \
      || { pg_log "the server did not start; see $data/server.log"; tail -n 20 "$data/server.log" >&2; return 1; }
  fi

  if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'customergrains'" | grep -q 1; then
    "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE customergrains" >/dev/null
  fi

  export CUSTOMERGRAINS_DB="Host=127.0.0.1;Port=$port;Username=postgres;Database=customergrains"
  export CUSTOMERGRAINS_PG_ADMIN="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
}
