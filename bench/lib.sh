# Helpers shared by the benchmark scripts (sourced, not run).

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
as_pg() { runuser -u postgres -- "$@"; }
now() { date +%s.%N; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
du_bytes() { if [[ -e $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }

# make_workdir PREFIX: $WORKDIR, which must be empty when given, or else a new directory
# /var/tmp/PREFIX.XXXXXX (then WORKDIR_CREATED=1: the whole of it may go at the end); owned by
# postgres, mode 0755, and made the current directory, because postgres must be able to stay in
# the current directory.  die() is the calling script's.
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

# A TCP port nobody listens on, for a throwaway server; die() is the calling script's.
free_port() {
    local p i
    for i in $(seq 200); do
        p=$((20000 + RANDOM % 30000))
        [[ -z $(ss -Hltn "sport = :$p") ]] && { echo "$p"; return; }
    done
    die "no free port found"
}

# write_pgbackrest_conf FILE DIR PGDATA PORT SOCKET PROCESS_MAX: pgBackRest's configuration for a
# benchmark (stanza "bench", zst, start-fast, logs and locks under DIR) with the repository lines
# (repo1-path=..., cipher, retention) read from stdin; owned by postgres, mode 0600.
write_pgbackrest_conf() {
    local file=$1 dir=$2 pgdata=$3 port=$4 socket=$5 process_max=$6
    {
        echo "[global]"
        cat
        printf 'compress-type=zst\nprocess-max=%s\nstart-fast=y\nlog-path=%s/log\nlock-path=%s/lock\n' \
            "$process_max" "$dir" "$dir"
        printf 'log-level-console=warn\n[bench]\npg1-path=%s\npg1-port=%s\npg1-socket-path=%s\npg1-user=postgres\n' \
            "$pgdata" "$port" "$socket"
    } >"$file"
    chown postgres: "$file"
    chmod 0600 "$file"
}

# wait_archived PGDATA: waits up to 2 minutes until the archiver has no .ready file left.
wait_archived() {
    local _
    for _ in $(seq 240); do
        [[ -z $(find "$1/pg_wal/archive_status" -name '*.ready' -print -quit) ]] && return 0
        sleep 0.5
    done
    return 1
}

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
