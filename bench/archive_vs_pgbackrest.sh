#!/usr/bin/env bash
# Compare the WAL archiving throughput of pgdr archive-push with pgBackRest archive-push, in the
# same run.  Each variant gets a fresh PostgreSQL 15 cluster whose archive_command is that
# variant; a WAL-heavy load runs for --duration seconds, and pg_stat_archiver, pg_current_wal_lsn()
# and pg_wal/archive_status tell how fast WAL was archived, how far behind the archiver was when
# the load stopped and how long it took to catch up.  See bench/README.md.  Run as root, by hand;
# it is not part of CI.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

# pgdr-agent: pgdr-p4 through a running `pgdr archive-agent` (no key derivation per call).
ALL_VARIANTS=(pgdr-p4 pgdr-agent pgbackrest-async pgdr-p1 pgbackrest-sync)

# ---------------------------------------------------------------- options
DURATION=60
SCALE=50
TOOLS="pgdr,pgbackrest"
CLIENTS=4
BULK_ROWS=50000
DRAIN_TIMEOUT=1800
BURST_SEGMENTS=64
PGBR_PROCESS_MAX=4

usage() {
    cat <<EOF
usage: $0 [options]   (run as root)
  --duration S        seconds of WAL-heavy load per variant (default $DURATION)
  --scale N           pgbench scale of the data the load updates (default $SCALE)
  --pgdr PATH         pgdr binary (default build/src/pgdr)
  --workdir DIR       work directory (default: new mktemp dir under /var/tmp)
  --keep              keep the work directory (clusters, repositories, logs) at the end
  --tools LIST        comma-separated subset of: pgdr (= pgdr-p4,pgdr-agent,pgdr-p1), pgbackrest
                      (= pgbackrest-async,pgbackrest-sync), or single variants
                      $(IFS=,; echo "${ALL_VARIANTS[*]}") (default: all four)
  --clients N         pgbench clients of the load (default $CLIENTS)
  --bulk-rows N       rows per bulk INSERT of the load's bulk session (default $BULK_ROWS)
  --drain-timeout S   give up waiting for the archiver after S seconds (default $DRAIN_TIMEOUT)
  --burst-segments N  after the load, segments queued at once to time the archiver on an idle
                      machine (default $BURST_SEGMENTS; 0: skip)
  --pgbackrest-process-max N  pgBackRest's process-max (default $PGBR_PROCESS_MAX)
  --results-dir DIR   where the JSON goes (default bench/results)
EOF
}

