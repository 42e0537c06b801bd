#include "pg/wal_summary_file.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/error.h"
#include "core/little_endian.h"
#include "pg/crc32c.h"

namespace pgdr::pg {
namespace {

namespace fs = std::filesystem;

Bytes read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path.string());
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string unzstd(const fs::path& path) {
  const Bytes packed = read_all(path);
  const unsigned long long size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    throw std::runtime_error("fixture without a content size: " + path.string());
  std::string out(size, '\0');
  const size_t n = ZSTD_decompress(out.data(), out.size(), packed.data(), packed.size());
  if (ZSTD_isError(n) || n != size) throw std::runtime_error("unable to decompress fixture " + path.string());
  return out;
}

// What pg_wal_summary_contents() said of one summary file, per relation fork.
struct ForkRows {
  std::set<std::uint32_t> blocks;
  std::optional<std::uint32_t> limit;
};

struct SummaryFixture {
  std::string name;  // "17/<file name>"
  Bytes content;
  std::map<RelationFork, ForkRows> rows;
};

struct MajorFixtures {
  std::vector<SummaryFixture> summaries;  // oldest first
  std::map<std::string, std::string> expected;
  std::uint32_t number(const std::string& key) const { return static_cast<std::uint32_t>(std::stoul(expected.at(key))); }
};

MajorFixtures load(int major) {
  const fs::path dir = fs::path(PGDR_UNIT_TEST_DIR) / "pg" / "data" / "wal_summaries" / std::to_string(major);
  MajorFixtures f;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".summary") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    SummaryFixture s;
    s.name = std::to_string(major) + "/" + p.filename().string();
    s.content = read_all(p);
    std::istringstream rows(unzstd(dir / (p.stem().string() + ".txt.zst")));
    for (std::string line; std::getline(rows, line);) {
      std::vector<std::string> v;
      std::istringstream fields(line);
      for (std::string field; std::getline(fields, field, '|');) v.push_back(field);
      if (v.size() != 6) throw std::runtime_error("bad row '" + line + "' in " + s.name);
      RelationFork fork;
      fork.rel.rel_number = static_cast<std::uint32_t>(std::stoul(v[0]));
      fork.rel.spc_oid = static_cast<std::uint32_t>(std::stoul(v[1]));
      fork.rel.db_oid = static_cast<std::uint32_t>(std::stoul(v[2]));
      fork.fork = static_cast<ForkNumber>(std::stoi(v[3]));
      const auto block = static_cast<std::uint32_t>(std::stoul(v[4]));
      ForkRows& r = s.rows[fork];
      if (v[5] == "t") {
        if (r.limit) throw std::runtime_error("two limit rows for one fork in " + s.name);
        r.limit = block;
      } else {
        r.blocks.insert(block);
      }
    }
    f.summaries.push_back(std::move(s));
  }
  std::ifstream in(dir / "expected.txt");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq != std::string::npos) f.expected[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (f.summaries.empty()) throw std::runtime_error("no summaries in " + dir.string());
  return f;
}

std::vector<std::uint32_t> all_blocks(const ChangeMap& map, const RelationFork& fork) {
  std::vector<std::uint32_t> out;
  map.blocks_in(fork, 0, 0xFFFFFFFF, out);
  return out;
}

