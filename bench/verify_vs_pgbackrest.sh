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
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
PGBACKREST=/usr/bin/pgbackrest

SCALE=10
PGDR_BIN="$REPO_ROOT/build/src/pgdr"
PROCESS_MAX=2
BASELINE=
KEEP=0
RESULTS_DIR="$BENCH_DIR/results"

usage() {
    echo "usage: $0 [--scale N] [--pgdr PATH] [--baseline PATH] [--process-max N] [--keep] [--results-dir DIR]   (run as root)"
    echo "  --scale N         pgbench scale, ~16 MB per unit (default $SCALE)"
    echo "  --baseline PATH   also time this pgdr binary's verify on the same repository (e.g. a build before a change)"
    echo "  --process-max N   threads for both tools (default $PROCESS_MAX)"
    echo "  --keep            keep the work directory"
}
die() { echo "verify_vs_pgbackrest: $*" >&2; exit 1; }

while (($#)); do
    case "$1" in
        --scale) SCALE=${2:?}; shift ;;
        --pgdr) PGDR_BIN=${2:?}; shift ;;
        --baseline) BASELINE=${2:?}; shift ;;
        --process-max) PROCESS_MAX=${2:?}; shift ;;
        --keep) KEEP=1 ;;
        --results-dir) RESULTS_DIR=${2:?}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done
[[ $(id -u) == 0 ]] || die "run as root (PostgreSQL and the tools run as user postgres)"
[[ -x $PGBACKREST ]] || die "$PGBACKREST missing (apt-get install pgbackrest)"
[[ -x $PGDR_BIN ]] || die "pgdr binary not found: $PGDR_BIN"
[[ -z $BASELINE || -x $BASELINE ]] || die "baseline pgdr binary not found: $BASELINE"
# The script works in its own directory from here on: relative paths would no longer resolve.
PGDR_BIN=$(realpath "$PGDR_BIN")
[[ -z $BASELINE ]] || BASELINE=$(realpath "$BASELINE")
command -v jq >/dev/null || die "jq missing (apt-get install jq)"

WORKDIR=$(mktemp -d /var/tmp/pgdr-verify-bench.XXXXXX)
chown postgres: "$WORKDIR"
chmod 0755 "$WORKDIR"
cd "$WORKDIR"
PGDATA="$WORKDIR/pgdata"
SOCK="$WORKDIR/sock"
LOGS="$WORKDIR/logs"
install -d -o postgres -g postgres -m 0755 "$SOCK" "$LOGS" "$WORKDIR/pgbr" "$WORKDIR/pgbr/log" "$WORKDIR/pgbr/lock"
install -d -m 0755 "$WORKDIR/bin"
install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"
[[ -z $BASELINE ]] || install -m 0755 "$BASELINE" "$WORKDIR/bin/pgdr-baseline"
PASSPHRASE=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
CIPHER_PASS=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
PORT=$(free_port)

