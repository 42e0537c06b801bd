// FaultyStorage: a Storage decorator for tests that forwards to an inner Storage (not owned; it must
// outlive this object) and injects the failures a user can meet: a full disk, a failed commit,
// corrupt or truncated objects. It also counts calls per method so tests can check access patterns.
//
// Knobs may be set and cleared at any time from any thread; every Storage method is as thread-safe
// as the inner storage's. describe() forwards, so messages read as they would without the decorator.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace pgdr::storage {

class FaultyStorage final : public Storage {
 public:
  // A snapshot of how often each method was called since construction or reset_counts().
  struct Counts {
    std::uint64_t read = 0;
    std::uint64_t read_range = 0;
    std::uint64_t create = 0;
    std::uint64_t create_exclusive = 0;
    std::uint64_t stat = 0;
    std::uint64_t list = 0;
    std::uint64_t remove = 0;
    std::uint64_t remove_many = 0;    // remove_many calls (forwarded whole, so the inner driver batches)
    std::uint64_t write = 0;          // Writer::write calls
    std::uint64_t commit = 0;         // Writer::commit calls, failed ones included
    std::uint64_t bytes_written = 0;  // accepted by Writer::write and create_exclusive
  };

  explicit FaultyStorage(Storage& inner) : inner_(inner) {}

  // Once bytes in total (from now on, over every writer and create_exclusive) have been written,
  // writes fail with Error(io) for ENOSPC. A write crossing the limit passes its first part through,
  // as a filling disk does; create_exclusive is all or nothing and fails whole.
  void fail_writes_after_bytes(std::uint64_t bytes);
  // The n-th Writer::commit from now (1 = the next one) throws Error(io) without committing, so the
  // writer's object never appears. Later commits succeed.
  void fail_commit(int n);
  // read and read_range of every path starting with prefix return the data with one byte flipped
  // (the middle byte of what is returned, xor 0xff).
  void corrupt_reads(std::string prefix);
  // Every object whose path starts with prefix looks cut to its first keep_bytes bytes: read returns
  // them, read_range past them throws the driver's truncation error, stat and list report the size.
  void truncate_reads(std::string prefix, std::uint64_t keep_bytes);
  // From now on n changes happen (commits and removals of objects outside locks/; removals only
  // when writes is false), then the next one throws Error(interrupted) instead, as a crash or a
  // Ctrl-C would stop a command there; n < 0 disarms. While armed, remove_many removes one
  // object at a time, so that the stop can fall between two removals.
  void interrupt_after_changes(int n, bool writes = true);
  // Whether the armed interruption fired.
  bool interrupted() const;
  // The path lists remove_many was called with, in order.
  std::vector<std::vector<std::string>> remove_many_calls() const;
  // Back to plain forwarding; counts are kept.
  void clear_faults();

  Counts counts() const;
  void reset_counts();

  std::string describe() const override;
  Capabilities capabilities() const override;
  std::optional<Bytes> read(std::string_view path) const override;
  std::optional<Bytes> read_range(std::string_view path, std::uint64_t offset,
                                  std::uint64_t length) const override;
  std::unique_ptr<Writer> create(std::string_view path) override;
  bool create_exclusive(std::string_view path, ByteView data) override;
  std::optional<ObjectInfo> stat(std::string_view path) const override;
  std::vector<ObjectInfo> list(std::string_view prefix) const override;
  void remove(std::string_view path) override;
  void remove_many(const std::vector<std::string>& paths) override;
  // Forwarded without faults: in-place writes take no new space, and what they overwrite was
  // committed (and counted) when the object was written.
  std::unique_ptr<Updater> open_update(std::string_view path) override;

 private:
  friend class FaultyWriter;

  struct Truncation {
    std::string prefix;
    std::uint64_t keep_bytes;
  };

  // How many of size bytes may be written before the disk is "full"; counts what it grants.
  std::uint64_t grant_bytes(std::uint64_t size, bool all_or_nothing);
  [[noreturn]] void throw_no_space(std::string_view path) const;
  // Whether this commit is the one set to fail; counts it either way.
  bool take_commit();
  // Throws Error(interrupted) when the armed interruption falls on this change of path.
  void take_change(std::string_view path, bool removal);
  bool corrupts(std::string_view path) const;
  std::optional<std::uint64_t> truncation(std::string_view path) const;

  Storage& inner_;

  mutable std::mutex mutex_;  // guards the knobs below
  bool limit_writes_ = false;
  std::uint64_t bytes_left_ = 0;
  int commits_until_failure_ = 0;  // 0: no commit fails
  std::vector<std::string> corrupt_prefixes_;
  std::vector<Truncation> truncations_;
  int changes_left_ = -1;  // -1: no interruption armed
  bool interrupt_writes_ = true;
  bool interrupted_ = false;
  std::vector<std::vector<std::string>> remove_many_calls_;

  mutable std::atomic<std::uint64_t> reads_{0}, read_ranges_{0}, stats_{0}, lists_{0};
  std::atomic<std::uint64_t> creates_{0}, exclusive_creates_{0}, removes_{0}, remove_manys_{0}, writes_{0};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> bytes_written_{0};
};

}  // namespace pgdr::storage
