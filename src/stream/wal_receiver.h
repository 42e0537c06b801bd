// pgdr wal-stream: a WAL receiver over PostgreSQL's streaming replication protocol that stores
// what it receives in every configured repository. The position it reports to the server as
// flushed is always durable in every repository, where restore and archive-get find it: each
// flush writes what arrived since the last one as a chunk object (see repo/wal_stream_objects.h),
// and a completed segment is stored whole through the same path as archive-push, so a segment
// that both store is kept once. With synchronous, a flush happens as soon as no more WAL is
// waiting on the socket, so a server naming this receiver in synchronous_standby_names returns a
// commit only once the commit is in the repository.
//
// The receiver follows timeline switches, resumes after a restart from what the repository holds
// (the slot keeps the server's WAL until then) and reconnects with exponential backoff when the
// server or a repository fails. SIGINT and SIGTERM stop it after a last flush.
//
// Runs on the calling thread; owns its connection; the repositories are borrowed.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "pg/lsn.h"
#include "repo/repository.h"

namespace pgdr::stream {

struct ReceiverOptions {
  std::string conninfo;
  std::string slot;
  bool create_slot = false;
  bool synchronous = false;
  std::string application_name = "pgdr_wal_stream";
  std::chrono::milliseconds status_interval{std::chrono::seconds(10)};
  std::chrono::milliseconds flush_interval{std::chrono::seconds(1)};
  std::chrono::milliseconds retry_max{std::chrono::seconds(30)};
};

// The default slot name for a cluster: "pgdr_" + the name, lower-cased, anything but [a-z0-9_]
// replaced by '_', at most 63 characters (PostgreSQL's limit).
std::string default_slot_name(const std::string& cluster_name);
// Throws Error(usage) unless name is a valid replication slot name.
void check_slot_name(const std::string& name);

class WalReceiver {
 public:
  WalReceiver(std::vector<repo::Repository>& repos, ReceiverOptions options);
  // Streams until SIGINT/SIGTERM (returns after a last flush) or an error that retrying cannot
  // fix (throws it): a missing slot without create_slot, a role without REPLICATION, another
  // cluster's WAL in the repository.
  void run();

 private:
  struct Session;
  enum class SessionEnd { stopped, retry };
  SessionEnd session(bool& made_progress);

  std::vector<repo::Repository>& repos_;
  ReceiverOptions opt_;
  bool fatal_ = false;
};

// Where streaming stands according to a repository, for `pgdr measure` and `pgdr info`.
struct StreamPosition {
  std::uint32_t timeline = 0;
  pg::Lsn flushed;  // the newest WAL durable in the repository
  std::optional<SystemTime> flushed_at;
  std::optional<pg::Lsn> server_wal_end;  // the server's WAL end as it last reported it
  std::optional<SystemTime> server_seen_at;
  std::string partial_segment;  // the segment being received ("" when none)
  std::uint64_t partial_bytes = 0;
  bool running = false;  // false once the receiver stopped cleanly
  bool synchronous = false;
};
// nullopt when wal-stream never wrote to this repository. The LSN combines the status object with
// the chunks written after it, so it is exact even between status updates.
std::optional<StreamPosition> last_received(const repo::Repository& repo, std::uint64_t segment_bytes = 16u << 20);

}  // namespace pgdr::stream
