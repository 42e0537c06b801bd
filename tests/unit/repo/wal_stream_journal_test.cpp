#include "repo/wal_stream_journal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/little_endian.h"
#include "repo/wal_stream_objects.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::contains;
using test::error_of;

constexpr std::uint64_t kSeg = 1u << 20;
const std::string kName = "000000010000000000000003";

class WalStreamJournalTest : public test::OpenRepoTestBase {
 protected:
  std::string file(const std::string& object) const { return dir_.path() + "/" + object; }
  Bytes raw(const std::string& object) const { return *store_.read(object); }
  void put(const std::string& object, const Bytes& bytes) const {
    std::ofstream out(file(object), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  // File offset of the first byte after the last record (the journal's zeros start there).
  std::size_t used(const Bytes& bytes) const {
    std::size_t at = 9;
    while (at + 8 <= bytes.size() && get_u32le(bytes.data() + at) != 0) at += 8 + get_u32le(bytes.data() + at);
    return at;
  }
};

TEST_F(WalStreamJournalTest, RecordsReadBackInOrderAndTheFileNeverGrows) {
  Bytes data = test::random_data(200000, 1);
  JournalWriter w(repo(), kName, 0, kSeg);
  const std::string object = journal_object(kName, 0);
  EXPECT_EQ(object, "stream/00000001/" + kName + ".00000000.journal");
  const auto size = store_.stat(object)->size_bytes;
  EXPECT_GE(size, kSeg);  // written whole when created: appends change no metadata
  w.append(ByteView(data.data(), 1000));
  w.append(ByteView(data.data() + 1000, 150000));
  w.append(ByteView(data.data() + 151000, 49000));
  EXPECT_EQ(w.end(), 200000u);
  EXPECT_EQ(store_.stat(object)->size_bytes, size);
  EXPECT_EQ(read_journal(repo(), object, kName, 0), data);

  auto listed = list_streamed(repo(), kSeg);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].contiguous_bytes, 200000u);
  EXPECT_EQ(read_streamed_segment(repo(), listed[0]), data);
  // Without a key only the name is known: the segment is listed, its journal's end is not.
  auto names_only = list_streamed(store_, kSeg);
  ASSERT_EQ(names_only.size(), 1u);
  EXPECT_EQ(names_only[0].contiguous_bytes, 0u);
  remove_streamed_segment(repo(), names_only[0]);
  EXPECT_TRUE(list_streamed(repo(), kSeg).empty());
}

TEST_F(WalStreamJournalTest, JournalsAndChunksOfOneSegmentCombine) {
  // A receiver restarted mid-segment starts a journal at its resume offset; an object-store
  // repository's chunks and a journal may overlap: the same WAL.
  Bytes data = test::random_data(30000, 2);
  write_stream_chunk(repo(), kName, 0, ByteView(data.data(), 10000));
  JournalWriter w(repo(), kName, 8000, kSeg);
  w.append(ByteView(data.data() + 8000, 22000));
  auto listed = list_streamed(repo(), kSeg);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].contiguous_bytes, 30000u);
  EXPECT_EQ(read_streamed_segment(repo(), listed[0]), data);
  EXPECT_EQ(fetch_newest_streamed_segment(repo(), kName, kSeg)->size(), kSeg);
}

TEST_F(WalStreamJournalTest, AFullJournalSaysSoBeforeAnAppend) {
  // From near the segment's end the room left is the 1 MiB of record overhead plus the WAL.
  JournalWriter w(repo(), kName, kSeg - 100, kSeg);
  EXPECT_TRUE(w.fits(100));
  std::size_t appended = 0;
  while (w.fits(1)) {
    w.append(Bytes(1, 7));
    ++appended;
  }
  EXPECT_GT(appended, 20000u);
  EXPECT_EQ(error_of([&] { w.append(Bytes(1, 7)); }).kind(), ErrorKind::internal);
}

TEST_F(WalStreamJournalTest, AnAppendCutShortIsTheEnd) {
  Bytes data = test::random_data(5000, 3);
  const std::string object = journal_object(kName, 0);
  {
    JournalWriter w(repo(), kName, 0, kSeg);
    w.append(ByteView(data.data(), 3000));
    w.append(ByteView(data.data() + 3000, 2000));
  }
  Bytes bytes = raw(object);
  const std::size_t second = 9 + 8 + 3000 + 28;
  // A crash in the middle of the second record's write: its tail never reached the disk.
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(second + 8 + 1000), bytes.end(), 0);
  put(object, bytes);
  EXPECT_EQ(read_journal(repo(), object, kName, 0), Bytes(data.begin(), data.begin() + 3000));
  // Only its header written.
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(second + 8), bytes.end(), 0);
  put(object, bytes);
  EXPECT_EQ(read_journal(repo(), object, kName, 0), Bytes(data.begin(), data.begin() + 3000));
}

