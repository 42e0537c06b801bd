#include "repo/repack.h"

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/interrupt.h"
#include "repo/block_reader.h"
#include "repo/format.h"
#include "repo/pack.h"

namespace pgdr::repo {

namespace {

std::uint64_t frame_key(std::uint32_t offset, std::uint32_t length) {
  return (static_cast<std::uint64_t>(offset) << 32) | length;
}
std::uint32_t key_offset(std::uint64_t k) { return static_cast<std::uint32_t>(k >> 32); }
std::uint32_t key_length(std::uint64_t k) { return static_cast<std::uint32_t>(k & 0xffffffffu); }

struct StagedFrame {
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  std::vector<PackEntry> blocks;
};

// Checks every needed frame of one pack read whole (repo/block_reader.h); returns them with their
// trailer entries.
std::vector<StagedFrame> stage_pack(BlockReader& reader, const std::string& pack_id, ByteView bytes,
                                    const std::vector<std::uint64_t>& needed) {
  WholePack pack = reader.whole_pack(pack_id, bytes);
  std::vector<StagedFrame> out;
  for (std::uint64_t k : needed) {
    StagedFrame f{key_offset(k), key_length(k), {}};
    f.blocks = reader.listed_frame(pack, f.offset, f.length);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

void LiveFrames::compact(Frames& f) {
  std::sort(f.keys.begin(), f.keys.end());
  f.keys.erase(std::unique(f.keys.begin(), f.keys.end()), f.keys.end());
  f.distinct = f.keys.size();
}

void LiveFrames::add(const ManifestIndex& m) {
  std::vector<Frames*> by_number(m.pack_count(), nullptr);
  for (const auto& e : m.entries()) {
    if (e.file.type != EntryType::file || e.file.block_count == 0) continue;
    for (const BlockRef& r : m.locations(e)) {
      if (r.is_zero()) continue;
      Frames*& f = by_number[r.pack];
      if (!f) f = &by_pack_[m.pack_id(r.pack)];
      std::uint64_t k = frame_key(r.offset, r.length);
      // Consecutive blocks of one frame, and snapshots that share most frames, repeat keys: the
      // vector is compacted whenever it has doubled since it was last, so it stays near distinct.
      if (!f->keys.empty() && f->keys.back() == k) continue;
      f->keys.push_back(k);
      if (f->keys.size() >= 2 * f->distinct + 1024) compact(*f);
    }
  }
}

const std::vector<std::uint64_t>& LiveFrames::of(const std::string& pack_id) {
  Frames& f = by_pack_[pack_id];
  if (f.distinct != f.keys.size()) compact(f);
  return f.keys;
}

std::uint64_t LiveFrames::bytes(const std::string& pack_id) {
  std::uint64_t n = 0;
  for (std::uint64_t k : of(pack_id)) n += key_length(k);
  return n;
}

CopyResult copy_live_frames(const Repository& repo, const std::vector<std::string>& candidates, LiveFrames& live) {
  storage::Storage& store = repo.store();
  CopyResult out;
  BlockReader reader(store, repo.key(), store.describe());
  std::unique_ptr<PackWriter> writer;
  auto commit = [&] {
    if (writer && writer->block_count() > 0) {
      std::uint64_t size = writer->commit();
      out.written.push_back({pack_object(writer->pack_id()), size});
    }
    writer.reset();
  };
  for (const auto& id : candidates) {
    throw_if_interrupted();
    std::string object = pack_object(id);
    auto bytes = store.read(object);
    if (!bytes) {
      out.skipped.push_back("missing pack " + object + " in " + store.describe());
      continue;
    }
    std::vector<StagedFrame> frames;
    try {
      frames = stage_pack(reader, id, *bytes, live.of(id));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
      out.skipped.push_back(e.what());
      continue;
    }
    std::vector<std::string>& into = out.replaced_by[id];
    for (const auto& f : frames) {
      if (!writer || writer->size_bytes() >= repo.settings().pack_target_bytes) {
        commit();
        writer = std::make_unique<PackWriter>(store, repo.key(), new_pack_id(), repo.settings().block_bytes);
      }
      std::uint32_t at = writer->copy_frame(reader.codec(), ByteView(*bytes).subspan(f.offset, f.length), id, f.blocks);
      out.moved[{id, f.offset}] = {writer->pack_id(), at};
      if (into.empty() || into.back() != writer->pack_id()) into.push_back(writer->pack_id());
    }
    out.repacked.insert(id);
  }
  commit();
  return out;
}

RewrittenManifest rewrite_manifest(const Repository& repo, const std::string& snapshot_id, const CopyResult& copies) {
  storage::Storage& store = repo.store();
  ManifestIndex old(store, snapshot_id, repo.key());
  ManifestWriter out(store, snapshot_id, repo.key(), old.block_bytes());
  RewrittenManifest result;
  std::map<std::string, std::uint32_t> numbers;
  auto number = [&](const std::string& pack_id) {
    auto [it, fresh] = numbers.try_emplace(pack_id, 0);
    if (fresh) {
      it->second = out.declare_pack(pack_id);
      result.packs.push_back(pack_id);
    }
    return it->second;
  };
  for (const auto& e : old.entries()) {
    throw_if_interrupted();
    std::vector<BlockRef> refs;
    if (e.file.type == EntryType::file && e.file.block_count > 0) refs = old.locations(e);
    for (BlockRef& r : refs) {
      if (r.is_zero()) continue;
      std::string pack_id = old.pack_id(r.pack);
      auto moved = copies.moved.find({pack_id, r.offset});
      if (moved != copies.moved.end()) {
        pack_id = moved->second.pack_id;
        r.offset = moved->second.offset;
      } else if (copies.repacked.count(pack_id)) {
        throw Error(ErrorKind::internal, "manifest of snapshot " + snapshot_id + " refers to a frame of repacked pack " +
                                             pack_id + " that was not copied");
      }
      r.pack = number(pack_id);
    }
    out.add(e.file, refs);
  }
  result.stored_bytes = out.commit();
  return result;
}

}  // namespace pgdr::repo
