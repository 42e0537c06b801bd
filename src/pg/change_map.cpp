#include "pg/change_map.h"

#include <algorithm>
#include <bit>
#include <iterator>

#include "core/error.h"
#include "core/little_endian.h"
#include "pg/crc32c.h"

// Byte form, version 1 (all integers little-endian):
//
//   map      = "PGDRCMAP" | version u32 | fork_count u32 | fork* | database_count u32 | database* |
//              crc32c u32 (over every byte before it)
//   fork     = spc_oid u32 | db_oid u32 | rel_number u32 | fork u8 (0-3) | has_limit u8 (0/1) |
//              limit u32 (0 without a limit) | chunk_count u32 | chunk*
//   chunk    = index u16 (block / 65536) | count u32 (1-65536) |
//              count < 4096: count offsets u16, strictly increasing
//              otherwise:    the 65536-bit bitmap, 8192 bytes, bit i of byte j = offset 8j+i,
//                            with exactly count bits set
//   database = spc_oid u32 | db_oid u32
//
// Forks, chunks and databases are in strictly increasing order, and a fork has a limit or a chunk:
// a map has exactly one encoding, so equal maps encode to equal bytes.

namespace pgdr::pg {

namespace {

constexpr std::uint32_t kChunkBlocks = 65536;
// A chunk holds its offsets in an array while there are fewer than this, in a bitmap from then on:
// 4096 offsets of 2 bytes take what the 8 KiB bitmap takes.
constexpr std::uint32_t kBitmapFrom = 4096;
constexpr std::size_t kBitmapWords = kChunkBlocks / 64;
constexpr std::size_t kBitmapBytes = kChunkBlocks / 8;

constexpr char kMagic[8] = {'P', 'G', 'D', 'R', 'C', 'M', 'A', 'P'};
constexpr std::uint32_t kVersion = 1;

// What memory_bytes() counts beyond the objects themselves: libstdc++'s red-black tree node
// header (colour and three pointers) and glibc malloc's per-allocation header, rounded to its
// 16-byte alignment.
constexpr std::size_t kTreeNodeBytes = 32;
constexpr std::size_t kAllocationBytes = 16;

}  // namespace

struct ChangeMap::Forks {
  struct Chunk {
    std::vector<std::uint16_t> offsets;      // sorted; used while count < kBitmapFrom
    std::unique_ptr<std::uint64_t[]> bits;   // kBitmapWords words from then on
    std::uint32_t count = 0;

