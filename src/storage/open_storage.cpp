#include "storage/open_storage.h"

#include "storage/posix/posix_storage.h"

namespace pgdr::storage {

std::unique_ptr<Storage> open_storage(const RepoConfig& repo) { return std::make_unique<PosixStorage>(repo.path); }

std::unique_ptr<Storage> create_storage(const RepoConfig& repo) {
  PosixStorage::create_root(repo.path);
  return open_storage(repo);
}

}  // namespace pgdr::storage
