#include "pg/wal_summary_file.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "core/little_endian.h"
#include "pg/crc32c.h"

namespace pgdr::pg {

namespace {

// src/include/common/blkreftable.h and the constants of src/common/blkreftable.c.
constexpr std::uint32_t kMagic = 0x652B137B;
constexpr std::uint32_t kBlocksPerChunk = 65536;
// A chunk of this usage is a bitmap of kBlocksPerChunk bits in u16 words, not an offset array.
constexpr std::uint32_t kMaxEntriesPerChunk = kBlocksPerChunk / 16;
// Block numbers are u32, so a relation fork has at most 2^32 / 65536 chunks.
constexpr std::uint64_t kMaxChunks = (std::uint64_t{1} << 32) / kBlocksPerChunk;
constexpr std::uint32_t kInvalidBlockNumber = 0xFFFFFFFF;
constexpr std::size_t kEntryBytes = 24;  // sizeof(BlockRefTableSerializedEntry)
constexpr std::uint32_t kMaxForkNumber = 3;  // INIT_FORKNUM

constexpr std::string_view kNameSuffix = ".summary";
constexpr std::size_t kNameHexDigits = 40;

bool upper_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

std::uint64_t hex_value(std::string_view digits) {
  std::uint64_t v = 0;
  for (char c : digits) v = v << 4 | static_cast<std::uint64_t>(hex_digit_value(c));
  return v;
}

std::string hex32(std::uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", v);
  return buf;
}

// Reads one summary file front to back, as BlockRefTableReaderNextRelation and
// BlockRefTableReaderGetBlocks do, checking each length against what remains before using it.
class SummaryReader {
 public:
  SummaryReader(ByteView content, std::string_view file) : in_(content), file_(file) {}

  ChangeMap read() {
    need(4, "its magic number");
    if (std::uint32_t magic = get_u32le(at()); magic != kMagic)
      fail("wrong magic number 0x" + hex32(magic) + ", expected 0x" + hex32(kMagic));
    pos_ += 4;
    for (std::size_t entry = 0;; ++entry) {
      need(kEntryBytes, "entry " + std::to_string(entry) + " or the sentinel");
      if (std::all_of(at(), at() + kEntryBytes, [](std::uint8_t b) { return b == 0; })) {
        pos_ += kEntryBytes;
        break;
      }
      read_entry(entry);
    }
    check_crc();
    return std::move(map_);
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorKind::corrupt, "WAL summary " + std::string(file_) + ": " + why);
  }

  void need(std::uint64_t bytes, const std::string& what) const {
    if (bytes > in_.size() - pos_)
      fail("ends at byte " + std::to_string(in_.size()) + " inside " + what + " (truncated?)");
  }

  const std::uint8_t* at() const { return in_.data() + pos_; }

