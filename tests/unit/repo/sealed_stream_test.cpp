#include "repo/sealed_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/aead.h"
#include "storage/faulty_storage.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::error_of;
using test::mixed_data;
using test::random_data;

constexpr std::size_t kMiB = 1u << 20;
constexpr std::size_t kHeaderBytes = 9;  // "PGDRSEAL" | version

// Where one frame sits in a sealed object: its length field, then sealed_bytes of nonce, ciphertext, tag.
struct Frame {
  std::size_t offset = 0;
  std::uint32_t sealed_bytes = 0;
  std::size_t end() const { return offset + 4 + sealed_bytes; }
};

std::vector<Frame> frames_of(const Bytes& object) {
  std::vector<Frame> out;
  std::size_t pos = kHeaderBytes;
  while (pos + 4 <= object.size()) {
    Frame f;
    f.offset = pos;
    for (int i = 0; i < 4; ++i) f.sealed_bytes |= static_cast<std::uint32_t>(object[pos + static_cast<std::size_t>(i)]) << (8 * i);
    out.push_back(f);
    pos = f.end();
  }
  return out;
}

class SealedStreamTest : public test::RepoTestBase {
 protected:
  const std::string object_ = "snapshots/20260101T000000.000Z-abcd.manifest";

  void write(const std::string& object, const Bytes& data) { write_sealed_object(store_, object, key_, data); }
  Bytes read_back(const std::string& object) {
    auto b = read_sealed_object(store_, object, key_);
    EXPECT_TRUE(b.has_value());
    return b.value_or(Bytes{});
  }
  std::string corrupt(const std::string& object, const std::string& why) const {
    return "corrupt object " + object + " in " + store_.describe() + " (" + why + ")";
  }
  // Reading object fails with Error(corrupt) "corrupt object <object> in <storage> (<why>)", and
  // so does authenticating it without decoding.
  void expect_corrupt(const std::string& object, const std::string& why) {
    Error e = error_of([&] { read_sealed_object(store_, object, key_); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), corrupt(object, why));
    Error a = error_of([&] { SealedReader(store_, object, key_).authenticate_rest(); });
    EXPECT_EQ(a.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(a.what()), corrupt(object, why)) << "authenticated only";
  }
  // A 3.5 MiB object of four frames, the last one half full.
  Bytes write_four_frames() {
    Bytes data = mixed_data(3 * kMiB + kMiB / 2, 7);
    write(object_, data);
    EXPECT_EQ(frames_of(raw(object_)).size(), 4u);
    return data;
  }
};

TEST_F(SealedStreamTest, RoundTripOfEverySize) {
  struct Case {
    std::size_t size;
    std::size_t frames;
  };
  for (Case c : {Case{0, 1}, Case{1, 1}, Case{4096, 1}, Case{kMiB - 1, 1}, Case{kMiB, 1}, Case{kMiB + 1, 2},
                 Case{2 * kMiB, 2}, Case{3 * kMiB + kMiB / 2, 4}}) {
    SCOPED_TRACE("size " + std::to_string(c.size));
    Bytes data = mixed_data(c.size, static_cast<std::uint32_t>(c.size));
    write(object_, data);
    Bytes stored = raw(object_);
    EXPECT_EQ(std::string(as_chars(ByteView(stored.data(), 8))), "PGDRSEAL");
    EXPECT_EQ(stored[8], 1);
    auto frames = frames_of(stored);
    EXPECT_EQ(frames.size(), c.frames);
    EXPECT_EQ(frames.back().end(), stored.size());
    EXPECT_EQ(read_back(object_), data);
  }
}

TEST_F(SealedStreamTest, ChunkedWritesAndReadsSeeOneStream) {
  Bytes data = mixed_data(2 * kMiB + 12345, 11);
  {
    SealedWriter w(store_, object_, key_);
    for (std::size_t pos = 0; pos < data.size(); pos += 77777) {
      std::size_t n = std::min<std::size_t>(77777, data.size() - pos);
      w.write(ByteView(data.data() + pos, n));
    }
    EXPECT_EQ(w.plaintext_bytes(), data.size());
    w.commit();
    EXPECT_EQ(w.stored_bytes(), raw(object_).size());
  }
  SealedReader r(store_, object_, key_);
  Bytes got;
  std::uint8_t first[10];
  r.read_exact(first, sizeof first);
  got.insert(got.end(), first, first + sizeof first);
  while (r.read(got, 4093) > 0) {
  }
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(got, data);

  // Asking for more than the stream holds is damage, not a short read.
  SealedReader again(store_, object_, key_);
  Bytes all(data.size() + 1);
  Error e = error_of([&] { again.read_exact(all.data(), all.size()); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), corrupt(object_, "ends early"));
}

