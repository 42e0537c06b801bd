// Sealed objects: how every encrypted object except packs is stored (manifests, snapshot info).
// The logical byte stream is cut into frames of up to 1 MiB, each compressed with zstd and sealed
// with AES-256-GCM under the data key. The additional data binds each frame to the object's name and
// its position, and the last frame carries a flag: frames cannot be moved to another object,
// reordered, dropped, or cut off at the end without the reader noticing.
//
//   object = "PGDRSEAL" | version u8 | frame*
//   frame  = sealed_length u32le | nonce(12) ciphertext tag(16)
//   plaintext of a frame = flags u8 (1 = last, 2 = zstd) | payload, where a zstd payload is
//                          plaintext_length u32le | zstd frame
//   aad    = "pgdr-v1 sealed " | object name | frame index u64le
//
// SealedWriter and SealedReader each belong to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/bytes.h"
#include "io/aead.h"
#include "io/compress.h"
#include "repo/keys.h"
#include "storage/storage.h"

namespace pgdr::repo {

// The zstd level of sealed objects unless the writer is given another. Readers do not depend on it.
inline constexpr int kSealedZstdLevel = 3;

class SealedWriter {
 public:
  SealedWriter(storage::Storage& store, std::string object, const MasterKey& key, int zstd_level = kSealedZstdLevel);
  ~SealedWriter();

  void write(ByteView data);
  // Seals the last frame and commits the object: visible, durable. Uncommitted writers vanish.
  void commit();
  std::uint64_t plaintext_bytes() const { return plain_total_; }
  std::uint64_t stored_bytes() const;

 private:
  void flush_frame(bool last);  // seals pending_
  void seal_frame(ByteView chunk, bool last);

  std::string object_;
  std::unique_ptr<storage::Writer> out_;
  io::Aead aead_;
  io::Compressor compressor_;
  Bytes pending_;
  Bytes plain_;  // the frame's plaintext, reused from frame to frame
  Bytes frame_;
  std::uint64_t frame_index_ = 0;
  std::uint64_t plain_total_ = 0;
};

class SealedReader {
 public:
  // Throws Error(not_found) when the object does not exist.
  SealedReader(const storage::Storage& store, std::string object, const MasterKey& key);

  // Appends up to max_bytes of the logical stream to out; returns the count, 0 at the end.
  // Throws Error(corrupt) naming the object for any failed check (truncation included).
  std::size_t read(Bytes& out, std::size_t max_bytes);
  // The same without a copy: a view of up to max_bytes of the stream (empty at the end), valid
  // until the next call on this reader.
  ByteView read_view(std::size_t max_bytes);
  // Exactly n bytes or Error(corrupt) "ends early".
  void read_exact(std::uint8_t* dst, std::size_t n);
  // True when every byte has been consumed and the last frame was seen.
  bool at_end();
  // Skips the rest of the stream, authenticating every frame to the last one (so truncation,
  // reordering and any changed byte are still found) without decompressing: for an object whose
  // content an earlier read proved. Returns how many bytes of the stream it skipped, as the
  // frames declare them.
  std::uint64_t authenticate_rest();
  // From here on, decompresses only the stream's bytes before position head_bytes (reading
  // compressed bytes past them is Error(internal)): for a caller that reads a head and then calls
  // authenticate_rest(), so that the rest of the frame holding the head is not decompressed for
  // nothing.
  void decode_only_head(std::uint64_t head_bytes);

 private:
  // The next frame authenticated and, when decode, its content made readable; false after the
  // last one.
  bool next_frame(bool decode = true);
  // Bytes [plain_pos_, plain_pos_ + n) of the frame in hand are readable, else Error(internal).
  void check_decoded(std::size_t n) const;
  void fill_raw(std::size_t n);
  [[noreturn]] void corrupt(const std::string& why) const;

  const storage::Storage& store_;
  std::string object_;
  io::Aead aead_;
  io::Decompressor decompressor_;
  std::size_t fetch_bytes_;
  std::uint64_t object_size_ = 0;
  std::uint64_t raw_offset_ = 0;  // next byte of the object to fetch
  Bytes raw_;                     // fetched, not yet consumed object bytes
  std::size_t raw_pos_ = 0;
  Bytes opened_;                  // the frame in hand, decrypted
  Bytes plain_;                   // its content in the first plain_len_ bytes
  std::size_t plain_len_ = 0;
  std::size_t plain_pos_ = 0;
  std::size_t plain_decoded_ = 0;  // plain_[0, plain_decoded_) holds the frame's content
  std::uint64_t stream_pos_ = 0;   // of the frame in hand's first byte
  std::uint64_t head_bytes_ = UINT64_MAX;
  std::uint64_t frame_index_ = 0;
  bool last_seen_ = false;
};

// Whole small objects (snapshot info): one call each way.
void write_sealed_object(storage::Storage& store, const std::string& object, const MasterKey& key, ByteView data);
// nullopt when the object does not exist.
std::optional<Bytes> read_sealed_object(const storage::Storage& store, const std::string& object, const MasterKey& key);

}  // namespace pgdr::repo
