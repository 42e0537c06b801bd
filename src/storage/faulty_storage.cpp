#include "storage/faulty_storage.h"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "core/error.h"
#include "storage/object_errors.h"

namespace pgdr::storage {

// Outside an anonymous namespace so that it is the class FaultyStorage befriends.
class FaultyWriter final : public Writer {
 public:
  FaultyWriter(FaultyStorage& owner, std::unique_ptr<Writer> inner, std::string path)
      : owner_(owner), inner_(std::move(inner)), path_(std::move(path)) {}

  void write(ByteView data) override {
    ++owner_.writes_;
    std::uint64_t granted = owner_.grant_bytes(data.size(), false);
    if (granted > 0) inner_->write(data.first(granted));
    if (granted < data.size()) {
      failed_ = true;
      owner_.throw_no_space(path_);
    }
  }

  void commit() override {
    // A short object must not be published, as with a real full disk.
    if (failed_) throw Error(ErrorKind::internal, "commit after a failed write: " + path_);
    owner_.take_change(path_, false);
    if (owner_.take_commit()) {
      // Not forwarded: the inner writer is destroyed uncommitted and removes what it wrote.
      throw_errno("unable to commit object", owner_.describe() + "/" + path_, EIO);
    }
    inner_->commit();
  }

  std::uint64_t size_bytes() const override { return inner_->size_bytes(); }

 private:
  FaultyStorage& owner_;
  std::unique_ptr<Writer> inner_;
  std::string path_;
  bool failed_ = false;
};

namespace {

bool starts_with_any(std::string_view path, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return path.starts_with(p); });
}

void flip_middle_byte(Bytes& data) {
  if (!data.empty()) data[data.size() / 2] ^= 0xff;
}

}  // namespace

void FaultyStorage::fail_writes_after_bytes(std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  limit_writes_ = true;
  bytes_left_ = bytes;
}

void FaultyStorage::fail_commit(int n) {
  std::lock_guard lock(mutex_);
  commits_until_failure_ = std::max(n, 0);
}

void FaultyStorage::corrupt_reads(std::string prefix) {
  std::lock_guard lock(mutex_);
  corrupt_prefixes_.push_back(std::move(prefix));
}

void FaultyStorage::truncate_reads(std::string prefix, std::uint64_t keep_bytes) {
  std::lock_guard lock(mutex_);
  truncations_.push_back(Truncation{std::move(prefix), keep_bytes});
}

void FaultyStorage::interrupt_after_changes(int n, bool writes) {
  std::lock_guard lock(mutex_);
  changes_left_ = std::max(n, -1);
  interrupt_writes_ = writes;
  interrupted_ = false;
}

bool FaultyStorage::interrupted() const {
  std::lock_guard lock(mutex_);
  return interrupted_;
}

std::vector<std::vector<std::string>> FaultyStorage::remove_many_calls() const {
  std::lock_guard lock(mutex_);
  return remove_many_calls_;
}

void FaultyStorage::take_change(std::string_view path, bool removal) {
  std::lock_guard lock(mutex_);
  if (changes_left_ < 0 || path.starts_with("locks/") || (!removal && !interrupt_writes_)) return;
  if (changes_left_-- > 0) return;
  interrupted_ = true;
  throw Error(ErrorKind::interrupted, "interrupted by SIGINT");
}

void FaultyStorage::clear_faults() {
  std::lock_guard lock(mutex_);
  limit_writes_ = false;
  bytes_left_ = 0;
  commits_until_failure_ = 0;
  changes_left_ = -1;
  corrupt_prefixes_.clear();
  truncations_.clear();
}

FaultyStorage::Counts FaultyStorage::counts() const {
  Counts c;
  c.read = reads_;
  c.read_range = read_ranges_;
  c.create = creates_;
  c.create_exclusive = exclusive_creates_;
  c.stat = stats_;
  c.list = lists_;
  c.remove = removes_;
  c.remove_many = remove_manys_;
  c.write = writes_;
  c.commit = commits_;
  c.bytes_written = bytes_written_;
  return c;
}

void FaultyStorage::reset_counts() {
  for (auto* counter : {&reads_, &read_ranges_, &stats_, &lists_, &creates_, &exclusive_creates_, &removes_,
                        &remove_manys_, &writes_, &commits_, &bytes_written_}) {
    *counter = 0;
  }
}

