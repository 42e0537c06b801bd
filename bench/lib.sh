# Helpers shared by the benchmark scripts (sourced, not run): where things are, the work directory,
# the throwaway PostgreSQL 15 server, pgdr's and pgBackRest's configurations, timing and clean-up.
# Each script sources it first thing, then sets its own defaults over the ones below.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=$(basename "$0" .sh)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
PGBACKREST=/usr/bin/pgbackrest
TIME=/usr/bin/time

# What the options every script takes set (common_option), and where results go (--results-dir).
PGDR_BIN="$REPO_ROOT/build/src/pgdr"
WORKDIR=
KEEP_WORKDIR=0
RESULTS_DIR="$BENCH_DIR/results"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }
now() { date +%s.%N; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
du_bytes() { if [[ -e $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }
pgdata_bytes() { du -sb --exclude=./pg_wal "$1/." | cut -f1; }
# Decimal megabytes per second; empty when no time passed.
mb_per_s() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else print "" }'; }
# A passphrase or cipher key for one run.
random_secret() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

# ---------------------------------------------------------------- options and prerequisites
# common_option ARGS...: the option in $1 if every script takes it (--pgdr PATH, --workdir DIR,
# --keep), with OPTION_VALUES set to how many arguments after it it took; returns 1 for any other.
# A script's loop ends in: *) common_option "$@" || die ...; shift "$OPTION_VALUES" ;;
common_option() {
    OPTION_VALUES=0
    case "$1" in
        --pgdr) PGDR_BIN=${2:?}; OPTION_VALUES=1 ;;
        --workdir) WORKDIR=${2:?}; OPTION_VALUES=1 ;;
        --keep) KEEP_WORKDIR=1 ;;
        *) return 1 ;;
    esac
}