parse_args() {
    while (($#)); do
        case "$1" in
            --duration) DURATION=${2:?}; shift ;;
            --scale) SCALE=${2:?}; shift ;;
            --tools) TOOLS=${2:?}; shift ;;
            --clients) CLIENTS=${2:?}; shift ;;
            --bulk-rows) BULK_ROWS=${2:?}; shift ;;
            --drain-timeout) DRAIN_TIMEOUT=${2:?}; shift ;;
            --burst-segments) BURST_SEGMENTS=${2:?}; shift ;;
            --pgbackrest-process-max) PGBR_PROCESS_MAX=${2:?}; shift ;;
            --results-dir) RESULTS_DIR=${2:?}; shift ;;
            -h|--help) usage; exit 0 ;;
            *) common_option "$@" || { usage >&2; die "unknown option: $1"; }; shift "$OPTION_VALUES" ;;
        esac
        shift
    done
    require_positive DURATION SCALE CLIENTS BULK_ROWS DRAIN_TIMEOUT PGBR_PROCESS_MAX
    [[ $BURST_SEGMENTS =~ ^[0-9]+$ ]] || die "--burst-segments must be a number"
    [[ $RESULTS_DIR == /* ]] || RESULTS_DIR="$PWD/$RESULTS_DIR"
    local want=() t v
    for t in ${TOOLS//,/ }; do
        case "$t" in
            pgdr) want+=(pgdr-p4 pgdr-agent pgdr-p1) ;;
            pgbackrest) want+=(pgbackrest-async pgbackrest-sync) ;;
            pgdr-p4|pgdr-agent|pgdr-p1|pgbackrest-async|pgbackrest-sync) want+=("$t") ;;
            *) die "unknown tool in --tools: $t" ;;
        esac
    done
    # Canonical order, each once: pgdr and pgBackRest alternate so that the pairs compared
    # (pgdr-p4 with pgbackrest-async) run next to each other.
    SELECTED=()
    for v in "${ALL_VARIANTS[@]}"; do
        for t in "${want[@]}"; do [[ $t == "$v" ]] && { SELECTED+=("$v"); break; }; done
    done
    ((${#SELECTED[@]})) || die "no tool selected"
}

has_pgdr() { local v; for v in "${SELECTED[@]}"; do [[ $v == pgdr-* ]] && return 0; done; return 1; }
has_pgbr() { local v; for v in "${SELECTED[@]}"; do [[ $v == pgbackrest-* ]] && return 0; done; return 1; }

# ---------------------------------------------------------------- helpers
# .ready files in pg_wal/archive_status: segments PostgreSQL has finished and not yet seen archived
ready_count() { find "$PGDATA/pg_wal/archive_status" -name '*.ready' 2>/dev/null | wc -l; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }


# Segment number of a WAL file name (timeline ignored) for this cluster's segment size.
segno() { echo $(( 16#${1:8:8} * SEGS_PER_XLOGID + 16#${1:16:8} )); }
segname() { printf '%08X%08X%08X' 1 $(($1 / SEGS_PER_XLOGID)) $(($1 % SEGS_PER_XLOGID)); }  # timeline 1

# What goes from a --workdir at the end (lib.sh's cleanup).
WORKDIR_PARTS=('pgdr-*' 'pgbackrest-*' bin logs sock per-call results)

setup_workdir() {
    make_workdir pgdr-archive-bench
    SOCK="$WORKDIR/sock"
    LOGS="$WORKDIR/logs"
    install -d -o postgres -g postgres -m 0755 "$SOCK" "$LOGS"
    install -d -m 0755 "$WORKDIR/bin" "$WORKDIR/results"
    if has_pgdr; then install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"; fi
    PASSPHRASE=$(random_secret)
    PGBR_CIPHER_PASS=$(random_secret)
    log "work directory $WORKDIR"
}

# ---------------------------------------------------------------- per variant: setup
# Globals for the variant being run: V (name), VDIR, PGDATA, PORT, REPO, CONF, VLOG (log prefix).
FAILED=()
fail() {  # message [logfile]
    FAILED+=("$V: $1")
    report_failure "$V: $1" "${2:-}"
}

archive_command_of() {
    case "$V" in
        pgdr-p4|pgdr-agent) echo "$WORKDIR/bin/pgdr --config $CONF archive-push --parallel 4 %p" ;;
        pgdr-p1) echo "$WORKDIR/bin/pgdr --config $CONF archive-push --parallel 1 %p" ;;
        pgbackrest-*) echo "$PGBACKREST --config=$CONF --stanza=bench archive-push %p" ;;
    esac
}

write_tool_config() {
    REPO="$VDIR/repo"
    if [[ $V == pgdr-* ]]; then
        CONF="$VDIR/pgdr.toml"
        if [[ $V == pgdr-agent ]]; then
            printf '[archive]\nagent_socket = "%s"\n' "$VDIR/agent.sock" |
                write_pgdr_config "$CONF" "$PGDATA" "$PORT" "local=$REPO"
        else
            write_pgdr_config "$CONF" "$PGDATA" "$PORT" "local=$REPO" </dev/null
        fi
        return
    fi
    CONF="$VDIR/pgbackrest.conf"
    install -d -o postgres -g postgres -m 0700 "$VDIR/spool"
    local async=n
    [[ $V == pgbackrest-async ]] && async=y
    write_pgbackrest_conf "$CONF" "$VDIR" "$PGDATA" "$PORT" "$SOCK" "$PGBR_PROCESS_MAX" <<EOF
repo1-path=$REPO
repo1-retention-full=99
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$PGBR_CIPHER_PASS
archive-async=$async
spool-path=$VDIR/spool
log-level-file=info
EOF
}

# initdb, configuration, tool setup, start, data load; returns 1 (after fail) on any error.
setup_variant() {
    VDIR="$WORKDIR/$V"
    PGDATA="$VDIR/pgdata"
    VLOG="$LOGS/$V"
    PORT=$(free_port)
    install -d -o postgres -g postgres -m 0700 "$VDIR"
    chmod 0755 "$VDIR"
    log "$V: initdb + start PostgreSQL 15 on 127.0.0.1:$PORT"
    write_tool_config
    init_server "$PGDATA" "$PORT" "$SOCK" "$VLOG-initdb.log" <<EOF || { fail "initdb failed" "$VLOG-initdb.log"; return 1; }
wal_level = replica
synchronous_commit = on
shared_buffers = 256MB
max_wal_size = 4GB
autovacuum = off
archive_mode = on
archive_command = '$(archive_command_of)'
EOF
    if [[ $V == pgdr-* ]]; then
        as_pg env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$CONF" init \
            >"$VLOG-pgdr-init.log" 2>&1 || { fail "pgdr init failed" "$VLOG-pgdr-init.log"; return 1; }
    fi
    if [[ $V == pgdr-agent ]]; then start_pgdr_agent || return 1; fi
    # The server runs archive_command: start_server gives it the passphrase.
    start_server "$PGDATA" "$VLOG-postgresql.log" || { fail "PostgreSQL did not start" "$VLOG-postgresql.log"; return 1; }
    if [[ $V == pgbackrest-* ]]; then
        as_pg "$PGBACKREST" --config="$CONF" --stanza=bench stanza-create >"$VLOG-stanza-create.log" 2>&1 ||
            { fail "pgBackRest stanza-create failed" "$VLOG-stanza-create.log"; return 1; }
        as_pg "$PGBACKREST" --config="$CONF" --stanza=bench check >"$VLOG-check.log" 2>&1 ||
            { fail "pgBackRest check failed" "$VLOG-check.log"; return 1; }
    fi
    WAL_SEGMENT_BYTES=$(sql "SELECT setting::bigint * (CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 END) FROM pg_settings WHERE name = 'wal_segment_size'")
    SEGS_PER_XLOGID=$((4294967296 / WAL_SEGMENT_BYTES))

    log "$V: pgbench -i -s $SCALE (archived like the rest)"
    load_data "$VLOG-data.log" || { fail "pgbench -i failed" "$VLOG-data.log"; return 1; }
    psql_src >>"$VLOG-data.log" 2>&1 <<'EOF' || { fail "creating the bulk-load procedure failed" "$VLOG-data.log"; return 1; }
CREATE TABLE wal_bulk (id int, payload text);
-- One session of bulk inserts until the deadline, each committed; the table is emptied every
-- 40 inserts so that the load does not fill the disk.  Rows of 128 characters: one md5 (the
-- costly part of a row) repeated four times, so WAL is cheap to produce; it compresses about 5x.
CREATE PROCEDURE wal_bulk_load(seconds int, batch int) LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => seconds);
    n int := 0;
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        INSERT INTO wal_bulk SELECT g, repeat(md5(g::text), 4)
          FROM generate_series(n * batch + 1, n * batch + batch) g;
        COMMIT;
        n := n + 1;
        IF n % 40 = 0 THEN
            TRUNCATE wal_bulk;
            COMMIT;
        END IF;
    END LOOP;
    RAISE NOTICE 'bulk inserts: %', n;
END $$;
-- The same inserts until at least the given number of bytes of WAL has been written.
CREATE PROCEDURE wal_bulk_bytes(bytes bigint, batch int) LANGUAGE plpgsql AS $$
DECLARE
    start pg_lsn := pg_current_wal_lsn();
    n int := 0;
BEGIN
    WHILE pg_current_wal_lsn() - start < bytes LOOP
        INSERT INTO wal_bulk SELECT g, repeat(md5(g::text), 4)
          FROM generate_series(n * batch + 1, n * batch + batch) g;
        COMMIT;
        n := n + 1;
    END LOOP;
    TRUNCATE wal_bulk;
END $$;
EOF
    sql "CHECKPOINT" >/dev/null
    # Archive the data load's WAL first: the load starts with an empty queue.
    wait_drained 1 >/dev/null || { fail "archiving the data load's WAL did not finish" "$VLOG-postgresql.log"; return 1; }
    sql "CHECKPOINT" >/dev/null
    sync
}

# The agent of the pgdr-agent variant, up before the server archives anything.
start_pgdr_agent() {
    # runuser itself in the background, not as_pg: $! of a backgrounded function is a subshell,
    # whose SIGTERM left runuser and the agent running after the variant.
    runuser -u postgres -- env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$CONF" archive-agent \
        >"$VLOG-agent.log" 2>&1 &
    AGENT_PID=$!
    BG_PIDS+=("$AGENT_PID")
    local i
    for i in $(seq 100); do [[ -S $VDIR/agent.sock ]] && return 0; sleep 0.1; done
    fail "pgdr archive-agent did not start" "$VLOG-agent.log"; return 1
}

# wait_drained SWITCH: optionally pg_switch_wal(), then wait until no .ready file is left;
# prints the seconds waited.  Returns 1 after DRAIN_TIMEOUT seconds.
wait_drained() {
    local t0 deadline
    t0=$(now)
    ((${1:-0})) && sql "SELECT pg_switch_wal()" >/dev/null
    deadline=$(( $(date +%s) + DRAIN_TIMEOUT ))
    while (( $(ready_count) > 0 )); do
        (( $(date +%s) < deadline )) || return 1
        sleep 0.2
    done
    fsub "$(now)" "$t0"
}

# ---------------------------------------------------------------- per variant: measurement
# epoch seconds, WAL position in bytes, archived_count, failed_count, last_archived_wal
archiver_state() {
    sql "SELECT extract(epoch FROM clock_timestamp()), pg_current_wal_lsn() - '0/0'::pg_lsn,
                archived_count, failed_count, coalesce(last_archived_wal, '')
         FROM pg_stat_archiver" | tr '|' ' '
}

# Once a second: elapsed seconds, WAL MB written since the start, archived, failed, .ready files.
sample_loop() {
    local t0=$1 lsn0=$2 out=$3 t lsn arch failed
    while :; do
        read -r t lsn arch failed _ < <(archiver_state) || break
        printf '%s\t%s\t%s\t%s\t%s\n' "$(fsub "$t" "$t0")" \
            "$(awk -v a="$lsn" -v b="$lsn0" 'BEGIN { printf "%.1f", (a - b) / 1e6 }')" \
            "$arch" "$failed" "$(ready_count)" >>"$out"
        sleep 1
    done
}

run_load() {
    local t0 lsn0 arch0 failed0 t1 lsn1 arch1 failed1 last1 t2 arch2 failedf lastf backlog drain pgbench_pid bulk_pid
    local sampler_pid rc=0 tps series="$VDIR/series.tsv"
    : >"$series"
    read -r t0 lsn0 arch0 failed0 _ < <(archiver_state)
    sample_loop "$t0" "$lsn0" "$series" &
    sampler_pid=$!; BG_PIDS+=("$sampler_pid")
    log "$V: load for $DURATION s (pgbench -N -c $CLIENTS -j 2, one bulk-insert session)"
    as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -N -c "$CLIENTS" -j 2 -T "$DURATION" postgres \
        >"$VLOG-pgbench.log" 2>&1 &
    pgbench_pid=$!; BG_PIDS+=("$pgbench_pid")
    sql "CALL wal_bulk_load($DURATION, $BULK_ROWS)" >"$VLOG-bulk.log" 2>&1 &
    bulk_pid=$!; BG_PIDS+=("$bulk_pid")
    wait "$pgbench_pid" || { rc=1; fail "pgbench failed" "$VLOG-pgbench.log"; }
    wait "$bulk_pid" || { rc=1; fail "bulk insert session failed" "$VLOG-bulk.log"; }
    read -r t1 lsn1 arch1 failed1 last1 < <(archiver_state)
    backlog=$(ready_count)
    log "$V: load done; $backlog segments waiting to be archived"
    drain=$(wait_drained 0) || { drain=; fail "archive backlog not drained after $DRAIN_TIMEOUT s" "$VLOG-postgresql.log"; rc=1; }
    read -r t2 _ arch2 _ _ < <(archiver_state)
    kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null || true
    BG_PIDS=()
    [[ -n $drain ]] && log "$V: drained in $drain s"
    tps=$(awk '/^tps = / { print $3; exit }' "$VLOG-pgbench.log")

    # Close the current segment and archive it too, so the archive must end where the WAL does.
    wait_drained 1 >/dev/null || { fail "final segment not archived" "$VLOG-postgresql.log"; rc=1; }
    read -r _ _ _ failedf lastf < <(archiver_state)
    # the first segment initdb created, on timeline 1, is the first one ever archived
    FIRST_EXPECTED=$(printf '%08X%08X%08X' 1 0 1)
    LAST_EXPECTED=$lastf

    jq -n \
        --arg t0 "$t0" --arg t1 "$t1" --arg t2 "$t2" \
        --arg lsn0 "$lsn0" --arg lsn1 "$lsn1" \
        --arg arch0 "$arch0" --arg arch1 "$arch1" --arg arch2 "$arch2" \
        --arg failed0 "$failed0" --arg failed1 "$failed1" --arg failedf "$failedf" \
        --arg last1 "$last1" --arg backlog "$backlog" --arg drain "$drain" --arg tps "$tps" \
        --arg seg "$WAL_SEGMENT_BYTES" --arg bulk "$(sed -n 's/.*bulk inserts: \([0-9]*\).*/\1/p' "$VLOG-bulk.log")" \
        --arg lag "$( [[ -n $last1 ]] && echo $(( lsn1 - ($(segno "$last1") + 1) * WAL_SEGMENT_BYTES )) )" \
        --rawfile series "$series" '
        def num: if . == "" or . == null then null else tonumber end;
        def r1: if . == null then null else (. * 10 | round) / 10 end;
        def r2: if . == null then null else (. * 100 | round) / 100 end;
        (($t1 | num) - ($t0 | num)) as $secs
        | (($arch1 | num) - ($arch0 | num)) as $segs
        | ($seg | num) as $segb
        | {
            load_seconds: ($secs | r2),
            wal_mb: ((($lsn1 | num) - ($lsn0 | num)) / 1e6 | r1),
            wal_mb_s: ((($lsn1 | num) - ($lsn0 | num)) / 1e6 / $secs | r1),
            segments_archived_during_load: $segs,
            segments_per_s: ($segs / $secs | r2),
            archived_mb_s: ($segs * $segb / 1e6 / $secs | r1),
            backlog_segments: ($backlog | num),
            lag_mb_at_end_of_load: (($lag | num) as $l | if $l == null then null else ($l / 1e6 | r1) end),
            drain_seconds: ($drain | num | r2),
            drain_segments_per_s: (if ($drain | num) != null and ($drain | num) > 0 and ($backlog | num) >= 8
                                   then ((($arch2 | num) - ($arch1 | num)) / ($drain | num) | r2) else null end),
            failed_count: (($failedf | num) - ($failed0 | num)),
            failed_count_during_load: (($failed1 | num) - ($failed0 | num)),
            pgbench_tps: ($tps | num),
            bulk_inserts: ($bulk | num),
            series: ($series | split("\n") | map(select(length > 0) | split("\t") | map(tonumber))
                     | map({t: .[0], wal_mb: .[1], archived: .[2], failed: .[3], ready: .[4]}))
          }' >"$VDIR/load.json"
    return "$rc"
}

# Machine-wide busy CPU time in seconds (all processes), from /proc/stat.
cpu_busy_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}