// The error a read of content gives; fails the test when there is none.
Error read_error(ByteView content, std::string_view file) {
  try {
    read_wal_summary(content, file);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error reading " << file;
  return Error(ErrorKind::internal, "");
}

// Writes summary files byte by byte as WriteBlockRefTable does, for shapes a small cluster does not
// produce (several chunks, an empty chunk between two, block numbers near the top).
class SummaryBuilder {
 public:
  struct Chunk {
    std::uint32_t number = 0;
    std::vector<std::uint16_t> offsets;  // written as an array unless bitmap
    bool bitmap = false;
  };
  SummaryBuilder() { put_u32le(bytes_, 0x652B137B); }

  SummaryBuilder& entry(RelFileLocator rel, std::uint32_t fork, std::uint32_t limit, const std::vector<Chunk>& chunks) {
    std::uint32_t count = 0;
    for (const Chunk& c : chunks) count = std::max(count, c.number + 1);
    put_u32le(bytes_, rel.spc_oid);
    put_u32le(bytes_, rel.db_oid);
    put_u32le(bytes_, rel.rel_number);
    put_u32le(bytes_, fork);
    put_u32le(bytes_, limit);
    put_u32le(bytes_, count);
    std::vector<std::uint16_t> usage(count, 0);
    for (const Chunk& c : chunks) usage[c.number] = c.bitmap ? 4096 : static_cast<std::uint16_t>(c.offsets.size());
    for (std::uint16_t u : usage) put_u16le(bytes_, u);
    for (std::uint32_t n = 0; n < count; ++n) {
      auto it = std::find_if(chunks.begin(), chunks.end(), [&](const Chunk& c) { return c.number == n; });
      if (it == chunks.end()) continue;
      if (it->bitmap) {
        std::vector<std::uint16_t> words(4096, 0);
        for (std::uint16_t o : it->offsets) words[o / 16] = static_cast<std::uint16_t>(words[o / 16] | 1u << (o % 16));
        for (std::uint16_t w : words) put_u16le(bytes_, w);
      } else {
        for (std::uint16_t o : it->offsets) put_u16le(bytes_, o);
      }
    }
    return *this;
  }
  // Sentinel and CRC.
  Bytes finish() const {
    Bytes out = bytes_;
    out.insert(out.end(), 24, 0);
    put_u32le(out, crc32c(out));
    return out;
  }
  // The bytes so far, for damage the CRC must not catch first.
  Bytes raw() const { return bytes_; }

 private:
  Bytes bytes_;
};

constexpr RelFileLocator kRel{1663, 5, 16384};

Bytes with_crc(Bytes body) {
  put_u32le(body, crc32c(body));
  return body;
}

TEST(WalSummaryFileName, ParsesWhatTheSummarizerNames) {
  auto n = parse_wal_summary_file_name("00000002000000010000002800000001FF000060.summary");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->timeline, 2u);
  EXPECT_EQ(n->start, (Lsn{0x100000028}));
  EXPECT_EQ(n->end, (Lsn{0x1FF000060}));
  EXPECT_EQ(wal_summary_file_name(*n), "00000002000000010000002800000001FF000060.summary");
}

TEST(WalSummaryFileName, RefusesWhatPostgreSqlSkips) {
  EXPECT_FALSE(parse_wal_summary_file_name("temp.summary"));
  EXPECT_FALSE(parse_wal_summary_file_name("00000002000000010000002800000001ff000060.summary"));
  EXPECT_FALSE(parse_wal_summary_file_name("00000002000000010000002800000001FF00006.summary"));
  EXPECT_FALSE(parse_wal_summary_file_name("00000002000000010000002800000001FF000060.summary.tmp"));
  EXPECT_FALSE(parse_wal_summary_file_name("00000002000000010000002800000001FF000060"));
  EXPECT_FALSE(parse_wal_summary_file_name("0000000200000001000000280000000G1F000060.summary"));
}

class WalSummaryFixture : public testing::TestWithParam<int> {};

// Every block and every limit block that pg_wal_summary_contents() lists, and nothing else.
TEST_P(WalSummaryFixture, MapEqualsTheServersOwnReading) {
  const MajorFixtures f = load(GetParam());
  std::size_t forks_seen = 0;
  for (const SummaryFixture& s : f.summaries) {
    SCOPED_TRACE(s.name);
    const ChangeMap map = read_wal_summary(s.content, s.name);
    std::uint64_t blocks = 0;
    std::set<DatabaseKey> databases;
    ChangeMap expected;
    for (const auto& [fork, rows] : s.rows) {
      EXPECT_EQ(map.limit(fork), rows.limit) << "relfilenode " << fork.rel.rel_number;
      EXPECT_EQ(all_blocks(map, fork), std::vector<std::uint32_t>(rows.blocks.begin(), rows.blocks.end()))
          << "relfilenode " << fork.rel.rel_number << " fork " << static_cast<int>(fork.fork);
      blocks += rows.blocks.size();
      if (fork.rel.rel_number == 0) databases.insert({fork.rel.spc_oid, fork.rel.db_oid});
      if (rows.limit) expected.add_limit(fork, *rows.limit);
      for (std::uint32_t b : rows.blocks) expected.add_block(fork, b);
    }
    for (const DatabaseKey& db : databases) {
      EXPECT_TRUE(map.database_changed(db)) << "database " << db.db_oid;
      expected.add_database(db);
    }
    EXPECT_EQ(map.fork_count(), s.rows.size());
    EXPECT_EQ(map.block_count(), blocks);
    EXPECT_EQ(map.database_count(), databases.size());
    EXPECT_TRUE(map == expected);
    forks_seen += s.rows.size();
  }
  EXPECT_GT(forks_seen, 100u);
}

