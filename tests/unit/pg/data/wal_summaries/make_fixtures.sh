#!/bin/bash
# Writes the WAL summary fixtures of tests/unit/pg/wal_summary_file_test.cpp: for PostgreSQL 17 and
# 18, the summary files a throwaway cluster (summarize_wal = on, 1 MiB segments) writes under a known
# load, and beside each <name>.summary the rows pg_wal_summary_contents() gives for it, as
# <name>.txt.zst: "relfilenode|reltablespace|reldatabase|relforknumber|relblocknumber|is_limit_block".
#
#   tests/unit/pg/data/wal_summaries/make_fixtures.sh [MAJOR...]     (as root; default: 17 18)
#
# The servers: ../fixture_server.sh.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../fixture_server.sh"
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(17 18)
fixture_begin summary-fixtures

for major in "${majors[@]}"; do
  # The summaries end where this script checkpoints, nowhere else (fixture_server.sh's long
  # checkpoint_timeout), and the only vacuum is the one below, whose truncation they must hold.
  fixture_start "$major" "summarize_wal = on"

  "${psql[@]}" -c "CHECKPOINT"
  first="$("${psql[@]}" -c "SELECT redo_lsn FROM pg_control_checkpoint()")"
  # Three stretches of WAL, each ended by a checkpoint, so each is a summary of its own.
  # 1: new relations (limit 0) and enough blocks of one (4600) for a bitmap chunk (4096 or more).
  "${psql[@]}" <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, name text, pad text);
INSERT INTO items SELECT g, 'item ' || g, repeat('x', 100) FROM generate_series(1, 20000) g;
CREATE TABLE big AS SELECT g AS id, repeat('y', 200) AS pad FROM generate_series(1, 160000) g;
CREATE TABLE shrink AS SELECT g FROM generate_series(1, 50000) g;
CREATE INDEX items_name ON items (name);
CHECKPOINT;
SQL
  # 2: changes here and there; TRUNCATE of an older table (a new relfilenode, the old one dropped
  # at commit); TRUNCATE of a table created in the same transaction (truncated in place:
  # XLOG_SMGR_TRUNCATE to 0); a VACUUM that cuts the empty end off a table (truncated to its new
  # length, visibility map too).
  "${psql[@]}" <<'SQL'
UPDATE items SET name = name || '!' WHERE id % 97 = 0;
UPDATE big SET pad = 'z' WHERE id % 1000 = 0;
CREATE TABLE scratch AS SELECT g FROM generate_series(1, 5000) g;
CHECKPOINT;
TRUNCATE scratch;
BEGIN;
CREATE TABLE same_xact AS SELECT g FROM generate_series(1, 5000) g;
TRUNCATE same_xact;
INSERT INTO same_xact VALUES (1);
COMMIT;
DELETE FROM shrink WHERE g > 20000;
VACUUM shrink;
CHECKPOINT;
SQL
  # 3: a database created (WAL_LOG strategy: its blocks, and relfilenode 0 with limit 0 for the
  # database as a whole) and one dropped.
  "${psql[@]}" -c "CREATE DATABASE made" -c "DROP DATABASE made" -c "CHECKPOINT"
  last="$("${psql[@]}" -c "SELECT redo_lsn FROM pg_control_checkpoint()")"
  for _ in $(seq 1 600); do
    done_="$("${psql[@]}" -c "SELECT summarized_lsn >= '$last' FROM pg_get_wal_summarizer_state()")"
    [ "$done_" = t ] && break
    sleep 0.1
  done
  [ "$done_" = t ] || { echo "make_fixtures.sh: PostgreSQL $major did not summarize up to $last" >&2; exit 1; }
  "${psql[@]}" -c "SELECT summarized_tli, summarized_lsn FROM pg_get_wal_summarizer_state()" >/dev/null

  out="$here/$major"
  rm -rf "$out"
  mkdir -p "$out"
  "${psql[@]}" -F ' ' -c "SELECT tli, start_lsn, end_lsn FROM pg_available_wal_summaries()
                          WHERE start_lsn >= '$first' AND end_lsn <= '$last' ORDER BY start_lsn" |
  while read -r tli start end; do
    name="$(printf '%08X%08X%08X%08X%08X' "$tli" "0x${start%/*}" "0x${start#*/}" "0x${end%/*}" "0x${end#*/}")"
    install -m 644 "$work/data/pg_wal/summaries/$name.summary" "$out/"
    # In the function's own order: a fork's blocks as the file holds them, then its limit.
    "${psql[@]}" -c "SELECT relfilenode, reltablespace, reldatabase, relforknumber, relblocknumber, is_limit_block
                     FROM pg_wal_summary_contents($tli, '$start', '$end')" >"$work/rows.txt"
    # From a file, not a pipe: the frame then records its content size, which the tests read.
    zstd -q -19 "$work/rows.txt" -o "$out/$name.txt.zst"
    rm "$work/rows.txt"
  done
  {
    echo "# Written by make_fixtures.sh from a PostgreSQL $major cluster."
    echo "server_version_num=$("${psql[@]}" -c "SHOW server_version_num")"
    echo "first_redo=$first"
    echo "last_redo=$last"
    echo "big_relfilenode=$("${psql[@]}" -c "SELECT pg_relation_filenode('big')")"
    echo "items_relfilenode=$("${psql[@]}" -c "SELECT pg_relation_filenode('items')")"
    echo "shrink_relfilenode=$("${psql[@]}" -c "SELECT pg_relation_filenode('shrink')")"
    echo "shrink_blocks=$("${psql[@]}" -c "SELECT pg_relation_size('shrink') / 8192")"
    echo "database_oid=$("${psql[@]}" -c "SELECT oid FROM pg_database WHERE datname = current_database()")"
  } >"$out/expected.txt"
  fixture_stop
  echo "PostgreSQL $major: $(ls "$out" | grep -c '\.summary$') summaries, $(du -sk "$out" | cut -f1) kB"
done
