// The journal of a segment being streamed into a local repository: one file that each flush of
// `pgdr wal-stream` appends a sealed record to and makes durable with one fdatasync, instead of a
// new object per flush (a file created, renamed and its directory synced: twice the device flushes,
// which a synchronous standby's every commit waits for). The file is written whole, header and
// zeros, when it is created, so an append changes no metadata.
//
//   stream/<timeline, 8 hex>/<segment name>.<start, 8 hex>.journal
//   journal   = "PGDRJRNL" | version u8 (1) | record* | zeros to the end of the file
//   record    = sealed_length u32le | start u32le | sealed = nonce(12) ciphertext tag(16)
//   plaintext = the segment's WAL bytes [start, start + sealed_length - 28)
//   aad       = "pgdr-v1 journal " | segment name | start u32le
//
// The first record starts at the start the name gives, each next one where the previous ended. A
// reader stops at the first zero length. A record that fails its checks and is followed by zeros
// only is an append a crash cut short before it was made durable (so never acknowledged): the end.
// Anything else is corruption. A journal is removed once its segment is stored whole in wal/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "io/aead.h"
#include "repo/repository.h"

namespace pgdr::repo {

inline constexpr std::string_view kJournalSuffix = ".journal";

// The journal object of segment_name whose first record starts at start.
std::string journal_object(const std::string& segment_name, std::uint64_t start);

class JournalWriter {
 public:
  // Creates the journal (durable and visible, holding no record yet) with room for the rest of the
  // segment from start in records of any size down to about 600 bytes of WAL; smaller flushes may
  // fill it first (fits() then says so and the caller starts a new journal).
  JournalWriter(const Repository& repo, const std::string& segment_name, std::uint64_t start,
                std::uint64_t segment_bytes);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  const std::string& segment_name() const { return segment_name_; }
  // The segment offset up to which WAL is durable in the journal.
  std::uint64_t end() const { return end_; }
  bool fits(std::size_t wal_bytes) const;
  // Appends the segment's WAL bytes [end(), end() + data.size()) and makes them durable.
  void append(ByteView data);

 private:
  std::string segment_name_;
  std::string object_;
  std::unique_ptr<storage::Updater> file_;
  io::Aead aead_;
  std::uint64_t end_;
  std::uint64_t write_at_;  // file offset of the next record
  std::uint64_t capacity_;  // file size
  Bytes record_;
};

// The WAL bytes journal `object` of segment_name holds, from `start` (its name's) on, each record
// authenticated. Throws Error(corrupt) naming the object and the offset of what is wrong.
Bytes read_journal(const Repository& repo, const std::string& object, const std::string& segment_name,
                   std::uint64_t start);

}  // namespace pgdr::repo
