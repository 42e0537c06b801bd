#!/usr/bin/env bash
# What a snapshot costs when little has changed: pgdr reading only the blocks its change map
# names, pgdr reading everything (--full-read), and pgBackRest's incremental, on the same
# PostgreSQL 15 cluster, in the same run.
#
# A full base snapshot with each tool, then for each fraction of the main table's pages
# (0.1 %, 1 %, 10 % by default): update rows spread so that about that fraction of its pages is
# touched, and time pgdr backup (by map), pgdr backup --full-read and pgbackrest --type=incr, each
# with a cold page cache.  Wall seconds, CPU seconds, peak RSS, bytes read from disk, and for
# pgdr the bytes it says it read (pgdr info --json: changes.read_bytes).  See bench/README.md.
# Run as root, by hand; it is not part of CI.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

# ---------------------------------------------------------------- options
SCALE=50
DATA=pgbench
FRACTIONS="0.1,1,10"
SKIP_PGBR=0
PGDR_LEVEL=2

usage() {
    cat <<EOF
usage: $0 [options]   (run as root)
  --scale N               pgbench scale / realistic size, ~16 MB per unit (default $SCALE)
  --data pgbench|realistic  data set (default $DATA)
  --fractions LIST        percentages of the main table's pages to change, in order (default $FRACTIONS)
  --pgdr PATH             pgdr binary (default build/src/pgdr)
  --workdir DIR           work directory (default: new mktemp dir under /var/tmp)
  --keep                  keep the work directory (cluster, repos, logs) at the end
  --skip-pgbackrest       run pgdr only
  --pgdr-level N          pgdr [backup] compress_level (default $PGDR_LEVEL, pgdr's default; runs before
                          2026-12-07 used 1)
  --warm                  do not drop the page cache before each timed step
  --results-dir DIR       where the JSON goes (default bench/results)
EOF
}

