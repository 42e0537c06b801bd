// Writes the seed corpora of the repository-format targets with pgdr's own writers and the test
// key: real packs, frames, sealed objects, manifests, snapshot info, key slots, pgdr.repo and WAL
// objects, each in the target's mode 0 (as stored) and mode 1 (the plaintext behind the
// authentication). Usage: pgdr_fuzz_seeds CORPUS_DIR (tests/fuzz/corpus). The other corpora (WAL,
// S3 XML, configurations, schedules, HTTP requests) are cut from real files by make_seeds.sh.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/little_endian.h"
#include "fuzz_support.h"
#include "io/aead.h"
#include "io/compress.h"
#include "io/kdf.h"
#include "pg/change_map.h"
#include "pg/segment_summary.h"
#include "repo/block_codec.h"
#include "repo/format.h"
#include "repo/keys.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "repo/sealed_stream.h"
#include "repo/snapshot_info.h"
#include "repo/wal_archive.h"

using namespace pgdr;
namespace fs = std::filesystem;

namespace {

fs::path corpus;

void seed(const std::string& target, const std::string& name, int mode, ByteView bytes) {
  fs::create_directories(corpus / target);
  std::ofstream out(corpus / target / ("seed-" + name), std::ios::binary);
  if (mode >= 0) out.put(static_cast<char>(mode));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes plaintext_of(const storage::Storage& store, const std::string& object) {
  repo::SealedReader r(store, object, fuzz::test_key());
  Bytes out;
  while (r.read(out, 1u << 20) > 0) {
  }
  return out;
}

// A page-like block: a header, zeros, and tuples at the end.
Bytes page(std::uint8_t fill) {
  Bytes b(8192, 0);
  for (std::size_t i = 0; i < 24; ++i) b[i] = static_cast<std::uint8_t>(i * fill);
  for (std::size_t i = 7000; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>((i * 31) ^ fill);
  return b;
}

void packs_and_frames() {
  const auto& key = fuzz::test_key();
  const std::string pack_id = "00112233445566778899aabbccddeeff";  // pack_fuzz's
  for (auto [codec, name] : {std::pair{io::Codec::zstd, "zstd"}, std::pair{io::Codec::lz4, "lz4"},
                             std::pair{io::Codec::none, "none"}}) {
    repo::BlockCodec bc(key, codec, 1);
    Bytes data = page(1);
    Bytes second = page(2);
    data.insert(data.end(), second.begin(), second.end());
    data.resize(data.size() - 100);  // a short last block
    std::vector<repo::BlockId> ids = {bc.id_of(ByteView(data).first(8192)), bc.id_of(ByteView(data).subspan(8192))};
    Bytes frame;
    bc.seal_frame(ids.size(), data, repo::FramePlace{pack_id, 0}, frame);
    seed("block_codec_fuzz", name, 0, frame);
    // Mode 1: the frame's plaintext as seal_frame lays it out.
    Bytes plain;
    plain.push_back(static_cast<std::uint8_t>(codec));
    plain.push_back(static_cast<std::uint8_t>(ids.size()));
    put_u32le(plain, static_cast<std::uint32_t>(data.size()));
    if (codec == io::Codec::none) {
      plain.insert(plain.end(), data.begin(), data.end());
    } else {
      io::Compressor c(codec, 1);
      c.compress(data, plain);
    }
    seed("block_codec_fuzz", std::string(name) + "-plain", 1, plain);

    fuzz::MemoryStorage store;
    repo::PackWriter w(store, key, pack_id, 8192);
    w.add_frame(bc, ids, data);
    w.add_frame(bc, {ids[0]}, ByteView(data).first(8192));
    w.commit();
    Bytes pack = *store.read(repo::pack_object(pack_id));
    seed("pack_fuzz", name, 0, pack);
    // Mode 1: body length and the trailer table, opened from the real pack.
    std::uint32_t trailer_len = get_u32le(pack.data() + pack.size() - 16);
    std::size_t body = pack.size() - 16 - trailer_len;
    Bytes table;
    put_u16le(table, static_cast<std::uint16_t>(std::min<std::size_t>(body, 0xffff)));
    io::Aead aead(key.data_key().view());
    aead.open(ByteView(pack).subspan(body, trailer_len), to_bytes(std::string(repo::kAadPackTrailer) + pack_id), table);
    seed("pack_fuzz", std::string(name) + "-plain", 1, table);
  }
}

void sealed_objects() {
  const auto& key = fuzz::test_key();
  fuzz::MemoryStorage store;
  const std::string object = "snapshots/fuzz.info";  // sealed_stream_fuzz's
  repo::write_sealed_object(store, object, key, as_bytes("a small sealed object\n"));
  seed("sealed_stream_fuzz", "small", 0, *store.read(object));
  Bytes big(1u << 20, 'x');  // two frames: a full one, and the last
  big.push_back('y');
  repo::write_sealed_object(store, object, key, big);
  seed("sealed_stream_fuzz", "two-frames", 0, *store.read(object));
  // Mode 1: frame plaintexts, flags first (1 last, 2 zstd).
  Bytes frames;
  for (auto [flags, text] : {std::pair{0, "first frame "}, std::pair{1, "last frame"}}) {
    put_u16le(frames, static_cast<std::uint16_t>(1 + std::string_view(text).size()));
    frames.push_back(static_cast<std::uint8_t>(flags));
    frames.insert(frames.end(), text, text + std::string_view(text).size());
  }
  seed("sealed_stream_fuzz", "frames-plain", 1, frames);
  Bytes zstd_frame;
  zstd_frame.push_back(3);
  Bytes content(3000, 'z');
  put_u32le(zstd_frame, static_cast<std::uint32_t>(content.size()));
  io::Compressor(io::Codec::zstd, 3).compress(content, zstd_frame);
  Bytes one;
  put_u16le(one, static_cast<std::uint16_t>(zstd_frame.size()));
  one.insert(one.end(), zstd_frame.begin(), zstd_frame.end());
  seed("sealed_stream_fuzz", "zstd-plain", 1, one);
}

void manifests_and_info() {
  const auto& key = fuzz::test_key();
  fuzz::MemoryStorage store;
  const std::string id = "20240101T000000.000Z-abcd";  // the targets'
  {
    repo::ManifestWriter w(store, id, key, 8192);
    auto p0 = w.declare_pack("00112233445566778899aabbccddeeff");
    w.add({"base", repo::EntryType::directory, 0700, 0, 1700000000, "", "", 0}, {});
    repo::BlockRef a{}, z{};
    a.pack = p0;
    a.offset = 0;
    a.length = 4000;
    a.index = 1;
    w.add({"base/1/1259", repo::EntryType::file, 0600, 16384, 1700000000, std::string(64, 'a'), "", 2}, {a, z});
    w.add({"pg_tblspc/16384", repo::EntryType::symlink, 0777, 0, 1700000000, "", "/srv/ts", 0}, {});
    w.commit();
  }
  const std::string manifest = repo::snapshot_manifest_object(id);
  seed("manifest_fuzz", "three-entries", 0, *store.read(manifest));
  seed("manifest_fuzz", "three-entries-plain", 1, plaintext_of(store, manifest));

  repo::SnapshotInfo s;
  s.id = id;
  s.cluster_name = "main";
  s.system_identifier = "7300000000000000001";
  s.pg_version_num = 150008;
  s.timeline = 1;
  s.start_lsn = "0/2000028";
  s.stop_lsn = "0/2000138";
  s.start_time = "2024-01-01T00:00:00Z";
  s.stop_time = "2024-01-01T00:00:05Z";
  s.wal_segment_bytes = 16u << 20;
  s.first_wal_segment = "000000010000000000000002";
  s.last_wal_segment = "000000010000000000000002";
  s.block_bytes = 8192;
  s.compression = "zstd";
  s.file_count = 1;
  s.logical_bytes = 16384;
  s.new_blocks = 1;
  s.zero_blocks = 1;
  s.packs = {"00112233445566778899aabbccddeeff"};
  s.tablespaces = {{"16384", "/srv/ts"}};
  s.duration_seconds = 5.25;
  s.pgdr_version = "0.1.0";
  repo::write_snapshot_info(store, key, s);
  const std::string info = repo::snapshot_info_object(id);
  seed("snapshot_info_fuzz", "snapshot", 0, *store.read(info));
  seed("snapshot_info_fuzz", "snapshot-plain", 1, plaintext_of(store, info));
}

void keys_settings_wal() {
  fuzz::MemoryStorage store;
  const std::string repo_id = "0123456789abcdef0123456789abcdef";  // key_slot_fuzz's and wal_archive_fuzz's
  repo::add_key_slot(store, repo_id, fuzz::test_key(), "fuzz passphrase", io::ScryptParams{16, 1, 1});
  repo::add_key_slot(store, repo_id, fuzz::test_key(), "another passphrase", io::ScryptParams{32, 2, 1});
  int n = 0;
  for (const auto& o : store.list(repo::kKeysDir)) seed("key_slot_fuzz", "slot" + std::to_string(n++), -1, *store.read(o.path));

  fuzz::MemoryStorage created;
  repo::Repository::create(created, "seeds", "a passphrase", 8192, 16u << 20);
  seed("repo_settings_fuzz", "created", -1, *created.read(repo::kRepoConfigObject));

  auto owned = std::make_unique<fuzz::MemoryStorage>();
  fuzz::MemoryStorage* wal_store = owned.get();
  repo::add_key_slot(*owned, repo_id, fuzz::test_key(), "fuzz passphrase", io::ScryptParams{16, 1, 1});
  const std::string settings = R"({"format": "pgdr-repository", "version": 1, "id": ")" + repo_id +
                               R"(", "created": "2024-01-01T00:00:00Z", "block_size": 8192, "pack_size": 16777216})";
  owned->put(std::string(repo::kRepoConfigObject), as_bytes(settings));
  auto r = repo::Repository::open(std::move(owned), "seeds", "fuzz passphrase", "seeds");
  const std::string name = "000000010000000000000001";  // wal_archive_fuzz's
  Bytes content(20000);
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<std::uint8_t>(i % 251);
  repo::push_wal_file(r, name, content);
  const std::string object = repo::wal_object(name);
  seed("wal_archive_fuzz", "segment", 0, *wal_store->read(object));
  seed("wal_archive_fuzz", "segment-plain", 1, plaintext_of(*wal_store, object));
}

