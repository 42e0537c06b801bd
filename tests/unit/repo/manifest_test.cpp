#include "repo/manifest.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "repo/format.h"
#include "repo/pack.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::error_of;

constexpr std::uint32_t kBlockBytes = 8192;
constexpr std::uint32_t kRefBytes = 16;    // one block reference in a 'B' record (manifest.h)
constexpr std::uint32_t kRefBytesV3 = 32;  // the same in version 3: the block id in front
const std::string kSnapshot = "20260101T000000.000Z-0001";

bool same_place(const BlockRef& a, const BlockRef& b) {
  return a.pack == b.pack && a.offset == b.offset && a.length == b.length && a.index == b.index;
}

// A block ref that differs for every (seed, k): pack k % 3, index (k / 2) % 16 in its frame (every
// index 0..15 on some stored block), every fourth block all zeros.
BlockRef make_ref(std::uint32_t seed, std::uint64_t k) {
  BlockRef r;
  for (std::size_t i = 0; i < r.id.size(); ++i) r.id[i] = static_cast<std::uint8_t>((seed * 31 + k * 7 + i) & 0xff);
  r.id[0] = static_cast<std::uint8_t>(k);
  r.id[1] = static_cast<std::uint8_t>(k >> 8);
  r.id[2] = static_cast<std::uint8_t>(k >> 16);
  r.id[3] = static_cast<std::uint8_t>(seed);
  if (k % 4 == 3) return r;  // pack stays kZeroPack
  r.pack = static_cast<std::uint32_t>(k % 3);
  r.offset = static_cast<std::uint32_t>(k * 1000 + seed);
  r.length = 1000 + static_cast<std::uint32_t>(seed % 100);
  r.index = static_cast<std::uint16_t>((k / 2) % kMaxFrameBlocks);
  return r;
}

FileEntry file_entry(const std::string& path, std::uint64_t size_bytes) {
  FileEntry e;
  e.path = path;
  e.type = EntryType::file;
  e.mode = 0600;
  e.size_bytes = size_bytes;
  e.mtime = 1767225600 + static_cast<std::int64_t>(size_bytes % 1000);
  e.sha256 = std::string(64, 'a');
  e.block_count = (size_bytes + kBlockBytes - 1) / kBlockBytes;
  return e;
}

FileEntry dir_entry(const std::string& path) {
  FileEntry e;
  e.path = path;
  e.type = EntryType::directory;
  e.mode = 0700;
  e.mtime = 1767225600;
  return e;
}

FileEntry link_entry(const std::string& path, const std::string& target) {
  FileEntry e;
  e.path = path;
  e.type = EntryType::symlink;
  e.mode = 0777;
  e.mtime = 1767225600;
  e.link_target = target;
  return e;
}

void put_u32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Writes manifest records by hand, sealed with the real key, for the damage a reader must refuse
// though the stream itself is authentic (a buggy or hostile writer holding the key). It writes
// version 3 (ids in the references), which readers still accept and whose records are the same
// but for the width of a reference.
class RecordWriter {
 public:
  RecordWriter(storage::Storage& store, const MasterKey& key, const std::string& snapshot_id)
      : out_(store, snapshot_manifest_object(snapshot_id), key) {}
  void record(char type, ByteView payload) {
    Bytes head{static_cast<std::uint8_t>(type)};
    put_u32(head, static_cast<std::uint32_t>(payload.size()));
    out_.write(head);
    out_.write(payload);
  }
  void json(char type, const nlohmann::json& j) { record(type, as_bytes(j.dump())); }
  void header(const std::string& snapshot_id = kSnapshot) {
    json('H', {{"format", "pgdr-manifest"}, {"version", 3}, {"snapshot", snapshot_id}, {"block_size", kBlockBytes}});
  }
  void pack(std::uint32_t no) {
    Bytes p;
    put_u32(p, no);
    Bytes id = from_hex(new_pack_id());
    p.insert(p.end(), id.begin(), id.end());
    record('P', p);
  }
  void file(const std::string& path, std::uint64_t size, std::uint64_t blocks) {
    json('F', {{"path", path}, {"type", "file"}, {"mode", 0600}, {"mtime", 0}, {"size", size},
               {"sha256", std::string(64, '0')}, {"blocks", blocks}});
  }
  void refs(std::uint32_t pack, std::size_t n, std::uint16_t index = 0) {
    Bytes b;
    for (std::size_t i = 0; i < n; ++i) {
      BlockRef r = make_ref(9, i);
      b.insert(b.end(), r.id.begin(), r.id.end());
      put_u32(b, pack);
      put_u32(b, 0);
      put_u32(b, 100);
      b.push_back(static_cast<std::uint8_t>(index));
      b.push_back(static_cast<std::uint8_t>(index >> 8));
      b.push_back(0);  // reserved u16
      b.push_back(0);
    }
    record('B', b);
  }
  void end(std::uint64_t entries, std::uint64_t blocks) { json('E', {{"entries", entries}, {"blocks", blocks}}); }
  void commit() { out_.commit(); }

