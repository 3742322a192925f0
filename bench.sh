#!/usr/bin/env bash
# Runs one benchmark suite in Release: ./bench.sh <suite>   (suites: runtime, ingest, inference, suggestions, retrieval,
# replies, drill: the scaling drill on real silo processes, and gpu: the pool on CUDA, built with ORT_FLAVOR=cuda)
# Prints the suite's figures and a final "RESULT suite=..." line; writes the same as JSON to bench-results/.
set -euo pipefail
cd "$(dirname "$0")"
[ $# -eq 1 ] || { echo "usage: ./bench.sh <suite>   (suites: runtime, ingest, inference, suggestions, retrieval, replies, drill, gpu)" >&2; exit 2; }
flavor="${ORT_FLAVOR:-cpu}"
[ "$1" = gpu ] && flavor="${ORT_FLAVOR:-cuda}"

source deploy/scripts/postgres.sh
ensure_postgres
source deploy/scripts/dictionaries.sh
ensure_dictionaries

dotnet build tests/CustomerGrains.Benchmarks -c Release -nologo -v quiet -p:OrtFlavor="$flavor" >&2
export CUSTOMERGRAINS_BENCH_RESULTS="$PWD/bench-results"
exec dotnet tests/CustomerGrains.Benchmarks/bin/Release/net10.0/CustomerGrains.Benchmarks.dll "$1"
