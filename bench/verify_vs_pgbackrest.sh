#!/usr/bin/env bash
# Verify throughput of pgdr against pgBackRest on the same PostgreSQL 15 cluster, in the same run:
# one full backup with each tool (pgdr zstd + AES-256-GCM; pgBackRest zst + aes-256-cbc), then
# `pgdr verify --full` (every pack read, decrypted, decompressed and hashed, every file of every
# snapshot reassembled logically, every WAL object checked) and `pgbackrest verify` (every file
# and WAL segment of the repository checked against its recorded checksum), each timed with a
# cold page cache, and the throughput in MB/s of stored data (the repository's size on disk)
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

WORKDIR_PARTS=(pgdata sock logs bin sql pgbr 'repo-*' pgdr.toml catalog.db pgdr-verify.json)
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
drop_caches
log "pgdr verify --full"
t0=$(now)
rc=0; cpu_timed pgdr-verify pgdr verify --full --no-alerts --report "$WORKDIR/pgdr-verify.json" >"$LOGS/pgdr-verify.log" 2>&1 || rc=$?
PGDR_SECS=$(fsub "$(now)" "$t0")
PGDR_CPU=$(cpu_seconds pgdr-verify)
((rc == 0)) || die "pgdr verify exited $rc: $(tail -8 "$LOGS/pgdr-verify.log")"
drop_caches
log "pgbackrest verify"
t0=$(now)
rc=0; cpu_timed pgbr-verify pgbr verify >"$LOGS/pgbr-verify.log" 2>&1 || rc=$?
PGBR_SECS=$(fsub "$(now)" "$t0")
PGBR_CPU=$(cpu_seconds pgbr-verify)
((rc == 0)) || die "pgbackrest verify exited $rc: $(tail -5 "$LOGS/pgbr-verify.log")"
BASE_SECS=null
BASE_CPU=null
if [[ -n $BASELINE ]]; then
    drop_caches
    log "pgdr verify --full (baseline binary)"
    t0=$(now)
    rc=0; cpu_timed pgdr-baseline-verify pgdr_baseline verify --full --no-alerts >"$LOGS/pgdr-baseline-verify.log" 2>&1 || rc=$?
    BASE_SECS=$(fsub "$(now)" "$t0")
    BASE_CPU=$(cpu_seconds pgdr-baseline-verify)
    ((rc == 0)) || die "baseline pgdr verify exited $rc: $(tail -8 "$LOGS/pgdr-baseline-verify.log")"
fi

PGDR_READ=$(jq '.checks[] | select(.name == "checksums") | .details.bytes_read' "$WORKDIR/pgdr-verify.json")
mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/verify-$(date -u +%Y%m%dT%H%M%SZ).json"
jq -n --argjson scale "$SCALE" --arg data "$DATA" --argjson pm "$PROCESS_MAX" \
    --argjson pgdr_bytes "$PGDR_BYTES" --argjson pgdr_secs "$PGDR_SECS" --argjson pgdr_read "$PGDR_READ" \
    --argjson pgbr_bytes "$PGBR_BYTES" --argjson pgbr_secs "$PGBR_SECS" \
    --arg pgdr_mbs "$(mb_per_s "$PGDR_BYTES" "$PGDR_SECS")" --arg pgbr_mbs "$(mb_per_s "$PGBR_BYTES" "$PGBR_SECS")" \
    --argjson pgdr_cpu "$PGDR_CPU" --argjson pgbr_cpu "$PGBR_CPU" --argjson base_cpu "$BASE_CPU" \
    --argjson base_secs "$BASE_SECS" --arg base_mbs "$([[ $BASE_SECS == null ]] && echo 0 || mb_per_s "$PGDR_BYTES" "$BASE_SECS")" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    '{scale: $scale, data: $data, process_max: $pm, load_average: $load,
      pgdr: {repo_bytes: $pgdr_bytes, bytes_read: $pgdr_read, seconds: $pgdr_secs, cpu_seconds: $pgdr_cpu,
             mb_per_s: ($pgdr_mbs | tonumber)},
      pgdr_baseline: (if $base_secs == null then null
                      else {seconds: $base_secs, cpu_seconds: $base_cpu, mb_per_s: ($base_mbs | tonumber)} end),
      pgbackrest: {repo_bytes: $pgbr_bytes, seconds: $pgbr_secs, cpu_seconds: $pgbr_cpu, mb_per_s: ($pgbr_mbs | tonumber)}}' | tee "$OUT"
log "pgdr verify --full: $PGDR_BYTES bytes stored, $PGDR_SECS s = $(mb_per_s "$PGDR_BYTES" "$PGDR_SECS") MB/s, $PGDR_CPU s of CPU"
log "pgbackrest verify:  $PGBR_BYTES bytes stored, $PGBR_SECS s = $(mb_per_s "$PGBR_BYTES" "$PGBR_SECS") MB/s, $PGBR_CPU s of CPU"
[[ $BASE_SECS == null ]] || log "baseline pgdr verify --full: $BASE_SECS s = $(mb_per_s "$PGDR_BYTES" "$BASE_SECS") MB/s, $BASE_CPU s of CPU"
log "results in $OUT"
