// S3Storage: a Storage whose objects are keys of an S3-compatible bucket, "<prefix>/<object path>".
// Every request is signed with AWS Signature Version 4 over the SHA-256 of its body, so the server
// checks both who sent it and that the body arrived whole. Requests that fail in a way a repeat can
// cure (connection errors, timeouts, 5xx, 429/503 SlowDown) are repeated with exponential backoff
// and full jitter, up to S3Config::retry.max_attempts; other 4xx answers are final.
//
// Writers buffer up to one part (MultipartPlan): a smaller object is one PUT at commit(); a larger one
// becomes a multipart upload whose parts go up in parallel while the caller writes on, completed at
// commit(). Both make the whole object visible at once. A writer destroyed uncommitted aborts its
// upload, so S3 keeps no parts of it (and never lists them as objects).
//
// create_exclusive() sends PUT with "If-None-Match: *", which AWS S3 (since August 2024), MinIO and
// Ceph honour atomically. Servers that ignore the header (s3rver, older gateways) degrade it to
// "HEAD, then PUT": exclusive between the threads of this process, which serialises them, but not
// between hosts; capabilities() therefore reports atomic_exclusive_create = false.
//
// remove_many() sends DeleteObjects (POST /?delete), up to 1000 keys a request, instead of one DELETE
// per object: an expire of thousands of packs and segments costs a handful of requests.
//
// Small ranged reads go through a read-ahead cache: a read of up to 1 MiB fetches the aligned 4 MiB
// window around it (or what the object has of it) and keeps the last 16 windows, so the many small
// neighbouring reads of a restore (one per small file) cost one request per window instead of one
// each. Writes, exclusive creations and removals through this object drop the windows of their
// object; pgdr's ranged reads are of objects that are never replaced (packs, sealed objects).
//
// Thread safety: every method may run on several threads at once (requests draw easy handles from
// a pool). Owns its configuration, credentials included; describe() and messages never show them.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include "core/error.h"
#include "storage/s3/http_client.h"
#include "storage/s3/multipart.h"
#include "storage/s3/s3_config.h"
#include "storage/storage.h"

namespace pgdr::storage {

class S3Storage final : public Storage {
 public:
  // Checks the configuration (Error config); does not contact the server.
  explicit S3Storage(s3::S3Config config, s3::MultipartPlan plan = {});
  ~S3Storage() override;

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

  // Whether the bucket exists and answers to these credentials: nothing, or Error naming why not.
  void check_bucket() const;

  // HTTP requests sent so far, retries included: for tests and benchmarks.
  std::uint64_t requests_sent() const { return requests_sent_.load(); }
  const s3::S3Config& config() const { return config_; }
  const s3::MultipartPlan& plan() const { return plan_; }
  // Keys per DeleteObjects request: S3's limit, lowered by tests to exercise batching cheaply.
  // Set before the storage is shared between threads.
  void set_delete_batch_keys(std::size_t keys);

  // One request, for the writer and the methods above.
  struct Call {
    std::string method;
    std::string object;  // object path; empty: the bucket itself
    std::vector<s3::QueryParameter> query;
    std::vector<s3::HttpHeader> headers;  // signed and sent
    ByteView body;
    std::string action;           // for messages: "unable to <action> <where>"
    bool retry_conflict = false;  // repeat a 409 (a conditional write that raced another)
    std::uint32_t max_attempts = 0;  // 0: the configured retry policy's
  };
  struct Result {
    s3::HttpResponse response;
    std::uint32_t attempts = 1;
  };
  // Sends call, repeating it per the retry policy. Throws Error(network) when the transport failed
  // on the last attempt; returns any HTTP status otherwise.
  Result execute(const Call& call) const;
  // Error for an answer the caller did not expect: "unable to <action> <where> (HTTP ...)".
  Error http_failure(const Call& call, const Result& result) const;
  // "<describe()>/<path>", or describe() for the bucket.
  std::string where(std::string_view path) const;
  // Forgets the read-ahead windows of path (after it was written or removed).
  void invalidate(std::string_view path) const;

  static constexpr std::uint64_t kWindowBytes = 4ull << 20;
  static constexpr std::uint64_t kSmallReadBytes = 1ull << 20;
  static constexpr std::size_t kMaxWindows = 16;
  static constexpr std::size_t kMaxDeleteKeys = 1000;  // per DeleteObjects request (S3 API reference)

 private:
  s3::S3Config config_;
  s3::MultipartPlan plan_;
  s3::HttpClient client_;
  mutable std::atomic<std::uint64_t> requests_sent_{0};
  std::size_t delete_batch_keys_ = kMaxDeleteKeys;
  // Serialises create_exclusive() within this process, which is what keeps it exclusive on servers
  // that ignore If-None-Match (see above).
  std::mutex exclusive_mutex_;

  struct Window {
    std::string path;
    std::uint64_t start = 0;
    // shared_ptr: readers slice it outside the lock while the cache may drop it.
    std::shared_ptr<const Bytes> data;
    bool reaches_end = false;  // data ends where the object ends
  };
  // The window of path starting at start, fetched if not cached; nullopt when the object is missing.
  std::optional<Window> window(std::string_view path, std::uint64_t start) const;
  mutable std::mutex windows_mutex_;
  mutable std::list<Window> windows_;  // most recently used first
};

}  // namespace pgdr::storage
