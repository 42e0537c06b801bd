#!/usr/bin/env bash
# Installs what pgdr needs, builds it, and runs a short end-to-end tour on a throwaway
# PostgreSQL 15 cluster: init a repository, snapshot under a pgbench load, restore, start the
# restored copy and compare it with the source. Leaves nothing running. Run as root or as a user
# that may run PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh
cmake -S . -B build-demo -G Ninja -DPGDR_TESTS=OFF >/dev/null
ninja -C build-demo -j"$(nproc)" pgdr >/dev/null

bin=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/pgdr-demo.XXXXXX)
run_as=()
if [ "$(id -u)" = 0 ]; then run_as=(runuser -u postgres --); chown postgres "$work"; fi
as_pg() { "${run_as[@]}" "$@"; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
port2=$((port + 1))
cleanup() {
  as_pg "$bin/pg_ctl" -D "$work/restored" -m immediate stop >/dev/null 2>&1 || true
  as_pg "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
install -m 0755 build-demo/src/pgdr "$work/pgdr"
export PGDR_PASSPHRASE="demo-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

step() { printf '\n== %s\n' "$*"; }
cat >"$work/pgdr.toml" <<EOC
[cluster]
name = "demo"
pgdata = "$work/data"
conninfo = "host=127.0.0.1 port=$port user=postgres dbname=postgres"
[[repo]]
name = "local"
path = "$work/repo"
[key]
passphrase_env = "PGDR_PASSPHRASE"
EOC
chmod 0644 "$work/pgdr.toml"
pgdr() { as_pg env PGDR_PASSPHRASE="$PGDR_PASSPHRASE" "$work/pgdr" --config "$work/pgdr.toml" "$@"; }

step "pgdr init: an encrypted repository"
pgdr init
step "starting a throwaway PostgreSQL 15 on port $port, archiving its WAL with pgdr archive-push"
as_pg "$bin/initdb" -k -D "$work/data" -U postgres -A trust >/dev/null
printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n" "$port" "$work" >>"$work/data/postgresql.conf"
# WAL goes to the repository too: archive_command runs pgdr, so the server needs the passphrase.
printf "archive_mode = on\narchive_command = '%s --config %s archive-push %%p'\n" "$work/pgdr" "$work/pgdr.toml" >>"$work/data/postgresql.conf"
as_pg env PGDR_PASSPHRASE="$PGDR_PASSPHRASE" "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w start >/dev/null
as_pg "$bin/pgbench" -q -i -s 10 -h 127.0.0.1 -p "$port" postgres 2>/dev/null

step "pgdr backup while pgbench writes"
as_pg "$bin/pgbench" -h 127.0.0.1 -p "$port" -c 2 -T 8 postgres >/dev/null 2>&1 &
load=$!
pgdr backup
wait "$load"
step "pgdr backup again after the load (only changed blocks are stored)"
pgdr backup
step "archive the last WAL, then pgdr info (snapshots and the WAL archive)"
seg=$(as_pg "$bin/psql" -XAtq -h 127.0.0.1 -p "$port" -c 'SELECT pg_walfile_name(pg_switch_wal())' postgres)
for _ in $(seq 300); do
  last=$(as_pg "$bin/psql" -XAtq -h 127.0.0.1 -p "$port" -c 'SELECT coalesce(last_archived_wal, $$$$) FROM pg_stat_archiver' postgres)
  [[ "$last" > "$seg" || "$last" == "$seg" ]] && break
  sleep 0.2
done
pgdr info
step "pgdr restore (newest snapshot + archived WAL) into an empty directory, then start it on port $port2"
pgdr restore --target-dir "$work/restored"
sed -i "s/^port = .*/port = $port2/" "$work/restored/postgresql.conf"
# The restored copy fetches archived WAL through pgdr archive-get, so the server needs the passphrase.
as_pg env PGDR_PASSPHRASE="$PGDR_PASSPHRASE" "$bin/pg_ctl" -D "$work/restored" -l "$work/restored.log" -w start >/dev/null
for _ in $(seq 600); do
  [ "$(as_pg "$bin/psql" -XAtq -h 127.0.0.1 -p "$port2" -c 'SELECT pg_is_in_recovery()' postgres 2>/dev/null)" = f ] && break
  sleep 0.2
done
q='SELECT count(*), sum(abalance) FROM pgbench_accounts'
src=$(as_pg "$bin/psql" -XAtq -h 127.0.0.1 -p "$port" -c "$q" postgres)
dst=$(as_pg "$bin/psql" -XAtq -h 127.0.0.1 -p "$port2" -c "$q" postgres)
printf 'source   (count, sum): %s\nrestored (count, sum): %s\n' "$src" "$dst"
if [ "$src" = "$dst" ]; then echo "RESULT: the restored copy matches the source"; else echo "RESULT: MISMATCH"; exit 1; fi
