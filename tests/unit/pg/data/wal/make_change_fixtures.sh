#!/bin/bash
# Writes the WAL fixtures of the change map's unit tests (tests/unit/pg/wal_changes_test.cpp): for
# each PostgreSQL major, the segments of a throwaway cluster (1 MiB segments, as make_fixtures.sh)
# under a load that changes relation files without a block reference for every change: VACUUM
# truncating a table's tail, TRUNCATE, DROP TABLE (committed, and through a prepared transaction),
# a table created by a rolled-back transaction, CREATE DATABASE (FILE_COPY, and WAL_LOG from 15)
# and DROP DATABASE. Into MAJOR/changes/ go the zstd-compressed segments and an expected.txt of the
# relfilenodes, lengths and database oids the server reports; where the major's own pg_waldump is
# installed (Debian's 15), also pg_waldump_blocks.txt, every block it reports referenced.
#
#   tests/unit/pg/data/wal/make_change_fixtures.sh [MAJOR...]     (as root; default: 14 15 16 17 18)
#
# The servers: ../fixture_server.sh.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../fixture_server.sh"
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(14 15 16 17 18)
fixture_begin change-fixtures

for major in "${majors[@]}"; do
  # As make_fixtures.sh: wal_keep_size keeps the segments until they are copied.
  fixture_start "$major" "max_prepared_transactions = 4
wal_keep_size = 256MB"
  sql() { "${psql[@]}" -c "$1"; }

  # The tables exist before the first segment: their changes, not their creation, are the load.
  "${psql[@]}" <<'SQL'
CREATE TABLE tail (id int, pad text);
INSERT INTO tail SELECT g, repeat('t', 200) FROM generate_series(1, 1000) g;
CREATE TABLE emptied (id int);
INSERT INTO emptied SELECT generate_series(1, 100);
CREATE TABLE dropped (id int);
INSERT INTO dropped SELECT generate_series(1, 100);
CREATE TABLE dropped_prepared (id int);
SQL
  sql "CHECKPOINT" >/dev/null
  sql "SELECT pg_switch_wal()" >/dev/null
  first="$(sql "SELECT pg_walfile_name(pg_current_wal_lsn() + 1)")"
  tail_node="$(sql "SELECT pg_relation_filenode('tail')")"
  emptied_old="$(sql "SELECT pg_relation_filenode('emptied')")"
  dropped_node="$(sql "SELECT pg_relation_filenode('dropped')")"
  dropped_prepared_node="$(sql "SELECT pg_relation_filenode('dropped_prepared')")"

  # VACUUM cuts the emptied tail of the table (XLOG_SMGR_TRUNCATE at the new length).
  sql "DELETE FROM tail WHERE id > 300" >/dev/null
  sql "VACUUM tail" >/dev/null
  tail_blocks="$(sql "SELECT pg_relation_size('tail') / 8192")"
  # TRUNCATE gives the table a new relfilenode (XLOG_SMGR_CREATE) and drops the old at commit.
  sql "TRUNCATE emptied" >/dev/null
  emptied_new="$(sql "SELECT pg_relation_filenode('emptied')")"
  sql "DROP TABLE dropped" >/dev/null
  # A table created by a transaction that rolls back is dropped by its abort record.
  rolled_back_node="$("${psql[@]}" <<'SQL'
BEGIN;
CREATE TABLE rolled_back (id int);
SELECT pg_relation_filenode('rolled_back');
ROLLBACK;
SQL
)"
  "${psql[@]}" <<'SQL'
BEGIN;
DROP TABLE dropped_prepared;
PREPARE TRANSACTION 'drop';
COMMIT PREPARED 'drop';
SQL
  # CREATE DATABASE copies the template's files; 15 added the WAL_LOG strategy (and made it the
  # default), which logs every page instead.
  if [ "$major" = 14 ]; then
    sql "CREATE DATABASE copied" >/dev/null
  else
    sql "CREATE DATABASE copied STRATEGY FILE_COPY" >/dev/null
    sql "CREATE DATABASE logged STRATEGY WAL_LOG" >/dev/null
  fi
  copied_oid="$(sql "SELECT oid FROM pg_database WHERE datname = 'copied'")"
  logged_oid=""
  [ "$major" = 14 ] || logged_oid="$(sql "SELECT oid FROM pg_database WHERE datname = 'logged'")"
  sql "DROP DATABASE copied" >/dev/null
  {
    echo "# Written by make_change_fixtures.sh from a PostgreSQL $major cluster; what wal_changes_test asserts."
    echo "major=$major"
    echo "segment_bytes=1048576"
    echo "database_oid=$(sql "SELECT oid FROM pg_database WHERE datname = current_database()")"
    echo "tail_relfilenode=$tail_node"
    echo "tail_blocks_after_vacuum=$tail_blocks"
    echo "truncated_old_relfilenode=$emptied_old"
    echo "truncated_new_relfilenode=$emptied_new"
    echo "dropped_relfilenode=$dropped_node"
    echo "dropped_prepared_relfilenode=$dropped_prepared_node"
    echo "rolled_back_relfilenode=$rolled_back_node"
    echo "file_copy_database_oid=$copied_oid"
    [ -z "$logged_oid" ] || echo "wal_log_database_oid=$logged_oid"
    echo "dropped_database_oid=$copied_oid"
    last="$(sql "SELECT pg_walfile_name(pg_switch_wal())")"
    echo "first_segment=$first"
    echo "last_segment=$last"
  } >"$work/expected.txt"

  out="$here/$major/changes"
  rm -rf "$out"
  mkdir -p "$out"
  fixture_copy_segments "$out" "$first" "$last"
  if [ -x "$bindir/pg_waldump" ]; then
    # One line per distinct block: "spc/db/rel fork block", fork as pgdr numbers them.
    "$bindir/pg_waldump" -p "$work/data/pg_wal" "$first" "$last" 2>/dev/null |
      grep -o 'blkref #[0-9]*: rel [0-9]*/[0-9]*/[0-9]*\( fork [a-z_]*\)\? blk [0-9]*' |
      sed -E 's/^blkref #[0-9]+: rel ([0-9/]+)( fork ([a-z_]+))? blk ([0-9]+)$/\1 \3 \4/' |
      awk '{ f = $2; b = $3; if (NF == 2) { b = $2; f = "main" }
             n = (f == "main") ? 0 : (f == "fsm") ? 1 : (f == "vm") ? 2 : (f == "init") ? 3 : -1
             print $1, n, b }' | sort -u >"$out/pg_waldump_blocks.txt"
  fi
  mv "$work/expected.txt" "$out/expected.txt"
  fixture_stop
  echo "PostgreSQL $major: $(ls "$out" | grep -c zst) segments, $(du -sk "$out" | cut -f1) kB"
done
