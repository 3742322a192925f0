#!/usr/bin/env bash
# Provides the ONNX Runtime native library for run.sh, test.sh and bench.sh. Source it, then call ensure_onnxruntime:
#   - Inference__OrtLibrary set: that library is used as it is (e.g. a GPU build).
#   - otherwise: the CPU build from the npm package onnxruntime-node@1.30.0, fetched once into
#     .state/onnxruntime/libonnxruntime.so.1 (cached; only that file is kept).
# Exports Inference__OrtLibrary.

ORT_NPM_PACKAGE=onnxruntime-node@1.30.0
ORT_PACKAGE_PATH=package/bin/napi-v6/linux/x64/libonnxruntime.so.1

ensure_onnxruntime() {
  if [ -n "${Inference__OrtLibrary:-}" ]; then
    return 0
  fi

  local dir lib tmp
  dir="$(pwd)/.state/onnxruntime"
  lib="$dir/libonnxruntime.so.1"
  if [ ! -s "$lib" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "[onnxruntime] npm is needed to fetch $ORT_NPM_PACKAGE (or set Inference__OrtLibrary to a libonnxruntime.so.1)" >&2
      return 1
    fi
    echo "[onnxruntime] fetching the CPU library from $ORT_NPM_PACKAGE" >&2
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack "$ORT_NPM_PACKAGE" --silent >/dev/null 2>&1) \
      && tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" "$ORT_PACKAGE_PATH" \
      || { echo "[onnxruntime] could not fetch $ORT_NPM_PACKAGE" >&2; rm -rf "$tmp"; return 1; }
    mkdir -p "$dir"
    mv "$tmp/$ORT_PACKAGE_PATH" "$lib"
    rm -rf "$tmp"
  fi
  export Inference__OrtLibrary="$lib"
}
