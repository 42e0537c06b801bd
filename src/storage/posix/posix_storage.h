// PosixStorage: a Storage whose objects are files below a root directory on this host, for
// repositories on a local disk or a mounted file system. Object "a/b" is the file <root>/a/b; files
// are created 0600 and directories 0700, since a repository is readable only by its owner.
//
// Writers stream into "<name>.tmp-<random hex>" beside the final name and rename on commit, so
// list() skips every name containing ".tmp-" and such names are refused as object names. A crash
// can leave temporary files behind; they are invisible and harmless.
//
// Every method may run concurrently, as Storage requires; the object owns nothing but its root path.
#pragma once

#include <string>

#include "storage/storage.h"

namespace pgdr::storage {

class PosixStorage final : public Storage {
 public:
  // Does not touch the file system. The root must exist before objects are written: a missing root
  // is more likely an unmounted disk than a wish for a new repository, so it is never created here.
  explicit PosixStorage(std::string root);

  // mkdir -p of root, mode 0700; an existing directory is fine.
  static void create_root(const std::string& root);

  const std::string& root() const { return root_; }

  std::string describe() const override;
  Capabilities capabilities() const override;
  std::optional<Bytes> read(std::string_view path) const override;
  std::optional<Bytes> read_range(std::string_view path, std::uint64_t offset,
                                  std::uint64_t length) const override;
  std::unique_ptr<Writer> create(std::string_view path) override;
  bool create_exclusive(std::string_view path, ByteView data) override;
  std::optional<ObjectInfo> stat(std::string_view path) const override;
  std::vector<ObjectInfo> list(std::string_view prefix) const override;
  void remove(std::string_view path) override;
  std::unique_ptr<Updater> open_update(std::string_view path) override;

 private:
  // check_object_path() plus refusal of the temporary-file marker.
  static void check_path(std::string_view path);
  std::string full_path(std::string_view path) const;
  // The directory holding object path, created (with any missing parents below root) if needed.
  std::string make_parent(std::string_view path) const;
  std::string parent_of(std::string_view path) const;

  std::string root_;
};

}  // namespace pgdr::storage