    bool test(std::uint32_t offset) const {
      if (bits) return (bits[offset / 64] >> (offset % 64)) & 1;
      return std::binary_search(offsets.begin(), offsets.end(), static_cast<std::uint16_t>(offset));
    }
    void to_bitmap() {
      bits = std::make_unique<std::uint64_t[]>(kBitmapWords);  // zeroed
      for (std::uint16_t o : offsets) bits[o / 64] |= std::uint64_t{1} << (o % 64);
      std::vector<std::uint16_t>().swap(offsets);
    }
    void add(std::uint16_t offset) {
      if (bits) {
        std::uint64_t& w = bits[offset / 64];
        const std::uint64_t bit = std::uint64_t{1} << (offset % 64);
        if (!(w & bit)) {
          w |= bit;
          ++count;
        }
        return;
      }
      auto it = std::lower_bound(offsets.begin(), offsets.end(), offset);
      if (it != offsets.end() && *it == offset) return;
      if (count + 1 >= kBitmapFrom) {
        to_bitmap();
        add(offset);
        return;
      }
      // Grown by hand so that the array never holds room for kBitmapFrom offsets or more: the
      // memory bound counts on it.
      if (offsets.size() == offsets.capacity()) {
        const std::size_t pos = static_cast<std::size_t>(it - offsets.begin());
        offsets.reserve(std::min<std::size_t>(kBitmapFrom - 1, std::max<std::size_t>(8, offsets.capacity() * 2)));
        it = offsets.begin() + static_cast<std::ptrdiff_t>(pos);
      }
      offsets.insert(it, offset);
      ++count;
    }
    void merge(const Chunk& other) {
      if (other.bits || bits) {
        if (!bits) to_bitmap();
        if (other.bits) {
          for (std::size_t i = 0; i < kBitmapWords; ++i) bits[i] |= other.bits[i];
        } else {
          for (std::uint16_t o : other.offsets) bits[o / 64] |= std::uint64_t{1} << (o % 64);
        }
        count = 0;
        for (std::size_t i = 0; i < kBitmapWords; ++i) count += static_cast<std::uint32_t>(std::popcount(bits[i]));
        return;
      }
      std::vector<std::uint16_t> both;
      both.reserve(offsets.size() + other.offsets.size());
      std::set_union(offsets.begin(), offsets.end(), other.offsets.begin(), other.offsets.end(),
                     std::back_inserter(both));
      offsets = std::move(both);
      count = static_cast<std::uint32_t>(offsets.size());
      if (count >= kBitmapFrom) to_bitmap();
      else offsets.shrink_to_fit();
    }
    // Calls f(offset) for the offsets in [lo, hi], in increasing order.
    template <typename F>
    void for_each(std::uint32_t lo, std::uint32_t hi, F f) const {
      if (!bits) {
        for (auto it = std::lower_bound(offsets.begin(), offsets.end(), lo); it != offsets.end() && *it <= hi; ++it)
          f(std::uint32_t{*it});
        return;
      }
      for (std::size_t w = lo / 64; w <= hi / 64; ++w) {
        std::uint64_t word = bits[w];
        while (word) {
          const std::uint32_t o = static_cast<std::uint32_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(word)));
          word &= word - 1;
          if (o < lo) continue;
          if (o > hi) return;
          f(o);
        }
      }
    }
    bool operator==(const Chunk& other) const {
      if (count != other.count) return false;
      if (bits && other.bits) return std::equal(bits.get(), bits.get() + kBitmapWords, other.bits.get());
      if (!bits && !other.bits) return offsets == other.offsets;
      const Chunk& array = bits ? other : *this;
      const Chunk& bitmap = bits ? *this : other;
      return std::all_of(array.offsets.begin(), array.offsets.end(), [&](std::uint16_t o) { return bitmap.test(o); });
    }
    std::size_t heap_bytes() const {
      if (bits) return kBitmapBytes + kAllocationBytes;
      return offsets.capacity() == 0 ? 0 : offsets.capacity() * sizeof(std::uint16_t) + kAllocationBytes;
    }
  };

  struct Entry {
    std::optional<std::uint32_t> limit;
    std::map<std::uint32_t, Chunk> chunks;  // by block / kChunkBlocks
    bool operator==(const Entry&) const = default;
  };

  std::map<RelationFork, Entry> entries;
};

ChangeMap::ChangeMap() : forks_(std::make_unique<Forks>()) {}
ChangeMap::~ChangeMap() = default;
ChangeMap::ChangeMap(ChangeMap&&) noexcept = default;
ChangeMap& ChangeMap::operator=(ChangeMap&&) noexcept = default;

// A moved-from map has no Forks; it reads as empty and gets a new one when written to, so that
// the moves need not allocate.
ChangeMap::Forks& ChangeMap::forks() {
  if (!forks_) forks_ = std::make_unique<Forks>();
  return *forks_;
}
const ChangeMap::Forks& ChangeMap::forks() const {
  static const Forks kEmpty;
  return forks_ ? *forks_ : kEmpty;
}

void ChangeMap::add_block(const RelationFork& fork, std::uint32_t block) {
  forks().entries[fork].chunks[block / kChunkBlocks].add(static_cast<std::uint16_t>(block % kChunkBlocks));
}