cleanup() {
    local rc=$?
    set +e
    [[ -f $PGDATA/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1
    if ((KEEP)); then log "kept $WORKDIR"; else rm -rf "$WORKDIR"; fi
    exit "$rc"
}
trap cleanup EXIT

PGDR_CONF="$WORKDIR/pgdr.toml"
cat >"$PGDR_CONF" <<CONF
[cluster]
name = "bench"
pgdata = "$PGDATA"
conninfo = "host=127.0.0.1 port=$PORT user=postgres dbname=postgres"
[[repo]]
name = "local"
path = "$WORKDIR/repo-pgdr"
[key]
passphrase_env = "PGDR_PASSPHRASE"
[backup]
process_max = $PROCESS_MAX
[verify]
process_max = $PROCESS_MAX
[catalog]
path = "$WORKDIR/catalog.db"
CONF
PGBR_CONF="$WORKDIR/pgbr/pgbackrest.conf"
cat >"$PGBR_CONF" <<CONF
[global]
repo1-path=$WORKDIR/repo-pgbackrest
repo1-retention-full=99
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$CIPHER_PASS
compress-type=zst
process-max=$PROCESS_MAX
start-fast=y
log-path=$WORKDIR/pgbr/log
lock-path=$WORKDIR/pgbr/lock
log-level-console=warn
[bench]
pg1-path=$PGDATA
pg1-port=$PORT
pg1-socket-path=$SOCK
pg1-user=postgres
CONF
chown postgres: "$PGDR_CONF" "$PGBR_CONF"
chmod 0600 "$PGDR_CONF" "$PGBR_CONF"
# The archive_command needs the passphrase; it lives in a 0700 wrapper, not in postgresql.conf.
# pgBackRest insists that archive_command mentions it: hence the wrapper's name.
cat >"$WORKDIR/bin/pgdr-and-pgbackrest-archive-push" <<CONF
#!/bin/sh
set -e
PGDR_PASSPHRASE='$PASSPHRASE' $WORKDIR/bin/pgdr --config $PGDR_CONF archive-push "\$1"
$PGBACKREST --config=$PGBR_CONF --stanza=bench archive-push "\$1"
CONF
chown postgres: "$WORKDIR/bin/pgdr-and-pgbackrest-archive-push"
chmod 0700 "$WORKDIR/bin/pgdr-and-pgbackrest-archive-push"
pgdr() { as_pg env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" "$@"; }
pgdr_baseline() { as_pg env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr-baseline" --config "$PGDR_CONF" "$@"; }
pgbr() { as_pg "$PGBACKREST" --config="$PGBR_CONF" --stanza=bench "$@"; }

log "initdb + start PostgreSQL 15 on 127.0.0.1:$PORT"
as_pg "$PGBIN/initdb" -k -A trust -U postgres -D "$PGDATA" >"$LOGS/initdb.log" 2>&1 || die "initdb failed"
cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_wal_size = 4GB
archive_mode = on
archive_command = '$WORKDIR/bin/pgdr-and-pgbackrest-archive-push %p'
CONF
pgdr init >"$LOGS/pgdr-init.log" 2>&1 || die "pgdr init failed"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOGS/postgresql.log" -w start >/dev/null
pgbr stanza-create >"$LOGS/pgbr-stanza.log" 2>&1 || die "pgbackrest stanza-create failed: $(tail -3 "$LOGS/pgbr-stanza.log")"

log "pgbench -i -s $SCALE"
as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -i -q -s "$SCALE" postgres >"$LOGS/pgbench.log" 2>&1
log "one full backup with each tool"
pgdr backup >"$LOGS/pgdr-backup.log" 2>&1 || die "pgdr backup failed: $(tail -3 "$LOGS/pgdr-backup.log")"
pgbr --type=full backup >"$LOGS/pgbr-backup.log" 2>&1 || die "pgbackrest backup failed: $(tail -3 "$LOGS/pgbr-backup.log")"
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -Atqc "SELECT pg_switch_wal()" postgres >/dev/null
for _ in $(seq 240); do
    [[ -z $(find "$PGDATA/pg_wal/archive_status" -name '*.ready' -print -quit) ]] && break
    sleep 0.5
done

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
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || log "cannot drop the page cache: timings are warm"; }
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

mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? b / 1e6 / s : 0) }'; }
PGDR_READ=$(jq '.checks[] | select(.name == "checksums") | .details.bytes_read' "$WORKDIR/pgdr-verify.json")
mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/verify-$(date -u +%Y%m%dT%H%M%SZ).json"
jq -n --argjson scale "$SCALE" --argjson pm "$PROCESS_MAX" \
    --argjson pgdr_bytes "$PGDR_BYTES" --argjson pgdr_secs "$PGDR_SECS" --argjson pgdr_read "$PGDR_READ" \
    --argjson pgbr_bytes "$PGBR_BYTES" --argjson pgbr_secs "$PGBR_SECS" \
    --arg pgdr_mbs "$(mbs "$PGDR_BYTES" "$PGDR_SECS")" --arg pgbr_mbs "$(mbs "$PGBR_BYTES" "$PGBR_SECS")" \
    --argjson pgdr_cpu "$PGDR_CPU" --argjson pgbr_cpu "$PGBR_CPU" --argjson base_cpu "$BASE_CPU" \
    --argjson base_secs "$BASE_SECS" --arg base_mbs "$([[ $BASE_SECS == null ]] && echo 0 || mbs "$PGDR_BYTES" "$BASE_SECS")" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    '{scale: $scale, process_max: $pm, load_average: $load,
      pgdr: {repo_bytes: $pgdr_bytes, bytes_read: $pgdr_read, seconds: $pgdr_secs, cpu_seconds: $pgdr_cpu,
             mb_per_s: ($pgdr_mbs | tonumber)},
      pgdr_baseline: (if $base_secs == null then null
                      else {seconds: $base_secs, cpu_seconds: $base_cpu, mb_per_s: ($base_mbs | tonumber)} end),
      pgbackrest: {repo_bytes: $pgbr_bytes, seconds: $pgbr_secs, cpu_seconds: $pgbr_cpu, mb_per_s: ($pgbr_mbs | tonumber)}}' | tee "$OUT"
log "pgdr verify --full: $PGDR_BYTES bytes stored, $PGDR_SECS s = $(mbs "$PGDR_BYTES" "$PGDR_SECS") MB/s, $PGDR_CPU s of CPU"
log "pgbackrest verify:  $PGBR_BYTES bytes stored, $PGBR_SECS s = $(mbs "$PGBR_BYTES" "$PGBR_SECS") MB/s, $PGBR_CPU s of CPU"
[[ $BASE_SECS == null ]] || log "baseline pgdr verify --full: $BASE_SECS s = $(mbs "$PGDR_BYTES" "$BASE_SECS") MB/s, $BASE_CPU s of CPU"
log "results in $OUT"
