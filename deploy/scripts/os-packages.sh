#!/usr/bin/env bash
# Installing what the scripts need from the OS packages (Debian's apt), shared by postgres.sh, chromium.sh and
# dictionaries.sh: each says itself what is missing when it cannot.

# True where packages can be installed here: as root, with apt-get.
can_install_os_packages() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

# Installs the packages named, quietly.
install_os_packages() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "$@" >/dev/null
}