 private:
  SealedWriter out_;
};

class ManifestTest : public test::RepoTestBase {
 protected:
  std::string corrupt(const std::string& why) const {
    return "corrupt manifest of snapshot " + kSnapshot + " in " + store_.describe() + " (" + why + ")";
  }
  void expect_corrupt(const std::string& message) {
    Error e = error_of([&] { ManifestIndex index(store_, kSnapshot, key_); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), message);
  }
  // A small valid manifest: two packs, a directory and a two-block file.
  void write_small() {
    ManifestWriter w(store_, kSnapshot, key_, kBlockBytes);
    w.declare_pack(new_pack_id());
    w.declare_pack(new_pack_id());
    w.add(dir_entry("base"), {});
    w.add(file_entry("base/1", 2 * kBlockBytes), {make_ref(1, 0), make_ref(1, 1)});
    w.commit();
  }
};

TEST_F(ManifestTest, ConcurrentWritersAndEveryKindOfEntryReadBack) {
  struct Expected {
    FileEntry entry;
    std::vector<BlockRef> refs;
  };
  std::vector<std::string> pack_ids = {new_pack_id(), new_pack_id(), new_pack_id()};
  std::map<std::string, Expected> expected;
  constexpr int kThreads = 4;
  constexpr int kFilesPerThread = 100;
  constexpr std::uint64_t kBigBlocks = 70000;  // more than one 'B' record of 65536 refs

  // What each thread adds, decided up front so the expectations need no locking.
  std::vector<std::vector<Expected>> work(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    std::string dir = "base/" + std::to_string(16384 + t);
    work[static_cast<std::size_t>(t)].push_back({dir_entry(dir), {}});
    for (int i = 0; i < kFilesPerThread; ++i) {
      std::uint64_t blocks = static_cast<std::uint64_t>(i % 6);
      std::uint64_t size = blocks == 0 ? 0 : blocks * kBlockBytes - static_cast<std::uint64_t>(i % 50);
      Expected x{file_entry(dir + "/" + std::to_string(i), size), {}};
      auto seed = static_cast<std::uint32_t>(t * 1000 + i);
      for (std::uint64_t k = 0; k < blocks; ++k) x.refs.push_back(make_ref(seed, k));
      work[static_cast<std::size_t>(t)].push_back(x);
    }
  }
  Expected big{file_entry("base/1/big", kBigBlocks * kBlockBytes), {}};
  for (std::uint64_t k = 0; k < kBigBlocks; ++k) big.refs.push_back(make_ref(77, k));
  const std::vector<Expected> others = {
      {dir_entry("base"), {}},
      {dir_entry("base/1"), {}},
      big,
      {file_entry("global/empty", 0), {}},
      {file_entry("global/all_zero", 3 * kBlockBytes), {make_ref(5, 3), make_ref(5, 7), make_ref(5, 11)}},
      {link_entry("pg_tblspc/16400", "/srv/tablespaces/fast"), {}},
  };
  ASSERT_TRUE(others.back().refs.empty());
  ASSERT_TRUE(others[4].refs[0].is_zero() && others[4].refs[1].is_zero() && others[4].refs[2].is_zero());

  std::uint64_t stored = 0;
  {
    ManifestWriter w(store_, kSnapshot, key_, kBlockBytes);
    for (std::size_t p = 0; p < pack_ids.size(); ++p) EXPECT_EQ(w.declare_pack(pack_ids[p]), p);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (const auto& x : work[static_cast<std::size_t>(t)]) w.add(x.entry, x.refs);
      });
    }
    for (const auto& x : others) w.add(x.entry, x.refs);
    for (auto& th : threads) th.join();
    stored = w.commit();
  }
  EXPECT_EQ(stored, raw(snapshot_manifest_object(kSnapshot)).size());
  for (const auto& list : work)
    for (const auto& x : list) expected[x.entry.path] = x;
  for (const auto& x : others) expected[x.entry.path] = x;

  ManifestIndex index(store_, kSnapshot, key_);
  EXPECT_EQ(index.block_bytes(), kBlockBytes);
  ASSERT_EQ(index.pack_count(), pack_ids.size());
  for (std::uint32_t p = 0; p < pack_ids.size(); ++p) EXPECT_EQ(index.pack_id(p), pack_ids[p]);
  ASSERT_EQ(index.entries().size(), expected.size());

  for (const auto& [path, x] : expected) {
    SCOPED_TRACE(path);
    const ManifestIndex::Entry* e = index.find(path);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->file.path, x.entry.path);
    EXPECT_EQ(e->file.type, x.entry.type);
    EXPECT_EQ(e->file.mode, x.entry.mode);
    EXPECT_EQ(e->file.mtime, x.entry.mtime);
    EXPECT_EQ(e->file.size_bytes, x.entry.size_bytes);
    EXPECT_EQ(e->file.sha256, x.entry.sha256);
    EXPECT_EQ(e->file.link_target, x.entry.link_target);
    EXPECT_EQ(e->file.block_count, x.refs.size());
    auto refs = index.locations(*e);
    ASSERT_EQ(refs.size(), x.refs.size());
    for (std::size_t k = 0; k < refs.size(); ++k) {
      if (!same_place(refs[k], x.refs[k]) || refs[k].id != BlockId{}) {
        ADD_FAILURE() << "block " << k << " differs";
        break;
      }
    }
  }
  auto zeros = index.blocks(*index.find("global/all_zero"));  // no trailer needed for zero blocks
  ASSERT_EQ(zeros.size(), 3u);
  for (const auto& r : zeros) EXPECT_TRUE(r.is_zero());
  EXPECT_EQ(index.find("base/16384/999"), nullptr);
  EXPECT_EQ(index.find(""), nullptr);
  EXPECT_EQ(index.find("zzz"), nullptr);

  // Slices of the big file, across the boundary between its two block records and past its end.
  const ManifestIndex::Entry* e = index.find("base/1/big");
  ASSERT_NE(e, nullptr);
  auto across = index.locations(*e, 65530, 10);
  ASSERT_EQ(across.size(), 10u);
  for (std::size_t k = 0; k < across.size(); ++k) EXPECT_TRUE(same_place(across[k], big.refs[65530 + k])) << k;
  auto last = index.locations(*e, kBigBlocks - 5, 100);
  ASSERT_EQ(last.size(), 5u);
  EXPECT_TRUE(same_place(last[4], big.refs.back()));
  EXPECT_TRUE(index.locations(*e, kBigBlocks, 1).empty());
  EXPECT_TRUE(index.blocks(*e, kBigBlocks + 1, 1).empty());
  EXPECT_TRUE(index.blocks(*e, 0, 0).empty());
  EXPECT_EQ(index.version(), 4);
  EXPECT_EQ(index.trailers_read(), 0u);  // no pack of this test exists: none was needed
  EXPECT_TRUE(index.blocks(*index.find("global/empty")).empty());
  EXPECT_TRUE(index.blocks(*index.find("global/empty"), 0, 10).empty());
}