TEST_F(SealedStreamTest, ViewsSeeTheSameStreamAsCopies) {
  // Compressible and random stretches: frames stored compressed and as they are.
  Bytes data = mixed_data(3 * kMiB + 4321, 12);
  write_sealed_object(store_, object_, key_, data);
  SealedReader r(store_, object_, key_);
  Bytes got;
  for (ByteView v; !(v = r.read_view(300000)).empty();) {
    EXPECT_LE(v.size(), 300000u);
    got.insert(got.end(), v.begin(), v.end());
  }
  EXPECT_TRUE(r.read_view(10).empty());
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(got, data);
}

TEST_F(SealedStreamTest, AuthenticatingTheRestSkipsItAndCountsIt) {
  Bytes data = write_four_frames();
  SealedReader r(store_, object_, key_);
  Bytes head;
  ASSERT_EQ(r.read(head, 1000), 1000u);
  EXPECT_EQ(r.authenticate_rest(), data.size() - 1000);
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(r.read_view(10).empty());
  EXPECT_EQ(SealedReader(store_, object_, key_).authenticate_rest(), data.size());
}

TEST_F(SealedStreamTest, AHeadIsReadWithoutDecodingTheRestOfItsFrame) {
  Bytes data = write_four_frames();
  for (std::uint64_t head : {std::uint64_t{100}, std::uint64_t{kMiB + 300}}) {
    SCOPED_TRACE(head);
    SealedReader r(store_, object_, key_);
    r.decode_only_head(head);
    Bytes got;
    while (got.size() < head) {
      ByteView v = r.read_view(head - got.size());
      ASSERT_FALSE(v.empty());
      got.insert(got.end(), v.begin(), v.end());
    }
    EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
    // Past the head nothing was decoded, and reading on is a caller's error, not damage.
    Error e = error_of([&] { r.read_view(1); });
    EXPECT_EQ(e.kind(), ErrorKind::internal) << e.what();
  }
  SealedReader r(store_, object_, key_);
  r.decode_only_head(100);
  Bytes head(100);
  r.read_exact(head.data(), head.size());
  EXPECT_EQ(r.authenticate_rest(), data.size() - 100);
  EXPECT_TRUE(r.at_end());
}

TEST_F(SealedStreamTest, CompressibleFramesShrinkAndRandomOnesStayAsTheyAre) {
  Bytes zeros(kMiB, 0);
  write(object_, zeros);
  EXPECT_LT(raw(object_).size(), 4096u);
  EXPECT_EQ(read_back(object_), zeros);

  Bytes noise = random_data(kMiB, 3);
  write(object_, noise);
  // Stored as is: header, one length, nonce, flag byte, the data, tag.
  EXPECT_EQ(raw(object_).size(), kHeaderBytes + 4 + io::kAeadOverheadBytes + 1 + kMiB);
  EXPECT_EQ(read_back(object_), noise);
}

TEST_F(SealedStreamTest, UncommittedWriterLeavesNothing) {
  {
    SealedWriter w(store_, object_, key_);
    w.write(mixed_data(3 * kMiB, 1));
  }
  EXPECT_TRUE(store_.list("").empty());
  EXPECT_FALSE(read_sealed_object(store_, object_, key_).has_value());
  Error e = error_of([&] { SealedReader r(store_, object_, key_); });
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_EQ(std::string(e.what()), "missing object " + object_ + " in " + store_.describe());
}

TEST_F(SealedStreamTest, FullDiskOrFailedCommitPublishesNothing) {
  storage::FaultyStorage faulty(store_);
  faulty.fail_writes_after_bytes(100000);
  Error full = error_of([&] { write_sealed_object(faulty, object_, key_, mixed_data(3 * kMiB, 2)); });
  EXPECT_EQ(full.kind(), ErrorKind::io);
  EXPECT_EQ(std::string(full.what()),
            "unable to write object: " + store_.describe() + "/" + object_ + " (No space left on device)");
  EXPECT_TRUE(store_.list("").empty());

  faulty.clear_faults();
  faulty.fail_commit(1);
  Error commit = error_of([&] { write_sealed_object(faulty, object_, key_, mixed_data(3 * kMiB, 2)); });
  EXPECT_EQ(commit.kind(), ErrorKind::io);
  EXPECT_EQ(std::string(commit.what()),
            "unable to commit object: " + store_.describe() + "/" + object_ + " (Input/output error)");
  EXPECT_TRUE(store_.list("").empty());
  EXPECT_FALSE(read_sealed_object(store_, object_, key_).has_value());

  // The next attempt, with room, succeeds.
  Bytes data = mixed_data(3 * kMiB, 2);
  write_sealed_object(faulty, object_, key_, data);
  EXPECT_EQ(read_back(object_), data);
}

TEST_F(SealedStreamTest, EveryFlippedByteOfASmallObjectIsCaught) {
  Bytes data = mixed_data(3000, 5);
  write(object_, data);
  const Bytes good = raw(object_);
  for (std::size_t i = 0; i < good.size(); ++i) {
    SCOPED_TRACE("byte " + std::to_string(i));
    Bytes bad = good;
    bad[i] ^= 0x01;
    put_raw(object_, bad);
    Error e = error_of([&] { read_sealed_object(store_, object_, key_); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()).rfind("corrupt object " + object_ + " in " + store_.describe() + " (", 0), 0u)
        << e.what();
  }
}

