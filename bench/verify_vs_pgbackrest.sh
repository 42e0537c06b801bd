#!/usr/bin/env bash
# Verify throughput of pgdr against pgBackRest on the same PostgreSQL 15 cluster, in the same run:
# one full backup with each tool (pgdr zstd + AES-256-GCM; pgBackRest zst + aes-256-cbc), then
# `pgdr verify --full` (every pack read, decrypted, decompressed and hashed, every file of every
# snapshot reassembled logically, every WAL object checked), `pgbackrest verify` (every file
# and WAL segment of the repository checked against its recorded checksum) and a second
# `pgdr verify` without --full (reverify_after 0s: every object due again, every pack proven by
# the first run and now authenticated only), each timed with a cold page cache and then again
# with a warm one, and the throughput in MB/s of stored data (the repository's size on disk)
# printed and written as JSON. Run as root, by hand; not part of CI.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

SCALE=10
DATA=pgbench
PROCESS_MAX=2
BASELINE=

usage() {
    echo "usage: $0 [--scale N] [--pgdr PATH] [--baseline PATH] [--process-max N] [--workdir DIR] [--keep]"
    echo "          [--results-dir DIR]   (run as root)"
    echo "  --scale N         pgbench scale / realistic size, ~16 MB per unit (default $SCALE)"
    echo "  --data pgbench|realistic  data set (default $DATA; realistic compresses about 3x, pgbench 15x and more)"
    echo "  --baseline PATH   also time this pgdr binary's verify on the same repository (e.g. a build before a change)"
    echo "  --process-max N   threads for both tools (default $PROCESS_MAX)"
    echo "  --keep            keep the work directory"
}

while (($#)); do
    case "$1" in
        --scale) SCALE=${2:?}; shift ;;
        --data) DATA=${2:?}; shift ;;
        --baseline) BASELINE=${2:?}; shift ;;
        --process-max) PROCESS_MAX=${2:?}; shift ;;
        --results-dir) RESULTS_DIR=${2:?}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) common_option "$@" || { usage >&2; die "unknown option: $1"; }; shift "$OPTION_VALUES" ;;
    esac
    shift
done
require_positive SCALE PROCESS_MAX
[[ $DATA == pgbench || $DATA == realistic ]] || die "--data must be pgbench or realistic"
ensure_prereqs pgbackrest
resolve_pgdr_bin
[[ -z $BASELINE || -x $BASELINE ]] || die "baseline pgdr binary not found: $BASELINE"
[[ -z $BASELINE ]] || BASELINE=$(realpath "$BASELINE")