TEST_F(ManifestTest, BigFileBlocksAreSplitIntoRecordsOf65536) {
  constexpr std::uint64_t kBlocks = 65536 + 4464;
  std::vector<BlockRef> refs;
  for (std::uint64_t k = 0; k < kBlocks; ++k) refs.push_back(make_ref(3, k));
  {
    ManifestWriter w(store_, kSnapshot, key_, kBlockBytes);
    w.declare_pack(new_pack_id());
    w.declare_pack(new_pack_id());
    w.declare_pack(new_pack_id());
    w.add(file_entry("base/1/2", kBlocks * kBlockBytes), refs);
    w.commit();
  }
  // Walk the logical stream and list the records as the format document describes them.
  SealedReader in(store_, snapshot_manifest_object(kSnapshot), key_);
  std::string types;
  std::vector<std::uint32_t> lengths;
  Bytes first_refs;  // the payload of the first 'B' record
  while (!in.at_end()) {
    std::uint8_t head[5];
    in.read_exact(head, 5);
    std::uint32_t len = static_cast<std::uint32_t>(head[1]) | static_cast<std::uint32_t>(head[2]) << 8 |
                        static_cast<std::uint32_t>(head[3]) << 16 | static_cast<std::uint32_t>(head[4]) << 24;
    Bytes payload(len);
    in.read_exact(payload.data(), len);
    types.push_back(static_cast<char>(head[0]));
    lengths.push_back(len);
    if (types.size() == 6) first_refs = payload;
  }
  EXPECT_EQ(types, "HPPPFBBE");
  ASSERT_EQ(lengths.size(), 8u);
  EXPECT_EQ(lengths[1], 20u);
  EXPECT_EQ(lengths[5], 65536u * kRefBytes);
  EXPECT_EQ(lengths[6], 4464u * kRefBytes);
  ASSERT_EQ(first_refs.size(), 65536u * kRefBytes);

  // Each ref laid out as manifest.h documents: pack | offset | length | index | reserved 0, no id.
  for (std::uint64_t k : {std::uint64_t{0}, std::uint64_t{3}, std::uint64_t{30}}) {
    SCOPED_TRACE("ref " + std::to_string(k));
    const BlockRef& r = refs[k];
    Bytes expected;
    put_u32(expected, r.pack);
    put_u32(expected, r.offset);
    put_u32(expected, r.length);
    expected.push_back(static_cast<std::uint8_t>(r.index));
    expected.push_back(static_cast<std::uint8_t>(r.index >> 8));
    expected.push_back(0);
    expected.push_back(0);
    EXPECT_EQ(Bytes(first_refs.begin() + static_cast<std::ptrdiff_t>(k * kRefBytes),
                    first_refs.begin() + static_cast<std::ptrdiff_t>((k + 1) * kRefBytes)),
              expected);
  }
  EXPECT_TRUE(refs[3].is_zero());
  EXPECT_EQ(refs[30].index, 15u);
}