# require_positive VAR...: each variable must hold a positive integer; the error names its option
# (SCALE: --scale, BULK_ROWS: --bulk-rows).
require_positive() {
    local v
    for v in "$@"; do
        [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--$(echo "$v" | tr 'A-Z_' 'a-z-') must be a positive integer"
    done
}

# PGDR_BIN made absolute, once it is known to be executable: the scripts work in their work
# directory, where a relative path no longer resolves.
resolve_pgdr_bin() {
    [[ -x $PGDR_BIN ]] || die "pgdr binary not found or not executable: $PGDR_BIN (build it, or pass --pgdr)"
    PGDR_BIN=$(realpath "$PGDR_BIN")
}

# ensure_prereqs [pgbackrest]: root, user postgres and PostgreSQL 15's programs, pgBackRest when
# asked for; time and jq are installed when missing.
ensure_prereqs() {
    [[ $(id -u) == 0 ]] || die "run as root (PostgreSQL and the tools run as user postgres)"
    id postgres >/dev/null 2>&1 || die "user postgres missing (install postgresql-15)"
    [[ -x $PGBIN/initdb && -x $PGBIN/pgbench ]] || die "$PGBIN/initdb or pgbench missing (install postgresql-15)"
    if [[ ${1:-} == pgbackrest ]]; then
        [[ -x $PGBACKREST ]] || die "$PGBACKREST missing (apt-get install pgbackrest)"
    fi
    local need=()
    [[ -x $TIME ]] || need+=(time)
    command -v jq >/dev/null || need+=(jq)
    if ((${#need[@]})); then
        log "installing ${need[*]}"
        apt-get install -y -q "${need[@]}" >/dev/null || die "apt-get install ${need[*]} failed"
    fi
}

# ---------------------------------------------------------------- work directory and clean-up
# make_workdir PREFIX: $WORKDIR, which must be empty when given, or else a new directory
# /var/tmp/PREFIX.XXXXXX (then WORKDIR_CREATED=1: the whole of it may go at the end); owned by
# postgres, mode 0755, and made the current directory, because postgres must be able to stay in
# the current directory.
make_workdir() {
    if [[ -z $WORKDIR ]]; then
        WORKDIR=$(mktemp -d "/var/tmp/$1.XXXXXX")
        WORKDIR_CREATED=1
    else
        mkdir -p "$WORKDIR"
        [[ -z $(ls -A "$WORKDIR") ]] || die "--workdir $WORKDIR is not empty"
        WORKDIR=$(cd "$WORKDIR" && pwd)
    fi
    chown postgres: "$WORKDIR"
    chmod 0755 "$WORKDIR"
    cd "$WORKDIR"
}

# remove_workdir PATTERN...: at exit, unless KEEP_WORKDIR=1, the work directory goes: all of it
# when make_workdir created it, else only what PATTERN... (globs, relative to it) name, what the
# script made in a --workdir it was given.
remove_workdir() {
    [[ -n ${WORKDIR:-} && -d $WORKDIR ]] || return 0
    if ((KEEP_WORKDIR)); then
        log "kept work directory $WORKDIR"
    elif [[ ${WORKDIR_CREATED:-0} == 1 ]]; then
        rm -rf "$WORKDIR"
    else
        local p
        # shellcheck disable=SC2086 # the patterns are globs
        for p in "$@"; do rm -rf "${WORKDIR:?}"/$p 2>/dev/null; done
    fi
}

# At exit: the background processes in BG_PIDS (and SAMPLER_PID, a step's RSS sampler) stopped,
# then the servers, then the work directory, with WORKDIR_PARTS what to remove from a --workdir.
BG_PIDS=()
SAMPLER_PID=
WORKDIR_PARTS=()
cleanup() {
    local rc=$? p
    set +e
    for p in "${BG_PIDS[@]}" $SAMPLER_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    stop_servers
    remove_workdir "${WORKDIR_PARTS[@]}"
    exit "$rc"
}

# cleanup runs on every exit; SIGINT and SIGTERM end the run with 130.
set_exit_traps() {
    trap cleanup EXIT
    trap 'echo "$BENCH_NAME: interrupted" >&2; exit 130' INT TERM
}

# report_failure MESSAGE [LOGFILE]: a failed step on stderr, with the end of its log.
report_failure() {
    echo "$BENCH_NAME: FAILED: $1" >&2
    if [[ -n ${2:-} && -f $2 ]]; then
        echo "---- last lines of $2:" >&2
        tail -n 15 "$2" | sed 's/^/    /' >&2
        echo "----" >&2
    fi
}

# ---------------------------------------------------------------- the throwaway server
# A TCP port nobody listens on, for a throwaway server.
free_port() {
    local p i
    for i in $(seq 200); do
        p=$((20000 + RANDOM % 30000))
        [[ -z $(ss -Hltn "sport = :$p") ]] && { echo "$p"; return; }
    done
    die "no free port found"
}

# init_server PGDATA PORT SOCKET_DIR LOGFILE: initdb -k (page checksums) of a PostgreSQL 15 cluster
# owned by postgres that listens on 127.0.0.1:PORT and in SOCKET_DIR, with the settings read from
# stdin appended to its postgresql.conf. initdb's output goes to LOGFILE; fails when initdb does.
init_server() {
    local pgdata=$1 port=$2 sock=$3 logfile=$4
    as_pg "$PGBIN/initdb" -k -A trust -U postgres -D "$pgdata" >"$logfile" 2>&1 || return 1
    {
        printf "\n# --- %s\nlisten_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" \
            "$BENCH_NAME" "$port" "$sock"
        cat
    } >>"$pgdata/postgresql.conf"
}

# start_server PGDATA LOGFILE [pg_ctl options]: starts it and waits (up to 10 minutes: a restored
# cluster recovers first). With PASSPHRASE set it is in the server's environment, for an
# archive_command or restore_command that runs pgdr, as a real server's would be.
RUNNING_PGDATA=()
start_server() {
    local pgdata=$1 logfile=$2 env=()
    shift 2
    [[ -n ${PASSPHRASE:-} ]] && env=(env PGDR_PASSPHRASE="$PASSPHRASE")
    RUNNING_PGDATA+=("$pgdata")
    as_pg "${env[@]}" "$PGBIN/pg_ctl" -D "$pgdata" -l "$logfile" -w -t 600 "$@" start >/dev/null
}

# stop_server PGDATA: a fast shutdown, for up to 2 minutes.
stop_server() { as_pg "$PGBIN/pg_ctl" -D "$1" -m fast -t 120 stop >/dev/null; }

# At exit: every server start_server started that still runs. A fast shutdown waits for the
# archiver's last pass; after a minute, it is stopped short.
stop_servers() {
    local d
    for d in "${RUNNING_PGDATA[@]}"; do
        [[ -f $d/postmaster.pid ]] || continue
        as_pg "$PGBIN/pg_ctl" -D "$d" -m fast -t 60 stop >/dev/null 2>&1 ||
            as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
    done
}

# SQL on the server at 127.0.0.1:$PORT as postgres, stopping at the first error; sql prints the
# rows unaligned, one a line.
psql_src() { as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }
sql() { psql_src -At -c "$1"; }

# load_data LOGFILE: pgbench -i at $SCALE, or with DATA=realistic the data set of bench/sql (copied
# to $WORKDIR/sql) of the same size; fails when the load does.
load_data() {
    if [[ ${DATA:-pgbench} == realistic ]]; then
        psql_src -v scale="$SCALE" -f "$WORKDIR/sql/realistic_load.sql" >"$1" 2>&1
    else
        as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -i -q -s "$SCALE" postgres >"$1" 2>&1
    fi
}

# wait_archived PGDATA: waits up to 2 minutes until the archiver has no .ready file left.
wait_archived() {
    local _
    for _ in $(seq 240); do
        # -print -quit, not a pipe into head: with pipefail a closed pipe (SIGPIPE) would end the run.
        [[ -z $(find "$1/pg_wal/archive_status" -name '*.ready' -print -quit) ]] && return 0
        sleep 0.5
    done
    return 1
}

# Switches $PGDATA's server to a new segment and waits until the archiver has pushed every finished
# one, so that WAL from earlier steps is not archived during (and counted against) the next.
switch_and_archive() {
    sql "SELECT pg_switch_wal()" >/dev/null
    local _
    for _ in 1 2 3 4 5; do wait_archived "$PGDATA" && return 0; done
    die "WAL archiving is stuck (.ready files left in $PGDATA/pg_wal/archive_status)"
}

# Cold reads for a timed step, so no tool profits from what an earlier one left in the page cache;
# DROP_CACHES=0 (or a machine that refuses) leaves it warm.
DROP_CACHES=1
drop_caches() {
    sync
    ((DROP_CACHES)) || return 0
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || { log "cannot drop the page cache: timings are warm"; DROP_CACHES=0; }
}

# ---------------------------------------------------------------- the tools
# write_pgdr_config FILE PGDATA PORT [NAME=PATH...]: pgdr's configuration of the cluster at PGDATA
# on 127.0.0.1:PORT, a local repository per NAME=PATH, the passphrase from PGDR_PASSPHRASE, then the
# sections read from stdin (other repositories, [backup], ...); owned by postgres, mode 0600.
write_pgdr_config() {
    local file=$1 pgdata=$2 port=$3 r
    shift 3
    {
        printf '[cluster]\nname = "bench"\npgdata = "%s"\n' "$pgdata"
        printf 'conninfo = "host=127.0.0.1 port=%s user=postgres dbname=postgres"\n' "$port"
        for r in "$@"; do printf '[[repo]]\nname = "%s"\npath = "%s"\n' "${r%%=*}" "${r#*=}"; done
        printf '[key]\npassphrase_env = "PGDR_PASSPHRASE"\n'
        cat
    } >"$file"
    chown postgres: "$file"
    chmod 0600 "$file"
}

# write_pgbackrest_conf FILE DIR PGDATA PORT SOCKET PROCESS_MAX: pgBackRest's configuration for a
# benchmark (stanza "bench", zst unless stdin names a compress-type, start-fast, logs and locks in
# DIR/log and DIR/lock, made here) with the [global] lines read from stdin (repo1-path=...,
# cipher, retention); owned by postgres, mode 0600.
write_pgbackrest_conf() {
    local file=$1 dir=$2 pgdata=$3 port=$4 socket=$5 process_max=$6 global
    global=$(cat)
    install -d -o postgres -g postgres -m 0700 "$dir/log" "$dir/lock"
    {
        echo "[global]"
        printf '%s\n' "$global"
        [[ $global == *compress-type=* ]] || echo "compress-type=zst"
        printf 'process-max=%s\nstart-fast=y\nlog-path=%s/log\nlock-path=%s/lock\n' \
            "$process_max" "$dir" "$dir"
        printf 'log-level-console=warn\n[bench]\npg1-path=%s\npg1-port=%s\npg1-socket-path=%s\npg1-user=postgres\n' \
            "$pgdata" "$port" "$socket"
    } >"$file"
    chown postgres: "$file"
    chmod 0600 "$file"
}

# write_encrypted_pgbackrest_conf FILE DIR REPO PROCESS_MAX: write_pgbackrest_conf for the cluster
# at $PGDATA ($PORT, socket dir $SOCK) with one repository at REPO, aes-256-cbc under a random
# passphrase, keeping every full backup, and the [global] lines read from stdin (none is fine).
write_encrypted_pgbackrest_conf() {
    local file=$1 dir=$2 repo=$3 process_max=$4 extra
    extra=$(cat)
    write_pgbackrest_conf "$file" "$dir" "$PGDATA" "$PORT" "$SOCK" "$process_max" <<EOF
repo1-path=$repo
repo1-retention-full=99
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(random_secret)
$extra
EOF
}

# write_both_archive_push: $WORKDIR/bin/pgdr-and-pgbackrest-archive-push, pushing with pgdr under
# $PGDR_CONF and then (unless SKIP_PGBR=1) pgBackRest under $PGBR_CONF; ARCHIVE_CMD runs it.
# pgBackRest insists that archive_command mentions it: hence the wrapper's name.
write_both_archive_push() {
    local push="$WORKDIR/bin/pgdr-and-pgbackrest-archive-push"
    if ((${SKIP_PGBR:-0})); then
        write_archive_push "$push" "$PGDR_CONF"
    else
        write_archive_push "$push" "$PGDR_CONF" "$PGBR_CONF"
    fi
    ARCHIVE_CMD="$push %p"
}

# write_archive_push FILE PGDR_CONF [PGBR_CONF...]: an archive_command that pushes each WAL file
# with pgdr (unless PGDR_CONF is empty) and then with pgBackRest under each PGBR_CONF, and fails
# (PostgreSQL retries) unless every push succeeds. It holds the passphrase, so it is mode 0700;
# pgBackRest insists that archive_command mentions it, hence the names the scripts give it.
write_archive_push() {
    local file=$1 pgdr_conf=$2 c
    shift 2
    {
        echo '#!/bin/sh'
        echo 'set -e'
        if [[ -n $pgdr_conf ]]; then
            echo "PGDR_PASSPHRASE='$PASSPHRASE' $WORKDIR/bin/pgdr --config $pgdr_conf archive-push \"\$1\""
        fi
        for c in "$@"; do echo "$PGBACKREST --config=$c --stanza=bench archive-push \"\$1\""; done
        echo 'exit 0'
    } >"$file"
    chown postgres: "$file"
    chmod 0700 "$file"
}

# The work directory's pgdr (bin/pgdr) under $PGDR_CONF, and pgBackRest under $PGBR_CONF, as postgres.
pgdr() { as_pg env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" --config "$PGDR_CONF" "$@"; }
pgbr() { as_pg "$PGBACKREST" --config="$PGBR_CONF" --stanza=bench "$@"; }

# ---------------------------------------------------------------- measuring
# Sum of the resident set of every process under $1 (excluding /usr/bin/time and runuser),
# sampled every 0.2 s; the peak is written to $2.  /usr/bin/time's %M is the largest single
# process, which understates multi-process tools such as pgBackRest.
sample_tree_rss() {
    local root=$1 out=$2 peak=0 cur
    while kill -0 "$root" 2>/dev/null; do
        cur=$(ps -e -o pid=,ppid=,rss=,comm= | awk -v root="$root" '
            { pp[$1] = $2; rss[$1] = $3; comm[$1] = $4 }
            END {
                s = 0
                for (p in pp) {
                    q = p; n = 0
                    while ((q in pp) && q != root && q > 1 && n++ < 64) q = pp[q]
                    if (q == root && p != root && comm[p] != "runuser") s += rss[p]
                }
                print s
            }')
        ((cur > peak)) && peak=$cur
        sleep 0.2
    done
    echo "$peak" >"$out"
}