# The variant's own CPU: the script joins a cpuacct cgroup before the variant starts anything, so
# every process started for it (the server and its archiver, archive_command's processes, the
# agent, pgBackRest's async process, the script's psql polls) is counted and other work on a
# shared machine is not. Without a writable cgroup v1 cpuacct hierarchy, CGROUP stays empty and
# the machine-wide busy time stands in.
CGROUP_ROOT=/sys/fs/cgroup/cpuacct
CGROUP=
join_variant_cgroup() {
    CGROUP=
    [[ -w $CGROUP_ROOT/cgroup.procs ]] || return 0
    CGROUP="$CGROUP_ROOT/pgdr-archive-bench-$$-$V"
    if ! { mkdir -p "$CGROUP" && echo "$$" >"$CGROUP/cgroup.procs"; } 2>/dev/null; then CGROUP=; fi
}
leave_variant_cgroup() {
    [[ -n $CGROUP ]] || return 0
    echo "$$" >"$CGROUP_ROOT/cgroup.procs" 2>/dev/null || true
    local i
    for i in $(seq 50); do [[ -n $(cat "$CGROUP/cgroup.procs" 2>/dev/null) ]] || break; sleep 0.1; done
    rmdir "$CGROUP" 2>/dev/null || echo "cgroup $CGROUP kept: a process of $V is still running" >&2
    CGROUP=
}
variant_cpu_seconds() {
    if [[ -n $CGROUP ]]; then awk '{ print $1 / 1e9 }' "$CGROUP/cpuacct.usage"; else cpu_busy_seconds; fi
}

