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

SCALE=30
DAYS=6
KEEP=3
SECONDS_PER_DAY=20
PROCESS_MAX=2
SKIP_PGBACKREST=0
HOT=100

usage() {
    cat <<EOF
usage: $0 [--scale N] [--days D] [--keep K] [--seconds S] [--process-max N] [--pgdr PATH]
          [--skip-pgbackrest] [--workdir DIR] [--keep-work]
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
        --skip-pgbackrest) SKIP_PGBACKREST=1 ;;
        --keep-work) KEEP_WORKDIR=1 ;;
        -h|--help) usage; exit 0 ;;
        *) common_option "$@" || die "unknown option: $1"; shift "$OPTION_VALUES" ;;
    esac
    shift
done
require_positive SCALE SECONDS_PER_DAY PROCESS_MAX
((DAYS >= 2 && DAYS <= 28 && KEEP >= 1 && KEEP < DAYS)) || die "need 2 <= days <= 28 and 1 <= keep < days"
((HOT >= 1 && HOT <= 100)) || die "--hot takes a percentage from 1 to 100"
if ((SKIP_PGBACKREST)); then ensure_prereqs; else ensure_prereqs pgbackrest; fi
resolve_pgdr_bin

WORKDIR_PARTS=(data bin logs pgbr 'repo-*' 'restore-*' '*.toml' hot.sql)
set_exit_traps
make_workdir pgdr-expire-bench
install -d -o postgres -g postgres -m 0755 "$WORKDIR/bin" "$WORKDIR/logs"
install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"
PGDATA="$WORKDIR/data"
PORT=$(free_port)
PASSPHRASE=$(random_secret)
CIPHER_PASS=$(random_secret)

# pgdr_config NAME REPO THRESHOLD: a configuration whose one repository is REPO
pgdr_config() {
    write_pgdr_config "$WORKDIR/$1.toml" "$PGDATA" "$PORT" "local=$2" <<CONF
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
}
pgdr_config main "$WORKDIR/repo-pgdr" 50
pgdr_config norepack "$WORKDIR/repo-pgdr-norepack" 0
# pgdr_at CONFIG ARGS...: runs pgdr as the server user; PGDR_NOW, when set, is the clock it reads
# (snapshot ids and times, expire's "now"), so that one backup a "day" takes seconds.
pgdr_at() {
    local c=$1
    shift
    as_pg env PGDR_PASSPHRASE="$PASSPHRASE" ${PGDR_NOW:+PGDR_TEST_NOW=$PGDR_NOW} "$WORKDIR/bin/pgdr" --config "$WORKDIR/$c.toml" "$@"
}

PGBR_CONF="$WORKDIR/pgbr/pgbackrest.conf"
write_pgbackrest_conf "$PGBR_CONF" "$WORKDIR/pgbr" "$PGDATA" "$PORT" "$WORKDIR" "$PROCESS_MAX" <<CONF
repo1-path=$WORKDIR/repo-pgbackrest-full
repo1-retention-full=$KEEP
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$CIPHER_PASS
repo2-path=$WORKDIR/repo-pgbackrest-incr
repo2-retention-full=1
repo2-cipher-type=aes-256-cbc
repo2-cipher-pass=$CIPHER_PASS
CONF

# Archiving into pgdr (and pgBackRest's two repositories).
PUSH="$WORKDIR/bin/pgdr-and-pgbackrest-archive-push"
if ((SKIP_PGBACKREST)); then
    write_archive_push "$PUSH" "$WORKDIR/main.toml"
else
    write_archive_push "$PUSH" "$WORKDIR/main.toml" "$PGBR_CONF"
fi

log "cluster: pgbench scale $SCALE, $DAYS days, keep $KEEP, hot set $HOT%, work dir $WORKDIR"
init_server "$PGDATA" "$PORT" "$WORKDIR" "$WORKDIR/logs/initdb.log" <<CONF || die "initdb failed"
max_wal_size = 4GB
archive_mode = on
archive_command = '$PUSH %p'
CONF
pgdr_at main init >"$WORKDIR/logs/pgdr-init.log" 2>&1 || die "pgdr init failed"
start_server "$PGDATA" "$WORKDIR/logs/postgresql.log"
((SKIP_PGBACKREST)) || pgbr stanza-create >"$WORKDIR/logs/pgbr-stanza.log" 2>&1 || die "pgbackrest stanza-create failed"
load_data "$WORKDIR/logs/pgbench-init.log" || die "pgbench -i failed"

