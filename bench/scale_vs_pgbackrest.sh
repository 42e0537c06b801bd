#!/usr/bin/env bash
# pgdr and pgBackRest on one large cluster, in the same run: full backup, a snapshot after a
# small share of the main table's pages changed (pgdr by change map, pgBackRest --type=incr),
# restore of that snapshot (timed with a sync, one restore on the disk at a time) and verify of
# the repository (pgdr: --full, then once more as a later daily run would, every pack proven by
# the first run authenticated only).  Per step: wall and CPU seconds, peak RSS (largest process and whole tree),
# MB/s, bytes read from disk and stored.  Meant for pgbench scale 2000 (about 31 GB of PGDATA);
# the same run at scale 150 shows whether memory stays flat as the cluster grows (--beside).
# See bench/README.md.  Run as root, by hand; it is not part of CI.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

# ---------------------------------------------------------------- options
SCALE=2000
CHANGED=1
SKIP_PGBR=0
CHECK_RESTORE=1
FORCE=0
BESIDE=

# What the disk must hold: PGDATA (with indexes, measured: 15.6 MB per pgbench scale unit) once
# for the source and once for the restore being timed (one at a time), 0.15 of it for the two
# repositories (pgbench data compresses about 15:1), and pg_wal, which holds up to max_wal_size
# (never more WAL than the load writes, about PGDATA's size) plus 0.5 GB of headroom.
MB_PER_SCALE=15.6
MAX_WAL_MB=4096

usage() {
    cat <<EOF
usage: $0 [options]   (run as root)
  --scale N               pgbench scale, ~15.6 MB of PGDATA per unit (default $SCALE)
  --changed PCT           percentage of pgbench_accounts' pages changed before the snapshot (default $CHANGED)
  --pgdr PATH             pgdr binary (default build/src/pgdr)
  --workdir DIR           work directory (default: new mktemp dir under /var/tmp)
  --keep                  keep the work directory (cluster, repositories, logs) at the end;
                          restored copies are removed after their check in any case
  --skip-pgbackrest       run pgdr only
  --check-restore         start each restored cluster on a free port and compare pgbench_accounts'
                          count and sum(abalance) with the source's (the default)
  --no-check-restore      do not
  --force                 run even when the work directory's file system looks too small
  --beside FILE           a JSON of an earlier run of this script (say at scale 150): its peak
                          RSS is printed beside this run's, and copied into this run's JSON
  --results-dir DIR       where the JSON goes (default bench/results)
EOF
}