// change_map_fuzz: a map with an array chunk, a bitmap chunk, limits and databases, alone and in a
// segment summary; mode 3 and 1 seeds are the bytes without their CRC, which the target appends.
void change_maps() {
  pg::ChangeMap m;
  const pg::RelationFork heap{{pg::kDefaultTablespaceOid, 5, 16384}, pg::ForkNumber::main};
  const pg::RelationFork vm{{pg::kDefaultTablespaceOid, 5, 16384}, pg::ForkNumber::visibility_map};
  for (std::uint32_t b : {0u, 7u, 65535u, 65536u}) m.add_block(heap, b);
  for (std::uint32_t b = 0; b < 5000; ++b) m.add_block(heap, 3 * 65536 + 2 * b);
  m.add_limit(heap, 200000);
  m.add_limit(vm, 0);
  m.add_block(vm, 0);
  m.add_database({pg::kDefaultTablespaceOid, 16400});
  const Bytes map = m.encode();
  seed("change_map_fuzz", "map", 0, map);
  seed("change_map_fuzz", "map-crc", 1, ByteView(map).first(map.size() - 4));

  pg::SegmentSummary s;
  s.segment = "000000010000000000000016";
  s.timeline = 1;
  s.segment_bytes = 16u << 20;
  s.system_identifier = 7716008434587571636ull;
  s.major = 17;
  s.head_complete = true;
  s.first_record = pg::Lsn{0x16000028};
  s.first_prev = pg::Lsn{0x15FFFF80};
  s.last_record = pg::Lsn{0x16FFFF10};
  s.end = pg::Lsn{0x16FFFF60};
  s.records = 41213;
  s.map = std::move(m);
  const Bytes summary = pg::encode_segment_summary(s);
  seed("change_map_fuzz", "summary", 2, summary);
  seed("change_map_fuzz", "summary-crc", 3, ByteView(summary).first(summary.size() - 4));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: pgdr_fuzz_seeds CORPUS_DIR\n");
    return 2;
  }
  corpus = argv[1];
  packs_and_frames();
  sealed_objects();
  manifests_and_info();
  keys_settings_wal();
  change_maps();
  return 0;
}
