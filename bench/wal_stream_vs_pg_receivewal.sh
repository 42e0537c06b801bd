#!/usr/bin/env bash
# Compare the receive rate of pgdr wal-stream (into an encrypted local repository) with
# pg_receivewal (into a plain local directory), in the same run, on one PostgreSQL 15 cluster.
#
#   1. Backlog: with both receivers stopped and their slots holding WAL, bulk inserts write about
#      --backlog-mb MiB of WAL; then each receiver alone is started and timed until the last segment
#      of the backlog is complete where it stores WAL (pg_receivewal renames the file from .partial
#      after its fsync; pgdr's WAL object appears only once durable): its sustained receive rate.
#   2. Live: both receivers run together while pgbench -N runs for --duration seconds; their flush
#      lag behind the server is sampled every second (bytes) and reported as mean and max.
#   3. With --synchronous: the cost of an RPO of zero. pgbench -N runs --duration seconds three
#      times: synchronous_standby_names empty, naming pg_receivewal, naming pgdr_wal_stream
#      (synchronous_commit = on); tps, mean, p50 and p99 commit latency of each.
#
# Run as root, by hand; it is not part of CI. See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

BACKLOG_MB=512
DURATION=30
CLIENTS=4
SCALE=20
SYNC=0

usage() {
    cat <<USAGE
usage: $0 [options]   (run as root)
  --backlog-mb N     MiB of WAL each receiver catches up on alone (default $BACKLOG_MB)
  --duration S       seconds of pgbench with both receivers running (default $DURATION; 0: skip)
  --clients N        pgbench clients (default $CLIENTS)
  --scale N          pgbench scale (default $SCALE)
  --synchronous      run both receivers with --synchronous
  --pgdr PATH        pgdr binary (default build/src/pgdr)
  --workdir DIR      work directory (default: new mktemp dir under /var/tmp)
  --keep             keep the work directory at the end
  --results-dir DIR  where the JSON goes (default bench/results)
USAGE
}

while (($#)); do
    case "$1" in
        --backlog-mb) BACKLOG_MB=${2:?}; shift ;;
        --duration) DURATION=${2:?}; shift ;;
        --clients) CLIENTS=${2:?}; shift ;;
        --scale) SCALE=${2:?}; shift ;;
        --synchronous) SYNC=1 ;;
        --results-dir) RESULTS_DIR=${2:?}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) common_option "$@" || { usage >&2; die "unknown option: $1"; }; shift "$OPTION_VALUES" ;;
    esac
    shift
done
require_positive BACKLOG_MB CLIENTS SCALE
[[ $DURATION =~ ^[0-9]+$ ]] || die "--duration must be a number"
ensure_prereqs
resolve_pgdr_bin

WORKDIR_PARTS=(data pg_receivewal repo pgdr.toml bin '*.log' '*.out' lag.tsv)
set_exit_traps
make_workdir pgdr-bench-stream
PORT=$(free_port)
PGDATA=$WORKDIR/data
RECV_DIR=$WORKDIR/pg_receivewal
REPO=$WORKDIR/repo
PGDR_CONF=$WORKDIR/pgdr.toml
PASSPHRASE="bench passphrase $(date +%s%N)"

lsn_diff() { sql "SELECT pg_wal_lsn_diff('$1', '$2')::bigint"; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }

log "work directory $WORKDIR, port $PORT"
install -d -o postgres -g postgres -m 0755 "$WORKDIR/bin"
install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"
init_server "$PGDATA" "$PORT" "$WORKDIR" "$WORKDIR/initdb.log" <<CONFEOF || die "initdb failed, see $WORKDIR/initdb.log"
max_wal_size = 4GB
CONFEOF
start_server "$PGDATA" "$WORKDIR/server.log"
as_pg mkdir -p "$RECV_DIR"
write_pgdr_config "$PGDR_CONF" "$PGDATA" "$PORT" "local=$REPO" </dev/null
pgdr init >/dev/null
SYNC_FLAG=()
if ((SYNC)); then SYNC_FLAG=(--synchronous); fi

