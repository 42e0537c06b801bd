// pgdr archive-push: PostgreSQL's archive_command. A WAL file is stored in every configured
// repository, compressed and encrypted, and success is reported only once each repository has it
// durably. Pushing the same file again succeeds (the archiver retries after a crash); a different
// file under an archived name fails loudly, as two clusters archiving into one repository would.
#pragma once

#include <string>
#include <vector>

#include "repo/repository.h"
#include "repo/wal_archive.h"

namespace pgdr::archive {

struct PushResult {
  std::string repo;
  repo::PushOutcome outcome;
};

// Reads path (relative paths are relative to the working directory, PGDATA for the archiver)
// and stores it in every repository in turn. Throws on the first failure, naming the repository.
std::vector<PushResult> push(const std::string& path, std::vector<repo::Repository>& repos);

}  // namespace pgdr::archive