# The archiver's rate with the machine to itself: with archiving paused (archive_command = ''),
# write BURST_SEGMENTS segments of WAL, then restore archive_command and time the drain of that
# queue, and the CPU the whole machine spent meanwhile.
burst_test() {
    ((BURST_SEGMENTS > 0)) || return 0
    local n c0 c1 m0 m1 t0 secs
    log "$V: burst: $BURST_SEGMENTS segments queued with archiving paused, then archived on an idle machine"
    sql "ALTER SYSTEM SET archive_command = ''" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
    sleep 1
    if ! sql "CALL wal_bulk_bytes($((BURST_SEGMENTS * WAL_SEGMENT_BYTES)), $BULK_ROWS)" >/dev/null ||
            ! sql "SELECT pg_switch_wal()" >/dev/null; then
        fail "burst: writing WAL failed" "$VLOG-postgresql.log"
        sql "ALTER SYSTEM RESET archive_command" >/dev/null
        sql "SELECT pg_reload_conf()" >/dev/null
        return 1
    fi
    sql "CHECKPOINT" >/dev/null
    sync
    sleep 1
    n=$(ready_count)
    c0=$(variant_cpu_seconds); m0=$(cpu_busy_seconds); t0=$(now)
    sql "ALTER SYSTEM RESET archive_command" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
    secs=$(wait_drained 0) || { fail "burst: queue not drained after $DRAIN_TIMEOUT s" "$VLOG-postgresql.log"; return 1; }
    secs=$(fsub "$(now)" "$t0"); c1=$(variant_cpu_seconds); m1=$(cpu_busy_seconds)
    jq -n --arg n "$n" --arg secs "$secs" --arg cpu "$(fsub "$c1" "$c0")" --arg machine "$(fsub "$m1" "$m0")" \
        --arg source "$([[ -n $CGROUP ]] && echo "the variant's cgroup" || echo machine-wide)" '
        ($n | tonumber) as $n | ($secs | tonumber) as $s | ($cpu | tonumber) as $c
        | {segments: $n, seconds: $s,
           segments_per_s: (if $s > 0 then ($n / $s * 100 | round) / 100 else null end),
           cpu_seconds: $c, cpu_source: $source, machine_cpu_seconds: ($machine | tonumber),
           cpu_seconds_per_segment: (if $n > 0 then ($c / $n * 1000 | round) / 1000 else null end)}' >"$VDIR/burst.json"
    log "$V: burst: $n segments in $secs s ($(jq .segments_per_s "$VDIR/burst.json") segments/s, $(jq .cpu_seconds_per_segment "$VDIR/burst.json") CPU s per segment)"
}