TEST_F(WalStreamJournalTest, DamageBeforeTheLastRecordIsNamed) {
  Bytes data = test::random_data(5000, 4);
  const std::string object = journal_object(kName, 0);
  {
    JournalWriter w(repo(), kName, 0, kSeg);
    w.append(ByteView(data.data(), 3000));
    w.append(ByteView(data.data() + 3000, 2000));
  }
  const Bytes good = raw(object);
  Bytes bytes = good;
  bytes[9 + 8 + 100] ^= 0x40;
  put(object, bytes);
  Error e = error_of([&] { read_journal(repo(), object, kName, 0); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), "corrupt streamed WAL journal " + object + " in " + repo().describe() +
                                       " (record fails authentication at offset 9)");

  // Bytes after the end of the records (a record header zeroed): not silently dropped.
  bytes = good;
  std::fill_n(bytes.begin() + 9 + 8 + 3000 + 28, 4, 0);
  put(object, bytes);
  EXPECT_TRUE(contains(error_of([&] { read_journal(repo(), object, kName, 0); }).what(),
                       "(bytes after the last record at offset 3045)"));

  // A record moved to another place of the segment, or to another segment, fails authentication.
  bytes = good;
  bytes[9 + 4] = 1;  // the first record's start
  put(object, bytes);
  EXPECT_TRUE(contains(error_of([&] { read_journal(repo(), object, kName, 0); }).what(), "fails authentication"));
  put(object, good);
  EXPECT_TRUE(contains(error_of([&] { read_journal(repo(), object, "000000010000000000000004", 0); }).what(),
                       "fails authentication"));
  // A journal whose first record does not start where its name says.
  EXPECT_TRUE(contains(error_of([&] { read_journal(repo(), object, kName, 10); }).what(),
                       "record of WAL offset 0 where 10 was expected at offset 9"));
  // Not a journal at all.
  put(object, Bytes(100, 1));
  EXPECT_TRUE(contains(error_of([&] { read_journal(repo(), object, kName, 0); }).what(), "(not a journal at offset 0)"));
  EXPECT_EQ(used(good), 9u + 8 + 3000 + 28 + 8 + 2000 + 28);
}

// With a record after it (a lone record that fails reads as an append cut short, as a damaged
// last record of PostgreSQL's own WAL reads as its end).
TEST_F(WalStreamJournalTest, AnotherKeyCannotReadIt) {
  {
    JournalWriter w(repo(), kName, 0, kSeg);
    w.append(test::random_data(100, 5));
    w.append(test::random_data(100, 6));
  }
  const std::string other = dir_.path() + "/other";
  storage::PosixStorage::create_root(other);
  storage::PosixStorage other_store(other);
  Repository::create(other_store, "other", "pass", kDefaultBlockBytes, kDefaultPackTargetBytes);
  auto other_repo =
      Repository::open(std::make_unique<storage::PosixStorage>(other), "other", "pass", "test");
  Bytes bytes = raw(journal_object(kName, 0));
  storage::PosixStorage(other).write_all(journal_object(kName, 0), bytes);
  EXPECT_TRUE(contains(error_of([&] { read_journal(other_repo, journal_object(kName, 0), kName, 0); }).what(),
                       "fails authentication"));
}

TEST_F(WalStreamJournalTest, AnAppendToAJournalNoLongerAtItsNameFails) {
  // A repository moved away (or the journal removed) while the receiver holds it open: the append
  // reaches the old file, which no reader finds, so it must not count as stored.
  JournalWriter w(repo(), kName, 0, kSeg);
  w.append(test::random_data(100, 7));
  const std::string object = journal_object(kName, 0);
  std::filesystem::rename(file(object), file(object) + ".moved");
  Error e = error_of([&] { w.append(test::random_data(100, 8)); });
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_EQ(std::string(e.what()),
            "unable to write " + file(object) + " (it was moved or removed while being written)");
}

}  // namespace
}  // namespace pgdr::repo
