#!/usr/bin/env bash
# psql on the scripts' local PostgreSQL, as the silo's own role, on its database; arguments go to psql:
#   deploy/scripts/psql.sh -c 'table OrleansMembershipTable'
set -euo pipefail
cd "$(dirname "$0")/../.."
unset CUSTOMERGRAINS_DB
source deploy/scripts/postgres.sh
ensure_postgres
PGPASSWORD="$PG_APP_PASSWORD" exec psql -h 127.0.0.1 -p "${CUSTOMERGRAINS_PG_PORT:-55432}" -U customergrains customergrains "$@"