start_receivewal() {
    as_pg "$PGBIN/pg_receivewal" -h 127.0.0.1 -p "$PORT" -U postgres -D "$RECV_DIR" --slot bench_receivewal \
        --status-interval 1 "${SYNC_FLAG[@]}" --no-loop 2>>"$WORKDIR/pg_receivewal.log" &
    RW_PID=$!; BG_PIDS+=("$RW_PID")
}
start_pgdr() {
    pgdr -q wal-stream --slot bench_pgdr "${SYNC_FLAG[@]}" 2>>"$WORKDIR/wal-stream.log" &
    PG_PID=$!; BG_PIDS+=("$PG_PID")
}
# runuser forwards SIGTERM to the receiver it started.
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
wait_connected() {
    local i
    for i in $(seq 300); do
        [[ $(sql "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$1' AND state = 'streaming'") == 1 ]] && return
        sleep 0.1
    done
    die "$1 did not connect"
}
# Waits until file $1 exists; prints the seconds since $2.
time_until_file() {
    while [[ ! -e $1 ]]; do sleep 0.02; done
    fsub "$(now)" "$2"
}

sql "SELECT pg_create_physical_replication_slot('bench_receivewal', true)" >/dev/null
sql "SELECT pg_create_physical_replication_slot('bench_pgdr', true)" >/dev/null
load_data "$WORKDIR/pgbench-init.log" || die "pgbench -i failed, see $WORKDIR/pgbench-init.log"

# ---------------------------------------------------------------- 1. backlog, each receiver alone
log "writing about $BACKLOG_MB MiB of WAL with both receivers stopped"
START_LSN=$(sql "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'bench_pgdr'")
# (pgbench -i above already wrote WAL the slots hold: it counts towards the backlog)
sql "CREATE TABLE bulk (id bigint, pad text)"
while (( $(lsn_diff "$(sql 'SELECT pg_current_wal_lsn()')" "$START_LSN") < BACKLOG_MB * 1048576 )); do
    sql "INSERT INTO bulk SELECT g, md5(g::text) || repeat('x', 200) FROM generate_series(1, 100000) g"
done
sql "SELECT pg_switch_wal()" >/dev/null
TARGET=$(sql "SELECT pg_current_wal_lsn()")
BACKLOG_BYTES=$(lsn_diff "$TARGET" "$START_LSN")
log "backlog: $BACKLOG_BYTES bytes of WAL up to $TARGET"

LAST_SEG=$(sql "SELECT pg_walfile_name('$TARGET'::pg_lsn - 1)")
T0=$(now); start_receivewal
RW_SECONDS=$(time_until_file "$RECV_DIR/$LAST_SEG" "$T0")
stop_pid "$RW_PID"
log "pg_receivewal caught up in $RW_SECONDS s"
T0=$(now); start_pgdr
PGDR_SECONDS=$(time_until_file "$REPO/wal/${LAST_SEG:0:8}/$LAST_SEG" "$T0")
log "pgdr wal-stream caught up in $PGDR_SECONDS s"
RW_RATE=$(rate "$BACKLOG_BYTES" "$RW_SECONDS")
PGDR_RATE=$(rate "$BACKLOG_BYTES" "$PGDR_SECONDS")
REPO_BYTES=$(du_bytes "$REPO")
RECV_BYTES=$(du_bytes "$RECV_DIR")

