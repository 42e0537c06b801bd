// pgdr archive-push: PostgreSQL's archive_command. A WAL file is stored in every configured
// repository, compressed and encrypted, and success is reported only once each repository has it
// durably. Pushing the same file again succeeds (the archiver retries after a crash); a different
// file under an archived name fails loudly, as two clusters archiving into one repository would.
#pragma once

#include <string>
#include <vector>

#include "repo/repository.h"
#include "repo/wal_archive.h"
#include "repo/wal_file_check.h"

namespace pgdr::archive {

struct PushResult {
  std::string repo;
  repo::PushOutcome outcome;  // stored or already_archived
  bool replaced = false;      // --replace-invalid replaced an invalid stored object
};

struct PushOptions {
  int parallel = 1;
  // [cluster] name: whose newest snapshot tells the system identifier and segment size the file
  // must have (repo/wal_file_check.h); empty: the newest snapshot of any cluster.
  std::string cluster_name;
  // Replace a stored object under the name that fails the checks (and only such a one) with this
  // file, which must pass them; each replacement is recorded in the repository's audit log first.
  bool replace_invalid = false;
  // The cluster's data directory, whose files tell which cluster it is (known_for_data_directory);
  // empty: the working directory, as PostgreSQL runs archive_command there.
  std::string data_directory;
};

// Reads path (relative paths are relative to the working directory, PGDATA for the archiver),
// checks that it is what its name says (repo::wal_file_problem, against what each repository
// knows of the cluster) and stores it in every repository in turn. A file that fails a check is
// refused, Error(corrupt) naming it and the problem, before anything is written. Throws on the
// first failure, naming the repository; different content under an archived name carries a HINT
// saying whether the stored object is invalid and how to replace it.
//
// With parallel > 1, the segments PostgreSQL has marked ready after this one
// (archive_status/*.ready beside it) are pushed at the same time, up to parallel at once, and a
// marker is left for each in <wal dir>/pgdr-archived/ once it is durable in every repository; when
// PostgreSQL then asks for one of them, its marker answers at once. A busy primary thus pays for
// one repository round trip per batch, not per segment, and no segment is reported archived before
// it is durable everywhere.
std::vector<PushResult> push(const std::string& path, std::vector<repo::Repository>& repos,
                             const PushOptions& opt = {});

// The pieces of that push-ahead, for the archive agent, which pushes ahead on threads that outlive
// the call (archive/push_ahead.h). ready_after: the paths of the segments after path that
// PostgreSQL has marked ready, in order, at most limit. pushed_ahead: whether path's marker is
// there. push_ahead: pushes path as push() does and leaves its marker once it is durable in every
// repository.
std::vector<std::string> ready_after(const std::string& path, int limit);
bool pushed_ahead(const std::string& path);
void push_ahead(const std::string& path, std::vector<repo::Repository>& repos, const PushOptions& opt);

// True (and the marker removed) when an earlier call already pushed path ahead and it is durable
// in every repository. Checked before any repository is opened: answering such a call costs no
// key derivation.
bool consume_pushed_ahead_marker(const std::string& path);

}  // namespace pgdr::archive
