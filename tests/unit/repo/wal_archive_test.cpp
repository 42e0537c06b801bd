#include "repo/wal_archive.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/little_endian.h"
#include "io/sha256.h"
#include "repo/format.h"
#include "repo/sealed_stream.h"
#include "repo_test_support.h"

namespace pgdr::repo {
namespace {

using test::contains;
using test::error_of;

const std::string kName = "000000010000000000000007";

class WalObjectReaderTest : public test::OpenRepoTestBase {
 protected:
  // An object with the archive's layout whose header records sha256 for content.
  void store_with_header(const std::string& name, ByteView content, const std::string& sha256) {
    std::string header = nlohmann::json{{"name", name}, {"size", content.size()}, {"sha256", sha256}}.dump();
    Bytes head = to_bytes("PGDRWAL1");
    put_u32le(head, static_cast<std::uint32_t>(header.size()));
    head.insert(head.end(), header.begin(), header.end());
    SealedWriter out(store_, wal_object(name), repo().key());
    out.write(head);
    out.write(content);
    out.commit();
  }
};

TEST_F(WalObjectReaderTest, PiecewiseReadGivesTheContentFetchGives) {
  Bytes content = test::mixed_data(3 * 1024 * 1024 + 123, 5);  // several sealed frames
  push_wal_file(repo(), kName, content);
  auto r = WalObjectReader::open(repo(), kName);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size_bytes(), content.size());
  Bytes got;
  io::Sha256 h;
  Bytes piece(100000);
  for (std::size_t n; (n = r->read(piece.data(), piece.size())) > 0;) {
    got.insert(got.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n));
    h.update(ByteView(piece.data(), n));
  }
  EXPECT_EQ(got, content);
  EXPECT_EQ(r->read(piece.data(), piece.size()), 0u);
  r->finish(h.finish());
  EXPECT_EQ(fetch_wal_file(repo(), kName), content);
}

TEST_F(WalObjectReaderTest, ViewsGiveTheContentAndStopAtItsEnd) {
  Bytes content = test::mixed_data(2 * 1024 * 1024 + 77, 10);
  push_wal_file(repo(), kName, content);
  auto r = WalObjectReader::open(repo(), kName);
  ASSERT_TRUE(r);
  Bytes got;
  for (ByteView v; !(v = r->read_view(200000)).empty();) got.insert(got.end(), v.begin(), v.end());
  EXPECT_EQ(got, content);
  r->finish(io::Sha256::of(got));
}

TEST_F(WalObjectReaderTest, HeaderPromisingMoreThanTheObjectHoldsIsCorrupt) {
  Bytes content = test::random_data(5000, 11);
  Bytes longer = content;
  longer.push_back(0);
  // The header records 5001 bytes; the sealed stream holds 5000 after it.
  std::string header = nlohmann::json{{"name", kName}, {"size", longer.size()}, {"sha256", to_hex(io::Sha256::of(longer))}}.dump();
  Bytes head = to_bytes("PGDRWAL1");
  put_u32le(head, static_cast<std::uint32_t>(header.size()));
  head.insert(head.end(), header.begin(), header.end());
  SealedWriter out(store_, wal_object(kName), repo().key());
  out.write(head);
  out.write(content);
  out.commit();
  auto r = WalObjectReader::open(repo(), kName);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->read_view(1 << 20).size(), content.size());
  Error e = error_of([&] { r->read_view(1 << 20); });
  EXPECT_EQ(std::string(e.what()), "corrupt WAL object " + wal_object(kName) + " in " + repo().describe() +
                                       " (shorter than its header says)");
}

TEST_F(WalObjectReaderTest, MissingIsNotAnError) {
  EXPECT_FALSE(WalObjectReader::open(repo(), kName));
  EXPECT_FALSE(fetch_wal_file(repo(), kName));
}

TEST_F(WalObjectReaderTest, WrongDigestIsNamedByFinishAndByFetch) {
  Bytes content = test::random_data(70000, 6);
  Bytes other = content;
  other[1] ^= 1;
  store_with_header(kName, content, to_hex(io::Sha256::of(other)));
  auto r = WalObjectReader::open(repo(), kName);
  ASSERT_TRUE(r);
  Bytes all(r->size_bytes());
  ASSERT_EQ(r->read(all.data(), all.size()), content.size());
  Error e = error_of([&] { r->finish(io::Sha256::of(all)); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  std::string expected = "corrupt WAL object " + wal_object(kName) + " in " + repo().describe() + " (SHA-256 mismatch)";
  EXPECT_EQ(std::string(e.what()), expected);
  EXPECT_EQ(std::string(error_of([&] { fetch_wal_file(repo(), kName); }).what()), expected);
}

// A size that is no 64-bit integer was cast to one (undefined for a float beyond it; the bug the
// manifest fuzz target found in manifests).
TEST_F(WalObjectReaderTest, HeaderSizeThatIsNoIntegerIsCorrupt) {
  for (const nlohmann::json& size : {nlohmann::json(1e300), nlohmann::json(-1), nlohmann::json(5000.5)}) {
    SCOPED_TRACE(size.dump());
    std::string header = nlohmann::json{{"name", kName}, {"size", size}, {"sha256", std::string(64, '0')}}.dump();
    Bytes head = to_bytes("PGDRWAL1");
    put_u32le(head, static_cast<std::uint32_t>(header.size()));
    head.insert(head.end(), header.begin(), header.end());
    SealedWriter out(store_, wal_object(kName), repo().key());
    out.write(head);
    out.commit();
    Error e = error_of([&] { WalObjectReader::open(repo(), kName); });
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_EQ(std::string(e.what()), "corrupt WAL object " + wal_object(kName) + " in " + repo().describe() +
                                         " (unreadable header)");
  }
}

TEST_F(WalObjectReaderTest, HeaderForAnotherFileIsRefusedOnOpen) {
  Bytes content = test::random_data(1000, 7);
  store_with_header("000000010000000000000008", content, to_hex(io::Sha256::of(content)));
  store_.write_all(wal_object(kName), raw(wal_object("000000010000000000000008")));
  // The sealed stream binds frames to their object's name: a copied object fails authentication.
  Error e = error_of([&] { WalObjectReader::open(repo(), kName); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(contains(e.what(), wal_object(kName))) << e.what();
}

TEST_F(WalObjectReaderTest, DamagedOrCutObjectsFailWithTheirName) {
  Bytes content = test::random_data(2 * 1024 * 1024 + 5, 8);
  push_wal_file(repo(), kName, content);
  std::string object = wal_object(kName);
  Bytes original = raw(object);
  flip_byte(object, original.size() / 2);
  Error e = error_of([&] {
    auto r = WalObjectReader::open(repo(), kName);
    Bytes piece(1 << 16);
    while (r->read(piece.data(), piece.size()) > 0) {
    }
  });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(contains(e.what(), object)) << e.what();

  put_raw(object, original);
  cut(object, original.size() - 100);
  e = error_of([&] { fetch_wal_file(repo(), kName); });
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_TRUE(contains(e.what(), object)) << e.what();
}

TEST_F(WalObjectReaderTest, FinishBeforeTheEndIsAProgrammingError) {
  Bytes content = test::random_data(5000, 9);
  push_wal_file(repo(), kName, content);
  auto r = WalObjectReader::open(repo(), kName);
  ASSERT_TRUE(r);
  Bytes piece(100);
  r->read(piece.data(), piece.size());
  EXPECT_EQ(error_of([&] { r->finish(io::Sha256::of(content)); }).kind(), ErrorKind::internal);
}

}  // namespace
}  // namespace pgdr::repo
