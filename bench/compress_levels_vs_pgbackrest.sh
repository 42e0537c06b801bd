#!/usr/bin/env bash
# What pgdr's zstd level costs and saves on a full backup, against pgBackRest's zst (level 3), on
# the same PostgreSQL 15 cluster, in the same run: for each round, a full backup into a fresh
# repository at each pgdr level (and by a --baseline pgdr after each), then pgBackRest's full
# backup into a fresh stanza, each with a cold page cache.  Wall seconds, CPU seconds, peak RSS and stored bytes (pgdr's split into packs
# and the rest: manifest, info, the snapshot's WAL).  See bench/README.md, "Compression level".
# Run as root, by hand; it is not part of CI.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"

SCALE=40
DATA=realistic
LEVELS="1,2,3"
ROUNDS=2
BASELINE=""
WARM=0

usage() {
    cat <<EOF
usage: $0 [options]   (run as root)
  --scale N               realistic size / pgbench scale, ~16 MB per unit (default $SCALE)
  --data realistic|pgbench  data set (default $DATA)
  --levels LIST           pgdr zstd levels to time, in order (default $LEVELS)
  --rounds N              rounds of every level and pgBackRest, alternating (default $ROUNDS)
  --warm                  keep the page cache between backups (CPU without the cold reads' noise)
  --baseline PATH         a second pgdr binary (say, the commit before a change), timed after
                          pgdr at every level of every round, as tool pgdr-baseline
  --pgdr PATH             pgdr binary (default build/src/pgdr)
  --workdir DIR           work directory (default: new mktemp dir under /var/tmp)
  --keep                  keep the work directory at the end
  --results-dir DIR       where the JSON goes (default bench/results)
EOF
}

parse_args() {
    while (($#)); do
        case "$1" in
            --scale) SCALE=${2:?}; shift ;;
            --data) DATA=${2:?}; shift ;;
            --levels) LEVELS=${2:?}; shift ;;
            --rounds) ROUNDS=${2:?}; shift ;;
            --warm) WARM=1 ;;
            --baseline) BASELINE=$(realpath "${2:?}"); shift ;;
            --results-dir) RESULTS_DIR=${2:?}; shift ;;
            -h|--help) usage; exit 0 ;;
            *) common_option "$@" || { usage >&2; die "unknown option: $1"; }; shift "$OPTION_VALUES" ;;
        esac
        shift
    done
    require_positive SCALE ROUNDS
    [[ $DATA == pgbench || $DATA == realistic ]] || die "--data must be pgbench or realistic"
    local l
    for l in ${LEVELS//,/ }; do [[ $l =~ ^-?[0-9]+$ ]] || die "--levels: '$l' is not a zstd level"; done
    resolve_pgdr_bin
    [[ -z $BASELINE || -x $BASELINE ]] || die "--baseline: $BASELINE is not an executable"
    mkdir -p "$RESULTS_DIR"
    RESULTS_DIR=$(realpath "$RESULTS_DIR")
}

WORKDIR_PARTS=(pgdata 'repo-*' pgbackrest bin logs sock sql '*.toml' '*.tsv')
load1() { cut -d' ' -f1 /proc/loadavg; }

