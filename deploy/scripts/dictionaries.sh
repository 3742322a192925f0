#!/usr/bin/env bash
# Provides the language resources the knowledge base reads: V. K. Mueller's English-Russian dictionary (Debian's
# mueller7-dict, /usr/share/dictd/mueller7.dict.dz), for questions to find entries written in the other language
# (Knowledge:EnglishRussianDictionary); the MyThes thesauri (mythes-en-us, WordNet's; mythes-ru; mythes-uk;
# /usr/share/mythes), for synonyms (Knowledge:Thesauri); and Apertium's Russian-Ukrainian pair (apertium-rus-ukr), for
# Ukrainian word forms and translations (Knowledge:UkrainianRussian); Hunspell's Russian and Ukrainian dictionaries
# (hunspell-ru, hunspell-uk), for verbs' aspects and action nouns (Knowledge:RussianHunspell, Knowledge:UkrainianHunspell). Source it, then call ensure_dictionaries:
# installs what is missing from the OS packages (as root). Without them the silo still runs, matching within a
# question's language and words, and says so in its log.

source "$(dirname "${BASH_SOURCE[0]}")/os-packages.sh"

CUSTOMERGRAINS_DICTIONARIES=(
  "/usr/share/dictd/mueller7.dict.dz:mueller7-dict"
  "/usr/share/mythes/th_en_US_v2.dat:mythes-en-us"
  "/usr/share/mythes/th_ru_RU_v2.dat:mythes-ru"
  "/usr/share/mythes/th_uk_UA_v2.dat:mythes-uk"
  "/usr/share/apertium/apertium-rus-ukr/ukr-rus.autobil.bin:apertium-rus-ukr"
  "/usr/share/hunspell/ru_RU.dic:hunspell-ru"
  "/usr/share/hunspell/uk_UA.dic:hunspell-uk"
)

ensure_dictionaries() {
  local missing=() entry
  for entry in "${CUSTOMERGRAINS_DICTIONARIES[@]}"; do
    [ -f "${entry%%:*}" ] || missing+=("${entry##*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  if ! can_install_os_packages; then
    echo "[dictionaries] missing: install them (Debian: apt-get install ${missing[*]}); until then questions are matched within their language and words" >&2
    return 0
  fi

  echo "[dictionaries] installing ${missing[*]} from the OS packages" >&2
  install_os_packages "${missing[@]}"
}