# tpcb-like, with the account drawn from the hot set only.
cat >"$WORKDIR/hot.sql" <<SQL
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
chown postgres: "$WORKDIR/hot.sql"
for day in $(seq 1 "$DAYS"); do
    if ((day > 1)); then
        as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -c 4 -j 2 -T "$SECONDS_PER_DAY" -f "$WORKDIR/hot.sql" postgres \
            >"$WORKDIR/logs/pgbench-$day.log" 2>&1
    fi
    stamp=$(printf '2026-01-%02dT02:00:00Z' "$day")
    PGDR_NOW=$stamp pgdr_at main backup >"$WORKDIR/logs/pgdr-backup-$day.log" 2>&1 || die "pgdr backup failed on day $day"
    if ((!SKIP_PGBACKREST)); then
        pgbr --repo=1 --type=full backup >"$WORKDIR/logs/pgbr-full-$day.log" 2>&1 || die "pgbackrest full backup failed"
        type=incr; ((day == 1)) && type=full
        pgbr --repo=2 --type=$type backup >"$WORKDIR/logs/pgbr-incr-$day.log" 2>&1 || die "pgbackrest $type backup failed"
    fi
    log "day $day ($stamp): $(tps=$(grep -ho 'tps = [0-9.]*' "$WORKDIR/logs/pgbench-$day.log" 2>/dev/null | head -1); echo "${tps:-load}") done"
done
switch_and_archive
cp -a "$WORKDIR/repo-pgdr" "$WORKDIR/repo-pgdr-norepack"
before=$(du_bytes "$WORKDIR/repo-pgdr")
log "pgdr repository before expire: $before bytes"

# expire_keeping CONFIG: expire on the last day at noon (daily = KEEP), timed, with peak RSS.
expire_keeping() {
    local t0 t1 rss
    t0=$(now)
    rss=$(as_pg env PGDR_PASSPHRASE="$PASSPHRASE" PGDR_TEST_NOW="$(printf '2026-01-%02dT12:00:00Z' "$DAYS")" \
        $TIME -f '%M' "$WORKDIR/bin/pgdr" --config "$WORKDIR/$1.toml" expire --json 2>&1 >"$WORKDIR/logs/expire-$1.json" | tail -1)
    t1=$(now)
    echo "$(fsub "$t1" "$t0") $rss"
}
read -r t_norepack rss_norepack <<<"$(expire_keeping norepack)"
read -r t_repack rss_repack <<<"$(expire_keeping main)"
kept=$(jq '[.repositories[0].snapshots[] | select(.keep)] | length' "$WORKDIR/logs/expire-main.json")
((kept == KEEP)) || die "expire kept $kept snapshots, expected $KEEP"
size_norepack=$(du_bytes "$WORKDIR/repo-pgdr-norepack")
size_repack=$(du_bytes "$WORKDIR/repo-pgdr")
repacked=$(jq '.repositories[0].repack.packs | length' "$WORKDIR/logs/expire-main.json")
written=$(jq '[.repositories[0].repack.written[].size_bytes] | add // 0' "$WORKDIR/logs/expire-main.json")

restore_time() {
    local dir="$WORKDIR/restore-$1" t0
    rm -rf "$dir"
    drop_caches
    t0=$(now)
    pgdr_at "$1" restore --target-dir "$dir" >"$WORKDIR/logs/restore-$1.log" 2>&1 || die "restore from $1 failed"
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
    printf '%-44s %14s\n' "pgBackRest, a full a day, retention-full=$KEEP" "$(du_bytes "$WORKDIR/repo-pgbackrest-full")"
    printf '%-44s %14s\n' "pgBackRest, full + daily incr (keeps all)" "$(du_bytes "$WORKDIR/repo-pgbackrest-incr")"
fi