// Version 3 manifests, written before ids moved to the trailers alone, are read with their ids.
TEST_F(ManifestTest, RefsUpToTheLastFrameIndexAreAccepted) {
  {
    RecordWriter r(store_, key_, kSnapshot);
    r.header();
    r.pack(0);
    r.file("base/1", 3 * kBlockBytes, 3);
    r.refs(0, 3, static_cast<std::uint16_t>(kMaxFrameBlocks - 1));
    r.end(1, 3);
    r.commit();
  }
  ManifestIndex index(store_, kSnapshot, key_);
  EXPECT_EQ(index.version(), 3);
  const ManifestIndex::Entry* e = index.find("base/1");
  ASSERT_NE(e, nullptr);
  auto refs = index.blocks(*e);
  EXPECT_EQ(index.trailers_read(), 0u);
  ASSERT_EQ(refs.size(), 3u);
  for (std::size_t k = 0; k < refs.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(refs[k].id, make_ref(9, k).id);
    EXPECT_EQ(refs[k].pack, 0u);
    EXPECT_EQ(refs[k].offset, 0u);
    EXPECT_EQ(refs[k].length, 100u);
    EXPECT_EQ(refs[k].index, kMaxFrameBlocks - 1);
  }
}

TEST_F(ManifestTest, PathsThatLeaveTheTargetAreRefused) {
  for (const std::string path : {"../etc/passwd", "/etc/passwd", "base/../../x", "base/./1", "base//1", "base/1/..",
                                 "", "."}) {
    SCOPED_TRACE("'" + path + "'");
    {
      ManifestWriter w(store_, kSnapshot, key_, kBlockBytes);
      w.add(dir_entry("base"), {});
      w.add(file_entry(path, 0), {});
      w.commit();
    }
    Error e = error_of([&] { ManifestIndex index(store_, kSnapshot, key_); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), "refusing path '" + path + "' in the manifest of snapshot " + kSnapshot +
                                         " (absolute, or with an empty, '.' or '..' segment)");
  }
  // Directories and links are checked as well as files.
  {
    ManifestWriter w(store_, kSnapshot, key_, kBlockBytes);
    w.add(link_entry("../pg_tblspc/1", "/srv/x"), {});
    w.commit();
  }
  Error e = error_of([&] { ManifestIndex index(store_, kSnapshot, key_); });
  EXPECT_EQ(std::string(e.what()), "refusing path '../pg_tblspc/1' in the manifest of snapshot " + kSnapshot +
                                       " (absolute, or with an empty, '.' or '..' segment)");
  EXPECT_NO_THROW(check_manifest_path(kSnapshot, "pg_tblspc/16400/PG_15_202209061/5/16401"));
}