void ChangeMap::add_limit(const RelationFork& fork, std::uint32_t limit_block) {
  auto& limit = forks().entries[fork].limit;
  limit = limit ? std::min(*limit, limit_block) : limit_block;
}

void ChangeMap::add_database(const DatabaseKey& db) { databases_.insert(db); }

void ChangeMap::merge(const ChangeMap& other) {
  if (&other == this) return;
  for (const auto& [fork, theirs] : other.forks().entries) {
    auto& mine = forks().entries[fork];
    if (theirs.limit) mine.limit = mine.limit ? std::min(*mine.limit, *theirs.limit) : *theirs.limit;
    for (const auto& [index, chunk] : theirs.chunks) mine.chunks[index].merge(chunk);
  }
  databases_.insert(other.databases_.begin(), other.databases_.end());
}

bool ChangeMap::database_changed(const DatabaseKey& db) const { return databases_.contains(db); }

std::optional<std::uint32_t> ChangeMap::limit(const RelationFork& fork) const {
  auto it = forks().entries.find(fork);
  if (it == forks().entries.end()) return std::nullopt;
  return it->second.limit;
}

void ChangeMap::blocks_in(const RelationFork& fork, std::uint32_t first, std::uint32_t end,
                          std::vector<std::uint32_t>& out) const {
  if (first >= end) return;
  auto fit = forks().entries.find(fork);
  if (fit == forks().entries.end()) return;
  const std::uint32_t last = end - 1;
  const auto& chunks = fit->second.chunks;
  for (auto it = chunks.lower_bound(first / kChunkBlocks); it != chunks.end() && it->first <= last / kChunkBlocks;
       ++it) {
    const std::uint32_t base = it->first * kChunkBlocks;
    const std::uint32_t lo = first > base ? first - base : 0;
    const std::uint32_t hi = std::min<std::uint32_t>(last - base, kChunkBlocks - 1);
    it->second.for_each(lo, hi, [&](std::uint32_t offset) { out.push_back(base + offset); });
  }
}

std::uint64_t ChangeMap::block_count() const {
  std::uint64_t n = 0;
  for (const auto& [fork, entry] : forks().entries)
    for (const auto& [index, chunk] : entry.chunks) n += chunk.count;
  return n;
}

std::size_t ChangeMap::fork_count() const { return forks().entries.size(); }
std::size_t ChangeMap::database_count() const { return databases_.size(); }

std::size_t ChangeMap::memory_bytes() const {
  constexpr std::size_t kForkNode =
      kTreeNodeBytes + sizeof(std::pair<const RelationFork, Forks::Entry>) + kAllocationBytes;
  constexpr std::size_t kChunkNode =
      kTreeNodeBytes + sizeof(std::pair<const std::uint32_t, Forks::Chunk>) + kAllocationBytes;
  constexpr std::size_t kDatabaseNode = kTreeNodeBytes + sizeof(DatabaseKey) + kAllocationBytes;
  std::size_t n = sizeof(Forks) + kAllocationBytes + databases_.size() * kDatabaseNode;
  for (const auto& [fork, entry] : forks().entries) {
    n += kForkNode;
    for (const auto& [index, chunk] : entry.chunks) n += kChunkNode + chunk.heap_bytes();
  }
  return n;
}

