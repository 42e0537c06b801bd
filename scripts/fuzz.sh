#!/usr/bin/env bash
# Runs every fuzz target of build-fuzz (built with -DPGDR_FUZZ=ON, see tests/fuzz) for SECONDS
# (default 60) under ASan and UBSan, two at a time, from its seed corpus in tests/fuzz/corpus, and
# prints per target the executions per second and the coverage reached. Fails when any target
# finds a crash, a leak, a hang (an input taking over 5 s) or a sanitizer report; the input that
# did it is left in build-fuzz/fuzz-runs/<target>/ (crash-*, leak-*, timeout-*).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
bin=build-fuzz/tests/fuzz
runs=build-fuzz/fuzz-runs
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cd tests/fuzz && ls ./*_fuzz.cpp | sed 's|^\./||; s|\.cpp$||')
fi

run_one() {
  local t=$1 seconds=$2 bin=$3 runs=$4
  local dir=$runs/$t
  rm -rf "$dir" && mkdir -p "$dir/corpus"
  local dict=
  [ -f "tests/fuzz/$t.dict" ] && dict=-dict=tests/fuzz/$t.dict
  # New inputs go to the scratch corpus; the committed seeds are only read.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin/$t" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    $dict -artifact_prefix="$dir/" "$dir/corpus" "tests/fuzz/corpus/$t" >"$dir/log" 2>&1
  echo $? >"$dir/exit"
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P 2 -I{} bash -c 'run_one "$@"' _ {} "$seconds" "$bin" "$runs"

failed=0
printf '%-22s %-6s %10s %8s %8s %8s\n' target result exec/s cov ft corpus
for t in "${targets[@]}"; do
  dir=$runs/$t
  code=$(cat "$dir/exit" 2>/dev/null || echo 1)
  # libFuzzer's last status line: "#N DONE cov: C ft: F corp: K/S exec/s: E ..."
  line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$dir/log" | tail -1 || true)
  field() { sed -nE "s/.* $1: ([0-9]+).*/\1/p" <<<"$line"; }
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$line")
  execs=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$dir/log" | tail -1)
  result=ok
  if [ "$code" != 0 ]; then result=FAIL; failed=1; fi
  printf '%-22s %-6s %10s %8s %8s %8s\n' "$t" "$result" "${execs:-?}" "$(field cov)" "$(field ft)" "${corp:-?}"
done
if [ $failed != 0 ]; then
  for t in "${targets[@]}"; do
    if [ "$(cat "$runs/$t/exit" 2>/dev/null || echo 1)" != 0 ]; then
      echo "---- $t ($runs/$t/log, last lines)"
      tail -40 "$runs/$t/log"
    fi
  done
  exit 1
fi
