#!/usr/bin/env bash
# Provides a PostgreSQL for run.sh, test.sh and bench.sh. Source it, then call ensure_postgres:
#   - CUSTOMERGRAINS_DB set: used as it is (nothing is installed or started).
#   - otherwise: a project-local server on 127.0.0.1:${CUSTOMERGRAINS_PG_PORT:-55432}, installed from the OS
#     packages when missing (as root), initialised once, started if stopped, with a `customergrains` database owned
#     by a `customergrains` role that is no superuser. Passwords (SCRAM) over TCP, peer on the server's socket; the
#     passwords are made once and kept beside the data directory (<data>.secrets, mode 0600).
# Idempotent: a second call reuses what the first set up. Exports CUSTOMERGRAINS_DB (the silo's role) and
# CUSTOMERGRAINS_PG_ADMIN (the superuser on the `postgres` database, for tests that create their own databases).

source "$(dirname "${BASH_SOURCE[0]}")/os-packages.sh"

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
  if ! can_install_os_packages; then
    pg_log "PostgreSQL is not installed. Install it (Debian: apt-get install postgresql) or set CUSTOMERGRAINS_DB."
    return 1
  fi
  pg_log "installing PostgreSQL from the OS packages"
  install_os_packages postgresql postgresql-contrib
}

# Runs a command as the owner of the data directory (PostgreSQL refuses to run as root).
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Random text for passwords: letters and digits only, so it needs no quoting in SQL or a connection string.
pg_random() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }

# SQL as the superuser, with its password.
pg_admin_sql() {
  PGPASSWORD="$PG_ADMIN_PASSWORD" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d "${2:-postgres}" -v ON_ERROR_STOP=1 -qtAc "$1"
}

ensure_postgres() {
  if [ -n "${CUSTOMERGRAINS_DB:-}" ]; then
    export CUSTOMERGRAINS_PG_ADMIN="${CUSTOMERGRAINS_PG_ADMIN:-$CUSTOMERGRAINS_DB}"
    return 0
  fi

  local port="${CUSTOMERGRAINS_PG_PORT:-55432}" bin data secrets
  bin=$(pg_find_bin) || { pg_install && bin=$(pg_find_bin); } || { pg_log "no initdb found after install"; return 1; }
  if [ "$(id -u)" = 0 ]; then
    data="${CUSTOMERGRAINS_PG_DATA:-/var/lib/customergrains/postgres-$port}"
  else
    data="${CUSTOMERGRAINS_PG_DATA:-${XDG_STATE_HOME:-$HOME/.local/state}/customergrains/postgres-$port}"
  fi

  # The passwords of the superuser (for tests that create databases) and of the silo's own role, made once and
  # readable by this user only. Nothing connects without one over TCP.
  secrets="${data%/}.secrets"
  if [ ! -s "$secrets" ]; then
    mkdir -p "$(dirname "$secrets")"
    (umask 077; printf 'PG_ADMIN_PASSWORD=%s\nPG_APP_PASSWORD=%s\n' "$(pg_random)" "$(pg_random)" > "$secrets")
  fi
  # shellcheck disable=SC1090
  source "$secrets"

  if [ ! -f "$data/PG_VERSION" ]; then
    pg_log "initialising a local server in $data"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data" && chmod 700 "$data"
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$PG_ADMIN_PASSWORD" > "$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
    pg_as_owner "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth-local=peer --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  fi

  if ! pg_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    pg_log "starting the local server on 127.0.0.1:$port"
    pg_as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=500" start >/dev/null \
      || { pg_log "the server did not start; see $data/server.log"; tail -n 20 "$data/server.log" >&2; return 1; }
  fi

  # A server made by an earlier version of this script trusted every local user: give the superuser its password and
  # require passwords (SCRAM) over TCP from now on.
  if grep -Eq '^[^#]*[[:space:]]trust([[:space:]]|$)' "$data/pg_hba.conf"; then
    pg_log "requiring passwords (SCRAM) on the local server"
    pg_admin_sql "SET password_encryption = 'scram-sha-256'; ALTER ROLE postgres PASSWORD '$PG_ADMIN_PASSWORD'" >/dev/null
    pg_as_owner sh -c "printf '%s\n' 'local all all peer' 'host all all 127.0.0.1/32 scram-sha-256' 'host all all ::1/128 scram-sha-256' > '$data/pg_hba.conf'"
    pg_as_owner "$bin/pg_ctl" -D "$data" reload >/dev/null
  fi

  # The silo's role: no superuser, owner of its database (and so of everything the schema scripts create there).
  if [ "$(pg_admin_sql "SELECT 1 FROM pg_roles WHERE rolname = 'customergrains'")" != 1 ]; then
    pg_admin_sql "SET password_encryption = 'scram-sha-256'; CREATE ROLE customergrains LOGIN NOSUPERUSER NOCREATEROLE PASSWORD '$PG_APP_PASSWORD'" >/dev/null
  fi
  if [ "$(pg_admin_sql "SELECT 1 FROM pg_database WHERE datname = 'customergrains'")" != 1 ]; then
    pg_admin_sql "CREATE DATABASE customergrains OWNER customergrains" >/dev/null
  elif [ "$(pg_admin_sql "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'customergrains'")" != customergrains ]; then
    # Made when the silo connected as the superuser: hand the database and what the schema created in it over.
    pg_log "handing the customergrains database over to its own role"
    pg_admin_sql "ALTER DATABASE customergrains OWNER TO customergrains" >/dev/null
    pg_admin_sql "DO \$\$ DECLARE r record; BEGIN
      FOR r IN SELECT format('ALTER TABLE %I.%I OWNER TO customergrains', schemaname, tablename) AS q FROM pg_tables WHERE schemaname = 'public' LOOP EXECUTE r.q; END LOOP;
      FOR r IN SELECT format('ALTER FUNCTION %s OWNER TO customergrains', p.oid::regprocedure) AS q FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') LOOP EXECUTE r.q; END LOOP;
      FOR r IN SELECT format('ALTER SEQUENCE %I.%I OWNER TO customergrains', sequence_schema, sequence_name) AS q FROM information_schema.sequences WHERE sequence_schema = 'public' LOOP
        BEGIN EXECUTE r.q; EXCEPTION WHEN feature_not_supported OR object_not_in_prerequisite_state THEN NULL; END; END LOOP;
    END \$\$" customergrains >/dev/null
  fi

  export CUSTOMERGRAINS_DB="Host=127.0.0.1;Port=$port;Username=customergrains;Password=$PG_APP_PASSWORD;Database=customergrains"
  export CUSTOMERGRAINS_PG_ADMIN="Host=127.0.0.1;Port=$port;Username=postgres;Password=$PG_ADMIN_PASSWORD;Database=postgres"
}