Bytes ChangeMap::encode() const {
  Bytes out(std::begin(kMagic), std::end(kMagic));
  put_u32le(out, kVersion);
  put_u32le(out, static_cast<std::uint32_t>(forks().entries.size()));
  for (const auto& [fork, entry] : forks().entries) {
    put_u32le(out, fork.rel.spc_oid);
    put_u32le(out, fork.rel.db_oid);
    put_u32le(out, fork.rel.rel_number);
    out.push_back(static_cast<std::uint8_t>(fork.fork));
    out.push_back(entry.limit ? 1 : 0);
    put_u32le(out, entry.limit.value_or(0));
    put_u32le(out, static_cast<std::uint32_t>(entry.chunks.size()));
    for (const auto& [index, chunk] : entry.chunks) {
      put_u16le(out, static_cast<std::uint16_t>(index));
      put_u32le(out, chunk.count);
      if (chunk.count < kBitmapFrom) {
        chunk.for_each(0, kChunkBlocks - 1, [&](std::uint32_t o) { put_u16le(out, static_cast<std::uint16_t>(o)); });
      } else {
        for (std::size_t w = 0; w < kBitmapWords; ++w) put_u64le(out, chunk.bits[w]);
      }
    }
  }
  put_u32le(out, static_cast<std::uint32_t>(databases_.size()));
  for (const DatabaseKey& db : databases_) {
    put_u32le(out, db.spc_oid);
    put_u32le(out, db.db_oid);
  }
  put_u32le(out, crc32c(out));
  return out;
}

namespace {

// Reads the fields of a change map in order; every read past the body (the bytes before the CRC)
// is a truncation.
class MapCursor {
 public:
  MapCursor(ByteView body, const std::string& what) : body_(body), what_(what) {}

  [[noreturn]] void fail(const std::string& why) const { throw Error(ErrorKind::corrupt, what_ + ": " + why); }
  const std::uint8_t* take(std::size_t n, const char* field) {
    if (body_.size() - pos_ < n)
      fail(std::string("truncated in ") + field + " at byte " + std::to_string(pos_));
    const std::uint8_t* p = body_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::uint8_t u8(const char* field) { return *take(1, field); }
  std::uint16_t u16(const char* field) { return get_u16le(take(2, field)); }
  std::uint32_t u32(const char* field) { return get_u32le(take(4, field)); }
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return body_.size() - pos_; }

