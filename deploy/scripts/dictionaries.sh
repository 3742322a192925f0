#!/usr/bin/env bash
# Provides the language resources the knowledge base reads: V. K. Mueller's English-Russian dictionary (Debian's
# mueller7-dict, /usr/share/dictd/mueller7.dict.dz), for matching questions to entries written in the other language
# (Knowledge:EnglishRussianDictionary). Source it, then call ensure_dictionaries: installs it from the OS packages when
# missing (as root). Without it the silo still runs, matching within a question's language, and says so in its log.

CUSTOMERGRAINS_MUELLER=/usr/share/dictd/mueller7.dict.dz

ensure_dictionaries() {
  if [ -f "$CUSTOMERGRAINS_MUELLER" ]; then
    return 0
  fi

  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "[dictionaries] $CUSTOMERGRAINS_MUELLER is missing: install it (Debian: apt-get install mueller7-dict); until then questions find entries in their own language only" >&2
    return 0
  fi

  echo "[dictionaries] installing mueller7-dict from the OS packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq mueller7-dict >/dev/null
}