TEST_F(SealedStreamTest, FlippedByteInEachPartNamesWhatFailed) {
  write_four_frames();
  const Bytes good = raw(object_);
  const auto frames = frames_of(good);
  struct Case {
    std::string what;
    std::size_t offset;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"magic", 0, "not a sealed object"},
      {"version", 8, "sealed object version 254, this pgdr reads version 1"},
      // The top byte of a length: far beyond any frame this format writes.
      {"length of frame 1", frames[1].offset + 3, "frame 1 has an impossible length"},
      {"nonce of frame 0", frames[0].offset + 4, "frame 0 fails authentication"},
      {"ciphertext of frame 2", frames[2].offset + 4 + frames[2].sealed_bytes / 2, "frame 2 fails authentication"},
      {"tag of the last frame", good.size() - 1, "frame 3 fails authentication"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    put_raw(object_, good);
    flip_byte(object_, c.offset);
    expect_corrupt(object_, c.why);
  }

  // A length one off, smaller or larger, puts the frame boundary in the wrong place.
  for (std::uint8_t delta : {0x01, 0x02}) {
    Bytes bad = good;
    bad[frames[1].offset] ^= delta;
    put_raw(object_, bad);
    expect_corrupt(object_, "frame 1 fails authentication");
  }
}

TEST_F(SealedStreamTest, TruncationAnywhereIsCaught) {
  write_four_frames();
  const Bytes good = raw(object_);
  const auto frames = frames_of(good);
  struct Case {
    std::string what;
    std::size_t keep;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"empty", 0, "shorter than its header"},
      {"inside the header", 5, "shorter than its header"},
      {"header only", kHeaderBytes, "truncated: the last frame is missing"},
      {"inside the first length", kHeaderBytes + 2, "truncated at " + std::to_string(kHeaderBytes + 2) + " bytes"},
      {"inside frame 1", frames[1].offset + 1000,
       "truncated at " + std::to_string(frames[1].offset + 1000) + " bytes"},
      {"after frame 1", frames[2].offset, "truncated: the last frame is missing"},
      {"exactly the last frame dropped", frames[3].offset, "truncated: the last frame is missing"},
      {"last byte", good.size() - 1, "truncated at " + std::to_string(good.size() - 1) + " bytes"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    put_raw(object_, good);
    cut(object_, c.keep);
    expect_corrupt(object_, c.why);
  }
}

TEST_F(SealedStreamTest, ReorderedDroppedOrAppendedFramesAreCaught) {
  write_four_frames();
  const Bytes good = raw(object_);
  const auto frames = frames_of(good);
  auto piece = [&](std::size_t from, std::size_t to) { return Bytes(good.begin() + static_cast<std::ptrdiff_t>(from), good.begin() + static_cast<std::ptrdiff_t>(to)); };
  auto join = [](std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };

  // Frames 1 and 2 swapped: each is authentic, but not at that position.
  put_raw(object_, join({piece(0, frames[1].offset), piece(frames[2].offset, frames[2].end()),
                         piece(frames[1].offset, frames[1].end()), piece(frames[3].offset, good.size())}));
  expect_corrupt(object_, "frame 1 fails authentication");

  // A middle frame dropped.
  put_raw(object_, join({piece(0, frames[1].offset), piece(frames[2].offset, good.size())}));
  expect_corrupt(object_, "frame 1 fails authentication");

  // Bytes after the last frame.
  put_raw(object_, join({good, to_bytes("trailing garbage")}));
  expect_corrupt(object_, "bytes after the last frame");

  // The last frame of one object replayed after a complete other one.
  put_raw(object_, join({good, piece(frames[3].offset, good.size())}));
  expect_corrupt(object_, "bytes after the last frame");
}

TEST_F(SealedStreamTest, ObjectRenamedToAnotherNameIsCorrupt) {
  Bytes data = mixed_data(5000, 9);
  write(object_, data);
  const std::string other = "snapshots/20260101T000000.000Z-abcd.info";
  put_raw(other, raw(object_));
  expect_corrupt(other, "frame 0 fails authentication");
  EXPECT_EQ(read_back(object_), data);
}

TEST_F(SealedStreamTest, WrongKeyIsCorrupt) {
  write(object_, mixed_data(5000, 9));
  MasterKey other = MasterKey::generate();
  Error e = error_of([&] { read_sealed_object(store_, object_, other); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), corrupt(object_, "frame 0 fails authentication"));
}

TEST_F(SealedStreamTest, UnknownVersionIsRefusedNamingIt) {
  write(object_, mixed_data(100, 1));
  Bytes b = raw(object_);
  b[8] = 2;
  put_raw(object_, b);
  Error e = error_of([&] { SealedReader r(store_, object_, key_); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(std::string(e.what()), corrupt(object_, "sealed object version 2, this pgdr reads version 1"));
}

}  // namespace
}  // namespace pgdr::repo