 private:
  ByteView body_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

}  // namespace

ChangeMap ChangeMap::decode(ByteView bytes, const std::string& what) {
  auto fail = [&](const std::string& why) -> void { throw Error(ErrorKind::corrupt, what + ": " + why); };
  constexpr std::size_t kMinBytes = sizeof kMagic + 4 + 4 + 4 + 4;
  if (bytes.size() < kMinBytes)
    fail(std::to_string(bytes.size()) + " bytes, shorter than the smallest change map (" + std::to_string(kMinBytes) +
         ")");
  if (!std::equal(std::begin(kMagic), std::end(kMagic), bytes.begin())) fail("not a change map (wrong magic)");
  const std::uint32_t version = get_u32le(bytes.data() + sizeof kMagic);
  if (version != kVersion)
    fail("change map version " + std::to_string(version) + ", where this pgdr reads version " +
         std::to_string(kVersion));
  const ByteView body = bytes.first(bytes.size() - 4);
  const std::uint32_t stored = get_u32le(bytes.data() + body.size());
  const std::uint32_t computed = crc32c(body);
  if (stored != computed) fail("checksum mismatch (damaged or truncated)");

  MapCursor in(body, what);
  in.take(sizeof kMagic + 4, "header");
  ChangeMap map;
  const std::uint32_t fork_count = in.u32("fork count");
  // Each fork takes at least 22 bytes: a count past what the body can hold must not run long.
  if (fork_count > in.left() / 22) in.fail("fork count " + std::to_string(fork_count) + " exceeds the map's size");
  std::optional<RelationFork> previous_fork;
  for (std::uint32_t i = 0; i < fork_count; ++i) {
    RelationFork fork;
    fork.rel.spc_oid = in.u32("fork entry");
    fork.rel.db_oid = in.u32("fork entry");
    fork.rel.rel_number = in.u32("fork entry");
    const std::uint8_t fork_number = in.u8("fork entry");
    if (fork_number > static_cast<std::uint8_t>(ForkNumber::init))
      in.fail("fork entry " + std::to_string(i) + " has invalid fork number " + std::to_string(fork_number));
    fork.fork = static_cast<ForkNumber>(fork_number);
    if (previous_fork && !(*previous_fork < fork))
      in.fail("fork entry " + std::to_string(i) + " is out of order or repeated");
    previous_fork = fork;
    const std::uint8_t has_limit = in.u8("fork entry");
    const std::uint32_t limit = in.u32("fork entry");
    if (has_limit > 1) in.fail("fork entry " + std::to_string(i) + " has invalid limit flag " + std::to_string(has_limit));
    if (!has_limit && limit != 0)
      in.fail("fork entry " + std::to_string(i) + " has a limit block without its flag");
    const std::uint32_t chunk_count = in.u32("fork entry");
    if (chunk_count > kChunkBlocks || chunk_count > in.left() / 8)
      in.fail("fork entry " + std::to_string(i) + " has chunk count " + std::to_string(chunk_count) +
              " beyond the map's size");
    if (!has_limit && chunk_count == 0) in.fail("fork entry " + std::to_string(i) + " has neither limit nor blocks");
    Forks::Entry& entry = map.forks().entries[fork];
    if (has_limit) entry.limit = limit;
    std::optional<std::uint16_t> previous_index;
    for (std::uint32_t c = 0; c < chunk_count; ++c) {
      const std::uint16_t index = in.u16("chunk header");
      if (previous_index && index <= *previous_index)
        in.fail("chunk " + std::to_string(index) + " of fork entry " + std::to_string(i) + " is out of order or repeated");
      previous_index = index;
      const std::uint32_t count = in.u32("chunk header");
      if (count == 0 || count > kChunkBlocks)
        in.fail("chunk " + std::to_string(index) + " of fork entry " + std::to_string(i) + " has invalid block count " +
                std::to_string(count));
      Forks::Chunk& chunk = entry.chunks[index];
      if (count < kBitmapFrom) {
        const std::uint8_t* p = in.take(std::size_t{count} * 2, "chunk offsets");
        chunk.offsets.reserve(count);
        for (std::uint32_t k = 0; k < count; ++k) {
          const std::uint16_t o = get_u16le(p + 2 * k);
          if (!chunk.offsets.empty() && o <= chunk.offsets.back())
            in.fail("chunk " + std::to_string(index) + " of fork entry " + std::to_string(i) +
                    " has offsets out of order or repeated");
          chunk.offsets.push_back(o);
        }
      } else {
        const std::uint8_t* p = in.take(kBitmapBytes, "chunk bitmap");
        chunk.bits = std::make_unique<std::uint64_t[]>(kBitmapWords);
        std::uint32_t set = 0;
        for (std::size_t w = 0; w < kBitmapWords; ++w) {
          chunk.bits[w] = get_u64le(p + 8 * w);
          set += static_cast<std::uint32_t>(std::popcount(chunk.bits[w]));
        }
        if (set != count)
          in.fail("chunk " + std::to_string(index) + " of fork entry " + std::to_string(i) + " has " +
                  std::to_string(set) + " bits set where its count says " + std::to_string(count));
      }
      chunk.count = count;
    }
  }
  const std::uint32_t database_count = in.u32("database count");
  if (database_count > in.left() / 8)
    in.fail("database count " + std::to_string(database_count) + " exceeds the map's size");
  for (std::uint32_t i = 0; i < database_count; ++i) {
    DatabaseKey db;
    db.spc_oid = in.u32("database entry");
    db.db_oid = in.u32("database entry");
    if (!map.databases_.empty() && !(*map.databases_.rbegin() < db))
      in.fail("database entry " + std::to_string(i) + " is out of order or repeated");
    map.databases_.insert(map.databases_.end(), db);
  }
  if (in.left() != 0) in.fail(std::to_string(in.left()) + " trailing bytes after the databases");
  return map;
}

bool ChangeMap::operator==(const ChangeMap& other) const {
  return databases_ == other.databases_ && forks().entries == other.forks().entries;
}

}  // namespace pgdr::pg