  void read_entry(std::size_t entry) {
    const std::size_t entry_offset = pos_;
    const std::uint8_t* p = at();
    RelationFork fork;
    fork.rel.spc_oid = get_u32le(p);
    fork.rel.db_oid = get_u32le(p + 4);
    fork.rel.rel_number = get_u32le(p + 8);
    const std::uint32_t fork_number = get_u32le(p + 12);  // a C enum: int32 on disk
    const std::uint32_t limit_block = get_u32le(p + 16);
    const std::uint32_t chunk_count = get_u32le(p + 20);
    pos_ += kEntryBytes;
    const std::string where = "entry " + std::to_string(entry) + " at byte " + std::to_string(entry_offset);
    if (fork_number > kMaxForkNumber)
      fail(where + " has fork number " + std::to_string(static_cast<std::int32_t>(fork_number)));
    fork.fork = static_cast<ForkNumber>(fork_number);
    if (chunk_count > kMaxChunks)
      fail(where + " has " + std::to_string(chunk_count) + " chunks, more than block numbers allow");
    need(std::uint64_t{chunk_count} * 2, "the chunk usage array of " + where);
    std::vector<std::uint16_t> usage(chunk_count);
    for (std::uint32_t c = 0; c < chunk_count; ++c) {
      usage[c] = get_u16le(at());
      pos_ += 2;
      if (usage[c] > kMaxEntriesPerChunk)
        fail(where + " has chunk " + std::to_string(c) + " of usage " + std::to_string(usage[c]) + ", above " +
             std::to_string(kMaxEntriesPerChunk));
    }

    if (limit_block != kInvalidBlockNumber) map_.add_limit(fork, limit_block);
    // relfilenumber 0 is never a relation: the summarizer's mark for a database created or
    // dropped as a whole (SummarizeDbaseRecord in walsummarizer.c).
    if (fork.rel.rel_number == 0) map_.add_database({fork.rel.spc_oid, fork.rel.db_oid});

    for (std::uint32_t c = 0; c < chunk_count; ++c) {
      if (usage[c] == 0) continue;
      const std::uint32_t base = c * kBlocksPerChunk;
      const std::string chunk = "chunk " + std::to_string(c) + " of " + where;
      need(std::uint64_t{usage[c]} * 2, chunk);
      if (usage[c] == kMaxEntriesPerChunk) {
        for (std::uint32_t word = 0; word < kMaxEntriesPerChunk; ++word) {
          const std::uint16_t bits = get_u16le(at() + 2 * word);
          for (std::uint32_t bit = 0; bit < 16; ++bit)
            if (bits & (1u << bit)) add_block(fork, base + word * 16 + bit, chunk);
        }
      } else {
        for (std::uint32_t i = 0; i < usage[c]; ++i) add_block(fork, base + get_u16le(at() + 2 * i), chunk);
      }
      pos_ += std::size_t{usage[c]} * 2;
    }
  }

  void add_block(const RelationFork& fork, std::uint32_t block, const std::string& chunk) {
    if (block == kInvalidBlockNumber) fail(chunk + " holds block 4294967295, which no relation can have");
    map_.add_block(fork, block);
  }

  void check_crc() {
    const std::size_t covered = pos_;
    need(4, "its CRC");
    const std::uint32_t stored = get_u32le(at());
    pos_ += 4;
    const std::uint32_t computed = crc32c(in_.first(covered));
    if (stored != computed) fail("CRC-32C mismatch (stored " + hex32(stored) + ", computed " + hex32(computed) + ")");
    if (pos_ != in_.size())
      fail(std::to_string(in_.size() - pos_) + " byte(s) after the CRC at byte " + std::to_string(covered));
  }

  ByteView in_;
  std::string_view file_;
  std::size_t pos_ = 0;
  ChangeMap map_;
};

}  // namespace

std::optional<WalSummaryName> parse_wal_summary_file_name(std::string_view name) {
  if (name.size() != kNameHexDigits + kNameSuffix.size() || !name.ends_with(kNameSuffix)) return std::nullopt;
  if (!std::all_of(name.begin(), name.begin() + kNameHexDigits, upper_hex)) return std::nullopt;
  WalSummaryName out;
  out.timeline = static_cast<std::uint32_t>(hex_value(name.substr(0, 8)));
  out.start = Lsn{hex_value(name.substr(8, 16))};
  out.end = Lsn{hex_value(name.substr(24, 16))};
  return out;
}

std::string wal_summary_file_name(const WalSummaryName& name) {
  return hex32(name.timeline) + hex32(static_cast<std::uint32_t>(name.start.value >> 32)) +
         hex32(static_cast<std::uint32_t>(name.start.value)) + hex32(static_cast<std::uint32_t>(name.end.value >> 32)) +
         hex32(static_cast<std::uint32_t>(name.end.value)) + std::string(kNameSuffix);
}

ChangeMap read_wal_summary(ByteView content, std::string_view file) { return SummaryReader(content, file).read(); }

}  // namespace pgdr::pg
