// A PosixStorage that stops like a crash or a Ctrl-C would: once armed, the n-th change to a
// repository object (a removal, or a commit that would make a write visible; the lock is not
// counted) throws Error(interrupted) instead of happening. Counts removal batches for tests of
// the order of removals.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "storage/posix/posix_storage.h"

namespace pgdr::repo::test {

class StoppingStorage final : public storage::Storage {
 public:
  explicit StoppingStorage(std::string root) : inner_(std::move(root)) {}
  // Lets n changes happen, then stops at the next one; with stop_writes false only removals count.
  void stop_after_changes(int n, bool stop_writes = true) {
    stop_writes_ = stop_writes;
    changes_left_ = n;
  }
  void stop_after_removals(int n) { stop_after_changes(n, false); }
  // True once an armed stop fired (the counter ran out).
  bool stopped() const { return changes_left_ < -1; }

  std::string describe() const override { return inner_.describe(); }
  storage::Capabilities capabilities() const override { return inner_.capabilities(); }
  std::optional<Bytes> read(std::string_view p) const override { return inner_.read(p); }
  std::optional<Bytes> read_range(std::string_view p, std::uint64_t o, std::uint64_t l) const override {
    return inner_.read_range(p, o, l);
  }
  std::unique_ptr<storage::Writer> create(std::string_view p) override {
    return std::make_unique<StoppingWriter>(*this, inner_.create(p), std::string(p));
  }
  bool create_exclusive(std::string_view p, ByteView d) override { return inner_.create_exclusive(p, d); }
  std::optional<storage::ObjectInfo> stat(std::string_view p) const override { return inner_.stat(p); }
  std::vector<storage::ObjectInfo> list(std::string_view p) const override { return inner_.list(p); }
  // Records each call, then removes one object at a time as the default does (through remove()).
  void remove_many(const std::vector<std::string>& paths) override {
    {
      std::lock_guard lock(batches_mutex_);
      batches_.push_back(paths);
    }
    storage::Storage::remove_many(paths);
  }
  std::vector<std::vector<std::string>> batches() const {
    std::lock_guard lock(batches_mutex_);
    return batches_;
  }
  void remove(std::string_view p) override {
    change(p, true);
    inner_.remove(p);
  }

 private:
  class StoppingWriter final : public storage::Writer {
   public:
    StoppingWriter(StoppingStorage& owner, std::unique_ptr<storage::Writer> inner, std::string path)
        : owner_(owner), inner_(std::move(inner)), path_(std::move(path)) {}
    void write(ByteView data) override { inner_->write(data); }
    void commit() override {
      owner_.change(path_, false);
      inner_->commit();
    }
    std::uint64_t size_bytes() const override { return inner_->size_bytes(); }

   private:
    StoppingStorage& owner_;
    std::unique_ptr<storage::Writer> inner_;
    std::string path_;
  };

  void change(std::string_view p, bool removal) {
    if (p.starts_with("locks/") || (!removal && !stop_writes_)) return;
    if (changes_left_ >= 0 && changes_left_-- == 0) {
      changes_left_ = -2;
      throw Error(ErrorKind::interrupted, "interrupted by SIGINT");
    }
  }

  storage::PosixStorage inner_;
  std::atomic<int> changes_left_{-1};
  std::atomic<bool> stop_writes_{false};
  mutable std::mutex batches_mutex_;
  std::vector<std::vector<std::string>> batches_;
};

}  // namespace pgdr::repo::test
