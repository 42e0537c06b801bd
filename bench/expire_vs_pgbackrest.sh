#!/usr/bin/env bash
# Storage needed to keep the newest K daily restore points, after D days of pgbench writes: pgdr
# (one snapshot a day, expire keeping K days, repacking off and on) against pgBackRest (a full
# backup a day with repo1-retention-full=K, and one full then daily incrementals in a second
# repository, which must keep everything since its full). Also times pgdr expire (wall clock,
# peak RSS) and a restore of the newest snapshot from each pgdr repository, to show that
# repacking does not slow restores. Run as root, by hand; it is not part of CI.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
PGBACKREST=/usr/bin/pgbackrest
TIME=/usr/bin/time

SCALE=30
DAYS=6
KEEP=3
SECONDS_PER_DAY=20
PROCESS_MAX=2
PGDR_BIN="$REPO_ROOT/build/src/pgdr"
SKIP_PGBACKREST=0
KEEP_WORK=0
HOT=100

die() { echo "expire_vs_pgbackrest: $*" >&2; exit 1; }
usage() {
    cat <<EOF
usage: $0 [--scale N] [--days D] [--keep K] [--seconds S] [--process-max N] [--pgdr PATH]
          [--skip-pgbackrest] [--keep-work]
  --scale N        pgbench scale (default $SCALE)
  --days D         days of history: one backup a day, pgbench -T S between two (default $DAYS)
  --keep K         daily restore points to keep (default $KEEP)
  --seconds S      pgbench run between two backups (default $SECONDS_PER_DAY)
  --hot P          the day's transactions touch only the first P percent of the accounts
                   (default $HOT: pgbench's uniform tpcb-like); real databases have hot sets
EOF
}
while (($#)); do
    case "$1" in
        --scale) SCALE=${2:?}; shift ;;
        --days) DAYS=${2:?}; shift ;;
        --keep) KEEP=${2:?}; shift ;;
        --seconds) SECONDS_PER_DAY=${2:?}; shift ;;
        --hot) HOT=${2:?}; shift ;;
        --process-max) PROCESS_MAX=${2:?}; shift ;;
        --pgdr) PGDR_BIN=${2:?}; shift ;;
        --skip-pgbackrest) SKIP_PGBACKREST=1 ;;
        --keep-work) KEEP_WORK=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option: $1" ;;
    esac
    shift
done
[[ $(id -u) == 0 ]] || die "run as root"
[[ -x $PGDR_BIN ]] || die "no pgdr binary at $PGDR_BIN"
((SKIP_PGBACKREST)) || [[ -x $PGBACKREST ]] || die "$PGBACKREST missing (apt-get install pgbackrest)"
((DAYS >= 2 && DAYS <= 28 && KEEP >= 1 && KEEP < DAYS)) || die "need 2 <= days <= 28 and 1 <= keep < days"
((HOT >= 1 && HOT <= 100)) || die "--hot takes a percentage from 1 to 100"
[[ -x $TIME ]] || apt-get install -y -qq time >/dev/null

