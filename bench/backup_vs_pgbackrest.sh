#!/usr/bin/env bash
# Compare pgdr with pgBackRest on the same PostgreSQL 15 cluster, in the same run.
#
# Steps, per tool: full backup, restore into an empty directory (then start the restored
# cluster and check a row count), and after a shared write workload an "hourly" snapshot
# (pgdr backup again / pgBackRest --type=incr).  See bench/README.md for what each figure
# means.  Run as root, by hand; it is not part of CI.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

# ---------------------------------------------------------------- options
SCALE=10
DATA=pgbench
TOOLS="pgdr,pgbackrest-lz4,pgbackrest-zst"
DURATION=60
PGDR_COMPRESS=zstd
PGDR_LEVEL=2
PGBR_CIPHER=1
PGBR_BLOCK=0
DISK_TEST_MIB=2048

usage() {
    cat <<EOF
usage: $0 [options]   (run as root)
  --scale N               pgbench scale / realistic size, ~16 MB per unit (default $SCALE)
  --data pgbench|realistic  data set and workload (default $DATA)
  --pgdr PATH             pgdr binary (default build/src/pgdr)
  --workdir DIR           work directory (default: new mktemp dir under /var/tmp)
  --keep                  keep the work directory (clusters, repos, logs) at the end
  --skip-pgbackrest       run pgdr only
  --tools LIST            subset of pgdr,pgbackrest-lz4,pgbackrest-zst
  --duration S            seconds of write workload before the hourly step (default $DURATION)
  --pgdr-compress C       pgdr [backup] compress: zstd|lz4|none (default $PGDR_COMPRESS)
  --pgdr-level N          pgdr [backup] compress_level (default $PGDR_LEVEL)
  --no-pgbackrest-cipher  store pgBackRest repos unencrypted (default: aes-256-cbc, as pgdr
                          always encrypts)
  --pgbackrest-block      pgBackRest beta=y repo-bundle=y repo-block=y (block incremental; beta
                          in 2.45, off by default)
  --disk-test-mib N       size of the durable-write disk test (default $DISK_TEST_MIB)
  --results-dir DIR       where the JSON goes (default bench/results)
EOF
}

