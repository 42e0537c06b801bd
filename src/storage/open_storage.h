// Builds the Storage driver a [[repo]] section describes. The one place that names drivers.
#pragma once

#include <memory>

#include "storage/repo_config.h"
#include "storage/storage.h"

namespace pgdr::storage {

std::unique_ptr<Storage> open_storage(const RepoConfig& repo);
// As open_storage, creating the repository's root (0700) first where the driver has one.
std::unique_ptr<Storage> create_storage(const RepoConfig& repo);

}  // namespace pgdr::storage
