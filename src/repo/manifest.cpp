#include "repo/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_integer.h"
#include "core/little_endian.h"
#include "core/log.h"
#include "repo/format.h"

namespace pgdr::repo {

namespace {

constexpr std::size_t kRefBytes = 16;  // version 4; version 3 put the id in front
constexpr std::size_t kRefsPerRecord = 65536;
constexpr std::uint32_t kMaxRecordBytes = 64u << 20;

void encode_ref(Bytes& b, const BlockRef& r) {
  put_u32le(b, r.pack);
  put_u32le(b, r.offset);
  put_u32le(b, r.length);
  put_u16le(b, r.index);
  put_u16le(b, 0);  // reserved
}

// A reference as the manifest of version `version` stores it.
BlockRef decode_ref(const std::uint8_t* p, int version) {
  BlockRef r;
  if (version == 3) {
    std::copy(p, p + kBlockIdBytes, r.id.begin());
    p += kBlockIdBytes;
  }
  r.pack = get_u32le(p);
  r.offset = get_u32le(p + 4);
  r.length = get_u32le(p + 8);
  r.index = get_u16le(p + 12);
  return r;
}

std::string type_name(EntryType t) {
  switch (t) {
    case EntryType::file: return "file";
    case EntryType::directory: return "dir";
    case EntryType::symlink: return "link";
  }
  return "file";
}

nlohmann::json entry_json(const FileEntry& e) {
  nlohmann::json j = {{"path", e.path}, {"type", type_name(e.type)}, {"mode", e.mode}, {"mtime", e.mtime}};
  if (e.type == EntryType::file) {
    j["size"] = e.size_bytes;
    j["sha256"] = e.sha256;
    j["blocks"] = e.block_count;
  }
  if (e.type == EntryType::symlink) j["target"] = e.link_target;
  return j;
}

}  // namespace

void check_manifest_path(const std::string& snapshot_id, const std::string& path) {
  try {
    storage::check_object_path(path);
  } catch (const Error&) {
    throw Error(ErrorKind::corrupt, "refusing path '" + path + "' in the manifest of snapshot " + snapshot_id +
                                        " (absolute, or with an empty, '.' or '..' segment)");
  }
}

ManifestWriter::ManifestWriter(storage::Storage& store, const std::string& snapshot_id, const MasterKey& key,
                               std::uint32_t block_bytes)
    : out_(store, snapshot_manifest_object(snapshot_id), key) {
  nlohmann::json h = {{"format", "pgdr-manifest"}, {"version", kManifestVersion}, {"snapshot", snapshot_id},
                      {"block_size", block_bytes}};
  record('H', as_bytes(h.dump()));
}

void ManifestWriter::record(char type, ByteView payload) {
  Bytes head;
  head.push_back(static_cast<std::uint8_t>(type));
  put_u32le(head, static_cast<std::uint32_t>(payload.size()));
  out_.write(head);
  out_.write(payload);
}

std::uint32_t ManifestWriter::declare_pack(const std::string& pack_id) {
  std::lock_guard lock(mu_);
  std::uint32_t no = packs_++;
  const Bytes raw = from_hex(pack_id);
  // Sized up front: GCC 12 at -O3 takes the growth of an empty vector for an overflow
  // (a -Wstringop-overflow false positive) and a Release build would stop on it.
  Bytes p;
  p.reserve(4 + raw.size());
  put_u32le(p, no);
  p.insert(p.end(), raw.begin(), raw.end());
  record('P', p);
  return no;
}

void ManifestWriter::add(const FileEntry& entry, const std::vector<BlockRef>& blocks) {
  std::string json = entry_json(entry).dump();
  Bytes chunk;
  chunk.reserve(std::min(blocks.size(), kRefsPerRecord) * kRefBytes);
  std::lock_guard lock(mu_);
  record('F', as_bytes(json));
  for (std::size_t i = 0; i < blocks.size(); i += kRefsPerRecord) {
    chunk.clear();
    std::size_t end = std::min(blocks.size(), i + kRefsPerRecord);
    for (std::size_t k = i; k < end; ++k) encode_ref(chunk, blocks[k]);
    record('B', chunk);
  }
  ++entries_;
  blocks_ += blocks.size();
}

std::uint64_t ManifestWriter::commit() {
  std::lock_guard lock(mu_);
  nlohmann::json e = {{"entries", entries_}, {"blocks", blocks_}};
  record('E', as_bytes(e.dump()));
  out_.commit();
  return out_.stored_bytes();
}

// How often trailers were read again is what the budget of ids kept decides: said with -v.
ManifestIndex::~ManifestIndex() {
  if (!ids_ || ids_->trailers_read() == 0) return;
  try {
    log_debug("manifest of snapshot " + snapshot_id_ + ": block ids from " + std::to_string(ids_->trailers_read()) +
              " pack trailer reads (" + std::to_string(packs_.size()) + " packs)");
  } catch (...) {
  }
}

std::size_t ManifestIndex::ref_bytes() const { return version_ == 3 ? kBlockIdBytes + kRefBytes : kRefBytes; }

ManifestIndex::ManifestIndex(const storage::Storage& store, const std::string& snapshot_id, const MasterKey& key,
                             std::string where, std::size_t trailer_budget)
    : snapshot_id_(snapshot_id), spool_(open_spool()) {
  SealedReader in(store, snapshot_manifest_object(snapshot_id), key);
  auto bad = [&](const std::string& why, std::string hint = {}) {
    throw Error(ErrorKind::corrupt,
                "corrupt manifest of snapshot " + snapshot_id + " in " + store.describe() + " (" + why + ")",
                std::move(hint));
  };
  Bytes payload;
  std::uint64_t spool_size = 0;
  Entry* current = nullptr;
  std::uint64_t current_refs = 0;
  std::uint64_t total_blocks = 0;
  bool header = false, end = false;
  auto finish_entry = [&] {
    if (current && current_refs != current->file.block_count)
      bad("entry " + current->file.path + " lists " + std::to_string(current_refs) + " blocks, expected " +
          std::to_string(current->file.block_count));
  };
  while (!in.at_end()) {
    if (end) bad("records after the end record");
    std::uint8_t head[5];
    in.read_exact(head, 5);
    std::uint32_t len = get_u32le(head + 1);
    if (len > kMaxRecordBytes) bad("record of impossible length");
    payload.resize(len);
    in.read_exact(payload.data(), len);
    char type = static_cast<char>(head[0]);
    if (!header && type != 'H') bad("no header record");
    try {
      switch (type) {
        case 'H': {
          if (header) bad("two header records");
          auto j = nlohmann::json::parse(payload.begin(), payload.end());
          if (j.at("format") != "pgdr-manifest") bad("not a manifest");
          const int version = integer_at<int>(j, "version");
          if (version < kOldestManifestVersion || version > kManifestVersion)
            bad("manifest version " + std::to_string(version) + ", this pgdr reads " +
                (kOldestManifestVersion == kManifestVersion
                     ? "version " + std::to_string(kManifestVersion)
                     : "versions " + std::to_string(kOldestManifestVersion) + " to " + std::to_string(kManifestVersion)),
                version < kOldestManifestVersion
                    ? "the snapshot was written by a development build of another format: restore it with the pgdr "
                      "that wrote it, and back up to a new repository (pgdr init)"
                    : "the snapshot was written by a newer pgdr: use that version");
          version_ = version;
          if (j.at("snapshot") != snapshot_id) bad("manifest belongs to another snapshot");
          block_bytes_ = integer_at<std::uint32_t>(j, "block_size");
          if (block_bytes_ < 8192 || (block_bytes_ & (block_bytes_ - 1)) != 0 || block_bytes_ > (1u << 20)) bad("impossible block size");
          header = true;
          break;
        }
        case 'P': {
          if (len != 20) bad("pack record of wrong length");
          if (get_u32le(payload.data()) != packs_.size()) bad("pack records out of order");
          packs_.push_back(to_hex(ByteView(payload.data() + 4, 16)));
          break;
        }
        case 'F': {
          finish_entry();
          auto j = nlohmann::json::parse(payload.begin(), payload.end());
          Entry e;
          e.file.path = j.at("path").get<std::string>();
          check_manifest_path(snapshot_id, e.file.path);
          std::string t = j.at("type").get<std::string>();
          e.file.type = t == "file" ? EntryType::file : t == "dir" ? EntryType::directory
                      : t == "link" ? EntryType::symlink : (bad("unknown entry type " + t), EntryType::file);
          e.file.mode = integer_at<std::uint32_t>(j, "mode") & 07777;
          e.file.mtime = integer_at<std::int64_t>(j, "mtime");
          if (e.file.type == EntryType::file) {
            e.file.size_bytes = integer_at<std::uint64_t>(j, "size");
            e.file.sha256 = j.at("sha256").get<std::string>();
            e.file.block_count = integer_at<std::uint64_t>(j, "blocks");
            if (e.file.block_count != (e.file.size_bytes + block_bytes_ - 1) / block_bytes_)
              bad("entry " + e.file.path + " has a block count that does not match its size");
          }
          if (e.file.type == EntryType::symlink) e.file.link_target = j.at("target").get<std::string>();
          e.spool_offset = spool_size;
          entries_.push_back(std::move(e));
          current = &entries_.back();
          current_refs = 0;
          break;
        }
        case 'B': {
          const std::size_t size = ref_bytes();
          if (!current || len % size != 0) bad("block record out of place");
          std::uint64_t n = len / size;
          for (std::uint64_t i = 0; i < n; ++i) {
            BlockRef r = decode_ref(payload.data() + i * size, version_);
            if (!r.is_zero() && (r.pack >= packs_.size() || r.index >= kMaxFrameBlocks))
              bad("block refers to an undeclared pack or an impossible frame index");
          }
          spool_.pwrite_all(payload, spool_size);
          spool_size += len;
          current_refs += n;
          total_blocks += n;
          break;
        }
        case 'E': {
          finish_entry();
          current = nullptr;
          auto j = nlohmann::json::parse(payload.begin(), payload.end());
          if (integer_at<std::uint64_t>(j, "entries") != entries_.size() || integer_at<std::uint64_t>(j, "blocks") != total_blocks)
            bad("end record counts do not match");
          end = true;
          break;
        }
        default:
          bad("unknown record type");
      }
    } catch (const nlohmann::json::exception&) {
      bad("unreadable record");
    }
  }
  if (!end) bad("no end record");
  if (version_ >= 4)
    ids_ = std::make_unique<TrailerIds>(
        store, key, snapshot_id, where.empty() ? store.describe() : std::move(where),
        [this](std::uint32_t no) -> const std::string& { return packs_[no]; }, trailer_budget);
  by_path_.resize(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i) by_path_[i] = i;
  std::sort(by_path_.begin(), by_path_.end(),
            [&](std::size_t a, std::size_t b) { return entries_[a].file.path < entries_[b].file.path; });
}

const std::string& ManifestIndex::pack_id(std::uint32_t pack_no) const { return packs_.at(pack_no); }

const ManifestIndex::Entry* ManifestIndex::find(const std::string& path) const {
  auto it = std::lower_bound(by_path_.begin(), by_path_.end(), path,
                             [&](std::size_t i, const std::string& p) { return entries_[i].file.path < p; });
  if (it == by_path_.end() || entries_[*it].file.path != path) return nullptr;
  return &entries_[*it];
}

std::vector<BlockRef> ManifestIndex::blocks(const Entry& e) const { return blocks(e, 0, e.file.block_count); }

std::vector<BlockRef> ManifestIndex::blocks(const Entry& e, std::uint64_t first, std::uint64_t count) const {
  std::vector<BlockRef> out = locations(e, first, count);
  if (ids_) ids_->resolve(out, e.file.path, first);
  return out;
}

std::vector<BlockRef> ManifestIndex::locations(const Entry& e) const { return locations(e, 0, e.file.block_count); }

std::vector<BlockRef> ManifestIndex::locations(const Entry& e, std::uint64_t first, std::uint64_t count) const {
  if (first > e.file.block_count) return {};
  count = std::min(count, e.file.block_count - first);
  const std::size_t size = ref_bytes();
  Bytes raw(count * size);
  std::size_t got = spool_.read_at(raw.data(), raw.size(), e.spool_offset + first * size);
  if (got != raw.size()) throw Error(ErrorKind::io, "manifest spool of snapshot " + snapshot_id_ + " is short");
  std::vector<BlockRef> out(count);
  for (std::uint64_t i = 0; i < count; ++i) out[i] = decode_ref(raw.data() + i * size, version_);
  return out;
}

}  // namespace pgdr::repo