std::uint64_t FaultyStorage::grant_bytes(std::uint64_t size, bool all_or_nothing) {
  std::uint64_t granted = size;
  {
    std::lock_guard lock(mutex_);
    if (limit_writes_) {
      granted = std::min(size, bytes_left_);
      if (all_or_nothing && granted < size) granted = 0;
      bytes_left_ -= granted;
    }
  }
  bytes_written_ += granted;
  return granted;
}

void FaultyStorage::throw_no_space(std::string_view path) const {
  throw_errno("unable to write object", describe() + "/" + std::string(path), ENOSPC);
}

bool FaultyStorage::take_commit() {
  ++commits_;
  std::lock_guard lock(mutex_);
  if (commits_until_failure_ == 0) return false;
  return --commits_until_failure_ == 0;
}

bool FaultyStorage::corrupts(std::string_view path) const {
  std::lock_guard lock(mutex_);
  return starts_with_any(path, corrupt_prefixes_);
}

std::optional<std::uint64_t> FaultyStorage::truncation(std::string_view path) const {
  std::lock_guard lock(mutex_);
  std::optional<std::uint64_t> keep;
  for (const Truncation& t : truncations_) {
    if (path.starts_with(t.prefix)) keep = std::min(keep.value_or(t.keep_bytes), t.keep_bytes);
  }
  return keep;
}

std::string FaultyStorage::describe() const { return inner_.describe(); }

Capabilities FaultyStorage::capabilities() const { return inner_.capabilities(); }

std::optional<Bytes> FaultyStorage::read(std::string_view path) const {
  ++reads_;
  std::optional<Bytes> data = inner_.read(path);
  if (!data) return data;
  if (auto keep = truncation(path); keep && *keep < data->size()) data->resize(*keep);
  if (corrupts(path)) flip_middle_byte(*data);
  return data;
}

std::optional<Bytes> FaultyStorage::read_range(std::string_view path, std::uint64_t offset,
                                               std::uint64_t length) const {
  ++read_ranges_;
  std::optional<Bytes> data = inner_.read_range(path, offset, length);
  if (!data) return data;
  if (auto keep = truncation(path); keep && (offset > *keep || length > *keep - offset)) {
    throw object_truncated(*this, path, *keep, offset + length);
  }
  if (corrupts(path)) flip_middle_byte(*data);
  return data;
}

std::unique_ptr<Writer> FaultyStorage::create(std::string_view path) {
  ++creates_;
  return std::make_unique<FaultyWriter>(*this, inner_.create(path), std::string(path));
}

std::unique_ptr<Updater> FaultyStorage::open_update(std::string_view path) { return inner_.open_update(path); }

bool FaultyStorage::create_exclusive(std::string_view path, ByteView data) {
  ++exclusive_creates_;
  if (grant_bytes(data.size(), true) < data.size()) throw_no_space(path);
  return inner_.create_exclusive(path, data);
}

std::optional<ObjectInfo> FaultyStorage::stat(std::string_view path) const {
  ++stats_;
  std::optional<ObjectInfo> info = inner_.stat(path);
  if (info) {
    if (auto keep = truncation(path)) info->size_bytes = std::min(info->size_bytes, *keep);
  }
  return info;
}

std::vector<ObjectInfo> FaultyStorage::list(std::string_view prefix) const {
  ++lists_;
  std::vector<ObjectInfo> objects = inner_.list(prefix);
  for (ObjectInfo& o : objects) {
    if (auto keep = truncation(o.path)) o.size_bytes = std::min(o.size_bytes, *keep);
  }
  return objects;
}

void FaultyStorage::remove(std::string_view path) {
  ++removes_;
  take_change(path, true);
  inner_.remove(path);
}

void FaultyStorage::remove_many(const std::vector<std::string>& paths) {
  ++remove_manys_;
  bool armed = false;
  {
    std::lock_guard lock(mutex_);
    remove_many_calls_.push_back(paths);
    armed = changes_left_ >= 0;
  }
  if (armed)
    Storage::remove_many(paths);  // one at a time, through remove()
  else
    inner_.remove_many(paths);
}

}  // namespace pgdr::storage
