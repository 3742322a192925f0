#!/usr/bin/env bash
# The demo tenant's data, loaded by run.sh through the public API once the silo is ready: a starter knowledge base
# (deploy/demo/kb.json: shop support and CRM how-tos in English, Russian and Ukrainian), customers with some
# history (deploy/demo/customers.tsv) and their preferences. Loading again changes nothing: the import skips entries
# it holds already, and interactions are stored once per event id. Source it, then call seed_demo <port> <silo pid>
# (the keys come from .state/demo.env).

seed_demo() {
  local base="http://127.0.0.1:$1" silo="$2" demo="deploy/demo" ready=0 imported customers
  for _ in $(seq 1 240); do
    if curl -sf "$base/health/ready" >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$silo" 2>/dev/null || return 0 # the silo stopped (it said why)
    sleep 0.5
  done
  if [ "$ready" != 1 ]; then
    echo "[demo] the silo on port $1 did not become ready; demo data not loaded" >&2
    return 1
  fi

  imported=$(curl -sf -H "Authorization: Bearer $DEMO_ADMIN_KEY" -H 'content-type: application/json' \
    "$base/v1/kb/import" --data-binary "@$demo/kb.json" | tr -dc '0-9') || { echo "[demo] the knowledge-base import failed" >&2; return 1; }

  customers=0
  while IFS=$'\t' read -r customer body; do
    case "$customer" in ''|'#'*) continue ;; esac
    curl -sf -o /dev/null -H "Authorization: Bearer $DEMO_AGENT_KEY" -H 'content-type: application/json' \
      "$base/v1/customers/$customer/interactions" --data-binary "$body" \
      || { echo "[demo] could not load an interaction of $customer" >&2; return 1; }
    customers=$((customers + 1))
  done < "$demo/customers.tsv"
  curl -sf -o /dev/null -X PATCH -H "Authorization: Bearer $DEMO_AGENT_KEY" -H 'content-type: application/json' \
    "$base/v1/customers/standard:oksana-koval/preferences" -d '{"tone":"casual","channel":"chat"}' || echo "[demo] could not set preferences" >&2
  curl -sf -o /dev/null -X PATCH -H "Authorization: Bearer $DEMO_AGENT_KEY" -H 'content-type: application/json' \
    "$base/v1/customers/standard:oleg-petrov/preferences" -d '{"tone":"formal","channel":"telegram"}' || echo "[demo] could not set preferences" >&2
  echo "[demo] loaded: $imported new of $(grep -c '"question"' "$demo/kb.json") knowledge-base entries; $customers interactions of 4 customers (each stored once)" >&2
}
