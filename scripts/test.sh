#!/usr/bin/env bash
# Installs what the tests need (Debian packages), builds pgdr, and runs the whole test suite:
# unit and integration tests on a normal build, then the unit tests again under ASan+UBSan, then
# every fuzz target for 40 s.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash .ci/deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGDR_TESTS=ON -DPGDR_SANITIZE=OFF >/dev/null
ninja -C build -j"$jobs"
(cd build && ctest --output-on-failure --timeout 900 -j1)

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPGDR_SANITIZE=ON >/dev/null
ninja -C build-asan -j"$jobs" pgdr_unit_tests
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest -L unit --output-on-failure -j"$jobs")

# Fuzzing (tests/fuzz; docs/ARCHITECTURE.md, "Fuzzing"): every parser of bytes pgdr did not write
# itself, 40 s each under ASan and UBSan, two at a time; fails on any crash, leak, hang or report.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGDR_TESTS=OFF -DPGDR_FUZZ=ON >/dev/null
ninja -C build-fuzz -j"$jobs" pgdr_fuzz
bash scripts/fuzz.sh 40