TEST_F(ManifestTest, DamagedOrTruncatedManifestIsCorrupt) {
  write_small();
  const std::string object = snapshot_manifest_object(kSnapshot);
  const Bytes good = raw(object);
  const std::string prefix = "corrupt object " + object + " in " + store_.describe() + " (";

  flip_byte(object, good.size() / 2);
  expect_corrupt(prefix + "frame 0 fails authentication)");

  put_raw(object, good);
  cut(object, good.size() - 7);
  expect_corrupt(prefix + "truncated at " + std::to_string(good.size() - 7) + " bytes)");

  put_raw(object, good);
  cut(object, 9);
  expect_corrupt(prefix + "truncated: the last frame is missing)");

  // Another snapshot's manifest copied over this one's name.
  put_raw(object, good);
  const std::string other = "20260101T000000.000Z-0002";
  put_raw(snapshot_manifest_object(other), good);
  Error e = error_of([&] { ManifestIndex index(store_, other, key_); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), "corrupt object " + snapshot_manifest_object(other) + " in " + store_.describe() +
                                       " (frame 0 fails authentication)");

  // With the wrong key.
  MasterKey wrong = MasterKey::generate();
  Error k = error_of([&] { ManifestIndex index(store_, kSnapshot, wrong); });
  EXPECT_EQ(std::string(k.what()), prefix + "frame 0 fails authentication)");

  // The original still reads.
  ManifestIndex index(store_, kSnapshot, key_);
  EXPECT_EQ(index.entries().size(), 2u);
}

TEST_F(ManifestTest, MissingManifestIsNotFound) {
  {
    ManifestWriter w(store_, kSnapshot, key_, kBlockBytes);
    w.add(dir_entry("base"), {});
    // never committed: a backup that died
  }
  Error e = error_of([&] { ManifestIndex index(store_, kSnapshot, key_); });
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_EQ(std::string(e.what()),
            "missing object " + snapshot_manifest_object(kSnapshot) + " in " + store_.describe());
}

TEST_F(ManifestTest, WriterDoesNotCheckBlockCountsTheReaderDoes) {
  {
    ManifestWriter w(store_, kSnapshot, key_, kBlockBytes);
    w.declare_pack(new_pack_id());
    w.add(file_entry("base/1", 2 * kBlockBytes), {make_ref(1, 0)});
    w.commit();
  }
  expect_corrupt(corrupt("entry base/1 lists 1 blocks, expected 2"));

  {
    ManifestWriter w(store_, kSnapshot, key_, kBlockBytes);
    w.declare_pack(new_pack_id());
    w.add(dir_entry("base"), {make_ref(1, 0)});
    w.commit();
  }
  expect_corrupt(corrupt("entry base lists 1 blocks, expected 0"));
}

