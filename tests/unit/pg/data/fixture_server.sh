# The throwaway cluster behind the fixture scripts of this directory (wal/make_fixtures.sh,
# wal/make_change_fixtures.sh, wal_summaries/make_fixtures.sh), sourced by each:
#
#   fixture_begin NAME                    a temporary directory, removed (server stopped) on exit
#   fixture_start MAJOR "CONF LINES"      initdb (1 MiB segments, page checksums) and start; sets
#                                         bindir, port, psql=(...) and pgbench=(...)
#   fixture_copy_segments OUT FIRST LAST  the segments FIRST..LAST of pg_wal, zstd-compressed
#   fixture_stop                          stop and remove the data directory
#
# Servers: Debian's 15 in /usr/lib/postgresql/15/bin; 14, 16, 17 and 18 from .ci/deps.sh in
# /var/cache/pgdr-test/postgresql/MAJOR/bin; Debian's 15 psql and pgbench talk to every major.
# PostgreSQL refuses root, so the servers run as the user postgres in a directory it owns.

client=/usr/lib/postgresql/15/bin
cache="${PGDR_PG_CACHE:-/var/cache/pgdr-test/postgresql}"
fixture_script="$(basename "$0")"
work=""
bindir=""

fixture_cleanup() {
  if [ -n "$bindir" ] && [ -f "$work/data/postmaster.pid" ]; then
    runuser -u postgres -- "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  [ -z "$work" ] || rm -rf "$work"
}

fixture_begin() {
  work="$(mktemp -d "/tmp/pgdr-$1-XXXXXX")"
  chown postgres: "$work"
  trap fixture_cleanup EXIT
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

fixture_start() {
  local major="$1" extra_conf="$2"
  if [ "$major" = 15 ]; then bindir=/usr/lib/postgresql/15/bin; else bindir="$cache/$major/bin"; fi
  [ -x "$bindir/postgres" ] || { echo "$fixture_script: no PostgreSQL $major in $bindir" >&2; exit 1; }
  rm -rf "$work/data"
  runuser -u postgres -- env -C "$work" "$bindir/initdb" -D "$work/data" -k --wal-segsize=1 -U postgres \
    --auth=trust -E UTF8 --locale=C >/dev/null
  port="$(free_port)"
  # autovacuum off: every vacuum and commit in the fixtures is the script's own. A long
  # checkpoint_timeout: checkpoints happen where the script asks. fsync off only speeds the run up;
  # it does not change what is written to WAL.
  cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
autovacuum = off
wal_level = replica
checkpoint_timeout = 1h
max_wal_size = 1GB
fsync = off
$extra_conf
CONF
  runuser -u postgres -- env -C "$work" "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
  psql=("$client/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres)
  pgbench=("$client/pgbench" -h 127.0.0.1 -p "$port" -U postgres)
}

# Copied while the server runs: a switch flushed them whole, and a shutdown checkpoint could
# recycle them.
fixture_copy_segments() {
  local out="$1" first="$2" last="$3" f name
  for f in "$work/data/pg_wal/"*; do
    name="$(basename "$f")"
    [[ "$name" =~ ^[0-9A-F]{24}$ ]] || continue
    if [[ ! "$name" < "$first" ]] && [[ ! "$name" > "$last" ]]; then
      zstd -q -19 -c "$f" >"$out/$name.zst"
    fi
  done
}

fixture_stop() {
  runuser -u postgres -- "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
  rm -rf "$work/data" "$work/server.log"
}
