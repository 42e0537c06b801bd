#!/usr/bin/env bash
# Backup to several repositories: one pass feeding three repositories against one repository, and
# against three backups in sequence (one per repository, --repo). Every backup is a first (full)
# snapshot into empty repositories. Prints wall-clock seconds and CPU seconds (user + system) of
# each. Run as root, by hand; it is not part of CI.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

SCALE=20
PROCESS_MAX=2

while (($#)); do
    case "$1" in
        --scale) SCALE=${2:?}; shift ;;
        --process-max) PROCESS_MAX=${2:?}; shift ;;
        -h|--help)
            echo "usage: $0 [--scale N (pgbench, default $SCALE)] [--pgdr PATH] [--process-max N] [--workdir DIR] [--keep]"
            exit 0 ;;
        *) common_option "$@" || die "unknown option: $1"; shift "$OPTION_VALUES" ;;
    esac
    shift
done
require_positive SCALE PROCESS_MAX
ensure_prereqs
resolve_pgdr_bin

WORKDIR_PARTS=(data bin '*.toml' '*.log' a1 b1 b2 b3 c1 c2 c3)
set_exit_traps
make_workdir pgdr-multi-repo
PGDATA="$WORKDIR/data"
PORT=$(free_port)
PASSPHRASE=bench-multi-repo
install -d -o postgres -g postgres -m 0755 "$WORKDIR/bin"
install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"

log "cluster: pgbench scale $SCALE in $WORKDIR"
init_server "$PGDATA" "$PORT" "$WORKDIR" "$WORKDIR/initdb.log" </dev/null || die "initdb failed, see $WORKDIR/initdb.log"
start_server "$PGDATA" "$WORKDIR/server.log"
load_data "$WORKDIR/pgbench-init.log" || die "pgbench -i failed, see $WORKDIR/pgbench-init.log"

# config NAME REPO... : a configuration with one [[repo]] per name
config() {
    local file="$WORKDIR/$1.toml" r repos=()
    shift
    for r in "$@"; do repos+=("$r=$WORKDIR/$r"); done
    write_pgdr_config "$file" "$PGDATA" "$PORT" "${repos[@]}" <<EOF_CONF
[backup]
process_max = $PROCESS_MAX
EOF_CONF
    echo "$file"
}

# timed LABEL ARGS...: runs pgdr as the server user; prints "LABEL wall cpu"
timed() {
    local label=$1 t0 t1 cpu
    shift
    t0=$(now)
    cpu=$($TIME -f '%U %S' runuser -u postgres -- env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/pgdr" -q "$@" 2>&1 >/dev/null |
        tail -1 | awk '{ printf "%.2f", $1 + $2 }')
    t1=$(now)
    printf '%-34s %8s s wall %8s s cpu\n' "$label" "$(fsub "$t1" "$t0")" "$cpu"
}

one=$(config one a1)
three=$(config three b1 b2 b3)
seq3=$(config seq c1 c2 c3)
for c in "$one" "$three" "$seq3"; do PGDR_CONF=$c pgdr init >/dev/null; done
sync
log "data directory: $(du -sh "$PGDATA" | cut -f1)"
timed "one repository" --config "$one" backup
timed "three repositories, one pass" --config "$three" backup
t0=$(now)
for r in c1 c2 c3; do timed "  sequential --repo $r" --config "$seq3" backup --repo "$r"; done
printf '%-34s %8s s wall\n' "three repositories, in sequence" "$(fsub "$(now)" "$t0")"
for r in a1 b1 b2 b3 c1; do log "stored in $r: $(du -sh "$WORKDIR/$r" | cut -f1)"; done
