// Shared by the fuzz targets: a Storage held in memory (a target puts the fuzzed bytes under an
// object name and calls the real reader, with no disk in the loop), the fixed test key every sealed
// target uses, and the sealing a target does itself when it fuzzes what a reader parses after
// authentication: the fuzzed plaintext is sealed with the test key exactly as the writer would, so
// the reader's checks pass and the fuzzer reaches the record and JSON parsing behind them.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "repo/keys.h"
#include "storage/storage.h"

namespace pgdr::fuzz {

class MemoryStorage final : public storage::Storage {
 public:
  std::string describe() const override { return "memory storage"; }
  storage::Capabilities capabilities() const override { return {true, false}; }

  std::optional<Bytes> read(std::string_view path) const override {
    std::lock_guard lock(mu_);
    auto it = objects_.find(std::string(path));
    if (it == objects_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<Bytes> read_range(std::string_view path, std::uint64_t offset, std::uint64_t length) const override {
    std::lock_guard lock(mu_);
    auto it = objects_.find(std::string(path));
    if (it == objects_.end()) return std::nullopt;
    const Bytes& b = it->second;
    if (offset > b.size() || length > b.size() - offset)
      throw Error(ErrorKind::corrupt, "object " + std::string(path) + " ends at " + std::to_string(b.size()) + " bytes");
    return Bytes(b.begin() + static_cast<std::ptrdiff_t>(offset), b.begin() + static_cast<std::ptrdiff_t>(offset + length));
  }
  std::unique_ptr<storage::Writer> create(std::string_view path) override {
    return std::make_unique<MemoryWriter>(*this, std::string(path));
  }
  bool create_exclusive(std::string_view path, ByteView data) override {
    std::lock_guard lock(mu_);
    return objects_.emplace(std::string(path), Bytes(data.begin(), data.end())).second;
  }
  std::optional<storage::ObjectInfo> stat(std::string_view path) const override {
    std::lock_guard lock(mu_);
    auto it = objects_.find(std::string(path));
    if (it == objects_.end()) return std::nullopt;
    return storage::ObjectInfo{it->first, it->second.size()};
  }
  std::vector<storage::ObjectInfo> list(std::string_view prefix) const override {
    std::lock_guard lock(mu_);
    std::vector<storage::ObjectInfo> out;
    const std::string dir = prefix.empty() ? "" : std::string(prefix) + "/";
    for (const auto& [name, bytes] : objects_)
      if (name.starts_with(dir)) out.push_back({name, bytes.size()});
    return out;
  }
  void remove(std::string_view path) override {
    std::lock_guard lock(mu_);
    objects_.erase(std::string(path));
  }

  void put(const std::string& path, ByteView data) {
    std::lock_guard lock(mu_);
    objects_[path] = Bytes(data.begin(), data.end());
  }

 private:
  class MemoryWriter final : public storage::Writer {
   public:
    MemoryWriter(MemoryStorage& store, std::string path) : store_(store), path_(std::move(path)) {}
    void write(ByteView data) override { data_.insert(data_.end(), data.begin(), data.end()); }
    void commit() override { store_.put(path_, data_); }
    std::uint64_t size_bytes() const override { return data_.size(); }

   private:
    MemoryStorage& store_;
    std::string path_;
    Bytes data_;
  };

  mutable std::mutex mu_;
  std::map<std::string, Bytes> objects_;
};

// The master key of every sealed target and seed: bytes 0, 1, ..., 63.
inline const repo::MasterKey& test_key() {
  static const repo::MasterKey key = [] {
    Bytes raw(repo::kMasterKeyBytes);
    for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(i);
    return repo::MasterKey(SecretBytes(raw));
  }();
  return key;
}

// Most targets take their first byte as the mode: how the rest is to be fed to the reader.
struct ModedInput {
  std::uint8_t mode = 0;
  ByteView rest;
};
inline ModedInput split_mode(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  return {data[0], ByteView(data + 1, size - 1)};
}

// Runs a parser on fuzzed bytes: an Error of a kind it is documented to throw for bad input is
// expected; any other kind (internal, say) aborts with its message, and any other exception escapes,
// so that libFuzzer reports both as crashes.
template <typename F>
void expect_errors(std::initializer_list<ErrorKind> kinds, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    for (ErrorKind k : kinds)
      if (e.kind() == k) return;
    std::fprintf(stderr, "unexpected error kind: %s\n", e.what());
    std::abort();
  }
}

// A property the code promises, checked on fuzzed input: aborts (a crash to libFuzzer) when false.
inline void require(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "property violated: %s\n", what.c_str());
  std::abort();
}

}  // namespace pgdr::fuzz
