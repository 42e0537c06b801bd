#!/bin/bash
# Writes the WAL fixtures of the WAL reader's unit tests (tests/unit/pg/wal_reader_test.cpp): for each
# PostgreSQL major, real segments of a throwaway cluster (1 MiB segments, page checksums, commit
# timestamps on) under a known load, zstd-compressed, and an expected.txt of what the tests assert.
#
#   tests/unit/pg/data/wal/make_fixtures.sh [MAJOR...]     (as root; default: 14 15 16 17 18)
#
# The servers: ../fixture_server.sh.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../fixture_server.sh"
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(14 15 16 17 18)
fixture_begin wal-fixtures

for major in "${majors[@]}"; do
  # wal_keep_size: the checkpoints must not recycle the segments this script copies.
  fixture_start "$major" "track_commit_timestamp = on
max_prepared_transactions = 4
wal_keep_size = 256MB"

  "${pgbench[@]}" -i -s 1 -q postgres >/dev/null 2>&1
  # A fresh segment and a checkpoint first: the fixtures start at a segment boundary, and the
  # first change of each page after the checkpoint carries a full-page image.
  "${psql[@]}" -c "CHECKPOINT" -c "SELECT pg_switch_wal()" >/dev/null
  first="$("${psql[@]}" -c "SELECT pg_walfile_name(pg_current_wal_lsn() + 1)")"
  "${psql[@]}" <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, name text, payload text);
INSERT INTO items SELECT g, 'item ' || g, repeat('x', 50) FROM generate_series(1, 2000) g;
CREATE INDEX items_name ON items (name);
-- About 100 kB of hex that pglz barely shrinks: stored out of line, in the TOAST table.
INSERT INTO items VALUES (100000, 'toast', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 3000) g));
ALTER TABLE items ADD COLUMN note text DEFAULT 'n';
ALTER TABLE items ALTER COLUMN name SET NOT NULL;
CREATE TABLE scratch AS SELECT g FROM generate_series(1, 1000) g;
TRUNCATE scratch;
DROP TABLE scratch;
VACUUM items;
BEGIN; INSERT INTO items VALUES (100001, 'rolled back', ''); ROLLBACK;
BEGIN; INSERT INTO items VALUES (100002, 'prepared, committed', ''); PREPARE TRANSACTION 'c';
COMMIT PREPARED 'c';
BEGIN; INSERT INTO items VALUES (100003, 'prepared, rolled back', ''); PREPARE TRANSACTION 'a';
ROLLBACK PREPARED 'a';
SQL
  "${pgbench[@]}" -n -t 100 postgres >/dev/null 2>&1
  # Compressed full-page images as well (pglz in every major: 14 knows only "on").
  "${psql[@]}" -c "ALTER SYSTEM SET wal_compression = on" -c "SELECT pg_reload_conf()" -c "CHECKPOINT" >/dev/null
  "${pgbench[@]}" -n -t 100 postgres >/dev/null 2>&1
  "${psql[@]}" -c "INSERT INTO items VALUES (100004, 'last', '')"
  {
    echo "# Written by make_fixtures.sh from a PostgreSQL $major cluster; what wal_reader_test asserts."
    echo "major=$major"
    echo "server_version_num=$("${psql[@]}" -c "SHOW server_version_num")"
    echo "system_identifier=$("${psql[@]}" -c "SELECT system_identifier FROM pg_control_system()")"
    echo "timeline=1"
    echo "segment_bytes=1048576"
    # TimestampTz: microseconds since 2000-01-01 00:00:00 UTC, as stored in the commit record.
    echo "last_commit_timestamp_us=$("${psql[@]}" -c "SELECT ((extract(epoch FROM timestamp) - 946684800) * 1000000)::bigint FROM pg_last_committed_xact()")"
    echo "last_commit_xid=$("${psql[@]}" -c "SELECT xid FROM pg_last_committed_xact()")"
    echo "accounts_relfilenode=$("${psql[@]}" -c "SELECT pg_relation_filenode('pgbench_accounts')")"
    echo "database_oid=$("${psql[@]}" -c "SELECT oid FROM pg_database WHERE datname = current_database()")"
    echo "switch_lsn=$("${psql[@]}" -c "SELECT pg_current_wal_insert_lsn()")"
    last="$("${psql[@]}" -c "SELECT pg_walfile_name(pg_switch_wal())")"
    echo "first_segment=$first"
    echo "last_segment=$last"
  } >"$work/expected.txt"

  out="$here/$major"
  rm -rf "$out"
  mkdir -p "$out"
  fixture_copy_segments "$out" "$first" "$last"
  if [ -x "$bindir/pg_waldump" ]; then
    # Where the major's own pg_waldump is installed (Debian's 15), its count of the same records
    # is a second opinion the tests compare with.
    dump="$("$bindir/pg_waldump" -p "$work/data/pg_wal" "$first" "$last" 2>/dev/null || true)"
    {
      echo "pg_waldump_records=$(printf '%s\n' "$dump" | grep -c '^rmgr: ')"
      echo "pg_waldump_block_refs=$(printf '%s\n' "$dump" | grep -o 'blkref #' | wc -l)"
      echo "pg_waldump_full_page_images=$(printf '%s\n' "$dump" | grep -o ' FPW' | wc -l)"
    } >>"$work/expected.txt"
  fi
  mv "$work/expected.txt" "$out/expected.txt"
  fixture_stop
  echo "PostgreSQL $major: $(ls "$out" | grep -c zst) segments, $(du -sk "$out" | cut -f1) kB"
done