# Every segment from the first to the last one archived must be in the repository, no gap.
check_archive() {
    local out="$VDIR/check.json" f=$FIRST_EXPECTED l=$LAST_EXPECTED nf nl expected
    nf=$(segno "$f"); nl=$(segno "$l"); expected=$((nl - nf + 1))
    if [[ $V == pgdr-* ]]; then
        if ! as_pg env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$CONF" info --json \
                >"$VDIR/info.json" 2>"$VLOG-info.log"; then
            fail "pgdr info failed" "$VLOG-info.log"; return 1
        fi
        jq --arg f "$f" --arg l "$l" --argjson expected "$expected" '
            (.repositories[0].wal_archive.timelines | map(select(.timeline == 1)) | first) as $tl
            | { source: "pgdr info --json",
                first_expected: $f, last_expected: $l, segments_expected: $expected,
                first: $tl.first_segment, last: $tl.last_segment, segments: $tl.segments,
                gaps: ($tl.gaps // []) }
            | . + { complete: (.first != null and .first <= $f and .last >= $l and (.gaps | length) == 0
                               and .segments >= $expected) }' "$VDIR/info.json" >"$out"
    else
        if ! as_pg "$PGBACKREST" --config="$CONF" --stanza=bench info --output=json \
                >"$VDIR/info.json" 2>"$VLOG-info.log"; then
            fail "pgbackrest info failed" "$VLOG-info.log"; return 1
        fi
        # pgBackRest info gives the archive's min and max; the segments in between are listed
        # from the repository (file names are not encrypted: <segment>-<sha1>[.zst]).
        local names="$VDIR/archived-segments.txt" gaps n prev=
        find "$REPO/archive/bench" -type f -name '00000001????????????????-*' -printf '%f\n' |
            cut -c1-24 | sort -u >"$names"
        gaps=()
        while read -r n; do
            n=$(segno "$n")
            if [[ -n $prev ]] && ((n != prev + 1)); then gaps+=("$(segname $((prev + 1)))..$(segname $((n - 1)))"); fi
            prev=$n
        done <"$names"
        jq --arg f "$f" --arg l "$l" --argjson expected "$expected" \
            --arg count "$(wc -l <"$names")" --arg first "$(head -n 1 "$names")" --arg last "$(tail -n 1 "$names")" \
            --arg gaps "$(printf '%s\n' "${gaps[@]}")" '
            { source: "pgbackrest info + repository listing",
              info_min: (.[0].archive | map(select(.id == "15-1")) | first | .min),
              info_max: (.[0].archive | map(select(.id == "15-1")) | first | .max),
              first_expected: $f, last_expected: $l, segments_expected: $expected,
              first: (if $first == "" then null else $first end),
              last: (if $last == "" then null else $last end),
              segments: ($count | tonumber),
              gaps: ($gaps | split("\n") | map(select(length > 0))) }
            | . + { complete: (.first != null and .first <= $f and .last >= $l and (.gaps | length) == 0
                               and .info_min == .first and .info_max == .last) }' "$VDIR/info.json" >"$out"
    fi
    if [[ $(jq .complete "$out") != true ]]; then
        fail "archive incomplete: $(jq -c 'del(.source)' "$out")"
        return 1
    fi
    log "$V: archive complete: $(jq -r '"\(.segments) segments \(.first) .. \(.last), no gap"' "$out")"
}

# Fixed cost of one pgdr archive-push call: a call for a segment pushed ahead earlier (its
# marker exists) does nothing but start, read the configuration, open the repository (unlock the
# key: one scrypt derivation) and remove the marker.  Compared with the process start alone.
measure_pgdr_call() {
    [[ $V == pgdr-* ]] || return 0
    local d="$VDIR/per-call" i t0 name start=() call=()
    install -d -o postgres -g postgres -m 0700 "$d" "$d/pgdr-archived"
    for i in 1 2 3 4 5 6 7; do
        t0=$(now); as_pg "$WORKDIR/bin/pgdr" --version >/dev/null; start+=("$(fsub "$(now)" "$t0")")
        name=$(printf '%08X%08X%08X' 1 0 $((4000 + i)))
        as_pg touch "$d/pgdr-archived/$name"
        t0=$(now)
        as_pg env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$CONF" archive-push "$d/$name" \
            >>"$VLOG-per-call.log" 2>&1 || { fail "pgdr archive-push (marker) failed" "$VLOG-per-call.log"; return 1; }
        call+=("$(fsub "$(now)" "$t0")")
    done
    jq -n --arg start "$(printf '%s\n' "${start[@]}" | median)" --arg call "$(printf '%s\n' "${call[@]}" | median)" \
        '{process_start_seconds: ($start | tonumber), marker_call_seconds: ($call | tonumber)}' >"$VDIR/per-call.json"
    log "$V: one archive-push call costs $(jq .marker_call_seconds "$VDIR/per-call.json") s before any WAL is read ($(jq .process_start_seconds "$VDIR/per-call.json") s of it process start)"
}

stop_variant() {
    [[ -f $PGDATA/postmaster.pid ]] && stop_server "$PGDATA" 2>/dev/null
    if [[ $V == pgdr-agent && -n ${AGENT_PID:-} ]]; then
        # runuser passes SIGTERM on to the agent, which finishes its requests and exits.
        kill "$AGENT_PID" 2>/dev/null
        wait "$AGENT_PID" 2>/dev/null || true  # its SIGTERM status must not end the script (set -e)
        AGENT_PID=
    fi
    if [[ $V == pgbackrest-async ]]; then
        # pgBackRest's asynchronous archive-push process exits by itself once its queue is
        # empty; let it finish before its spool directory goes.
        local i
        for i in $(seq 100); do pgrep -u postgres -f -- "--config=$CONF" >/dev/null || break; sleep 0.2; done
    fi
}

finish_variant() {  # status
    local status=$1 stored
    stored=$(du_bytes "${REPO:-/nonexistent}")
    jq -n --arg v "$V" --arg status "$status" --arg cmd "$(archive_command_of 2>/dev/null)" \
        --arg stored "$stored" \
        --slurpfile load <(cat "$VDIR/load.json" 2>/dev/null || echo null) \
        --slurpfile check <(cat "$VDIR/check.json" 2>/dev/null || echo null) \
        --slurpfile call <(cat "$VDIR/per-call.json" 2>/dev/null || echo null) \
        --slurpfile burst <(cat "$VDIR/burst.json" 2>/dev/null || echo null) '
        { variant: $v,
          tool: (if ($v | startswith("pgdr")) then "pgdr" else "pgbackrest" end),
          status: $status, archive_command: $cmd,
          repository_mb: ($stored | tonumber / 1e6 | (. * 10 | round) / 10) }
        + ($load[0] // {}) + { burst: $burst[0], archive_check: $check[0] }
        + (if $call[0] then { per_call: $call[0] } else {} end)' >"$WORKDIR/results/$V.json"
    stop_variant
    if ((!KEEP_WORKDIR)); then rm -rf "$PGDATA" "${REPO:-}" "$VDIR/spool"; fi
}

run_variant() {
    V=$1; REPO=; CONF=
    local nfail=${#FAILED[@]}
    join_variant_cgroup
    if setup_variant; then
        run_load || true
        burst_test || true
        # after the burst: its segments must be in the archive too
        LAST_EXPECTED=$(sql "SELECT last_archived_wal FROM pg_stat_archiver")
        check_archive || true
        measure_pgdr_call || true
    fi
    if ((${#FAILED[@]} > nfail)); then finish_variant FAILED; else finish_variant ok; fi
    leave_variant_cgroup
}

# ---------------------------------------------------------------- report
collect_and_report() {
    local files=() v json
    for v in "${SELECTED[@]}"; do [[ -f $WORKDIR/results/$v.json ]] && files+=("$WORKDIR/results/$v.json"); done
    ((${#files[@]})) || { echo "no results"; return; }
    json=$(jq -s \
        --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg host "$(hostname)" \
        --argjson duration "$DURATION" --argjson scale "$SCALE" --argjson clients "$CLIENTS" \
        --argjson bulk_rows "$BULK_ROWS" --argjson burst "$BURST_SEGMENTS" --argjson pgbr_pm "$PGBR_PROCESS_MAX" --arg cpus "$(nproc)" \
        --arg pgdr_rev "$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
        --arg pgdr_version "$("$WORKDIR/bin/pgdr" --version 2>/dev/null || echo none)" \
        --arg pgbackrest "$($PGBACKREST version 2>/dev/null || echo none)" \
        --arg postgres "$("$PGBIN/postgres" --version)" \
        --arg failures "$(printf '%s\n' "${FAILED[@]}")" '
        def r2: if . == null then null else (. * 100 | round) / 100 end;
        . as $rows
        | ($rows | map(select(.variant == "pgbackrest-async" and .status == "ok")) | first) as $b
        | {
            date: $date, host: $host, cpus: ($cpus | tonumber),
            versions: {pgdr: $pgdr_version, pgdr_git: $pgdr_rev, pgbackrest: $pgbackrest, postgres: $postgres},
            settings: {load_seconds: $duration, pgbench_scale: $scale, pgbench_clients: $clients,
                       bulk_rows_per_insert: $bulk_rows, burst_segments: $burst, shared_buffers: "256MB", max_wal_size: "4GB",
                       synchronous_commit: "on",
                       pgbackrest: "compress-type=zst, process-max=\($pgbr_pm), repo1-cipher-type=aes-256-cbc",
                       pgdr: "[key] passphrase_env, one local repository"},
            results: $rows,
            ratios: [ $rows[] | select(.tool == "pgdr" and .status == "ok" and $b != null)
                | { variant: .variant, vs: "pgbackrest-async",
                    segments_per_s_ratio: (if $b.segments_per_s > 0 then (.segments_per_s / $b.segments_per_s | r2) else null end),
                    wal_mb_s_ratio: (if $b.wal_mb_s > 0 then (.wal_mb_s / $b.wal_mb_s | r2) else null end),
                    backlog_segments: {pgdr: .backlog_segments, pgbackrest: $b.backlog_segments},
                    drain_seconds: {pgdr: .drain_seconds, pgbackrest: $b.drain_seconds},
                    drain_rate_ratio: (if .drain_segments_per_s != null and $b.drain_segments_per_s != null
                                          and $b.drain_segments_per_s > 0
                                       then (.drain_segments_per_s / $b.drain_segments_per_s | r2) else null end),
                    burst_segments_per_s_ratio: (if .burst.segments_per_s != null and $b.burst.segments_per_s != null
                                                    and $b.burst.segments_per_s > 0
                                                 then (.burst.segments_per_s / $b.burst.segments_per_s | r2) else null end),
                    burst_cpu_per_segment_ratio: (if .burst.cpu_seconds_per_segment != null
                                                     and $b.burst.cpu_seconds_per_segment != null
                                                     and $b.burst.cpu_seconds_per_segment > 0
                                                  then (.burst.cpu_seconds_per_segment / $b.burst.cpu_seconds_per_segment | r2)
                                                  else null end) } ],
            failures: ($failures | split("\n") | map(select(length > 0)))
          }' "${files[@]}")
    mkdir -p "$RESULTS_DIR"
    JSON_FILE="$RESULTS_DIR/$(date +%Y%m%d-%H%M%S)-archive.json"
    printf '%s\n' "$json" >"$JSON_FILE"

    echo
    printf 'WAL archiving, %s s of load per variant (pgbench -N -c %s at scale %s + bulk inserts), %s CPUs\n' \
        "$DURATION" "$CLIENTS" "$SCALE" "$(nproc)"
    echo "$json" | jq -r '
        def f: if . == null then "-" else tostring end;
        (["tool", "variant", "status", "WAL MB", "WAL MB/s", "segments/s", "MB/s archived",
          "backlog at end", "drain s", "failures", "burst seg/s", "CPU s/seg", "repo MB", "complete"] | @tsv),
        (.results[] | [.tool, (.variant | sub("^[a-z]+-"; "")), .status, (.wal_mb | f), (.wal_mb_s | f),
                       (.segments_per_s | f), (.archived_mb_s | f), (.backlog_segments | f),
                       (.drain_seconds | f), (.failed_count | f), (.burst.segments_per_s | f),
                       (.burst.cpu_seconds_per_segment | f), (.repository_mb | f),
                       (.archive_check.complete | f)] | @tsv)' | column -t -s $'\t'
    echo
    if [[ $(echo "$json" | jq '.ratios | length') -gt 0 ]]; then
        echo "pgdr / pgBackRest async (segments/s and burst: >1 = pgdr faster; CPU: >1 = pgdr costlier;"
        echo "backlog and drain: pgdr vs pgBackRest):"
        echo "$json" | jq -r '
            def f: if . == null then "-" else tostring end;
            (["variant", "segments/s ratio", "backlog", "drain s", "WAL MB/s ratio", "burst seg/s ratio",
              "CPU s/seg ratio"] | @tsv),
            (.ratios[] | [.variant, (.segments_per_s_ratio | f),
                          "\(.backlog_segments.pgdr | f) vs \(.backlog_segments.pgbackrest | f)",
                          "\(.drain_seconds.pgdr | f) vs \(.drain_seconds.pgbackrest | f)",
                          (.wal_mb_s_ratio | f), (.burst_segments_per_s_ratio | f),
                          (.burst_cpu_per_segment_ratio | f)] | @tsv)' | column -t -s $'\t'
        echo
    fi
    echo "$json" | jq -r '.results[] | select(.per_call != null)
        | "\(.variant): one pgdr archive-push call costs \(.per_call.marker_call_seconds) s before it reads any WAL (process start \(.per_call.process_start_seconds) s)"'
    echo "JSON: $JSON_FILE"
}

# ---------------------------------------------------------------- main
main() {
    parse_args "$@"
    if has_pgbr; then ensure_prereqs pgbackrest; else ensure_prereqs; fi
    if has_pgdr; then resolve_pgdr_bin; fi
    set_exit_traps
    setup_workdir
    local v
    for v in "${SELECTED[@]}"; do run_variant "$v"; done
    collect_and_report
    if ((${#FAILED[@]})); then
        echo
        echo "FAILED (the figures above omit or flag them):"
        printf '  %s\n' "${FAILED[@]}"
        exit 1
    fi
}

main "$@"
