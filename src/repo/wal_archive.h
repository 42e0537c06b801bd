// The WAL archive of a repository: every file PostgreSQL's archiver hands over (segments, partial
// segments, timeline history and backup history files), one sealed object each under its timeline:
//
//   wal/<timeline, 8 hex>/<file name>
//   plaintext = "PGDRWAL1" | header_length u32le | header JSON {"name", "size", "sha256"} | content
//
// An archived file is never replaced: the same name with the same content is accepted again (the
// archiver retries after a crash), the same name with different content is refused loudly.
// Reads check the sealed stream (authenticity, order, completeness) and then the SHA-256 and size
// in the header before anything is handed to PostgreSQL. All functions are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "io/sha256.h"
#include "repo/audit_log.h"
#include "repo/repository.h"

namespace pgdr::repo {

inline constexpr std::string_view kWalDir = "wal";

enum class WalFileKind { segment, partial, history, backup_history };

// Checks a file name that PostgreSQL archives; nullopt for anything else (so a name from a command
// line can never become a path outside wal/).
std::optional<WalFileKind> classify_wal_file(std::string_view name);
std::string wal_object(std::string_view name);

enum class PushOutcome { stored, already_archived, different_content };

// Stores content under name durably unless the name is taken: stored, already_archived (same size
// and SHA-256 in the stored header), or different_content (nothing written). Throws
// Error(corrupt) when the stored object's header cannot be read.
PushOutcome store_wal_file(const Repository& repo, const std::string& name, ByteView content);
// The same, but different content throws Error(corrupt) "... already archived with different
// content".
PushOutcome push_wal_file(const Repository& repo, const std::string& name, ByteView content);

// The error push_wal_file throws for different content, with hint as its HINT.
Error already_archived_error(const Repository& repo, const std::string& name, std::string hint);

// Writes content under name whatever is stored there (the caller has judged the stored object);
// the write is atomic like every other.
void overwrite_wal_file(const Repository& repo, const std::string& name, ByteView content);
// The audit entry appended before overwrite_wal_file replaces an invalid object (archive-push
// --replace-invalid), and the WAL objects the log's such entries name: verify proves those again
// whatever it recorded of the object they replaced.
AuditEntry wal_replacement_entry(const std::string& name, std::string details);
std::set<std::string> replaced_wal_objects(const AuditLog& log);

// The verified content, or nullopt when the archive lacks name. Throws Error(corrupt) naming the
// object when it fails any check.
std::optional<Bytes> fetch_wal_file(const Repository& repo, const std::string& name);

class SealedReader;

// One archived WAL file read piecewise, so a caller can check many without holding each whole
// (verify hashes several side by side). open() reads and checks the header; read() hands out the
// content; finish() takes the content's SHA-256, computed by the caller, and checks it and the end
// of the object. Same checks and messages as fetch_wal_file, which is built on it. One thread.
class WalObjectReader {
 public:
  // nullopt when the archive lacks name; Error(corrupt) for a damaged header. content_head: for a
  // caller that reads no more than that many bytes of content (say, what repo::wal_file_problem
  // checks) and then calls authenticate_rest(): nothing past them is decompressed.
  static std::optional<WalObjectReader> open(const Repository& repo, const std::string& name,
                                             std::optional<std::size_t> content_head = std::nullopt);
  ~WalObjectReader();
  WalObjectReader(WalObjectReader&&) noexcept;
  WalObjectReader& operator=(WalObjectReader&&) noexcept;

  std::uint64_t size_bytes() const { return size_; }
  // Copies the next min(max_bytes, bytes left) bytes of content to dst and returns that count
  // (0 once all content was read). Throws Error(corrupt) when the object ends early.
  std::size_t read(std::uint8_t* dst, std::size_t max_bytes);
  // The same without a copy: a view of the next 1 to max_bytes bytes of content (empty once all
  // was read), valid until the next call on this reader. Throws Error(corrupt) when the object
  // holds less content than its header says.
  ByteView read_view(std::size_t max_bytes);
  // After all content was read: throws Error(corrupt) when the object goes on or the digest is not
  // the one the header records.
  void finish(const io::Digest& content_sha256);
  // Instead of reading the rest of the content and finish(): authenticates the rest of the object
  // (repo/sealed_stream.h), decoding nothing, and checks that it holds as much content as the
  // header says and ends there. For an object whose content an earlier check proved.
  void authenticate_rest();

 private:
  WalObjectReader(const Repository& repo, std::string object, std::unique_ptr<SealedReader> in);
  [[noreturn]] void bad(const std::string& why) const;

  const Repository* repo_;
  std::string object_;
  std::unique_ptr<SealedReader> in_;
  std::uint64_t size_ = 0;
  std::uint64_t left_ = 0;
  std::string sha256_hex_;
};

struct ArchivedWal {
  // timeline -> segment numbers present (complete segments only), sorted
  std::map<std::uint32_t, std::vector<std::uint64_t>> segments;
  std::vector<std::string> history_files;
  std::vector<std::string> partial_files;
};
// Lists the archive by name only (no object is read, so no key is needed).
ArchivedWal list_wal(const storage::Storage& store, std::uint64_t segment_bytes);
ArchivedWal list_wal(const Repository& repo, std::uint64_t segment_bytes);

struct WalGap {
  std::uint32_t timeline = 0;
  std::string first_missing;  // segment file names
  std::string last_missing;
};
// Holes between the first and last archived segment of each timeline.
std::vector<WalGap> find_gaps(const ArchivedWal& wal, std::uint64_t segment_bytes);

}  // namespace pgdr::repo