parse_args() {
    while (($#)); do
        case "$1" in
            --scale) SCALE=${2:?}; shift ;;
            --changed) CHANGED=${2:?}; shift ;;
            --skip-pgbackrest) SKIP_PGBR=1 ;;
            --check-restore) CHECK_RESTORE=1 ;;
            --no-check-restore) CHECK_RESTORE=0 ;;
            --force) FORCE=1 ;;
            --beside) BESIDE=${2:?}; shift ;;
            --results-dir) RESULTS_DIR=${2:?}; shift ;;
            -h|--help) usage; exit 0 ;;
            *) common_option "$@" || { usage >&2; die "unknown option: $1"; }; shift "$OPTION_VALUES" ;;
        esac
        shift
    done
    require_positive SCALE
    if ! [[ $CHANGED =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v f="$CHANGED" 'BEGIN { exit !(f > 0 && f <= 100) }'; then
        die "--changed: '$CHANGED' is not a percentage in (0, 100]"
    fi
    if [[ -n $BESIDE ]]; then
        jq -e '.scale and (.results | type == "array")' "$BESIDE" >/dev/null 2>&1 ||
            die "--beside $BESIDE is not a JSON written by this script"
        BESIDE=$(realpath "$BESIDE")
    fi
    resolve_pgdr_bin
    # The script works in its own directory from here on: relative paths would no longer resolve.
    mkdir -p "$RESULTS_DIR"
    RESULTS_DIR=$(realpath "$RESULTS_DIR")
}

# ---------------------------------------------------------------- helpers
load1() { cut -d' ' -f1 /proc/loadavg; }
gb() { awk -v b="$1" 'BEGIN { printf "%.1f GB", b / 1e9 }'; }
tool_enabled() { [[ $1 == pgdr ]] || ((!SKIP_PGBR)); }

# ---------------------------------------------------------------- results
# One line per timed step in $RESULTS:
#   tool step status seconds cpu_seconds rss_kib tree_rss_kib disk_read_bytes stored_bytes
#   ref_bytes pgdata_bytes load1 note snapshot sync_seconds
# ref_bytes is what MB/s is computed from: PGDATA for backup, snapshot and restore, the
# repository's size for verify.
record() { local IFS=$'\t'; echo "$*" >>"$RESULTS"; }
# One line per restore check in $CHECKS: tool status seconds note
record_check() { local IFS=$'\t'; echo "$*" >>"$CHECKS"; }

declare -A TOOL_OK=([pgdr]=1 [pgbackrest]=1)
FAILED_STEPS=()

fail_step() {  # tool step message [logfile]
    FAILED_STEPS+=("$1 $2: $3")
    report_failure "$1 $2: $3" "${4:-}"
}

# ---------------------------------------------------------------- teardown
# What goes from a --workdir at the end (lib.sh's cleanup).
WORKDIR_PARTS=(pgdata 'restore-*' 'repo-*' pgbackrest bin logs sock '*.toml' '*.tsv' '*.json' 'catalog.db*')

# ---------------------------------------------------------------- setup
setup_workdir() {
    make_workdir pgdr-scale-bench
    PGDATA="$WORKDIR/pgdata"
    SOCK="$WORKDIR/sock"
    LOGS="$WORKDIR/logs"
    RESULTS="$WORKDIR/results.tsv"
    CHECKS="$WORKDIR/checks.tsv"
    install -d -o postgres -g postgres -m 0755 "$SOCK" "$LOGS" "$WORKDIR/bin"
    install -d -o postgres -g postgres -m 0700 "$WORKDIR/pgbackrest"
    : >"$RESULTS"
    : >"$CHECKS"
    PASSPHRASE=$(random_secret)
    PORT=$(free_port)
    log "work directory $WORKDIR"
}

# Refuses, before initdb, a scale whose data and one restored copy would not fit in the work
# directory's file system (see MB_PER_SCALE); --force runs anyway.
check_space() {
    local pgdata_mb wal_mb need free
    pgdata_mb=$(awk -v s="$SCALE" -v m="$MB_PER_SCALE" 'BEGIN { printf "%.0f", s * m }')
    wal_mb=$((pgdata_mb < MAX_WAL_MB ? pgdata_mb : MAX_WAL_MB))
    need=$(awk -v p="$pgdata_mb" -v w="$wal_mb" 'BEGIN { printf "%.0f", (2.15 * p + w + 512) * 1e6 }')
    free=$(df --output=avail -B1 "$WORKDIR" | tail -n 1 | tr -d ' ')
    NEED_BYTES=$need
    FREE_BYTES=$free
    ((free >= need)) && return 0
    local msg
    msg="scale $SCALE needs about $(gb "$need") free in $WORKDIR (2.15 x PGDATA of ~$(gb $((pgdata_mb * 1000000)))"
    msg+=" plus $(gb $(((wal_mb + 512) * 1000000))) for pg_wal), $(gb "$free") free"
    ((FORCE)) && { log "$msg; going on (--force)"; return 0; }
    die "$msg (--force to run anyway)"
}

# pgdr: one local repository, process_max 2, its default compression (zstd level 2), AES-256-GCM;
# verify's schedule is one snapshot a day, so that a run longer than an hour is not judged for
# missing hourly snapshots; the catalog stays in the work directory.  pgBackRest 2.45: zst
# (level 3), aes-256-cbc, process-max 2, file-level incremental.  archive_command is a wrapper
# (mode 0700: it holds the passphrase) running pgdr archive-push, which stores the block
# summaries pgdr's change map is built from on PostgreSQL 15, then pgBackRest's archive-push;
# pgBackRest insists that archive_command mentions it, hence the wrapper's name.
setup_tools() {
    PGDR_REPO="$WORKDIR/repo-pgdr"
    PGBR_REPO="$WORKDIR/repo-pgbackrest"
    PGDR_CONF="$WORKDIR/pgdr.toml"
    install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"
    write_pgdr_config "$PGDR_CONF" "$PGDATA" "$PORT" "local=$PGDR_REPO" <<EOF
[backup]
process_max = 2
[verify]
process_max = 2
snapshot_interval = "24h"
reverify_after = "0s"
[catalog]
path = "$WORKDIR/catalog.db"
EOF
    PGBR_CONF="$WORKDIR/pgbackrest/pgbackrest.conf"
    write_encrypted_pgbackrest_conf "$PGBR_CONF" "$WORKDIR/pgbackrest" "$PGBR_REPO" 2 </dev/null
    write_both_archive_push
    pgdr init >"$LOGS/pgdr-init.log" 2>&1 || die "pgdr init failed: $(tail -3 "$LOGS/pgdr-init.log")"
}

# The server settings of the other scripts (no checkpoint or autovacuum in a step other than the
# ones the tools ask for), but archive_command is /bin/true until the data is loaded: at scale
# 2000 the load writes about 30 GB of WAL, which the archiver (two tools in turn) would push for
# many minutes while pg_wal held the backlog.  Archiving to both tools starts after the load and
# before the first backup, as for a database put under backup; the timed steps need no older WAL.
start_cluster() {
    log "initdb + start PostgreSQL 15 on 127.0.0.1:$PORT"
    init_server "$PGDATA" "$PORT" "$SOCK" "$LOGS/initdb.log" <<EOF || die "initdb failed, see $LOGS/initdb.log"
shared_buffers = 256MB
max_wal_size = ${MAX_WAL_MB}MB
checkpoint_timeout = 30min
autovacuum = off
archive_mode = on
archive_command = '/bin/true'
EOF
    start_server "$PGDATA" "$LOGS/postgresql.log" || die "PostgreSQL did not start, see $LOGS/postgresql.log"
}

build_data() {
    log "building data: pgbench, scale $SCALE"
    local t0; t0=$(now)
    load_data "$LOGS/data.log" || die "pgbench -i failed: $(tail -3 "$LOGS/data.log")"
    # Every hint bit set now (pgbench -i ends with a VACUUM; this one finds nothing left unless the
    # load changed), so that later reads do not dirty pages nobody changed; then all on disk.
    sql "VACUUM ANALYZE pgbench_accounts" >/dev/null
    sql "CHECKPOINT" >/dev/null
    LOAD_SECONDS=$(fsub "$(now)" "$t0")
    ROWS_PER_PAGE=$(sql "SELECT floor(reltuples / relpages) FROM pg_class WHERE relname = 'pgbench_accounts'")
    MAX_KEY=$(sql "SELECT max(aid) FROM pgbench_accounts")
    PGDATA_BYTES=$(pgdata_bytes "$PGDATA")
    log "loaded in $LOAD_SECONDS s: PGDATA $((PGDATA_BYTES / 1000000)) MB without pg_wal, $ROWS_PER_PAGE rows per page"
}

start_archiving() {
    switch_and_archive
    sql "ALTER SYSTEM SET archive_command = '$ARCHIVE_CMD'" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
    sleep 1
    if ((!SKIP_PGBR)); then
        pgbr stanza-create >"$LOGS/pgbackrest-stanza-create.log" 2>&1 ||
            die "pgBackRest stanza-create failed: $(tail -3 "$LOGS/pgbackrest-stanza-create.log")"
        pgbr check >"$LOGS/pgbackrest-check.log" 2>&1 ||
            die "pgBackRest check failed: $(tail -3 "$LOGS/pgbackrest-check.log")"
    fi
    switch_and_archive
    log "archiving to $( ((SKIP_PGBR)) && echo pgdr || echo 'pgdr and pgBackRest')"
}

main_table_pages() { sql "SELECT pg_relation_size('pgbench_accounts') / current_setting('block_size')::int"; }

# Updates one row in every Nth, N = rows per page * 100 / PCT, so that each updated row is on a
# page of its own and PCT % of the table's pages are touched (as changed_blocks_vs_pgbackrest.sh
# does; each update also writes the new row version and an index entry).  Then the source's count
# and sum of abalance, which a restore must give back: the sum is the number of updated rows.
change_pages() {
    local every
    every=$(awk -v r="$ROWS_PER_PAGE" -v p="$CHANGED" 'BEGIN { n = int(r * 100 / p + 0.5); print (n < 1 ? 1 : n) }')
    PAGES_BEFORE=$(main_table_pages)
    log "changing ${CHANGED}% of pgbench_accounts' pages: one row in every $every"
    EVERY_NTH=$every
    ROWS_UPDATED=$(sql "WITH u AS (UPDATE pgbench_accounts t SET abalance = abalance + 1
                        FROM generate_series($every, $MAX_KEY, $every) AS g(k)
                        WHERE t.aid = g.k RETURNING 1) SELECT count(*) FROM u")
    sql "CHECKPOINT" >/dev/null
    PAGES_AFTER=$(main_table_pages)
    PGDATA_BYTES_AFTER=$(pgdata_bytes "$PGDATA")
    SOURCE_CHECK=
    if ((CHECK_RESTORE)); then
        SOURCE_CHECK=$(sql "SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts")
        log "source: count and sum(abalance) of pgbench_accounts: $SOURCE_CHECK"
    fi
}

# ---------------------------------------------------------------- timed steps
# run_step TOOL STEP REF_BYTES STORED_DIR -- COMMAND...   (COMMAND runs as postgres)
# The archiver idle (every finished segment pushed, so that pgdr's change map finds every
# summary and no WAL of an earlier step is pushed during this one), a cold page cache, then
# COMMAND under /usr/bin/time: wall and CPU seconds (user + system of it and the children it
# waited for, pgBackRest's workers included), the largest single process's peak RSS, and the
# bytes read from the disk (%I, 512-byte blocks).  The whole tree's RSS is sampled beside it.
# STORED_DIR (or empty): what a backup step added to it is its stored bytes; with REF_BYTES
# "repo", its size after the step is the reference of MB/s (verify).  With SYNC_AFTER=1 a
# sync right after COMMAND is timed and added to the seconds, so a restore counts once durable.
# Returns 1 when the step failed.
run_step() {
    local tool=$1 step=$2 ref=$3 dir=$4; shift 5
    local name="$tool-$step"
    local tf="$LOGS/$name.time" rf="$LOGS/$name.rss" lf="$LOGS/$name.log"
    local before=0 after=0 rc pid secs user sys rss inputs tree load t0 sync_secs=
    switch_and_archive
    [[ -n $dir ]] && before=$(du_bytes "$dir")
    drop_caches
    load=$(load1)
    log "$tool: $step"
    "$TIME" -o "$tf" -f '%e %U %S %M %I' runuser -u postgres -- "$@" >"$lf" 2>&1 &
    pid=$!
    sample_tree_rss "$pid" "$rf" &
    SAMPLER_PID=$!
    rc=0
    wait "$pid" || rc=$?
    if [[ ${SYNC_AFTER:-0} == 1 ]]; then
        t0=$(now); sync; sync_secs=$(fsub "$(now)" "$t0")
    fi
    wait "$SAMPLER_PID" || true
    SAMPLER_PID=
    [[ -n $dir ]] && after=$(du_bytes "$dir")
    read -r secs user sys rss inputs < <(tail -n 1 "$tf")
    [[ -n $sync_secs ]] && secs=$(awk -v a="$secs" -v b="$sync_secs" 'BEGIN { printf "%.2f", a + b }')
    tree=$(cat "$rf" 2>/dev/null || echo 0)
    # the sum over the tree is at least its largest process (sampling can miss short peaks)
    [[ -n $rss ]] && ((rss > tree)) && tree=$rss
    local cpu; cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    local status=ok note='' stored=''
    [[ -n $dir && $step != *verify ]] && stored=$((after - before))
    # pgdr verify exits 1 for WARN findings: the repository was read whole all the same.
    if [[ $tool == pgdr && $step == *verify && $rc == 1 ]]; then
        note="exit 1: WARN findings, see $lf"
        log "pgdr verify: WARN findings (exit 1), see $lf"
    elif ((rc != 0)); then
        status=FAILED note="exit $rc"
        fail_step "$tool" "$step" "exit status $rc" "$lf"
    fi
    # pgdr backup prints the snapshot id as its last line
    local snapshot=
    [[ $tool == pgdr ]] && snapshot=$(tail -n 1 "$lf" | grep -E '^[0-9]{8}T[0-9.]+Z-[0-9a-f]+$' || true)
    [[ $ref == repo ]] && ref=$after
    record "$tool" "$step" "$status" "$secs" "$cpu" "$rss" "$tree" $((inputs * 512)) "$stored" \
        "$ref" "$(pgdata_bytes "$PGDATA")" "$load" "$note" "$snapshot" "$sync_secs"
    log "$tool: $step took $secs s, $cpu s CPU, $((rss / 1024)) MiB"
    [[ $status == ok ]]
}

skip_step() { record "$1" "$2" SKIPPED "" "" "" "" "" "" "" "" "" "an earlier step failed" "" ""; }

step_backup() {  # tool step: step "backup" is the full one, "snapshot" the one after the changes
    local tool=$1 step=$2
    tool_enabled "$tool" || return 0
    ((TOOL_OK[$tool])) || { skip_step "$tool" "$step"; return 0; }
    local ok=0 ref=$PGDATA_BYTES
    [[ $step == snapshot ]] && ref=$PGDATA_BYTES_AFTER
    if [[ $tool == pgdr ]]; then
        run_step pgdr "$step" "$ref" "$PGDR_REPO" -- \
            env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" backup && ok=1
    else
        local type=full
        [[ $step == snapshot ]] && type=incr
        run_step pgbackrest "$step" "$ref" "$PGBR_REPO" -- \
            "$PGBACKREST" --config="$PGBR_CONF" --stanza=bench --type="$type" backup && ok=1
    fi
    ((ok)) || TOOL_OK[$tool]=0
}

# Into an empty directory owned by postgres, mode 0700, recovering to the end of the snapshot and
# then promoting (both tools alike); checked, then removed before the next tool's restore.
step_restore() {
    local tool=$1 target="$WORKDIR/restore-$1" ok=0
    tool_enabled "$tool" || return 0
    ((TOOL_OK[$tool])) || { skip_step "$tool" restore; return 0; }
    install -d -o postgres -g postgres -m 0700 "$target"
    if [[ $tool == pgdr ]]; then
        SYNC_AFTER=1 run_step pgdr restore "$PGDATA_BYTES_AFTER" "" -- \
            env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" \
            restore --target-dir "$target" --immediate --target-action promote && ok=1
    else
        SYNC_AFTER=1 run_step pgbackrest restore "$PGDATA_BYTES_AFTER" "" -- \
            "$PGBACKREST" --config="$PGBR_CONF" --stanza=bench --pg1-path="$target" \
            --type=immediate --target-action=promote restore && ok=1
    fi
    RESTORED_BYTES[$tool]=$(pgdata_bytes "$target")
    ((ok && CHECK_RESTORE)) && check_restore "$tool" "$target"
    rm -rf "$target"
}
declare -A RESTORED_BYTES=()

# Starts the restored cluster on a free port with archive_mode=off (it must not push into the
# source's repositories), waits until recovery has ended, and compares pgbench_accounts' count
# and sum of abalance with the source's; untimed by the restore figure (its seconds are
# startup, recovery and one scan of the table).
check_restore() {
    local tool=$1 dir=$2 port got t0 secs lf="$LOGS/$1-restore-check.log"
    port=$(free_port)
    log "$tool: check the restore (start it on port $port, compare pgbench_accounts)"
    t0=$(now)
    if ! start_server "$dir" "$lf" -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$SOCK -c archive_mode=off"; then
        record_check "$tool" FAILED "" "restored cluster did not start"
        fail_step "$tool" restore-check "restored cluster did not start" "$lf"
        return 0
    fi
    got=
    local _ q=(as_pg "$PGBIN/psql" -X -At -h 127.0.0.1 -p "$port" -U postgres -d postgres -c)
    for _ in $(seq 1200); do
        if [[ $("${q[@]}" "SELECT pg_is_in_recovery()" 2>/dev/null) == f ]]; then
            got=$("${q[@]}" "SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts" 2>>"$lf") || got=error
            break
        fi
        sleep 0.25
    done
    secs=$(fsub "$(now)" "$t0")
    stop_server "$dir" || true
    if [[ $got == "$SOURCE_CHECK" ]]; then
        record_check "$tool" ok "$secs" "count, sum(abalance): $got"
        log "$tool: restore checked ($got, $secs s)"
    else
        record_check "$tool" FAILED "$secs" "got '${got:-still in recovery}', source $SOURCE_CHECK"
        fail_step "$tool" restore-check "count, sum(abalance) '${got:-still in recovery}' != source $SOURCE_CHECK" "$lf"
    fi
}

step_verify() {
    local tool=$1
    tool_enabled "$tool" || return 0
    if [[ $tool == pgdr ]]; then
        run_step pgdr verify repo "$PGDR_REPO" -- \
            env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" \
            verify --full --no-alerts --report "$WORKDIR/pgdr-verify.json" || true
    else
        run_step pgbackrest verify repo "$PGBR_REPO" -- \
            "$PGBACKREST" --config="$PGBR_CONF" --stanza=bench verify || true
    fi
}

# pgdr's daily verify once every object falls due again (reverify_after is 0s): every pack proven
# by the --full run before is authenticated only; compared with pgBackRest's verify, which has no
# such mode.
step_reverify() {
    run_step pgdr reverify repo "$PGDR_REPO" -- \
        env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" \
        verify --no-alerts --report "$WORKDIR/pgdr-reverify.json" || true
}

# ---------------------------------------------------------------- report
# What pgdr says each snapshot read (changes{source, read_bytes, ...}), by snapshot id.
pgdr_snapshots() {
    if pgdr info --json >"$WORKDIR/pgdr-info.json" 2>"$LOGS/pgdr-info.log"; then
        jq -c '[.repositories[].snapshots[] | {key: .id, value: {changes, new_blocks, reused_blocks, stored_bytes}}]
               | from_entries' "$WORKDIR/pgdr-info.json"
    else
        log "pgdr info --json failed: $(tail -1 "$LOGS/pgdr-info.log")"
        echo '{}'
    fi
}

report() {
    local json beside='null' restored
    [[ -n $BESIDE ]] && beside=$(jq -c --arg file "$BESIDE" \
        '{file: $file, scale, date, results: [.results[] | {tool, step, status, rss_kib, tree_rss_kib, seconds}]}' "$BESIDE")
    restored=$(for t in "${!RESTORED_BYTES[@]}"; do printf '%s\t%s\n' "$t" "${RESTORED_BYTES[$t]}"; done)
    json=$(jq -n \
        --rawfile results "$RESULTS" --rawfile checks "$CHECKS" --arg restored "$restored" \
        --argjson snapshots "$(pgdr_snapshots)" --argjson beside "$beside" \
        --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg host "$(hostname)" \
        --argjson scale "$SCALE" --arg changed "$CHANGED" \
        --arg pgdr_rev "$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
        --arg pgdr_version "$("$WORKDIR/bin/pgdr" --version 2>/dev/null || echo unknown)" \
        --arg pgbackrest "$( ((SKIP_PGBR)) && echo none || $PGBACKREST version 2>/dev/null || echo none)" \
        --arg postgres "$("$PGBIN/postgres" --version)" \
        --argjson pgdata "$PGDATA_BYTES" --argjson pgdata_after "$PGDATA_BYTES_AFTER" \
        --arg load_seconds "$LOAD_SECONDS" --argjson rows_per_page "$ROWS_PER_PAGE" \
        --argjson every "$EVERY_NTH" --argjson rows_updated "$ROWS_UPDATED" \
        --argjson pages_before "$PAGES_BEFORE" --argjson pages_after "$PAGES_AFTER" \
        --arg source_check "$SOURCE_CHECK" --argjson check "$CHECK_RESTORE" \
        --argjson need "$NEED_BYTES" --argjson free "$FREE_BYTES" \
        --argjson cold "$DROP_CACHES" --arg load_start "$LOAD_START" \
        --arg load_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
        --arg failures "$(printf '%s\n' "${FAILED_STEPS[@]}")" '
        def num: if . == "" or . == null then null else tonumber end;
        def r1: if . == null then null else (. * 10 | round) / 10 end;
        def r2: if . == null then null else (. * 100 | round) / 100 end;
        def mib: if . == null then null else (. / 1024 | r1) end;
        def tsv: split("\n") | map(select(length > 0) | split("\t"));
        ($checks | tsv | map({key: .[0], value: {status: .[1], seconds: (.[2] | num), note: .[3]}})
         | from_entries) as $check_rows
        | ($restored | tsv | map({key: .[0], value: (.[1] | num)}) | from_entries) as $restored_bytes
        | ($results | tsv | map({
            tool: .[0], step: .[1], status: .[2],
            seconds: (.[3] | num), cpu_seconds: (.[4] | num), rss_kib: (.[5] | num),
            tree_rss_kib: (.[6] | num), disk_read_bytes: (.[7] | num), stored_bytes: (.[8] | num),
            ref_bytes: (.[9] | num), pgdata_bytes: (.[10] | num), load1: (.[11] | num),
            note: (.[12] // ""), snapshot: (if (.[13] // "") == "" then null else .[13] end),
            sync_seconds: (.[14] // "" | num)
          }) | map(. + {
            mb_s: (if .status == "ok" and .seconds > 0 and .ref_bytes != null
                   then (.ref_bytes / 1e6 / .seconds | r1) else null end),
            mb_s_of: (if .step == "verify" or .step == "reverify" then "stored bytes" else "PGDATA" end),
            rss_mib: (.rss_kib | mib), tree_rss_mib: (.tree_rss_kib | mib)
          }
          + (if .snapshot != null and $snapshots[.snapshot] != null
             then {changes: $snapshots[.snapshot].changes,
                   pgdr_source: $snapshots[.snapshot].changes.source,
                   pgdr_read_bytes: $snapshots[.snapshot].changes.read_bytes}
             else {} end)
          + (if .step == "restore" then {restored_bytes: $restored_bytes[.tool], check: $check_rows[.tool]}
             else {} end))) as $rows
        | def row($t; $s): $rows | map(select(.tool == $t and .step == $s and .status == "ok")) | first;
          {
            date: $date, host: $host, data: "pgbench", scale: $scale, table: "pgbench_accounts",
            versions: {pgdr: $pgdr_version, pgdr_git: $pgdr_rev, pgbackrest: $pgbackrest, postgres: $postgres},
            settings: {process_max: 2, pgdr_compress: "zstd (default)", pgdr_compress_level: 2,
                       pgbackrest_compress: "zst", pgbackrest_cipher: "aes-256-cbc",
                       cold_cache: ($cold == 1), check_restore: ($check == 1),
                       restore_target: "end of the snapshot, then promote"},
            load_average: {start: $load_start, end: $load_end},
            disk: {needed_bytes_estimate: $need, free_bytes_at_start: $free},
            load_seconds: ($load_seconds | num),
            pgdata_bytes_without_wal: $pgdata, pgdata_bytes_after_changes: $pgdata_after,
            changes: {changed_pct: ($changed | tonumber), every_nth_row: $every, rows_updated: $rows_updated,
                      rows_per_page: $rows_per_page, table_pages_before: $pages_before,
                      table_pages_after: $pages_after},
            source_check: (if $source_check == "" then null else $source_check end),
            results: $rows,
            ratios: [ ("backup", "snapshot", "restore", "verify", "reverify") as $s
                | row("pgdr"; $s) as $p | row("pgbackrest"; if $s == "reverify" then "verify" else $s end) as $b
                | select($p != null and $b != null)
                | { step: $s,
                    pgbackrest_seconds_over_pgdr: (if $p.seconds > 0 then ($b.seconds / $p.seconds | r2) else null end),
                    pgbackrest_tree_rss_over_pgdr: (if $p.tree_rss_kib > 0 then ($b.tree_rss_kib / $p.tree_rss_kib | r2) else null end) } ],
            beside: $beside,
            failures: ($failures | split("\n") | map(select(length > 0)))
          }')
    JSON_FILE="$RESULTS_DIR/$(date +%Y%m%d-%H%M%S)-scale$SCALE-scale.json"
    printf '%s\n' "$json" >"$JSON_FILE"

    echo
    printf 'scale — pgbench scale %s, PGDATA %s MB without pg_wal (%s MB after %s%% of pgbench_accounts changed), %s cache\n' \
        "$SCALE" "$((PGDATA_BYTES / 1000000))" "$((PGDATA_BYTES_AFTER / 1000000))" "$CHANGED" \
        "$( ((DROP_CACHES)) && echo cold || echo warm)"
    echo "$json" | jq -r '
        def f: if . == null then "-" else tostring end;
        def mb: if . == null then null else (. / 1e6 * 10 | round) / 10 end;
        . as $all
        | def beside($t; $s): if $all.beside == null then null
              else ($all.beside.results | map(select(.tool == $t and .step == $s)) | first
                    | if . == null or .tree_rss_kib == null then null else (.tree_rss_kib / 1024 * 10 | round) / 10 end) end;
        (["tool", "step", "status", "seconds", "CPU s", "MB/s", "of", "RSS MiB", "tree RSS MiB",
          (if $all.beside then "tree RSS MiB at scale \($all.beside.scale)" else empty end),
          "disk read MB", "stored MB", "pgdr read MB", "source", "check", "load"] | @tsv),
        (.results[] | [.tool, .step, .status, (.seconds | f), (.cpu_seconds | f), (.mb_s | f), .mb_s_of,
                       (.rss_mib | f), (.tree_rss_mib | f),
                       (if $all.beside then (beside(.tool; .step) | f) else empty end),
                       (.disk_read_bytes | mb | f), (.stored_bytes | mb | f), (.pgdr_read_bytes | mb | f),
                       (.pgdr_source | f),
                       (if .check then "\(.check.status) \(.check.seconds // "-") s" else "-" end),
                       (.load1 | f)] | @tsv)' | column -t -s $'\t'
    echo
    echo "changed: $ROWS_UPDATED rows updated (one in $EVERY_NTH), pgbench_accounts $PAGES_BEFORE -> $PAGES_AFTER pages"
    [[ -n $SOURCE_CHECK ]] && echo "restore check: count and sum(abalance) of pgbench_accounts, source: $SOURCE_CHECK"
    echo "load average: $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "JSON: $JSON_FILE"
}

# ---------------------------------------------------------------- main
main() {
    parse_args "$@"
    if ((SKIP_PGBR)); then ensure_prereqs; else ensure_prereqs pgbackrest; fi
    set_exit_traps
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    setup_workdir
    check_space
    setup_tools
    start_cluster
    build_data
    start_archiving

    local t
    for t in pgdr pgbackrest; do step_backup "$t" backup; done
    change_pages
    for t in pgdr pgbackrest; do step_backup "$t" snapshot; done
    # One restored copy on the disk at a time: each is removed before the next is written.
    for t in pgdr pgbackrest; do step_restore "$t"; done
    for t in pgdr pgbackrest; do step_verify "$t"; done
    step_reverify

    report
    if ((${#FAILED_STEPS[@]})); then
        echo
        echo "FAILED steps (the figures above omit them):"
        printf '  %s\n' "${FAILED_STEPS[@]}"
        exit 1
    fi
}

main "$@"