parse_args() {
    while (($#)); do
        case "$1" in
            --scale) SCALE=${2:?}; shift ;;
            --data) DATA=${2:?}; shift ;;
            --skip-pgbackrest) SKIP_PGBR=1 ;;
            --tools) TOOLS=${2:?}; shift ;;
            --duration) DURATION=${2:?}; shift ;;
            --pgdr-compress) PGDR_COMPRESS=${2:?}; shift ;;
            --pgdr-level) PGDR_LEVEL=${2:?}; shift ;;
            --no-pgbackrest-cipher) PGBR_CIPHER=0 ;;
            --pgbackrest-block) PGBR_BLOCK=1 ;;
            --disk-test-mib) DISK_TEST_MIB=${2:?}; shift ;;
            --results-dir) RESULTS_DIR=${2:?}; shift ;;
            -h|--help) usage; exit 0 ;;
            *) common_option "$@" || { usage >&2; die "unknown option: $1"; }; shift "$OPTION_VALUES" ;;
        esac
        shift
    done
    require_positive SCALE DURATION
    # The script works in its own directory from here on: relative paths would no longer resolve.
    [[ $PGDR_BIN == /* ]] || PGDR_BIN="$PWD/$PGDR_BIN"
    [[ $RESULTS_DIR == /* ]] || RESULTS_DIR="$PWD/$RESULTS_DIR"
    [[ $DATA == pgbench || $DATA == realistic ]] || die "--data must be pgbench or realistic"
    SELECTED=()
    local t
    for t in ${TOOLS//,/ }; do
        case "$t" in
            pgdr) SELECTED+=("$t") ;;
            pgbackrest-lz4|pgbackrest-zst) [[ ${SKIP_PGBR:-0} == 1 ]] || SELECTED+=("$t") ;;
            *) die "unknown tool in --tools: $t" ;;
        esac
    done
    ((${#SELECTED[@]})) || die "no tool selected"
    PGBR_TOOLS=()
    for t in "${SELECTED[@]}"; do [[ $t == pgdr ]] || PGBR_TOOLS+=("$t"); done
}

has_tool() { local t; for t in "${SELECTED[@]}"; do [[ $t == "$1" ]] && return 0; done; return 1; }


# ---------------------------------------------------------------- results
# One line per step in $RESULTS:
#   tool step status seconds rss_kib tree_rss_kib stored_bytes ref_bytes note sync_seconds
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "${10:-}" >>"$RESULTS"; }

declare -A TOOL_OK=()
FAILED_STEPS=()

# ---------------------------------------------------------------- teardown
# What goes from a --workdir at the end (lib.sh's cleanup).
WORKDIR_PARTS=(pgdata 'restore-*' 'repo-*' 'pgbackrest-*' bin logs sock sql '*.toml' '*.tsv' disk-test)

# ---------------------------------------------------------------- setup
setup_workdir() {
    make_workdir pgdr-bench
    PGDATA="$WORKDIR/pgdata"
    SOCK="$WORKDIR/sock"
    LOGS="$WORKDIR/logs"
    RESULTS="$WORKDIR/results.tsv"
    install -d -o postgres -g postgres -m 0755 "$SOCK" "$LOGS" "$WORKDIR/sql"
    install -d -m 0755 "$WORKDIR/bin"
    : >"$RESULTS"
    cp "$BENCH_DIR"/sql/* "$WORKDIR/sql/"
    chmod 0644 "$WORKDIR"/sql/*
    PASSPHRASE=$(random_secret)
    PGBR_CIPHER_PASS=$(random_secret)
    log "work directory $WORKDIR"
}

setup_pgdr() {
    has_tool pgdr || return 0
    TOOL_OK[pgdr]=1
    if [[ ! -x $PGDR_BIN ]]; then
        record pgdr init FAILED "" "" "" "" "" "binary not found"
        fail_tool pgdr init "pgdr binary not found or not executable: $PGDR_BIN"
        return 0
    fi
    install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"
    PGDR_REPO="$WORKDIR/repo-pgdr"
    PGDR_CONF="$WORKDIR/pgdr.toml"
    write_pgdr_config "$PGDR_CONF" "$PGDATA" "$PORT" "local=$PGDR_REPO" <<EOF
[backup]
process_max = 2
compress = "$PGDR_COMPRESS"
compress_level = $PGDR_LEVEL
EOF
    if ! pgdr init >"$LOGS/pgdr-init.log" 2>&1; then
        record pgdr init FAILED "" "" "" "" "" "pgdr init failed"
        fail_tool pgdr init "pgdr init failed" "$LOGS/pgdr-init.log"
    fi
}

# One pgBackRest configuration (own repo, log and lock paths) per variant, one stanza "bench"
# in each; the cluster's archive_command pushes every segment to all of them.
pgbr_conf() { echo "$WORKDIR/$1/pgbackrest.conf"; }
pgbr_of() { local t=$1; shift; PGBR_CONF=$(pgbr_conf "$t") pgbr "$@"; }

write_pgbackrest_configs() {
    local t dir confs=()
    for t in "${PGBR_TOOLS[@]}"; do
        TOOL_OK[$t]=1
        dir="$WORKDIR/$t"
        install -d -o postgres -g postgres -m 0700 "$dir" "$dir/spool"
        {
            echo "repo1-path=$WORKDIR/repo-$t"
            echo "repo1-retention-full=99"
            if ((PGBR_CIPHER)); then
                echo "repo1-cipher-type=aes-256-cbc"
                echo "repo1-cipher-pass=$PGBR_CIPHER_PASS"
            fi
            if ((PGBR_BLOCK)); then
                echo "beta=y"
                echo "repo1-bundle=y"
                echo "repo1-block=y"
            fi
            echo "compress-type=${t#pgbackrest-}"
            echo "spool-path=$dir/spool"
            echo "log-level-file=info"
        } | write_pgbackrest_conf "$(pgbr_conf "$t")" "$dir" "$PGDATA" "$PORT" "$SOCK" 2
        confs+=("$(pgbr_conf "$t")")
    done
    write_archive_push "$WORKDIR/bin/pgbackrest-archive-push" "" "${confs[@]}"
}

start_source_cluster() {
    PORT=$(free_port)
    log "initdb + start PostgreSQL 15 on 127.0.0.1:$PORT"
    local archive_cmd="/bin/true"
    ((${#PGBR_TOOLS[@]})) && archive_cmd="$WORKDIR/bin/pgbackrest-archive-push %p"
    init_server "$PGDATA" "$PORT" "$SOCK" "$LOGS/initdb.log" <<EOF || die "initdb failed, see $LOGS/initdb.log"
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
autovacuum = off
archive_mode = on
archive_command = '$archive_cmd'
EOF
}

pg_start() {  # pgdata port logfile [extra -c options]
    local d=$1 p=$2 l=$3; shift 3
    # The restored cluster runs pgdr archive-get: start_server gives it the passphrase.
    start_server "$d" "$l" -o "-p $p -c listen_addresses=127.0.0.1 -c unix_socket_directories=$SOCK $*"
}

create_stanzas() {
    local t
    for t in "${PGBR_TOOLS[@]}"; do
        pgbr_of "$t" stanza-create >"$LOGS/$t-stanza-create.log" 2>&1 ||
            die "pgBackRest stanza-create ($t) failed: $(tail -3 "$LOGS/$t-stanza-create.log")"
    done
    for t in "${PGBR_TOOLS[@]}"; do
        pgbr_of "$t" check >"$LOGS/$t-check.log" 2>&1 ||
            die "pgBackRest check ($t) failed: $(tail -3 "$LOGS/$t-check.log")"
    done
}

# ---------------------------------------------------------------- data + workload
verify_table() { if [[ $DATA == pgbench ]]; then echo pgbench_accounts; else echo orders; fi; }

build_data() {
    log "building data: $DATA, scale $SCALE"
    local t0; t0=$(now)
    load_data "$LOGS/data.log" || die "loading the $DATA data failed: $(tail -3 "$LOGS/data.log")"
    sql "CHECKPOINT" >/dev/null
    SOURCE_COUNT=$(sql "SELECT count(*) FROM $(verify_table)")
    log "data built in $(fsub "$(now)" "$t0") s; $(verify_table) has $SOURCE_COUNT rows"
}

run_workload() {
    log "workload: $DURATION s, 4 clients"
    local args=(-h 127.0.0.1 -p "$PORT" -U postgres -T "$DURATION" -c 4 -j 2)
    [[ $DATA == realistic ]] && args+=(-n -f "$WORKDIR/sql/realistic_workload.pgbench" -D scale="$SCALE")
    as_pg "$PGBIN/pgbench" "${args[@]}" postgres >"$LOGS/workload.log" 2>&1 ||
        die "workload failed: $(tail -3 "$LOGS/workload.log")"
    WORKLOAD_TPS=$(awk '/^tps = / { print $3; exit }' "$LOGS/workload.log")
    # autovacuum is off so that every tool's hourly snapshot sees the same files; vacuum
    # here instead, as an hour of real activity would have.
    sql "VACUUM ANALYZE" >/dev/null
    sql "CHECKPOINT" >/dev/null
    log "workload done: $WORKLOAD_TPS tps"
}

# Switch WAL and wait until the archiver has pushed every completed segment (no .ready file
# left), so WAL produced by earlier steps is not archived (and counted) during the next
# timed step.
wait_for_archive() {
    ((${#PGBR_TOOLS[@]})) || return 0
    switch_and_archive
}

# ---------------------------------------------------------------- disk figures
measure_disk() {
    log "disk: durable write of $DISK_TEST_MIB MiB (O_DIRECT + fdatasync)"
    local f="$WORKDIR/disk-test" t0 t1 bytes
    sync
    t0=$(now)
    dd if=/dev/zero of="$f" bs=1M count="$DISK_TEST_MIB" oflag=direct conv=fdatasync status=none
    t1=$(now)
    rm -f "$f"
    DISK_WRITE_MBS=$(mb_per_s $((DISK_TEST_MIB * 1048576)) "$(fsub "$t1" "$t0")")
    log "disk durable write: $DISK_WRITE_MBS MB/s"

    # Reads PGDATA (without pg_wal) twice; the second, warm-cache pass is timed.  This is also
    # the cache warm-up that every tool gets equally before its first backup.
    bytes=$(pgdata_bytes "$PGDATA")
    tar cf - -C "$PGDATA" --exclude=./pg_wal . | cat >/dev/null
    t0=$(now)
    tar cf - -C "$PGDATA" --exclude=./pg_wal . | cat >/dev/null
    t1=$(now)
    WARM_READ_MBS=$(mb_per_s "$bytes" "$(fsub "$t1" "$t0")")
    log "warm read of PGDATA: $WARM_READ_MBS MB/s"
}

# ---------------------------------------------------------------- timed steps
# run_step TOOL STEP REPO_DIR REF_BYTES -- COMMAND...   (COMMAND runs as postgres)
# Times COMMAND, records wall seconds, peak RSS and what it added to REPO_DIR.
# With SYNC_AFTER=1, a sync(1) right after COMMAND is timed and added to the seconds, so a
# restore counts only once its files are durable, whether or not the tool fsyncs them itself.
run_step() {
    local tool=$1 step=$2 repo=$3 ref=$4; shift 5
    local tf="$LOGS/$tool-$step.time" rf="$LOGS/$tool-$step.rss" lf="$LOGS/$tool-$step.log"
    local before after rc pid secs rss tree t0 sync_secs=
    sync
    before=$(du_bytes "$repo")
    log "$tool: $step"
    "$TIME" -o "$tf" -f '%e %M' runuser -u postgres -- "$@" >"$lf" 2>&1 &
    pid=$!
    sample_tree_rss "$pid" "$rf" &
    SAMPLER_PID=$!
    rc=0
    wait "$pid" || rc=$?
    if [[ ${SYNC_AFTER:-0} == 1 && $rc == 0 ]]; then
        t0=$(now); sync; sync_secs=$(fsub "$(now)" "$t0")
    fi
    wait "$SAMPLER_PID" || true
    SAMPLER_PID=
    after=$(du_bytes "$repo")
    read -r secs rss < <(tail -n 1 "$tf")
    [[ -n $sync_secs ]] && secs=$(awk -v a="$secs" -v b="$sync_secs" 'BEGIN { printf "%.2f", a + b }')
    tree=$(cat "$rf" 2>/dev/null || echo 0)
    # the sum over the tree is at least its largest process (sampling can miss short peaks)
    [[ -n $rss ]] && ((rss > tree)) && tree=$rss
    if ((rc != 0)); then
        record "$tool" "$step" FAILED "$secs" "$rss" "$tree" $((after - before)) "$ref" "exit $rc"
        fail_tool "$tool" "$step" "exit status $rc" "$lf"
        return 1
    fi
    record "$tool" "$step" ok "$secs" "$rss" "$tree" $((after - before)) "$ref" "" "$sync_secs"
    log "$tool: $step took $secs s"
}

fail_tool() {  # tool step message [logfile]
    TOOL_OK[$1]=0
    FAILED_STEPS+=("$1 $2: $3")
    report_failure "$1 $2: $3" "${4:-}"
}

skip_step() { record "$1" "$2" SKIPPED "" "" "" "" "" "earlier step failed"; }

repo_of() { if [[ $1 == pgdr ]]; then echo "$PGDR_REPO"; else echo "$WORKDIR/repo-$1"; fi; }

step_full_backup() {
    local tool=$1
    [[ ${TOOL_OK[$tool]} == 1 ]] || { skip_step "$tool" backup; return 0; }
    wait_for_archive
    if [[ $tool == pgdr ]]; then
        run_step pgdr backup "$(repo_of pgdr)" "$PGDATA_BYTES" -- \
            env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" backup || true
    else
        run_step "$tool" backup "$(repo_of "$tool")" "$PGDATA_BYTES" -- \
            "$PGBACKREST" --config="$(pgbr_conf "$tool")" --stanza=bench --type=full backup || true
    fi
}

step_restore() {
    local tool=$1 target="$WORKDIR/restore-$1"
    [[ ${TOOL_OK[$tool]} == 1 ]] || { skip_step "$tool" restore; skip_step "$tool" verify; return 0; }
    # Same for every tool: an empty directory owned by postgres, mode 0700.
    install -d -o postgres -g postgres -m 0700 "$target"
    if [[ $tool == pgdr ]]; then
        SYNC_AFTER=1 run_step pgdr restore "$target" "$PGDATA_BYTES" -- \
            env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" \
            restore --target-dir "$target" || true
    else
        # Recover to the end of the backup (like a pgdr snapshot), then promote.
        SYNC_AFTER=1 run_step "$tool" restore "$target" "$PGDATA_BYTES" -- \
            "$PGBACKREST" --config="$(pgbr_conf "$tool")" --stanza=bench --pg1-path="$target" \
            --type=immediate --target-action=promote restore || true
    fi
    [[ ${TOOL_OK[$tool]} == 1 ]] || { skip_step "$tool" verify; return 0; }
    verify_restore "$tool" "$target"
}

# Start the restored cluster on another port (archiving off so it cannot write to the
# source's repositories), wait until recovery has ended, compare the row count with the
# source.  Timed from start to count: recovery + startup, part of a real recovery time.
verify_restore() {
    local tool=$1 dir=$2 port count t0 secs i lf="$LOGS/$1-verify.log"
    port=$(free_port)
    log "$tool: verify (start restored cluster on port $port)"
    local owner mode
    owner=$(stat -c %U "$dir"); mode=$(stat -c %a "$dir")
    [[ $owner == postgres && $mode == 700 ]] ||
        { fail_tool "$tool" verify "restored directory is owned by $owner with mode $mode"; record "$tool" verify FAILED "" "" "" "" "" "bad owner/mode"; return 0; }
    t0=$(now)
    if ! pg_start "$dir" "$port" "$lf" -c archive_mode=off -c shared_buffers=256MB; then
        record "$tool" verify FAILED "" "" "" "" "" "restored cluster did not start"
        fail_tool "$tool" verify "restored cluster did not start" "$lf"
        return 0
    fi
    count=
    for i in $(seq 1200); do
        if [[ $(as_pg "$PGBIN/psql" -X -At -h 127.0.0.1 -p "$port" -U postgres -d postgres \
                -c "SELECT pg_is_in_recovery()" 2>/dev/null) == f ]]; then
            count=$(as_pg "$PGBIN/psql" -X -At -h 127.0.0.1 -p "$port" -U postgres -d postgres \
                -c "SELECT count(*) FROM $(verify_table)" 2>>"$lf") || count="error"
            break
        fi
        sleep 0.25
    done
    secs=$(fsub "$(now)" "$t0")
    stop_server "$dir" || true
    if [[ $count == "$SOURCE_COUNT" ]]; then
        record "$tool" verify ok "$secs" "" "" "" "" "$(verify_table) count $count"
        log "$tool: verify ok ($count rows, $secs s)"
    else
        record "$tool" verify FAILED "$secs" "" "" "" "" "count '${count:-still in recovery}' != source $SOURCE_COUNT"
        fail_tool "$tool" verify "row count '${count:-still in recovery}' != source $SOURCE_COUNT" "$lf"
    fi
    ((KEEP_WORKDIR)) || rm -rf "$dir"
}

step_hourly() {
    local tool=$1
    [[ ${TOOL_OK[$tool]} == 1 ]] || { skip_step "$tool" hourly; return 0; }
    wait_for_archive
    if [[ $tool == pgdr ]]; then
        run_step pgdr hourly "$(repo_of pgdr)" "$PGDATA_BYTES_AFTER" -- \
            env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" backup || true
    else
        run_step "$tool" hourly "$(repo_of "$tool")" "$PGDATA_BYTES_AFTER" -- \
            "$PGBACKREST" --config="$(pgbr_conf "$tool")" --stanza=bench --type=incr backup || true
    fi
}

# ---------------------------------------------------------------- report
# Adds MB/s, MiB and MB columns to the raw TSV and prints the table; writes the JSON.
report() {
    local json
    json=$(jq -R -s \
        --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        --arg host "$(hostname)" \
        --arg data "$DATA" --argjson scale "$SCALE" --argjson duration "$DURATION" \
        --arg pgdr_rev "$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
        --arg pgdr_version "$("$WORKDIR/bin/pgdr" --version 2>/dev/null || echo unknown)" \
        --arg pgbackrest "$($PGBACKREST version 2>/dev/null || echo none)" \
        --arg postgres "$("$PGBIN/postgres" --version)" \
        --arg pgdr_compress "$PGDR_COMPRESS" --argjson pgdr_level "$PGDR_LEVEL" \
        --argjson pgbr_cipher "$PGBR_CIPHER" --argjson pgbr_block "$PGBR_BLOCK" \
        --argjson pgdata "${PGDATA_BYTES:-0}" --argjson pgdata_after "${PGDATA_BYTES_AFTER:-0}" \
        --arg source_count "${SOURCE_COUNT:-}" --arg tps "${WORKLOAD_TPS:-}" \
        --arg disk_write "${DISK_WRITE_MBS:-}" --arg warm_read "${WARM_READ_MBS:-}" \
        --arg failures "$(printf '%s\n' "${FAILED_STEPS[@]}")" '
        def num: if . == "" or . == null then null else tonumber end;
        def r1: if . == null then null else (. * 10 | round) / 10 end;
        def r2: if . == null then null else (. * 100 | round) / 100 end;
        (split("\n") | map(select(length > 0) | split("\t")) | map({
            tool: .[0], step: .[1], status: .[2],
            seconds: (.[3] | num), rss_kib: (.[4] | num), tree_rss_kib: (.[5] | num),
            stored_bytes: (.[6] | num), ref_bytes: (.[7] | num), note: .[8],
            sync_seconds: (.[9] | num)
        }) | map(. + {
            mb_s: (if .seconds != null and .seconds > 0 and .ref_bytes != null and .status == "ok"
                   then (.ref_bytes / 1e6 / .seconds | r1) else null end),
            rss_mib: (if .rss_kib then (.rss_kib / 1024 | r1) else null end),
            tree_rss_mib: (if .tree_rss_kib then (.tree_rss_kib / 1024 | r1) else null end),
            stored_mb: (if .stored_bytes != null and (.step == "backup" or .step == "hourly")
                        then (.stored_bytes / 1e6 | r1) else null end)
        })) as $rows
        | {
            date: $date, host: $host, data: $data, scale: $scale,
            versions: {pgdr: $pgdr_version, pgdr_git: $pgdr_rev, pgbackrest: $pgbackrest, postgres: $postgres},
            settings: {process_max: 2, pgdr_compress: $pgdr_compress, pgdr_compress_level: $pgdr_level,
                       pgbackrest_cipher: (if $pgbr_cipher == 1 then "aes-256-cbc" else "none" end),
                       pgbackrest_block_incremental: ($pgbr_block == 1),
                       workload_seconds: $duration, workload_clients: 4},
            pgdata_bytes_without_wal: $pgdata, pgdata_bytes_after_workload: $pgdata_after,
            source_row_count: ($source_count | num), workload_tps: ($tps | num),
            disk: {durable_write_mb_s: ($disk_write | num), warm_read_mb_s: ($warm_read | num)},
            results: $rows,
            ratios: [ ("backup", "restore", "verify", "hourly") as $s
                | ($rows | map(select(.step == $s and .tool == "pgdr" and .status == "ok")) | first) as $p
                | ($rows | map(select(.step == $s and (.tool | startswith("pgbackrest")) and .status == "ok"))) as $b
                | select($p != null and ($b | length) > 0)
                | ($b | min_by(.seconds)) as $fast
                | ($b | map(select(.stored_bytes != null)) | min_by(.stored_bytes)) as $small
                | { step: $s,
                    speed_vs: $fast.tool,
                    speed_ratio: (if $p.seconds > 0 then ($fast.seconds / $p.seconds | r2) else null end),
                    stored_vs: (if $p.stored_mb != null then $small.tool else null end),
                    stored_ratio: (if $p.stored_mb != null and $p.stored_bytes > 0
                                   then ($small.stored_bytes / $p.stored_bytes | r2) else null end) } ],
            failures: ($failures | split("\n") | map(select(length > 0)))
          }' <"$RESULTS")

    mkdir -p "$RESULTS_DIR"
    JSON_FILE="$RESULTS_DIR/$(date +%Y%m%d-%H%M%S)-scale$SCALE-$DATA.json"
    printf '%s\n' "$json" >"$JSON_FILE"

    echo
    printf '%s — data %s, scale %s, PGDATA %s MB without pg_wal (%s MB after workload)\n' \
        "$(IFS=,; echo "${SELECTED[*]}")" "$DATA" "$SCALE" \
        "$(mb_per_s "${PGDATA_BYTES:-0}" 1)" "$(mb_per_s "${PGDATA_BYTES_AFTER:-0}" 1)"
    echo "$json" | jq -r '
        def f: if . == null then "-" else tostring end;
        (["tool", "step", "status", "seconds", "MB/s", "RSS MiB", "tree RSS MiB", "stored MB"] | @tsv),
        (.results[] | [.tool, .step, .status, (.seconds | f), (.mb_s | f), (.rss_mib | f),
                       (.tree_rss_mib | f), (.stored_mb | f)] | @tsv)' | column -t -s $'\t'
    echo
    if [[ $(echo "$json" | jq '.ratios | length') -gt 0 ]]; then
        echo "pgdr vs best pgBackRest variant (>1 = pgdr better):"
        echo "$json" | jq -r '
            def f: if . == null then "-" else tostring end;
            (["step", "speed ratio", "vs (fastest)", "stored ratio", "vs (smallest)"] | @tsv),
            (.ratios[] | [.step, (.speed_ratio | f), .speed_vs, (.stored_ratio | f), (.stored_vs | f)] | @tsv)' |
            column -t -s $'\t'
        echo
    fi
    echo "disk durable write (dd O_DIRECT+fdatasync): ${DISK_WRITE_MBS:--} MB/s"
    echo "warm-cache read of PGDATA (tar | cat):       ${WARM_READ_MBS:--} MB/s"
    echo "$json" | jq -r --arg w "${DISK_WRITE_MBS:-0}" --arg r "${WARM_READ_MBS:-0}" '
        .results[] | select(.tool == "pgdr" and .status == "ok" and .mb_s != null)
        | if .step == "restore" and ($w | tonumber) > 0 then
            "pgdr restore runs at \((.mb_s / ($w | tonumber) * 100) | round)% of the disk durable write rate"
          elif .step == "backup" and ($r | tonumber) > 0 then
            "pgdr backup runs at \((.mb_s / ($r | tonumber) * 100) | round)% of the warm read rate"
          else empty end'
    [[ -n ${WORKLOAD_TPS:-} ]] && echo "workload: $DURATION s, 4 clients, $WORKLOAD_TPS tps"
    echo "JSON: $JSON_FILE"
}

# ---------------------------------------------------------------- main
main() {
    parse_args "$@"
    if ((${#PGBR_TOOLS[@]})); then ensure_prereqs pgbackrest; else ensure_prereqs; fi
    set_exit_traps
    setup_workdir
    start_source_cluster
    write_pgbackrest_configs
    pg_start "$PGDATA" "$PORT" "$LOGS/postgresql.log"
    ((${#PGBR_TOOLS[@]})) && create_stanzas
    setup_pgdr
    build_data
    PGDATA_BYTES=$(pgdata_bytes "$PGDATA")
    measure_disk

    local t
    for t in "${SELECTED[@]}"; do step_full_backup "$t"; done
    for t in "${SELECTED[@]}"; do step_restore "$t"; done
    run_workload
    PGDATA_BYTES_AFTER=$(pgdata_bytes "$PGDATA")
    for t in "${SELECTED[@]}"; do step_hourly "$t"; done

    report
    if ((${#FAILED_STEPS[@]})); then
        echo
        echo "FAILED steps (the figures above omit them):"
        printf '  %s\n' "${FAILED_STEPS[@]}"
        exit 1
    fi
}

main "$@"