WORK=$(mktemp -d /var/tmp/pgdr-expire-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/pgbr/log" "$WORK/pgbr/lock" "$WORK/bin" "$WORK/logs"
cp "$PGDR_BIN" "$WORK/bin/pgdr"
chmod 0755 "$WORK/bin/pgdr"
chown -R postgres: "$WORK"
PGDATA="$WORK/data"
PORT=$(free_port)
PASSPHRASE=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
CIPHER_PASS=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
cleanup() {
    local rc=$?
    set +e
    [[ -f $PGDATA/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1
    if ((KEEP_WORK)); then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT

# pgdr_config NAME REPO THRESHOLD: a configuration whose one repository is REPO
pgdr_config() {
    cat >"$WORK/$1.toml" <<CONF
[cluster]
name = "bench"
pgdata = "$PGDATA"
conninfo = "host=127.0.0.1 port=$PORT user=postgres dbname=postgres"
[[repo]]
name = "local"
path = "$2"
[key]
passphrase_env = "PGDR_PASSPHRASE"
[backup]
process_max = $PROCESS_MAX
[retention]
hourly = 0
daily = $KEEP
weekly = 0
monthly = 0
min_age = "0s"
repack_threshold = $3
repack_grace = "0s"
CONF
    chown postgres: "$WORK/$1.toml"
    chmod 0600 "$WORK/$1.toml"
}
pgdr_config main "$WORK/repo-pgdr" 50
pgdr_config norepack "$WORK/repo-pgdr-norepack" 0
# pgdr CONFIG ARGS...: runs pgdr as the server user; PGDR_NOW, when set, is the clock it reads
# (snapshot ids and times, expire's "now"), so that one backup a "day" takes seconds.
pgdr() {
    local c=$1
    shift
    as_pg env PGDR_PASSPHRASE="$PASSPHRASE" ${PGDR_NOW:+PGDR_TEST_NOW=$PGDR_NOW} "$WORK/bin/pgdr" --config "$WORK/$c.toml" "$@"
}

PGBR_CONF="$WORK/pgbr/pgbackrest.conf"
write_pgbackrest_conf "$PGBR_CONF" "$WORK/pgbr" "$PGDATA" "$PORT" "$WORK" "$PROCESS_MAX" <<CONF
repo1-path=$WORK/repo-pgbackrest-full
repo1-retention-full=$KEEP
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$CIPHER_PASS
repo2-path=$WORK/repo-pgbackrest-incr
repo2-retention-full=1
repo2-cipher-type=aes-256-cbc
repo2-cipher-pass=$CIPHER_PASS
CONF
pgbr() { as_pg "$PGBACKREST" --config="$PGBR_CONF" --stanza=bench "$@"; }

# Archiving into pgdr (and pgBackRest's two repositories); the passphrase stays in a 0700 wrapper.
{
    echo '#!/bin/sh'
    echo 'set -e'
    echo "PGDR_PASSPHRASE='$PASSPHRASE' $WORK/bin/pgdr --config $WORK/main.toml archive-push \"\$1\""
    ((SKIP_PGBACKREST)) || echo "$PGBACKREST --config=$PGBR_CONF --stanza=bench archive-push \"\$1\""
} >"$WORK/bin/pgdr-and-pgbackrest-archive-push"
chown postgres: "$WORK/bin/pgdr-and-pgbackrest-archive-push"
chmod 0700 "$WORK/bin/pgdr-and-pgbackrest-archive-push"

log "cluster: pgbench scale $SCALE, $DAYS days, keep $KEEP, hot set $HOT%, work dir $WORK"
as_pg "$PGBIN/initdb" -k -A trust -U postgres -D "$PGDATA" >"$WORK/logs/initdb.log" 2>&1 || die "initdb failed"
cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORK'
max_wal_size = 4GB
archive_mode = on
archive_command = '$WORK/bin/pgdr-and-pgbackrest-archive-push %p'
CONF
pgdr main init >"$WORK/logs/pgdr-init.log" 2>&1 || die "pgdr init failed"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/logs/postgresql.log" -w start >/dev/null
((SKIP_PGBACKREST)) || pgbr stanza-create >"$WORK/logs/pgbr-stanza.log" 2>&1 || die "pgbackrest stanza-create failed"
as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -i -q -s "$SCALE" postgres >"$WORK/logs/pgbench-init.log" 2>&1

# tpcb-like, with the account drawn from the hot set only.
cat >"$WORK/hot.sql" <<SQL
\\set aid random(1, $((100000 * SCALE * HOT / 100)))
\\set bid random(1, $SCALE)
\\set tid random(1, $((10 * SCALE)))
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
SQL
chown postgres: "$WORK/hot.sql"
for day in $(seq 1 "$DAYS"); do
    if ((day > 1)); then
        as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -c 4 -j 2 -T "$SECONDS_PER_DAY" -f "$WORK/hot.sql" postgres \
            >"$WORK/logs/pgbench-$day.log" 2>&1
    fi
    stamp=$(printf '2026-01-%02dT02:00:00Z' "$day")
    PGDR_NOW=$stamp pgdr main backup >"$WORK/logs/pgdr-backup-$day.log" 2>&1 || die "pgdr backup failed on day $day"
    if ((!SKIP_PGBACKREST)); then
        pgbr --repo=1 --type=full backup >"$WORK/logs/pgbr-full-$day.log" 2>&1 || die "pgbackrest full backup failed"
        type=incr; ((day == 1)) && type=full
        pgbr --repo=2 --type=$type backup >"$WORK/logs/pgbr-incr-$day.log" 2>&1 || die "pgbackrest $type backup failed"
    fi
    log "day $day ($stamp): $(tps=$(grep -ho 'tps = [0-9.]*' "$WORK/logs/pgbench-$day.log" 2>/dev/null | head -1); echo "${tps:-load}") done"
done
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -Atqc "SELECT pg_switch_wal()" postgres >/dev/null
wait_archived "$PGDATA" || die "WAL not archived within 2 minutes"
cp -a "$WORK/repo-pgdr" "$WORK/repo-pgdr-norepack"
before=$(du_bytes "$WORK/repo-pgdr")
log "pgdr repository before expire: $before bytes"

# expire_keeping CONFIG: expire on the last day at noon (daily = KEEP), timed, with peak RSS.
expire_keeping() {
    local t0 t1 rss
    t0=$(now)
    rss=$(as_pg env PGDR_PASSPHRASE="$PASSPHRASE" PGDR_TEST_NOW="$(printf '2026-01-%02dT12:00:00Z' "$DAYS")" \
        $TIME -f '%M' "$WORK/bin/pgdr" --config "$WORK/$1.toml" expire --json 2>&1 >"$WORK/logs/expire-$1.json" | tail -1)
    t1=$(now)
    echo "$(fsub "$t1" "$t0") $rss"
}
read -r t_norepack rss_norepack <<<"$(expire_keeping norepack)"
read -r t_repack rss_repack <<<"$(expire_keeping main)"
kept=$(jq '[.repositories[0].snapshots[] | select(.keep)] | length' "$WORK/logs/expire-main.json")
((kept == KEEP)) || die "expire kept $kept snapshots, expected $KEEP"
size_norepack=$(du_bytes "$WORK/repo-pgdr-norepack")
size_repack=$(du_bytes "$WORK/repo-pgdr")
repacked=$(jq '.repositories[0].repack.packs | length' "$WORK/logs/expire-main.json")
written=$(jq '[.repositories[0].repack.written[].size_bytes] | add // 0' "$WORK/logs/expire-main.json")

restore_time() {
    local dir="$WORK/restore-$1" t0
    rm -rf "$dir"
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    t0=$(now)
    pgdr "$1" restore --target-dir "$dir" >"$WORK/logs/restore-$1.log" 2>&1 || die "restore from $1 failed"
    fsub "$(now)" "$t0"
    rm -rf "$dir"
}
r_norepack=$(restore_time norepack)
r_repack=$(restore_time main)

printf '\n%-44s %14s %10s %10s %12s\n' "keep the newest $KEEP of $DAYS daily points" "stored bytes" "expire s" "RSS KiB" "restore s"
printf '%-44s %14s\n' "pgdr before expire" "$before"
printf '%-44s %14s %10s %10s %12s\n' "pgdr expire, repacking off" "$size_norepack" "$t_norepack" "$rss_norepack" "$r_norepack"
printf '%-44s %14s %10s %10s %12s\n' "pgdr expire, repacking at 50%" "$size_repack" "$t_repack" "$rss_repack" "$r_repack"
printf '  repacked %s packs, wrote %s bytes of copies\n' "$repacked" "$written"
if ((!SKIP_PGBACKREST)); then
    printf '%-44s %14s\n' "pgBackRest, a full a day, retention-full=$KEEP" "$(du_bytes "$WORK/repo-pgbackrest-full")"
    printf '%-44s %14s\n' "pgBackRest, full + daily incr (keeps all)" "$(du_bytes "$WORK/repo-pgbackrest-incr")"
fi
