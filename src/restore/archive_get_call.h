// How a restored cluster reads archived WAL: PostgreSQL's restore_command, which calls this pgdr
// back with `archive-get`. Callers fill in what they know (restore: the repository; the drill: the
// WAL archived when the disaster was declared; restore again: the snapshot's segment size) and the
// recovery settings writer renders the command line once. Every value is shell-quoted by render(),
// so a repository name or path holding spaces, quotes or `$` reaches archive-get as written; %f and
// %p stay bare, for PostgreSQL to replace. A plain value, no resources.
#pragma once

#include <cstdint>
#include <string>

namespace pgdr::restore {

struct ArchiveGetCall {
  std::string binary;          // the pgdr the server runs, by absolute path
  std::string config_path;     // its configuration, by absolute path (the server runs it from PGDATA)
  std::string repo;            // --repo: read from this repository only; empty: each in turn
  std::string until_segment;   // --until: segments after this one are answered absent; empty: no limit
  std::string until_lsn;       // --until-lsn: the WAL ends at this LSN; empty: no limit
  std::uint64_t wal_segment_bytes = 0;  // --wal-segment-size; 0 or 16 MiB: archive-get's default

  // This pgdr binary with config_path made absolute (core/shell.h). Throws Error when the
  // configuration file or the binary cannot be found.
  static ArchiveGetCall of_this_pgdr(const std::string& config_path);

  // "'<binary>' --config '<config>' archive-get [--wal-segment-size N] [--repo R] [--until S]
  // [--until-lsn L] %f %p": the value of restore_command (before postgresql.conf quoting).
  std::string render() const;
};

}  // namespace pgdr::restore