// The fixtures hold what the script's load was for; without it the comparison above proves less.
TEST_P(WalSummaryFixture, FixturesHoldEveryKindOfChange) {
  const MajorFixtures f = load(GetParam());
  const std::uint32_t db = f.number("database_oid");
  const RelationFork big{{kDefaultTablespaceOid, db, f.number("big_relfilenode")}, ForkNumber::main};
  const RelationFork shrink{{kDefaultTablespaceOid, db, f.number("shrink_relfilenode")}, ForkNumber::main};
  const RelationFork shrink_vm{shrink.rel, ForkNumber::visibility_map};
  ChangeMap all;
  for (const SummaryFixture& s : f.summaries) all.merge(read_wal_summary(s.content, s.name));
  // Created in the first stretch: limit 0, and more blocks than a chunk holds as an array.
  EXPECT_EQ(all.limit(big), 0u);
  EXPECT_GE(all_blocks(all, big).size(), 4096u);
  // Cut by VACUUM to its new length (the smallest limit wins: it was also created, limit 0).
  bool truncated = false;
  for (const SummaryFixture& s : f.summaries) {
    const ChangeMap one = read_wal_summary(s.content, s.name);
    if (one.limit(shrink) == f.number("shrink_blocks")) truncated = one.limit(shrink_vm).has_value();
  }
  EXPECT_TRUE(truncated);
  // A database created and dropped: relfilenode 0 with limit 0.
  EXPECT_EQ(all.database_count(), 1u);
  for (const SummaryFixture& s : f.summaries)
    for (const auto& [fork, rows] : s.rows)
      if (fork.rel.rel_number == 0) {
        EXPECT_TRUE(all.database_changed({fork.rel.spc_oid, fork.rel.db_oid}));
        EXPECT_EQ(rows.limit, 0u);
      }
  // The summarizer leaves the free space map out.
  for (const SummaryFixture& s : f.summaries)
    for (const auto& [fork, rows] : s.rows) EXPECT_NE(fork.fork, ForkNumber::fsm);
}

TEST_P(WalSummaryFixture, FlippedByteIsACrcMismatchNamingTheFile) {
  const MajorFixtures f = load(GetParam());
  const SummaryFixture& s = f.summaries.front();
  // A byte of the first entry's limit block: every value there is well formed, so only the CRC
  // can tell.
  Bytes damaged = s.content;
  damaged[4 + 16] ^= 0x01;
  const Error e = read_error(damaged, s.name);
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(std::string(e.what()).starts_with("WAL summary " + s.name + ": CRC-32C mismatch (stored "))
      << e.what();
  // The stored CRC itself.
  damaged = s.content;
  damaged.back() ^= 0x80;
  EXPECT_TRUE(std::string(read_error(damaged, s.name).what()).find("CRC-32C mismatch") != std::string::npos);
}

