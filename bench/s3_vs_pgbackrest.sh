#!/usr/bin/env bash
# Backup and restore through one S3 server: pgdr's S3 driver against pgBackRest's S3 repository
# (repo1-type=s3), both on the same s3rver, over TLS verified with a throwaway certificate
# (pgBackRest speaks only HTTPS to S3 and matches the host against DNS names only, so the
# certificate names 127.0.0.1 both as an address and as a DNS name). Reports throughput (database
# bytes per second) and the HTTP requests each tool sent per GB backed up and restored, counted
# from s3rver's log (one line per answered request, told apart by key prefix). Run as root, by
# hand; not part of CI.
#
# Both tools encrypt (pgdr always: AES-256-GCM; pgBackRest: aes-256-cbc) and compress with zstd
# level 1, with 2 processes.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

SCALE=20
S3RVER="${PGDR_S3RVER:-${HOME:-/root}/.cache/pgdr-npm/node_modules/.bin/s3rver}"
PASSPHRASE="s3 bench passphrase 41d2"
BUCKET=bench

usage() {
    cat <<EOF
usage: $0 [--scale N] [--pgdr PATH] [--s3rver PATH] [--workdir DIR] [--keep]   (run as root)
  --scale N      pgbench scale, ~16 MB per unit (default $SCALE)
  --pgdr PATH    pgdr binary (default build/src/pgdr)
  --s3rver PATH  s3rver program (default \$PGDR_S3RVER or ~/.cache/pgdr-npm, see .ci/deps.sh)
  --keep         keep the work directory
EOF
}

while (($#)); do
    case "$1" in
        --scale) SCALE=${2:?}; shift ;;
        --s3rver) S3RVER=${2:?}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) common_option "$@" || { usage >&2; exit 2; }; shift "$OPTION_VALUES" ;;
    esac
    shift
done
require_positive SCALE
ensure_prereqs pgbackrest
resolve_pgdr_bin
[[ -x $S3RVER ]] || die "$S3RVER missing: run .ci/deps.sh"
S3RVER=$(realpath "$S3RVER")

WORKDIR_PARTS=(pgdata sock logs s3data bin pgbr '*.pem' pgdr.toml 'restore-*')
set_exit_traps
make_workdir pgdr-s3-bench
PGDATA=$WORKDIR/pgdata SOCK=$WORKDIR/sock LOGS=$WORKDIR/logs
install -d -o postgres -g postgres -m 0755 "$SOCK" "$LOGS" "$WORKDIR/s3data" "$WORKDIR/bin"
install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"

# ---------------------------------------------------------------- S3 server over TLS
log "certificate for 127.0.0.1, s3rver over TLS"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1" -keyout "$WORKDIR/key.pem" -out "$WORKDIR/cert.pem" >/dev/null 2>&1
chmod 0644 "$WORKDIR/cert.pem"
S3_PORT=$(free_port)
# OpenSSL 3 keeps DES, which s3rver's listing tokens use, in its legacy provider.
NODE_OPTIONS=--openssl-legacy-provider FORCE_COLOR=1 "$S3RVER" -d "$WORKDIR/s3data" -a 127.0.0.1 -p "$S3_PORT" \
    --key "$WORKDIR/key.pem" --cert "$WORKDIR/cert.pem" --configure-bucket "$BUCKET" >"$LOGS/s3rver.log" 2>&1 &
BG_PIDS+=("$!")
for _ in $(seq 100); do grep -q "listening on" "$LOGS/s3rver.log" && break; sleep 0.1; done
grep -q "listening on" "$LOGS/s3rver.log" || die "s3rver did not start: $(tail -3 "$LOGS/s3rver.log")"

# Answered requests whose URL names the key prefix (object keys and listing prefixes alike):
# s3rver logs each answer as "info: METHOD URL STATUS TIMEms SIZE" between colour codes (it cuts
# 16 characters off a coloured line, so without colours it would cut into the URL).
requests() {
    sed 's/\x1b\[[0-9;]*m//g' "$LOGS/s3rver.log" | grep -cE -- "info: [A-Z]+ [^ ]*$1[^ ]* [0-9]{3} [0-9]+ms" || true
}

# ---------------------------------------------------------------- cluster and data
PORT=$(free_port)
log "PostgreSQL 15 on 127.0.0.1:$PORT, pgbench scale $SCALE"
PGBR_CONF="$WORKDIR/pgbr/pgbackrest.conf"
init_server "$PGDATA" "$PORT" "$SOCK" "$LOGS/initdb.log" <<EOF || die "initdb failed"
shared_buffers = 256MB
max_wal_size = 4GB
autovacuum = off
archive_mode = on
archive_command = '$PGBACKREST --config=$PGBR_CONF --stanza=bench archive-push %p'
EOF
start_server "$PGDATA" "$LOGS/pg.log"
load_data "$LOGS/pgbench-init.log" || die "pgbench -i failed, see $LOGS/pgbench-init.log"
sql "CHECKPOINT" >/dev/null
DB_BYTES=$(sql "SELECT sum(pg_database_size(datname)) FROM pg_database")
log "database size $DB_BYTES bytes"

