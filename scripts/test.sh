#!/usr/bin/env bash
# Installs what the tests need (Debian packages), builds pgdr, and runs the whole test suite:
# integration and matrix tests on a normal build, the unit tests under ASan+UBSan, then every
# fuzz target for 30 s. The whole run has to stay under 45 minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash .ci/deps.sh

# The unit tests run once, in the sanitizer build below: a second, unsanitized run would find
# nothing that one misses (test code is unoptimised in both) and cost three minutes.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGDR_TESTS=ON -DPGDR_UNIT_TESTS=OFF \
  -DPGDR_SANITIZE=OFF >/dev/null
ninja -C build -j"$jobs"
# Two tests at a time: most of an integration test's time is spent waiting for a server, a
# checkpoint or an fsync, so two of them share two cores well (the suite's wall time nearly halves).
(cd build && ctest --output-on-failure --timeout 900 -j2)

# With clang, which builds this unoptimised, instrumented tree in less than half GCC's time (4 against
# 10 minutes here); line tables are enough for the sanitizers' stack traces.
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DPGDR_SANITIZE=ON -DPGDR_UNIT_TESTS=ON >/dev/null
ninja -C build-asan -j"$jobs" pgdr_unit_tests
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest -L unit --output-on-failure -j"$jobs")

# Fuzzing (tests/fuzz; docs/ARCHITECTURE.md, "Fuzzing"): every parser of bytes pgdr did not write
# itself, 30 s each under ASan and UBSan, two at a time; fails on any crash, leak, hang or report.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGDR_TESTS=OFF -DPGDR_FUZZ=ON >/dev/null
ninja -C build-fuzz -j"$jobs" pgdr_fuzz
bash scripts/fuzz.sh 30