TEST_P(WalSummaryFixture, EveryTruncationIsRefused) {
  const MajorFixtures f = load(GetParam());
  for (const SummaryFixture& s : f.summaries) {
    // Every length of the small ones, a spread of the large ones.
    const std::size_t step = s.content.size() < 2048 ? 1 : 97;
    for (std::size_t n = 0; n < s.content.size(); n += step) {
      const Error e = read_error(ByteView(s.content).first(n), s.name);
      EXPECT_EQ(e.kind(), ErrorKind::corrupt) << s.name << " cut to " << n;
      EXPECT_TRUE(std::string(e.what()).starts_with("WAL summary " + s.name + ": ")) << e.what();
    }
  }
  const SummaryFixture& s = f.summaries.front();
  EXPECT_NE(std::string(read_error(ByteView(s.content).first(s.content.size() / 2), s.name).what()).find("(truncated?)"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Majors, WalSummaryFixture, testing::Values(17, 18),
                         [](const testing::TestParamInfo<int>& i) { return "pg" + std::to_string(i.param); });

TEST(WalSummaryFile, ReadsChunksArraysAndBitmaps) {
  const Bytes file = SummaryBuilder()
                         .entry(kRel, 0, 0xFFFFFFFF,
                                {{0, {7, 3, 65535}, false}, {3, {5}, false}, {65535, {0, 65534}, true}})
                         .entry(kRel, 2, 10, {})
                         .finish();
  const ChangeMap map = read_wal_summary(file, "x.summary");
  const RelationFork main{kRel, ForkNumber::main};
  EXPECT_EQ(all_blocks(map, main),
            (std::vector<std::uint32_t>{3, 7, 65535, 3 * 65536 + 5, 0xFFFF0000u, 0xFFFFFFFEu}));
  EXPECT_EQ(map.limit(main), std::nullopt);
  EXPECT_EQ(map.limit({kRel, ForkNumber::visibility_map}), 10u);
  EXPECT_EQ(map.fork_count(), 2u);
  EXPECT_EQ(map.database_count(), 0u);
}

TEST(WalSummaryFile, RelfilenumberZeroMarksTheWholeDatabase) {
  const Bytes file = SummaryBuilder().entry({1663, 16404, 0}, 0, 0, {}).finish();
  const ChangeMap map = read_wal_summary(file, "x.summary");
  EXPECT_TRUE(map.database_changed({1663, 16404}));
  EXPECT_FALSE(map.database_changed({1663, 5}));
  EXPECT_EQ(map.limit({{1663, 16404, 0}, ForkNumber::main}), 0u);
}

TEST(WalSummaryFile, EmptySummaryIsAnEmptyMap) {
  const ChangeMap map = read_wal_summary(SummaryBuilder().finish(), "x.summary");
  EXPECT_EQ(map.fork_count(), 0u);
  EXPECT_EQ(map.block_count(), 0u);
}

TEST(WalSummaryFile, RefusesWhatBlkreftableNeverWrites) {
  auto message = [](const Bytes& b) { return std::string(read_error(b, "f.summary").what()); };
  Bytes magic = SummaryBuilder().finish();
  magic[0] = 0x7C;
  EXPECT_EQ(message(magic), "WAL summary f.summary: wrong magic number 0x652B137C, expected 0x652B137B");
  EXPECT_EQ(message({}), "WAL summary f.summary: ends at byte 0 inside its magic number (truncated?)");

  Bytes fork = SummaryBuilder().entry(kRel, 4, 0xFFFFFFFF, {}).raw();
  fork.insert(fork.end(), 24, 0);
  EXPECT_EQ(message(with_crc(fork)), "WAL summary f.summary: entry 0 at byte 4 has fork number 4");

  Bytes usage = SummaryBuilder().entry(kRel, 0, 0xFFFFFFFF, {{0, {1}, false}}).raw();
  usage[4 + 24] = 0x01;  // usage 4097
  usage[4 + 25] = 0x10;
  usage.insert(usage.end(), 24, 0);
  EXPECT_EQ(message(with_crc(usage)), "WAL summary f.summary: entry 0 at byte 4 has chunk 0 of usage 4097, above 4096");

  Bytes chunks = SummaryBuilder().entry(kRel, 0, 0xFFFFFFFF, {}).raw();
  chunks[4 + 20] = 0x01;  // 65537 chunks
  chunks[4 + 22] = 0x01;
  EXPECT_EQ(message(with_crc(chunks)),
            "WAL summary f.summary: entry 0 at byte 4 has 65537 chunks, more than block numbers allow");

  const Bytes top = SummaryBuilder().entry(kRel, 0, 0xFFFFFFFF, {{65535, {65535}, false}}).finish();
  EXPECT_EQ(message(top),
            "WAL summary f.summary: chunk 65535 of entry 0 at byte 4 holds block 4294967295, which no relation can have");

  Bytes trailing = SummaryBuilder().finish();
  trailing.push_back(0);
  EXPECT_EQ(message(trailing), "WAL summary f.summary: 1 byte(s) after the CRC at byte 28");

  // A usage array longer than the file: checked before it is read.
  Bytes long_array = SummaryBuilder().entry(kRel, 0, 0xFFFFFFFF, {}).raw();
  long_array[4 + 20] = 0x00;
  long_array[4 + 21] = 0x10;  // 4096 chunks, 8 KiB of usage that is not there
  EXPECT_EQ(message(long_array),
            "WAL summary f.summary: ends at byte 28 inside the chunk usage array of entry 0 at byte 4 (truncated?)");
}

}  // namespace
}  // namespace pgdr::pg
