#!/usr/bin/env bash
# Provides the browser the console's tests drive (Playwright cannot download its own here). Source it, then call
# ensure_chromium: CUSTOMERGRAINS_CHROMIUM set: used as it is; otherwise Debian's chromium, installed from the OS
# packages when missing (as root). Exports CUSTOMERGRAINS_CHROMIUM, the browser's executable.

source "$(dirname "${BASH_SOURCE[0]}")/os-packages.sh"

ensure_chromium() {
  if [ -n "${CUSTOMERGRAINS_CHROMIUM:-}" ]; then
    return 0
  fi

  if ! command -v chromium >/dev/null 2>&1; then
    if ! can_install_os_packages; then
      echo "[chromium] not installed: install it (Debian: apt-get install chromium) or set CUSTOMERGRAINS_CHROMIUM to a Chromium executable" >&2
      return 1
    fi
    echo "[chromium] installing chromium from the OS packages" >&2
    install_os_packages chromium
  fi

  export CUSTOMERGRAINS_CHROMIUM="$(command -v chromium)"
}
