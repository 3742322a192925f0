#!/usr/bin/env bash
# Provisions what the tests need (PostgreSQL, see deploy/scripts/postgres.sh; chromium for the console's browser
# tests, see deploy/scripts/chromium.sh; the English-Russian dictionary, see deploy/scripts/dictionaries.sh) and runs
# every test.
# Extra arguments go to `dotnet test`, e.g. ./test.sh --filter "FullyQualifiedName~ClusterTests".
set -euo pipefail
cd "$(dirname "$0")"

source deploy/scripts/postgres.sh
ensure_postgres
source deploy/scripts/chromium.sh
ensure_chromium
source deploy/scripts/dictionaries.sh
ensure_dictionaries

# ORT_FLAVOR=cuda builds against ONNX Runtime's CUDA package (README: GPU); the tests pass on either.
dotnet build CustomerGrains.sln -c Release -nologo -v quiet -p:OrtFlavor="${ORT_FLAVOR:-cpu}"

results="$PWD/TestResults"
rm -rf "$results"
status=0
# A test that hangs fails the run after TEST_HANG_TIMEOUT (default 5 minutes; the slowest test takes about one),
# naming itself, with a dump of the test process in TestResults/.
dotnet test CustomerGrains.sln -c Release --no-build -nologo --results-directory "$results" --logger "trx" \
  --blame-hang-timeout "${TEST_HANG_TIMEOUT:-5m}" --blame-hang-dump-type mini "$@" || status=$?

# One plain summary line over every test project.
passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