# ---------------------------------------------------------------- 2. live, both together
LIVE_JSON="null"
if ((DURATION > 0)); then
    start_receivewal; wait_connected pg_receivewal
    log "pgbench -N for $DURATION s with both receivers running"
    as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -c "$CLIENTS" -j 2 -T "$DURATION" -N postgres \
        >"$WORKDIR/pgbench.out" 2>&1 &
    BENCH_PID=$!
    L0=$(sql "SELECT pg_current_wal_lsn()")
    SAMPLES="$WORKDIR/lag.tsv"; : >"$SAMPLES"
    while kill -0 "$BENCH_PID" 2>/dev/null; do
        sql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(max(flush_lsn) FILTER (WHERE application_name = 'pg_receivewal'), '0/0'))::bigint || E'\t' || pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(max(flush_lsn) FILTER (WHERE application_name = 'pgdr_wal_stream'), '0/0'))::bigint FROM pg_stat_replication" >>"$SAMPLES"
        sleep 1
    done
    wait "$BENCH_PID" || true
    L1=$(sql "SELECT pg_current_wal_lsn()")
    TPS=$(awk '/^tps/ { print $3; exit }' "$WORKDIR/pgbench.out")
    LIVE_BYTES=$(lsn_diff "$L1" "$L0")
    read -r RW_MEAN RW_MAX PGDR_MEAN PGDR_MAX < <(awk -F'\t' '{ a += $1; if ($1 > am) am = $1; b += $2; if ($2 > bm) bm = $2; n++ }
        END { if (n == 0) n = 1; printf "%d %d %d %d\n", a / n, am, b / n, bm }' "$SAMPLES")
    log "live: $LIVE_BYTES bytes of WAL in $DURATION s (tps ${TPS:-?}); flush lag mean/max: pg_receivewal $RW_MEAN/$RW_MAX bytes, pgdr $PGDR_MEAN/$PGDR_MAX bytes"
    LIVE_JSON="{\"seconds\": $DURATION, \"wal_bytes\": $LIVE_BYTES, \"tps\": ${TPS:-0}, \"pg_receivewal_lag_mean_bytes\": $RW_MEAN, \"pg_receivewal_lag_max_bytes\": $RW_MAX, \"pgdr_lag_mean_bytes\": $PGDR_MEAN, \"pgdr_lag_max_bytes\": $PGDR_MAX}"
    stop_pid "$RW_PID"
fi
SYNC_JSON="null"
if ((SYNC && DURATION > 0)); then
    start_receivewal; wait_connected pg_receivewal
    wait_connected pgdr_wal_stream
    sync_run() {
        sql "ALTER SYSTEM SET synchronous_standby_names = '$1'" >/dev/null
        sql "SELECT pg_reload_conf()" >/dev/null
        sleep 1
        # -l: every transaction's latency (third field, microseconds), for the percentiles.
        install -d -o postgres -m 0700 "$WORKDIR/latency-$2"
        as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -c "$CLIENTS" -j 2 -T "$DURATION" -N \
            -l --log-prefix="$WORKDIR/latency-$2/tx" postgres >"$WORKDIR/pgbench-sync-$2.out" 2>&1 || true
        local tps lat p50 p99
        tps=$(awk '/^tps/ { print $3; exit }' "$WORKDIR/pgbench-sync-$2.out")
        lat=$(awk '/^latency average/ { print $4; exit }' "$WORKDIR/pgbench-sync-$2.out")
        read -r p50 p99 < <(cat "$WORKDIR/latency-$2"/tx* | awk '{ print $3 }' | sort -n |
            awk '{ v[NR] = $1 } END { if (NR == 0) { print "0 0"; exit }
                   printf "%.3f %.3f\n", v[int((NR - 1) * 0.5) + 1] / 1000, v[int((NR - 1) * 0.99) + 1] / 1000 }')
        log "synchronous_standby_names = '$1': tps ${tps:-?}, latency mean ${lat:-?} ms, p50 $p50 ms, p99 $p99 ms"
        echo "\"$2\": {\"tps\": ${tps:-0}, \"latency_ms\": ${lat:-0}, \"p50_ms\": $p50, \"p99_ms\": $p99}"
    }
    S0=$(sync_run "" none)
    S1=$(sync_run pg_receivewal pg_receivewal)
    S2=$(sync_run pgdr_wal_stream pgdr_wal_stream)
    sql "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
    SYNC_JSON="{$S0, $S1, $S2}"
    stop_pid "$RW_PID"
fi
stop_pid "$PG_PID"

mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/wal_stream_vs_pg_receivewal-$(date -u +%Y%m%dT%H%M%SZ).json"
cat >"$OUT" <<JSONEOF
{
  "synchronous": $( ((SYNC)) && echo true || echo false ),
  "backlog_bytes": $BACKLOG_BYTES,
  "pg_receivewal": {"catch_up_seconds": $RW_SECONDS, "mib_per_second": $RW_RATE, "stored_bytes": $RECV_BYTES},
  "pgdr_wal_stream": {"catch_up_seconds": $PGDR_SECONDS, "mib_per_second": $PGDR_RATE, "stored_bytes": $REPO_BYTES},
  "live": $LIVE_JSON,
  "synchronous_commit": $SYNC_JSON
}
JSONEOF
cat "$OUT"
log "results in $OUT"
