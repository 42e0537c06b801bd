#!/usr/bin/env bash
# Backup to several repositories: one pass feeding three repositories against one repository, and
# against three backups in sequence (one per repository, --repo). Every backup is a first (full)
# snapshot into empty repositories. Prints wall-clock seconds and CPU seconds (user + system) of
# each. Run as root, by hand; it is not part of CI.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
TIME=/usr/bin/time

SCALE=20
PGDR_BIN="$REPO_ROOT/build/src/pgdr"
PROCESS_MAX=2

die() { echo "multi_repo: $*" >&2; exit 1; }

while (($#)); do
    case "$1" in
        --scale) SCALE=${2:?}; shift ;;
        --pgdr) PGDR_BIN=${2:?}; shift ;;
        --process-max) PROCESS_MAX=${2:?}; shift ;;
        -h|--help) echo "usage: $0 [--scale N (pgbench, default $SCALE)] [--pgdr PATH] [--process-max N]"; exit 0 ;;
        *) die "unknown option: $1" ;;
    esac
    shift
done
[[ $(id -u) == 0 ]] || die "run as root"
[[ -x $PGDR_BIN ]] || die "no pgdr binary at $PGDR_BIN"

WORK=$(mktemp -d /var/tmp/pgdr-multi-repo.XXXXXX)
chmod 755 "$WORK"
PORT=$(free_port)
cleanup() {
    as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
cp "$PGDR_BIN" "$WORK/pgdr"
chown postgres: "$WORK"

log "cluster: pgbench scale $SCALE in $WORK"
as_pg "$PGBIN/initdb" -k -A trust -U postgres -D "$WORK/data" >/dev/null
cat >>"$WORK/data/postgresql.conf" <<EOF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
EOF
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -i -s "$SCALE" -q postgres >/dev/null 2>&1

# config NAME REPO... : a configuration with one [[repo]] per name
config() {
    local file="$WORK/$1.toml" r
    shift
    {
        printf '[cluster]\nname = "bench"\npgdata = "%s"\nconninfo = "host=127.0.0.1 port=%s user=postgres dbname=postgres"\n' \
            "$WORK/data" "$PORT"
        for r in "$@"; do printf '[[repo]]\nname = "%s"\npath = "%s"\n' "$r" "$WORK/$r"; done
        printf '[key]\npassphrase_env = "PGDR_PASSPHRASE"\n[backup]\nprocess_max = %s\n' "$PROCESS_MAX"
    } >"$file"
    chown postgres: "$file"
    echo "$file"
}

export PGDR_PASSPHRASE=bench-multi-repo
# timed LABEL ARGS...: runs pgdr as the server user; prints "LABEL wall cpu"
timed() {
    local label=$1 t0 t1 cpu
    shift
    t0=$(now)
    cpu=$($TIME -f '%U %S' runuser -u postgres -- env PGDR_PASSPHRASE="$PGDR_PASSPHRASE" "$WORK/pgdr" -q "$@" 2>&1 >/dev/null |
        tail -1 | awk '{ printf "%.2f", $1 + $2 }')
    t1=$(now)
    printf '%-34s %8s s wall %8s s cpu\n' "$label" "$(fsub "$t1" "$t0")" "$cpu"
}

one=$(config one a1)
three=$(config three b1 b2 b3)
seq3=$(config seq c1 c2 c3)
for c in "$one" "$three" "$seq3"; do runuser -u postgres -- env PGDR_PASSPHRASE="$PGDR_PASSPHRASE" "$WORK/pgdr" --config "$c" init >/dev/null; done
sync
log "data directory: $(du -sh "$WORK/data" | cut -f1)"
timed "one repository" --config "$one" backup
timed "three repositories, one pass" --config "$three" backup
t0=$(now)
for r in c1 c2 c3; do timed "  sequential --repo $r" --config "$seq3" backup --repo "$r"; done
printf '%-34s %8s s wall\n' "three repositories, in sequence" "$(fsub "$(now)" "$t0")"
for r in a1 b1 b2 b3 c1; do log "stored in $r: $(du -sh "$WORK/$r" | cut -f1)"; done
