// What a snapshot copies from a data directory: every file PostgreSQL needs to start from it, and
// nothing it must not find there. Follows PostgreSQL's documented list of what a base backup may
// omit (server-local state such as postmaster.pid, the contents of pg_wal, pg_replslot,
// pg_dynshmem, pg_notify, pg_serial, pg_snapshots, pg_stat_tmp and pg_subtrans, temporary files,
// pg_internal.init) and the rule for unlogged relations: only their init fork is kept.
// Tablespaces (pg_tblspc/<oid> symlinks) are walked into their PG_<major>_* directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "repo/manifest.h"

namespace pgdr::backup {

struct SourceFile {
  repo::FileEntry entry;      // path is the manifest path; size/mode/mtime from lstat
  std::string source_path;    // absolute path to read
  bool relation = false;      // a relation fork: pages carry checksums
  std::uint32_t first_block = 0;  // absolute block number of the file's first page (segment * 131072)
  bool required = false;      // must exist (WAL the snapshot needs); others may vanish mid-backup
  std::optional<std::string> content;  // backed up from memory instead of source_path (backup_label)
};

struct SourceTree {
  std::vector<SourceFile> files;  // directories, symlinks and files; directories first
  std::vector<std::pair<std::string, std::string>> tablespaces;  // oid, location
  std::uint64_t total_bytes = 0;
  std::vector<std::string> warnings;  // e.g. a symlink that was not followed
};

// Walks pgdata. tablespace_dir_prefix is "PG_15_" for PostgreSQL 15. Throws Error naming the path
// for anything it cannot read.
SourceTree scan_source(const std::string& pgdata, const std::string& tablespace_dir_prefix);

// True for the file name of a relation fork: "16384", "16384.2", "16384_fsm", "16384_vm", "16384_init".
bool is_relation_file_name(std::string_view name, std::uint32_t* segment = nullptr);

}  // namespace pgdr::backup