setup() {
    make_workdir pgdr-levels-bench
    PGDATA="$WORKDIR/pgdata"
    SOCK="$WORKDIR/sock"
    LOGS="$WORKDIR/logs"
    RESULTS="$WORKDIR/results.tsv"
    install -d -o postgres -g postgres -m 0755 "$SOCK" "$LOGS" "$WORKDIR/sql" "$WORKDIR/bin"
    install -d -o postgres -g postgres -m 0700 "$WORKDIR/pgbackrest"
    : >"$RESULTS"
    cp "$BENCH_DIR"/sql/* "$WORKDIR/sql/"
    chmod 0644 "$WORKDIR"/sql/*
    install -m 0755 "$PGDR_BIN" "$WORKDIR/bin/pgdr"
    [[ -z $BASELINE ]] || install -m 0755 "$BASELINE" "$WORKDIR/bin/pgdr-baseline"
    PASSPHRASE=$(random_secret)
    PORT=$(free_port)
    PGBR_CONF="$WORKDIR/pgbackrest/pgbackrest.conf"
    # Only full backups are timed and nothing is restored, so WAL is not archived: pgBackRest's
    # archive check is off, and its stored bytes hold no WAL (pgdr's hold the snapshot's own).
    write_encrypted_pgbackrest_conf "$PGBR_CONF" "$WORKDIR/pgbackrest" "$WORKDIR/repo-pgbackrest" 2 <<<"archive-check=n"
    log "initdb + start PostgreSQL 15 on 127.0.0.1:$PORT, work directory $WORKDIR"
    init_server "$PGDATA" "$PORT" "$SOCK" "$LOGS/initdb.log" <<EOF || die "initdb failed, see $LOGS/initdb.log"
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
autovacuum = off
EOF
    start_server "$PGDATA" "$LOGS/postgresql.log" || die "PostgreSQL did not start, see $LOGS/postgresql.log"
    log "building data: $DATA, scale $SCALE"
    load_data "$LOGS/data.log" || die "loading the $DATA data failed: $(tail -3 "$LOGS/data.log")"
    sql "CHECKPOINT" >/dev/null
    PGDATA_BYTES=$(pgdata_bytes "$PGDATA")
    log "PGDATA $((PGDATA_BYTES / 1000000)) MB without pg_wal"
}

# timed LOG CMD...: runs CMD as postgres with a cold page cache (unless --warm); prints "seconds
# cpu_seconds rss_kib".
timed() {
    local logfile=$1
    shift
    ((WARM)) || drop_caches
    as_pg "$TIME" -o "$logfile.time" -f '%e %U %S %M' "$@" >"$logfile" 2>&1 || return 1
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$logfile.time"
}

# pgdr_level ROUND LEVEL [TOOL]: a full backup by $WORKDIR/bin/TOOL (default pgdr) at LEVEL.
pgdr_level() {
    local round=$1 level=$2 tool=${3:-pgdr} repo="$WORKDIR/repo-pgdr" conf="$WORKDIR/pgdr.toml" before t
    rm -rf "$repo"
    write_pgdr_config "$conf" "$PGDATA" "$PORT" "bench=$repo" <<EOF
[backup]
process_max = 2
compress = "zstd"
compress_level = $level
EOF
    PGDR_CONF=$conf
    pgdr init >"$LOGS/pgdr-init.log" 2>&1 || die "pgdr init failed: $(tail -3 "$LOGS/pgdr-init.log")"
    before=$(du_bytes "$repo")
    t=$(timed "$LOGS/$tool-$round-$level.log" env PGDR_PASSPHRASE="$PASSPHRASE" "$WORKDIR/bin/$tool" --config "$conf" backup) ||
        die "$tool backup at level $level failed: $(tail -3 "$LOGS/$tool-$round-$level.log")"
    local packs total
    packs=$(du_bytes "$repo/packs")
    total=$(($(du_bytes "$repo") - before))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$tool" "$level" "${t// /$'\t'}" "$total" "$packs" "$(load1)" >>"$RESULTS"
}

pgbr_full() {
    local round=$1 before t
    rm -rf "$WORKDIR/repo-pgbackrest"
    pgbr stanza-create >"$LOGS/pgbr-stanza.log" 2>&1 || die "pgBackRest stanza-create failed: $(tail -3 "$LOGS/pgbr-stanza.log")"
    before=$(du_bytes "$WORKDIR/repo-pgbackrest")
    t=$(timed "$LOGS/pgbr-$round.log" "$PGBACKREST" --config="$PGBR_CONF" --stanza=bench --type=full backup) ||
        die "pgBackRest backup failed: $(tail -3 "$LOGS/pgbr-$round.log")"
    printf '%s\tpgbackrest\tzst-3\t%s\t%s\t\t%s\n' "$round" "${t// /$'\t'}" "$(($(du_bytes "$WORKDIR/repo-pgbackrest") - before))" "$(load1)" >>"$RESULTS"
}

report() {
    local json="$RESULTS_DIR/$(date -u +%Y%m%d-%H%M%S)-levels-scale$SCALE-$DATA.json"
    echo
    printf 'PGDATA %s MB (%s, scale %s); per round, %s cache\n' "$((PGDATA_BYTES / 1000000))" "$DATA" "$SCALE" "$( ((WARM)) && echo warm || echo cold)"
    printf '%-6s %-11s %-6s %8s %7s %8s %11s %11s %6s\n' round tool level seconds "CPU s" "RSS MiB" "stored MB" "packs MB" load
    awk -F'\t' '{ printf "%-6s %-11s %-6s %8s %7s %8.1f %11.1f %11s %6s\n", $1, $2, $3, $4, $5, $6 / 1024, $7 / 1e6,
                  ($8 == "" ? "" : sprintf("%.1f", $8 / 1e6)), $9 }' "$RESULTS"
    echo
    echo "median per variant, against pgBackRest (speed: its seconds / pgdr's; stored: pgdr's / its):"
    awk -F'\t' '
        function median(list,   n, a, i, j, t) {
            n = split(list, a, " ")
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        { k = $2 " " $3; secs[k] = secs[k] " " $4; cpu[k] = cpu[k] " " $5; stored[k] = $7; if (!(k in seen)) { order[++n] = k; seen[k] = 1 } }
        END {
            b = "pgbackrest zst-3"; bs = median(secs[b]); bst = stored[b]
            for (i = 1; i <= n; i++) {
                k = order[i]; s = median(secs[k])
                printf "  %-18s %6.2f s  %6.2f CPU s  %7.1f MB   speed %.2fx  stored %.3fx\n", k, s, median(cpu[k]), stored[k] / 1e6, bs / s, stored[k] / bst
            }
        }' "$RESULTS"
    jq -Rn --arg date "$(date -u +%FT%TZ)" --arg data "$DATA" --argjson scale "$SCALE" \
        --argjson pgdata "$PGDATA_BYTES" --arg pgdr "$("$WORKDIR/bin/pgdr" --version | head -1)" \
        --arg rev "$(git -C "$BENCH_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        --arg pgbr "$("$PGBACKREST" version)" --arg base "$BASELINE" --arg warm "$WARM" '
        { date: $date, data: $data, scale: $scale, pgdata_bytes_without_wal: $pgdata,
          versions: { pgdr: $pgdr, git: $rev, pgbackrest: $pgbr, baseline: (if $base == "" then null else $base end) },
          settings: { cache: (if $warm == "1" then "warm" else "cold" end), process_max: 2, pgbackrest: "zst level 3, aes-256-cbc", pgdr: "zstd, aes-256-gcm" },
          results: [ inputs | split("\t") | { round: (.[0] | tonumber), tool: .[1], level: .[2],
                     seconds: (.[3] | tonumber), cpu_seconds: (.[4] | tonumber), rss_kib: (.[5] | tonumber),
                     stored_bytes: (.[6] | tonumber), packs_bytes: (if .[7] == "" then null else (.[7] | tonumber) end),
                     load1: (.[8] | tonumber) } ] }' <"$RESULTS" >"$json"
    log "results in $json"
}

main() {
    parse_args "$@"
    ensure_prereqs pgbackrest
    set_exit_traps
    setup
    local round level
    for round in $(seq "$ROUNDS"); do
        for level in ${LEVELS//,/ }; do
            log "round $round: pgdr level $level"
            pgdr_level "$round" "$level"
            if [[ -n $BASELINE ]]; then
                log "round $round: baseline pgdr level $level"
                pgdr_level "$round" "$level" pgdr-baseline
            fi
        done
        log "round $round: pgBackRest"
        pgbr_full "$round"
    done
    report
}

main "$@"
