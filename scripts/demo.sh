#!/usr/bin/env bash
# Installs what pgdr needs, builds it, and runs `pgdr demo`: a throwaway retail shop on PostgreSQL
# 15 sells under a pgbench load while pgdr snapshots it and archives its WAL; its primary is then
# destroyed and a drill recovers it from the repository, measuring RTO, RPO and integrity. Leaves
# nothing running; the reports go to ./pgdr-demo/. Extra arguments go to `pgdr demo` (e.g.
# --scale 5 --duration 60s, or --keep). Run as root or as a user that may run PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh
cmake -S . -B build-demo -G Ninja -DPGDR_TESTS=OFF >/dev/null
ninja -C build-demo -j"$(nproc)" pgdr >/dev/null
exec build-demo/src/pgdr demo "$@"
