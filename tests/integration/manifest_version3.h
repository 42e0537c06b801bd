// Rewrites a snapshot's manifest in format version 3, the version before ids moved to the pack
// trailers: the repository then looks, for that snapshot, as one written by an older pgdr. The
// records are written here by hand, from docs/REPOSITORY_FORMAT.md, not by ManifestWriter, which
// writes only the current version.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/little_endian.h"
#include "pgdr_fixture.h"
#include "repo/format.h"
#include "repo/manifest.h"
#include "repo/repository.h"
#include "repo/sealed_stream.h"
#include "storage/posix/posix_storage.h"

namespace pgdr::test {

// Returns the number of block references written; the object keeps its owner, so that the
// unprivileged pgdr the tests run still reads it.
inline std::uint64_t rewrite_manifest_as_version3(const std::string& repo_dir, const std::string& snapshot) {
  const std::string object = repo::snapshot_manifest_object(snapshot);
  struct stat before {};
  EXPECT_EQ(::stat((repo_dir + "/" + object).c_str(), &before), 0) << object;
  auto repo = repo::Repository::open(std::make_unique<storage::PosixStorage>(repo_dir), "local", kPassphrase,
                                     "the test");
  repo::ManifestIndex index(repo.store(), snapshot, repo.key());
  EXPECT_EQ(index.version(), repo::kManifestVersion);

  repo::SealedWriter out(repo.store(), object, repo.key());
  auto record = [&](char type, ByteView payload) {
    Bytes head{static_cast<std::uint8_t>(type)};
    put_u32le(head, static_cast<std::uint32_t>(payload.size()));
    out.write(head);
    out.write(payload);
  };
  auto json = [&](char type, const nlohmann::json& j) { record(type, as_bytes(j.dump())); };
  json('H', {{"format", "pgdr-manifest"}, {"version", 3}, {"snapshot", snapshot}, {"block_size", index.block_bytes()}});
  for (std::uint32_t no = 0; no < index.pack_count(); ++no) {
    Bytes p;
    put_u32le(p, no);
    Bytes id = from_hex(index.pack_id(no));
    p.insert(p.end(), id.begin(), id.end());
    record('P', p);
  }
  std::uint64_t refs = 0;
  for (const auto& e : index.entries()) {
    const auto& f = e.file;
    nlohmann::json j = {{"path", f.path}, {"mode", f.mode}, {"mtime", f.mtime}};
    switch (f.type) {
      case repo::EntryType::file:
        j["type"] = "file";
        j["size"] = f.size_bytes;
        j["sha256"] = f.sha256;
        j["blocks"] = f.block_count;
        break;
      case repo::EntryType::directory:
        j["type"] = "dir";
        break;
      case repo::EntryType::symlink:
        j["type"] = "link";
        j["target"] = f.link_target;
        break;
    }
    json('F', j);
    if (f.type != repo::EntryType::file || f.block_count == 0) continue;
    // Version 3's reference: the block id, then what version 4 keeps (32 bytes).
    constexpr std::uint64_t kPerRecord = 65536;
    for (std::uint64_t first = 0; first < f.block_count; first += kPerRecord) {
      Bytes b;
      for (const auto& r : index.blocks(e, first, kPerRecord)) {
        b.insert(b.end(), r.id.begin(), r.id.end());
        put_u32le(b, r.pack);
        put_u32le(b, r.offset);
        put_u32le(b, r.length);
        put_u16le(b, r.index);
        put_u16le(b, 0);
        ++refs;
      }
      record('B', b);
    }
  }
  json('E', {{"entries", index.entries().size()}, {"blocks", refs}});
  out.commit();
  EXPECT_EQ(::chown((repo_dir + "/" + object).c_str(), before.st_uid, before.st_gid), 0) << object;
  return refs;
}

// The format version of a snapshot's manifest, as pgdr reads it.
inline int manifest_version(const std::string& repo_dir, const std::string& snapshot) {
  auto repo = repo::Repository::open(std::make_unique<storage::PosixStorage>(repo_dir), "local", kPassphrase,
                                     "the test");
  return repo::ManifestIndex(repo.store(), snapshot, repo.key()).version();
}

}  // namespace pgdr::test
