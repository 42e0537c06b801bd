#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking pgdr needs.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential cmake ninja-build pkg-config
  libpq-dev libssl-dev libzstd-dev liblz4-dev libcurl4-openssl-dev libsqlite3-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libfmt-dev libspdlog-dev
  libgtest-dev libgmock-dev googletest
  postgresql-15 postgresql-contrib postgresql-client-15
  util-linux procps psmisc
  libcpp-httplib-dev curl chromium
)
[ "${PGDR_BENCH:-0}" = 1 ] && pkgs+=(pgbackrest time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