# ---------------------------------------------------------------- configurations
PGDR_CONF="$WORKDIR/pgdr.toml"
write_pgdr_config "$PGDR_CONF" "$PGDATA" "$PORT" <<EOF
[[repo]]
name = "s3"
s3_endpoint = "https://127.0.0.1:$S3_PORT"
s3_bucket = "$BUCKET"
s3_region = "us-east-1"
s3_prefix = "pgdr-repo"
s3_uri_style = "path"
s3_ca_file = "$WORKDIR/cert.pem"
[backup]
process_max = 2
compress = "zstd"
compress_level = 1
EOF
install -d -o postgres -g postgres -m 0700 "$WORKDIR/pgbr" "$WORKDIR/pgbr/spool"
write_pgbackrest_conf "$PGBR_CONF" "$WORKDIR/pgbr" "$PGDATA" "$PORT" "$SOCK" 2 <<EOF
repo1-type=s3
repo1-s3-endpoint=127.0.0.1
repo1-storage-port=$S3_PORT
repo1-s3-uri-style=path
repo1-s3-bucket=$BUCKET
repo1-s3-region=us-east-1
repo1-s3-key=S3RVER
repo1-s3-key-secret=S3RVER
repo1-storage-ca-file=$WORKDIR/cert.pem
repo1-path=/pgbr-repo
repo1-retention-full=99
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$PASSPHRASE
compress-type=zst
compress-level=1
spool-path=$WORKDIR/pgbr/spool
EOF
# pgdr reads its S3 credentials from the environment (s3rver takes any).
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER

pgbr stanza-create >"$LOGS/stanza-create.log" 2>&1 || die "stanza-create failed: $(tail -3 "$LOGS/stanza-create.log")"
pgdr init >"$LOGS/pgdr-init.log" 2>&1 || die "pgdr init failed: $(tail -3 "$LOGS/pgdr-init.log")"

# timed TOOL STEP COMMAND...: runs the command, records its seconds and the tool's requests.
declare -A SECONDS_OF=() REQUESTS_OF=()
timed() {
    local tool=$1 step=$2 prefix r0 t0 t1
    shift 2
    prefix=$([[ $tool == pgdr ]] && echo pgdr-repo || echo pgbr-repo)
    r0=$(requests "$prefix")
    t0=$(now)
    "$@" >"$LOGS/$tool-$step.log" 2>&1 || die "$tool $step failed: $(tail -3 "$LOGS/$tool-$step.log")"
    t1=$(now)
    SECONDS_OF[$tool-$step]=$(fsub "$t1" "$t0")
    REQUESTS_OF[$tool-$step]=$(($(requests "$prefix") - r0))
    log "$tool $step: ${SECONDS_OF[$tool-$step]} s, ${REQUESTS_OF[$tool-$step]} requests"
}

# ---------------------------------------------------------------- the runs
timed pgdr backup pgdr backup
timed pgbackrest backup pgbr backup --type=full
for tool in pgdr pgbackrest; do
    target=$WORKDIR/restore-$tool
    mkdir -p "$target" && chown postgres: "$target" && chmod 0700 "$target"
    if [[ $tool == pgdr ]]; then
        timed pgdr restore pgdr restore --target-dir "$target"
    else
        timed pgbackrest restore pgbr restore --pg1-path="$target"
    fi
    [[ -f $target/PG_VERSION ]] || die "$tool restore wrote no PG_VERSION"
    rm -rf "$target"
done

# ---------------------------------------------------------------- report
GB=$(awk -v b="$DB_BYTES" 'BEGIN { printf "%.6f", b / 1e9 }')
printf '\n%-11s %-8s %9s %8s %9s %12s\n' tool step seconds "MB/s" requests "requests/GB"
for tool in pgdr pgbackrest; do
    for step in backup restore; do
        s=${SECONDS_OF[$tool-$step]} n=${REQUESTS_OF[$tool-$step]}
        printf '%-11s %-8s %9s %8s %9s %12s\n' "$tool" "$step" "$s" \
            "$(mb_per_s "$DB_BYTES" "$s")" "$n" \
            "$(awk -v n="$n" -v g="$GB" 'BEGIN { printf "%.0f", n / g }')"
    done
done
printf '\ndatabase %s bytes (pgbench scale %s); s3rver on 127.0.0.1 over TLS; %s\n' "$DB_BYTES" "$SCALE" \
    "$($PGBACKREST version)"