WORKDIR_PARTS=(pgdata sock logs bin sql pgbr 'repo-*' pgdr.toml catalog.db 'pgdr-*.json')
set_exit_traps
make_workdir pgdr-verify-bench
PGDATA="$WORKDIR/pgdata"
SOCK="$WORKDIR/sock"
LOGS="$WORKDIR/logs"
install -d -o postgres -g postgres -m 0755 "$SOCK" "$LOGS" "$WORKDIR/bin" "$WORKDIR/sql"
cp "$BENCH_DIR"/sql/* "$WORKDIR/sql/"
chmod 0644 "$WORKDIR"/sql/*
install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"
[[ -z $BASELINE ]] || install -m 0755 "$BASELINE" "$WORKDIR/bin/pgdr-baseline"
PASSPHRASE=$(random_secret)
CIPHER_PASS=$(random_secret)
PORT=$(free_port)

PGDR_CONF="$WORKDIR/pgdr.toml"
write_pgdr_config "$PGDR_CONF" "$PGDATA" "$PORT" "local=$WORKDIR/repo-pgdr" <<CONF
[backup]
process_max = $PROCESS_MAX
[verify]
process_max = $PROCESS_MAX
reverify_after = "0s"
[catalog]
path = "$WORKDIR/catalog.db"
CONF
PGBR_CONF="$WORKDIR/pgbr/pgbackrest.conf"
write_pgbackrest_conf "$PGBR_CONF" "$WORKDIR/pgbr" "$PGDATA" "$PORT" "$SOCK" "$PROCESS_MAX" <<CONF
repo1-path=$WORKDIR/repo-pgbackrest
repo1-retention-full=99
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$CIPHER_PASS
CONF
PUSH="$WORKDIR/bin/pgdr-and-pgbackrest-archive-push"
write_archive_push "$PUSH" "$PGDR_CONF" "$PGBR_CONF"
pgdr_baseline() { as_pg env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr-baseline" --config "$PGDR_CONF" "$@"; }

log "initdb + start PostgreSQL 15 on 127.0.0.1:$PORT"
init_server "$PGDATA" "$PORT" "$SOCK" "$LOGS/initdb.log" <<CONF || die "initdb failed"
max_wal_size = 4GB
archive_mode = on
archive_command = '$PUSH %p'
CONF
pgdr init >"$LOGS/pgdr-init.log" 2>&1 || die "pgdr init failed"
start_server "$PGDATA" "$LOGS/postgresql.log"
pgbr stanza-create >"$LOGS/pgbr-stanza.log" 2>&1 || die "pgbackrest stanza-create failed: $(tail -3 "$LOGS/pgbr-stanza.log")"

log "loading $DATA data, scale $SCALE"
load_data "$LOGS/pgbench.log" || die "pgbench -i failed, see $LOGS/pgbench.log"
log "one full backup with each tool"
pgdr backup >"$LOGS/pgdr-backup.log" 2>&1 || die "pgdr backup failed: $(tail -3 "$LOGS/pgdr-backup.log")"
pgbr --type=full backup >"$LOGS/pgbr-backup.log" 2>&1 || die "pgbackrest backup failed: $(tail -3 "$LOGS/pgbr-backup.log")"
switch_and_archive

PGDR_BYTES=$(du_bytes "$WORKDIR/repo-pgdr")
PGBR_BYTES=$(du_bytes "$WORKDIR/repo-pgbackrest")
# CPU seconds (user + system) of a command and every child it waited for (pgBackRest's local
# worker processes included), from bash's time keyword; the command's own output is untouched.
cpu_timed() {
    local name=$1; shift
    local TIMEFORMAT='%U %S'
    { time "$@" 2>&3; } 3>&2 2>"$LOGS/$name.time"
}
cpu_seconds() { awk '{ printf "%.2f", $1 + $2 }' "$LOGS/$1.time"; }
# timed NAME cold|warm COMMAND...: runs COMMAND (its output in $LOGS/NAME.log), after dropping the
# page cache when cold; sets SECS and CPU and dies naming NAME when it fails.
timed() {
    local name=$1 cache=$2; shift 2
    [[ $cache == warm ]] || drop_caches
    log "$name ($cache cache)"
    local t0 rc=0
    t0=$(now)
    cpu_timed "$name" "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
    SECS=$(fsub "$(now)" "$t0")
    CPU=$(cpu_seconds "$name")
    ((rc == 0)) || die "$name exited $rc: $(tail -8 "$LOGS/$name.log")"
}
# run_json SECS CPU BYTES: one timed run as JSON.
run_json() {
    jq -n --argjson s "$1" --argjson c "$2" --arg mbs "$(mb_per_s "$3" "$1")" \
        '{seconds: $s, cpu_seconds: $c, mb_per_s: ($mbs | tonumber)}'
}
# checksums_detail FILE KEY: a member of the checksums check's details in a pgdr verify report.
checksums_detail() { jq ".checks[] | select(.name == \"checksums\") | .details.$2" "$1"; }

# The --full run comes first: it records every object in the catalog, so that the re-verification
# finds each pack proven before. Then the same three with the page cache left warm.
declare -A RUNS
for cache in cold warm; do
    timed "pgdr-verify-full-$cache" "$cache" pgdr verify --full --no-alerts --report "$WORKDIR/pgdr-full-$cache.json"
    RUNS[pgdr_full_$cache]=$(run_json "$SECS" "$CPU" "$PGDR_BYTES")
    timed "pgbr-verify-$cache" "$cache" pgbr verify
    RUNS[pgbackrest_$cache]=$(run_json "$SECS" "$CPU" "$PGBR_BYTES")
    timed "pgdr-reverify-$cache" "$cache" pgdr verify --no-alerts --report "$WORKDIR/pgdr-reverify-$cache.json"
    RUNS[pgdr_reverify_$cache]=$(run_json "$SECS" "$CPU" "$PGDR_BYTES")
    AUTHENTICATED=$(checksums_detail "$WORKDIR/pgdr-reverify-$cache.json" packs_authenticated)
    CHECKED=$(checksums_detail "$WORKDIR/pgdr-reverify-$cache.json" packs_checked)
    [[ $AUTHENTICATED == "$CHECKED" && $CHECKED -gt 0 ]] ||
        die "the re-verification authenticated $AUTHENTICATED of $CHECKED packs; expected all"
done
RUNS[pgdr_baseline_cold]=null
if [[ -n $BASELINE ]]; then
    timed pgdr-baseline-verify cold pgdr_baseline verify --full --no-alerts
    RUNS[pgdr_baseline_cold]=$(run_json "$SECS" "$CPU" "$PGDR_BYTES")
fi

PGDR_READ=$(checksums_detail "$WORKDIR/pgdr-full-cold.json" bytes_read)
mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/verify-$(date -u +%Y%m%dT%H%M%SZ).json"
jq -n --argjson scale "$SCALE" --arg data "$DATA" --argjson pm "$PROCESS_MAX" \
    --argjson pgdr_bytes "$PGDR_BYTES" --argjson pgdr_read "$PGDR_READ" --argjson pgbr_bytes "$PGBR_BYTES" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --argjson full_cold "${RUNS[pgdr_full_cold]}" --argjson full_warm "${RUNS[pgdr_full_warm]}" \
    --argjson re_cold "${RUNS[pgdr_reverify_cold]}" --argjson re_warm "${RUNS[pgdr_reverify_warm]}" \
    --argjson br_cold "${RUNS[pgbackrest_cold]}" --argjson br_warm "${RUNS[pgbackrest_warm]}" \
    --argjson base "${RUNS[pgdr_baseline_cold]}" \
    '{scale: $scale, data: $data, process_max: $pm, load_average: $load,
      pgdr: ({repo_bytes: $pgdr_bytes, bytes_read: $pgdr_read} + $full_cold),
      pgdr_warm: $full_warm,
      pgdr_reverify: $re_cold,
      pgdr_reverify_warm: $re_warm,
      pgdr_baseline: $base,
      pgbackrest: ({repo_bytes: $pgbr_bytes} + $br_cold),
      pgbackrest_warm: $br_warm}' | tee "$OUT"
for run in pgdr_full pgdr_reverify pgbackrest; do
    for cache in cold warm; do
        log "$run, $cache cache: $(jq -r '"\(.seconds) s = \(.mb_per_s) MB/s, \(.cpu_seconds) s of CPU"' <<<"${RUNS[${run}_$cache]}")"
    done
done
[[ ${RUNS[pgdr_baseline_cold]} == null ]] ||
    log "baseline pgdr verify --full: $(jq -r '"\(.seconds) s, \(.cpu_seconds) s of CPU"' <<<"${RUNS[pgdr_baseline_cold]}")"
log "results in $OUT"