parse_args() {
    while (($#)); do
        case "$1" in
            --scale) SCALE=${2:?}; shift ;;
            --data) DATA=${2:?}; shift ;;
            --fractions) FRACTIONS=${2:?}; shift ;;
            --skip-pgbackrest) SKIP_PGBR=1 ;;
            --pgdr-level) PGDR_LEVEL=${2:?}; shift ;;
            --warm) DROP_CACHES=0 ;;
            --results-dir) RESULTS_DIR=${2:?}; shift ;;
            -h|--help) usage; exit 0 ;;
            *) common_option "$@" || { usage >&2; die "unknown option: $1"; }; shift "$OPTION_VALUES" ;;
        esac
        shift
    done
    require_positive SCALE
    [[ $PGDR_LEVEL =~ ^-?[0-9]+$ ]] || die "--pgdr-level must be an integer"
    [[ $DATA == pgbench || $DATA == realistic ]] || die "--data must be pgbench or realistic"
    local f
    for f in ${FRACTIONS//,/ }; do
        if ! [[ $f =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v f="$f" 'BEGIN { exit !(f > 0 && f <= 100) }'; then
            die "--fractions: '$f' is not a percentage in (0, 100]"
        fi
    done
    resolve_pgdr_bin
    # The script works in its own directory from here on: relative paths would no longer resolve.
    mkdir -p "$RESULTS_DIR"
    RESULTS_DIR=$(realpath "$RESULTS_DIR")
}

# ---------------------------------------------------------------- helpers
load1() { cut -d' ' -f1 /proc/loadavg; }

# The table whose pages are changed and its integer key.
main_table() { if [[ $DATA == pgbench ]]; then echo pgbench_accounts; else echo orders; fi; }
main_key() { if [[ $DATA == pgbench ]]; then echo aid; else echo order_id; fi; }
change_set() { if [[ $DATA == pgbench ]]; then echo "abalance = abalance + 1"; else echo "status = 'returned'"; fi; }

# ---------------------------------------------------------------- results
# One line per step in $RESULTS:
#   fraction tool step status seconds cpu_seconds rss_kib tree_rss_kib disk_read_bytes
#   stored_bytes pgdata_bytes load1 note snapshot
record() { local IFS=$'\t'; echo "$*" >>"$RESULTS"; }
# One line per change in $CHANGES: fraction every_nth rows_updated pages_before pages_after
FAILED_STEPS=()

# ---------------------------------------------------------------- teardown
# What goes from a --workdir at the end (lib.sh's cleanup).
WORKDIR_PARTS=(pgdata 'repo-*' pgbackrest bin logs sock sql '*.toml' '*.tsv' '*.json')

# ---------------------------------------------------------------- setup
setup_workdir() {
    make_workdir pgdr-changed-bench
    PGDATA="$WORKDIR/pgdata"
    SOCK="$WORKDIR/sock"
    LOGS="$WORKDIR/logs"
    RESULTS="$WORKDIR/results.tsv"
    CHANGES="$WORKDIR/changes.tsv"
    install -d -o postgres -g postgres -m 0755 "$SOCK" "$LOGS" "$WORKDIR/sql" "$WORKDIR/bin"
    install -d -o postgres -g postgres -m 0700 "$WORKDIR/pgbackrest"
    : >"$RESULTS"
    : >"$CHANGES"
    cp "$BENCH_DIR"/sql/* "$WORKDIR/sql/"
    chmod 0644 "$WORKDIR"/sql/*
    install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"
    PASSPHRASE=$(random_secret)
    PORT=$(free_port)
    log "work directory $WORKDIR"
}

# pgdr: two local repositories, zstd at --pgdr-level, 2 readers: snapshots by map go to "map",
# --full-read ones to "full", both hold the base, so each step stores the same new blocks and
# only what it reads differs (a full-read into the same repository right after a snapshot by map
# would find every block stored already and skip their compression, encryption and writes).  pgBackRest: zst (level 3), aes-256-cbc,
# process-max 2, file-level incremental (its default).  archive_command is pgdr archive-push,
# which stores the block summaries the change map is built from, then pgBackRest's archive-push,
# which its backups need; the wrapper holds the passphrase, so it is mode 0700.  pgBackRest
# insists that archive_command mentions it: hence the wrapper's name.
setup_tools() {
    PGDR_CONF="$WORKDIR/pgdr.toml"
    write_pgdr_config "$PGDR_CONF" "$PGDATA" "$PORT" "map=$WORKDIR/repo-pgdr-map" "full=$WORKDIR/repo-pgdr-full" <<EOF
[backup]
process_max = 2
compress = "zstd"
compress_level = $PGDR_LEVEL
EOF
    PGBR_CONF="$WORKDIR/pgbackrest/pgbackrest.conf"
    write_encrypted_pgbackrest_conf "$PGBR_CONF" "$WORKDIR/pgbackrest" "$WORKDIR/repo-pgbackrest" 2 </dev/null
    write_both_archive_push
    pgdr init >"$LOGS/pgdr-init.log" 2>&1 || die "pgdr init failed: $(tail -3 "$LOGS/pgdr-init.log")"
}

start_cluster() {
    log "initdb + start PostgreSQL 15 on 127.0.0.1:$PORT"
    # Same server settings as backup_vs_pgbackrest.sh: no checkpoint or autovacuum in the middle of
    # a step other than the ones the tools ask for.
    init_server "$PGDATA" "$PORT" "$SOCK" "$LOGS/initdb.log" <<EOF || die "initdb failed, see $LOGS/initdb.log"
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
autovacuum = off
archive_mode = on
archive_command = '$ARCHIVE_CMD'
EOF
    start_server "$PGDATA" "$LOGS/postgresql.log" || die "PostgreSQL did not start, see $LOGS/postgresql.log"
    if ((!SKIP_PGBR)); then
        pgbr stanza-create >"$LOGS/pgbackrest-stanza-create.log" 2>&1 ||
            die "pgBackRest stanza-create failed: $(tail -3 "$LOGS/pgbackrest-stanza-create.log")"
        pgbr check >"$LOGS/pgbackrest-check.log" 2>&1 ||
            die "pgBackRest check failed: $(tail -3 "$LOGS/pgbackrest-check.log")"
    fi
}

build_data() {
    log "building data: $DATA, scale $SCALE"
    load_data "$LOGS/data.log" || die "loading the $DATA data failed: $(tail -3 "$LOGS/data.log")"
    # Every hint bit set now (both loads end with a VACUUM; this one finds nothing left to do
    # unless the load changed), so that later reads do not dirty pages the updates did not
    # touch; not FREEZE, which would write every page's WAL once more; then everything on disk.
    sql "VACUUM ANALYZE $(main_table)" >/dev/null
    sql "CHECKPOINT" >/dev/null
    ROWS_PER_PAGE=$(sql "SELECT floor(reltuples / relpages) FROM pg_class WHERE relname = '$(main_table)'")
    MAX_KEY=$(sql "SELECT max($(main_key)) FROM $(main_table)")
    PGDATA_BYTES=$(pgdata_bytes "$PGDATA")
    log "PGDATA $((PGDATA_BYTES / 1000000)) MB without pg_wal, $ROWS_PER_PAGE rows per page of $(main_table)"
}

main_table_pages() { sql "SELECT pg_relation_size('$(main_table)') / current_setting('block_size')::int"; }

# Updates one row in every Nth, N = rows per page * 100 / PCT, so that each updated row is on a
# page of its own and PCT % of the table's pages are touched.  Each update also writes the new
# row version (fillfactor 100: on another page, mostly new ones at the end) and an entry in every
# index of the table.
change_pages() {
    local pct=$1 every before after rows
    every=$(awk -v r="$ROWS_PER_PAGE" -v p="$pct" 'BEGIN { n = int(r * 100 / p + 0.5); print (n < 1 ? 1 : n) }')
    before=$(main_table_pages)
    log "changing ${pct}% of $(main_table)'s pages: one row in every $every"
    rows=$(sql "WITH u AS (UPDATE $(main_table) t SET $(change_set)
                FROM generate_series($every, $MAX_KEY, $every) AS g(k)
                WHERE t.$(main_key) = g.k RETURNING 1) SELECT count(*) FROM u")
    sql "CHECKPOINT" >/dev/null
    after=$(main_table_pages)
    local IFS=$'\t'
    echo "$pct	$every	$rows	$before	$after" >>"$CHANGES"
}

# ---------------------------------------------------------------- timed steps
# run_step FRACTION TOOL STEP REPO_DIR -- COMMAND...   (COMMAND runs as postgres)
# Cold page cache, then COMMAND under /usr/bin/time: wall and CPU seconds (user + system, its
# waited-for children included, so pgBackRest's worker processes count), the largest single
# process's peak RSS, and file-system inputs (512-byte blocks read from the disk by the command
# and its children: with a cold cache, what it read from PGDATA plus a little repository and
# program text).  The peak of the whole tree's RSS is sampled beside it.
run_step() {
    local pct=$1 tool=$2 step=$3 repo=$4; shift 5
    local name="$tool-$step-$pct"
    local tf="$LOGS/$name.time" rf="$LOGS/$name.rss" lf="$LOGS/$name.log"
    local before after rc pid secs user sys rss inputs tree load
    # Also so that the change map finds the summaries of every complete segment in the archive.
    switch_and_archive
    before=$(du_bytes "$repo")
    drop_caches
    load=$(load1)
    log "$tool: $step ($pct)"
    "$TIME" -o "$tf" -f '%e %U %S %M %I' runuser -u postgres -- "$@" >"$lf" 2>&1 &
    pid=$!
    sample_tree_rss "$pid" "$rf" &
    SAMPLER_PID=$!
    rc=0
    wait "$pid" || rc=$?
    wait "$SAMPLER_PID" || true
    SAMPLER_PID=
    after=$(du_bytes "$repo")
    read -r secs user sys rss inputs < <(tail -n 1 "$tf")
    tree=$(cat "$rf" 2>/dev/null || echo 0)
    [[ -n $rss ]] && ((rss > tree)) && tree=$rss
    local cpu; cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    local status=ok note=
    if ((rc != 0)); then
        status=FAILED note="exit $rc"
        FAILED_STEPS+=("$tool $step $pct: exit status $rc")
        report_failure "$tool $step ($pct): exit status $rc" "$lf"
    fi
    # pgdr prints the snapshot id as its last line
    local snapshot=
    [[ $tool == pgdr ]] && snapshot=$(tail -n 1 "$lf" | grep -E '^[0-9]{8}T[0-9.]+Z-[0-9a-f]+$' || true)
    record "$pct" "$tool" "$step" "$status" "$secs" "$cpu" "$rss" "$tree" $((inputs * 512)) \
        $((after - before)) "$(pgdata_bytes "$PGDATA")" "$load" "$note" "$snapshot"
    log "$tool: $step ($pct) took $secs s, $cpu s CPU, $((rss / 1024)) MiB"
}

pgdr_step() {  # fraction step repository [backup options]
    local pct=$1 step=$2 repo=$3; shift 3
    run_step "$pct" pgdr "$step" "$WORKDIR/repo-pgdr-$repo" -- \
        env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" backup "$@"
}
pgbr_step() {  # fraction step type
    ((SKIP_PGBR)) && return 0
    run_step "$1" pgbackrest "$2" "$WORKDIR/repo-pgbackrest" -- \
        "$PGBACKREST" --config="$PGBR_CONF" --stanza=bench --type="$3" backup
}

# What pgdr says each snapshot read: changes{source, reason, read_bytes, unread_blocks}, by
# snapshot id (the base is in both repositories under one id; its figures are the same).
pgdr_changes() {
    pgdr info --json >"$WORKDIR/pgdr-info.json" 2>"$LOGS/pgdr-info.log" ||
        die "pgdr info --json failed: $(tail -3 "$LOGS/pgdr-info.log")"
    jq -c '[.repositories[].snapshots[] | {key: .id, value: {changes, new_blocks, reused_blocks, stored_bytes}}]
           | from_entries' "$WORKDIR/pgdr-info.json"
}

# ---------------------------------------------------------------- report
report() {
    local json changes
    changes=$(pgdr_changes)
    json=$(jq -n \
        --rawfile results "$RESULTS" --rawfile change_rows "$CHANGES" --argjson snapshots "$changes" \
        --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg host "$(hostname)" \
        --arg data "$DATA" --argjson scale "$SCALE" --argjson pgdr_level "$PGDR_LEVEL" --arg table "$(main_table)" \
        --arg pgdr_rev "$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
        --arg pgdr_version "$("$WORKDIR/bin/pgdr" --version 2>/dev/null || echo unknown)" \
        --arg pgbackrest "$($PGBACKREST version 2>/dev/null || echo none)" \
        --arg postgres "$("$PGBIN/postgres" --version)" \
        --argjson pgdata "$PGDATA_BYTES" --argjson rows_per_page "$ROWS_PER_PAGE" \
        --argjson cold "$DROP_CACHES" --arg load_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
        --arg load_start "$LOAD_START" \
        --arg failures "$(printf '%s\n' "${FAILED_STEPS[@]}")" '
        def num: if . == "" or . == null then null else tonumber end;
        def r2: if . == null then null else (. * 100 | round) / 100 end;
        def r4: if . == null then null else (. * 10000 | round) / 10000 end;
        def tsv: split("\n") | map(select(length > 0) | split("\t"));
        ($results | tsv | map({
            fraction_pct: .[0], tool: .[1], step: .[2], status: .[3],
            seconds: (.[4] | num), cpu_seconds: (.[5] | num), rss_kib: (.[6] | num),
            tree_rss_kib: (.[7] | num), disk_read_bytes: (.[8] | num), stored_bytes: (.[9] | num),
            pgdata_bytes: (.[10] | num), load1: (.[11] | num), note: .[12],
            snapshot: (if (.[13] // "") == "" then null else .[13] end)
        }) | map(if .snapshot != null and $snapshots[.snapshot] != null
                 then . + {changes: $snapshots[.snapshot].changes, new_blocks: $snapshots[.snapshot].new_blocks}
                 else . end)) as $rows
        | ($rows | map(. + {
              pgdr_read_bytes: (.changes.read_bytes // null),
              read_share: (if .changes.read_bytes != null and .pgdata_bytes > 0
                           then (.changes.read_bytes / .pgdata_bytes | r4) else null end),
              disk_read_share: (if .disk_read_bytes != null and .pgdata_bytes > 0
                                then (.disk_read_bytes / .pgdata_bytes | r4) else null end),
              rss_mib: (if .rss_kib then (.rss_kib / 1024 * 10 | round) / 10 else null end),
              tree_rss_mib: (if .tree_rss_kib then (.tree_rss_kib / 1024 * 10 | round) / 10 else null end)
          })) as $rows
        | ($change_rows | tsv | map({fraction_pct: .[0], every_nth_row: (.[1] | num),
              rows_updated: (.[2] | num), table_pages_before: (.[3] | num), table_pages_after: (.[4] | num)})) as $changes
        | def row($f; $s): $rows | map(select(.fraction_pct == $f and .step == $s and .status == "ok")) | first;
          {
            date: $date, host: $host, data: $data, scale: $scale, table: $table,
            versions: {pgdr: $pgdr_version, pgdr_git: $pgdr_rev, pgbackrest: $pgbackrest, postgres: $postgres},
            settings: {process_max: 2, pgdr_compress: "zstd", pgdr_compress_level: $pgdr_level,
                       pgbackrest_compress: "zst", pgbackrest_cipher: "aes-256-cbc",
                       cold_cache: ($cold == 1)},
            load_average: {start: $load_start, end: $load_end},
            pgdata_bytes_without_wal: $pgdata, rows_per_page: $rows_per_page,
            changes: $changes,
            results: $rows,
            ratios: [ $changes[].fraction_pct as $f
                | row($f; "map") as $m | row($f; "full-read") as $fr | row($f; "incr") as $i
                | select($m != null)
                | { fraction_pct: $f,
                    map_seconds: $m.seconds,
                    map_read_share: $m.read_share,
                    full_read_over_map: (if $fr != null and $m.seconds > 0 then ($fr.seconds / $m.seconds | r2) else null end),
                    incr_over_map: (if $i != null and $m.seconds > 0 then ($i.seconds / $m.seconds | r2) else null end) } ],
            failures: ($failures | split("\n") | map(select(length > 0)))
          }')
    JSON_FILE="$RESULTS_DIR/$(date +%Y%m%d-%H%M%S)-changed-scale$SCALE-$DATA.json"
    printf '%s\n' "$json" >"$JSON_FILE"

    echo
    printf 'changed blocks — data %s, scale %s, PGDATA %s MB without pg_wal, %s rows per page of %s, %s cache\n' \
        "$DATA" "$SCALE" "$((PGDATA_BYTES / 1000000))" "$ROWS_PER_PAGE" "$(main_table)" \
        "$( ((DROP_CACHES)) && echo cold || echo warm)"
    echo "$json" | jq -r '
        def f: if . == null then "-" else tostring end;
        def mb: if . == null then null else (. / 1e6 * 10 | round) / 10 end;
        (["changed %", "tool", "step", "status", "seconds", "CPU s", "RSS MiB", "tree RSS MiB",
          "pgdr read MB", "disk read MB", "stored MB", "source", "load"] | @tsv),
        (.results[] | [.fraction_pct, .tool, .step, .status, (.seconds | f), (.cpu_seconds | f),
                       (.rss_mib | f), (.tree_rss_mib | f), (.pgdr_read_bytes | mb | f),
                       (.disk_read_bytes | mb | f), (.stored_bytes | mb | f),
                       (.changes.source | f), (.load1 | f)] | @tsv)' | column -t -s $'\t'
    echo
    echo "$json" | jq -r '
        def f: if . == null then "-" else tostring end;
        (["changed %", "rows updated", "one in", "map s", "map read % of PGDATA", "full-read s / map s", "incr s / map s"] | @tsv),
        (.ratios[] as $r | (.changes[] | select(.fraction_pct == $r.fraction_pct)) as $c
         | [$r.fraction_pct, ($c.rows_updated | f), ($c.every_nth_row | f), ($r.map_seconds | f),
            (if $r.map_read_share == null then "-" else ($r.map_read_share * 100 * 100 | round / 100 | tostring) end),
            ($r.full_read_over_map | f), ($r.incr_over_map | f)] | @tsv)' | column -t -s $'\t'
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
    setup_tools
    start_cluster
    build_data

    # The base: a full snapshot with each tool.  pgdr's first snapshot reads everything (no
    # previous one); pgBackRest's is --type=full.
    pgdr_step base full map
    pgbr_step base full full

    # Per fraction: pgdr by map, pgdr --full-read, pgBackRest's incremental, each relative to
    # its own previous snapshot; the order is reversed every other fraction, so no step always
    # runs first after the changes or right after another's writes.
    local pct n=0
    for pct in ${FRACTIONS//,/ }; do
        change_pages "$pct"
        if ((n++ % 2)); then
            pgbr_step "$pct" incr incr
            pgdr_step "$pct" full-read full --full-read --repo full
            pgdr_step "$pct" map map --repo map
        else
            pgdr_step "$pct" map map --repo map
            pgdr_step "$pct" full-read full --full-read --repo full
            pgbr_step "$pct" incr incr
        fi
    done

    report
    if ((${#FAILED_STEPS[@]})); then
        echo
        echo "FAILED steps (the figures above omit them):"
        printf '  %s\n' "${FAILED_STEPS[@]}"
        exit 1
    fi
}

main "$@"