TEST_F(ManifestTest, AuthenticButMalformedRecordsAreRefused) {
  struct Case {
    std::string what;
    std::function<void(RecordWriter&)> write;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"no header", [](RecordWriter& r) { r.pack(0); r.end(0, 0); }, "no header record"},
      {"not a manifest",
       [](RecordWriter& r) {
         r.json('H', {{"format", "pgdr-snapshot"}, {"version", 3}, {"snapshot", kSnapshot}, {"block_size", 8192}});
       },
       "not a manifest"},
      {"version 5",
       [](RecordWriter& r) {
         r.json('H', {{"format", "pgdr-manifest"}, {"version", 5}, {"snapshot", kSnapshot}, {"block_size", 8192}});
       },
       "manifest version 5, this pgdr reads versions 3 to 4"},
      {"version 2 (32-byte ids, development builds only)",
       [](RecordWriter& r) {
         r.json('H', {{"format", "pgdr-manifest"}, {"version", 2}, {"snapshot", kSnapshot}, {"block_size", 8192}});
       },
       "manifest version 2, this pgdr reads versions 3 to 4"},
      {"version 0",
       [](RecordWriter& r) {
         r.json('H', {{"format", "pgdr-manifest"}, {"version", 0}, {"snapshot", kSnapshot}, {"block_size", 8192}});
       },
       "manifest version 0, this pgdr reads versions 3 to 4"},
      {"another snapshot", [](RecordWriter& r) { r.header("20250101T000000.000Z-ffff"); r.end(0, 0); },
       "manifest belongs to another snapshot"},
      {"block size",
       [](RecordWriter& r) {
         r.json('H', {{"format", "pgdr-manifest"}, {"version", 3}, {"snapshot", kSnapshot}, {"block_size", 4096}});
       },
       "impossible block size"},
      {"two headers", [](RecordWriter& r) { r.header(); r.header(); }, "two header records"},
      {"short pack record", [](RecordWriter& r) { r.header(); r.record('P', Bytes(19, 0)); }, "pack record of wrong length"},
      {"pack out of order", [](RecordWriter& r) { r.header(); r.pack(1); }, "pack records out of order"},
      {"unknown entry type",
       [](RecordWriter& r) {
         r.header();
         r.json('F', {{"path", "base/fifo"}, {"type", "fifo"}, {"mode", 0600}, {"mtime", 0}});
       },
       "unknown entry type fifo"},
      {"size and block count disagree", [](RecordWriter& r) { r.header(); r.file("base/1", 8193, 1); },
       "entry base/1 has a block count that does not match its size"},
      {"entry without fields",
       [](RecordWriter& r) {
         r.header();
         r.json('F', {{"path", "base/1"}});
       },
       "unreadable record"},
      {"entry not JSON", [](RecordWriter& r) { r.header(); r.record('F', to_bytes("{\"path\":")); }, "unreadable record"},
      {"blocks before any entry", [](RecordWriter& r) { r.header(); r.pack(0); r.refs(0, 1); }, "block record out of place"},
      {"block record of odd length",
       [](RecordWriter& r) {
         r.header();
         r.file("base/1", 8192, 1);
         r.record('B', Bytes(kRefBytesV3 + 1, 0));
       },
       "block record out of place"},
      {"version 4 block record of odd length",
       [](RecordWriter& r) {
         r.json('H', {{"format", "pgdr-manifest"}, {"version", 4}, {"snapshot", kSnapshot}, {"block_size", 8192}});
         r.file("base/1", 8192, 1);
         r.record('B', Bytes(kRefBytes - 1, 0));
       },
       "block record out of place"},
      {"undeclared pack",
       [](RecordWriter& r) {
         r.header();
         r.pack(0);
         r.file("base/1", 8192, 1);
         r.refs(1, 1);
       },
       "block refers to an undeclared pack or an impossible frame index"},
      {"frame index past a full frame",
       [](RecordWriter& r) {
         r.header();
         r.pack(0);
         r.file("base/1", 2 * 8192, 2);
         r.refs(0, 2, static_cast<std::uint16_t>(kMaxFrameBlocks));
       },
       "block refers to an undeclared pack or an impossible frame index"},
      {"frame index beyond a byte",
       [](RecordWriter& r) {
         r.header();
         r.pack(0);
         r.file("base/1", 8192, 1);
         r.refs(0, 1, 0x100);
       },
       "block refers to an undeclared pack or an impossible frame index"},
      {"end counts",
       [](RecordWriter& r) {
         r.header();
         r.pack(0);
         r.file("base/1", 8192, 1);
         r.refs(0, 1);
         r.end(1, 2);
       },
       "end record counts do not match"},
      {"after the end", [](RecordWriter& r) { r.header(); r.end(0, 0); r.header(); }, "records after the end record"},
      {"no end", [](RecordWriter& r) { r.header(); r.pack(0); r.file("base/1", 0, 0); }, "no end record"},
      {"unknown record type", [](RecordWriter& r) { r.header(); r.record('Z', Bytes(3, 0)); }, "unknown record type"},
      // Found by fuzzing (tests/fuzz/corpus/manifest_fuzz/regress-float-mode): a number beyond the
      // field's type was cast to it, undefined for a float and silent truncation for an integer.
      {"mode beyond any integer",
       [](RecordWriter& r) {
         r.header();
         r.json('F', {{"path", "base"}, {"type", "dir"}, {"mode", 1.8446744073709552e21}, {"mtime", 0}});
       },
       "unreadable record"},
      {"block size beyond 32 bits",
       [](RecordWriter& r) {
         r.json('H', {{"format", "pgdr-manifest"}, {"version", 3}, {"snapshot", kSnapshot},
                      {"block_size", (std::uint64_t{1} << 32) + 8192}});
       },
       "unreadable record"},
      {"negative block count",
       [](RecordWriter& r) {
         r.header();
         r.json('F', {{"path", "base/1"}, {"type", "file"}, {"mode", 0600}, {"mtime", 0}, {"size", 0},
                      {"sha256", std::string(64, '0')}, {"blocks", -1}});
       },
       "unreadable record"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    {
      RecordWriter r(store_, key_, kSnapshot);
      c.write(r);
      r.commit();
    }
    expect_corrupt(corrupt(c.why));
  }
}

