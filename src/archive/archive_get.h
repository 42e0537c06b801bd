// pgdr archive-get: PostgreSQL's restore_command. Fetches a WAL file from the first repository
// that has a good copy, checks it, and writes it to the destination atomically, so recovery never
// sees a partial file. Also prefetches the segments that recovery will ask for next, in parallel,
// into a spool directory beside the destination; later calls take them from there.
//
// Outcomes map to what recovery needs: found (exit 0); absent from every repository (exit 1,
// silently: recovery ends normally at the end of the archive); present but unreadable or
// damaged everywhere, or no repository reachable (exit 126: recovery stops instead of ending early
// and quietly losing the WAL after this point).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "repo/repository.h"

namespace pgdr::archive {

enum class GetOutcome { found, absent, unavailable };

struct GetResult {
  GetOutcome outcome = GetOutcome::absent;
  std::string from_repo;             // where it came from
  std::vector<std::string> problems;  // one line per repository that failed, for the log
};

struct GetOptions {
  int prefetch = 4;  // segments fetched ahead; 0 disables
  std::uint64_t segment_bytes = 16u << 20;
  // [cluster] name, whose newest snapshot says what a served file must be (repo/wal_file_check.h).
  std::string cluster_name;
  // When set, a file that no repository holds is answered from listings alone, before any
  // repository is opened (no key derivation); see get().
  std::function<std::unique_ptr<storage::Storage>(const RepoConfig&)> open_store;
  // The cluster's data directory (see PushOptions::data_directory); empty: the working directory.
  std::string data_directory;
  // Every configured repository, already open (the archive agent's): used instead of open_repo.
  const std::vector<repo::Repository>* opened = nullptr;
};

// open_repo opens the i-th configured repository (throws if it cannot).
GetResult get(const std::string& wal_name, const std::string& dest, const Config& cfg,
              const std::function<repo::Repository(const RepoConfig&)>& open_repo, const GetOptions& opt);

}  // namespace pgdr::archive