TEST_F(ManifestTest, AManifestOfAnotherVersionSaysWhatToDo) {
  // An older version came from a development build: the DBA needs to know it is not damage.
  for (auto [version, hint] : {std::pair{2, "written by a development build of another format"},
                               std::pair{1, "written by a development build of another format"},
                               std::pair{5, "written by a newer pgdr"}}) {
    SCOPED_TRACE(version);
    {
      RecordWriter r(store_, key_, kSnapshot);
      r.json('H', {{"format", "pgdr-manifest"}, {"version", version}, {"snapshot", kSnapshot}, {"block_size", 8192}});
      r.end(0, 0);
      r.commit();
    }
    Error e = error_of([&] { ManifestIndex index(store_, kSnapshot, key_); });
    EXPECT_EQ(std::string(e.what()),
              corrupt("manifest version " + std::to_string(version) + ", this pgdr reads versions 3 to 4"));
    EXPECT_NE(e.hint().find(hint), std::string::npos) << e.hint();
  }
}

TEST_F(ManifestTest, RecordOfImpossibleLengthOrCutShortIsRefused) {
  // A record header claiming more than 64 MiB: refused before anything is allocated.
  {
    SealedWriter w(store_, snapshot_manifest_object(kSnapshot), key_);
    Bytes h{'H'};
    put_u32(h, (64u << 20) + 1);
    w.write(h);
    w.commit();
  }
  expect_corrupt(corrupt("record of impossible length"));

  // A record header claiming more than the stream holds.
  {
    SealedWriter w(store_, snapshot_manifest_object(kSnapshot), key_);
    Bytes h{'H'};
    put_u32(h, 1000);
    w.write(h);
    w.write(to_bytes("{}"));
    w.commit();
  }
  expect_corrupt("corrupt object " + snapshot_manifest_object(kSnapshot) + " in " + store_.describe() +
                 " (ends early)");
}

}  // namespace
}  // namespace pgdr::repo
