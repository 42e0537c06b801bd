#include "storage/s3/s3_storage.h"

#include <algorithm>
#include <cstdio>
#include <charconv>
#include <deque>
#include <future>
#include <limits>
#include <random>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "core/interrupt.h"
#include "io/sha256.h"
#include "storage/object_errors.h"
#include "storage/s3/s3_xml.h"

namespace pgdr::storage {

namespace {

using s3::HttpHeader;
using s3::QueryParameter;

// Ranged reads longer than this first ask the object's size: a damaged index may ask for an absurd
// length, and the answer to it must not be trusted to be short.
constexpr std::uint64_t kTrustedRangeBytes = 256ull << 20;

std::mt19937_64& thread_random() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return random;
}

std::string payload_sha256(ByteView body) {
  if (body.empty()) return std::string(s3::kEmptyPayloadSha256);
  const io::Digest d = io::Sha256::of(body);
  return to_hex(ByteView(d.data(), d.size()));
}

std::string attempts_note(std::uint32_t attempts) {
  return attempts > 1 ? ", after " + std::to_string(attempts) + " attempts" : "";
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The total size in "Content-Range: bytes 0-99/4096".
std::optional<std::uint64_t> content_range_total(const s3::HttpResponse& r) {
  auto v = r.header("content-range");
  if (!v) return std::nullopt;
  const std::size_t slash = v->rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  return parse_u64(std::string_view(*v).substr(slash + 1));
}

bool is_no_such_bucket(const s3::HttpResponse& r) {
  return r.status == 404 && s3::parse_error(as_chars(r.body)).code == "NoSuchBucket";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writer

namespace {

class S3Writer final : public Writer {
 public:
  S3Writer(const S3Storage& storage, std::string path) : s_(storage), path_(std::move(path)) {}
  S3Writer(const S3Writer&) = delete;
  S3Writer& operator=(const S3Writer&) = delete;

  ~S3Writer() override {
    // Parts still in flight hold a reference to this writer: wait for them first.
    for (auto& f : inflight_) {
      try {
        f.get();
      } catch (...) {
      }
    }
    if (!upload_id_.empty() && !completed_) abort_upload();
  }

  void write(ByteView data) override {
    if (committed_) throw Error(ErrorKind::internal, "write after commit: " + s_.where(path_));
    if (failed_) throw Error(ErrorKind::internal, "write after a failed write: " + s_.where(path_));
    try {
      buffer_.insert(buffer_.end(), data.begin(), data.end());
      size_bytes_ += data.size();
      // Strictly more than a part: the bytes left for commit() are never none, and an object of
      // exactly one part is one PUT.
      while (buffer_.size() > s_.plan().part_size_bytes(next_part_)) send_part(s_.plan().part_size_bytes(next_part_));
    } catch (...) {
      failed_ = true;
      throw;
    }
  }

  void commit() override {
    if (committed_) throw Error(ErrorKind::internal, "commit called twice: " + s_.where(path_));
    if (failed_) throw Error(ErrorKind::internal, "commit after a failed write: " + s_.where(path_));
    committed_ = true;
    if (upload_id_.empty()) {
      put_whole();
      return;
    }
    send_part(buffer_.size());
    while (!inflight_.empty()) {
      // get() rethrows a part's failure; the destructor aborts the upload.
      auto f = std::move(inflight_.front());
      inflight_.pop_front();
      f.get();
    }
    complete();
  }

  std::uint64_t size_bytes() const override { return size_bytes_; }

 private:
  void put_whole() {
    S3Storage::Call call{"PUT", path_, {}, {}, buffer_, "write object", false};
    auto r = s_.execute(call);
    s_.invalidate(path_);
    if (r.response.status != 200) throw s_.http_failure(call, r);
  }

  void start_upload() {
    S3Storage::Call call{"POST", path_, {{"uploads", ""}}, {}, {}, "start multipart upload of", false};
    auto r = s_.execute(call);
    if (r.response.status != 200) throw s_.http_failure(call, r);
    upload_id_ = s3::parse_upload_id(as_chars(r.response.body));
  }

  // Cuts the first n bytes of the buffer into the next part and sends it in the background, once
  // fewer than max_parts_in_flight parts are on their way.
  void send_part(std::uint64_t n) {
    if (upload_id_.empty()) start_upload();
    const std::uint32_t number = next_part_++;
    if (number > s3::kMaxParts)
      throw Error(ErrorKind::io, "unable to write object " + s_.where(path_) + " (more than " +
                                     std::to_string(s3::kMaxParts) + " parts)");
    auto part = std::make_shared<Bytes>(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    {
      std::lock_guard lock(etags_mutex_);
      etags_.resize(number);
    }
    while (inflight_.size() >= std::max<std::uint32_t>(1, s_.plan().max_parts_in_flight)) {
      auto f = std::move(inflight_.front());
      inflight_.pop_front();
      f.get();
    }
    // shared_ptr: the part's bytes are shared by this frame and the task that sends them.
    inflight_.push_back(std::async(std::launch::async, [this, number, part] { upload_part(number, *part); }));
  }

  void upload_part(std::uint32_t number, const Bytes& part) {
    S3Storage::Call call{"PUT",
                         path_,
                         {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}},
                         {},
                         part,
                         "write part " + std::to_string(number) + " of object",
                         false};
    auto r = s_.execute(call);
    if (r.response.status != 200) throw s_.http_failure(call, r);
    auto etag = r.response.header("etag");
    if (!etag || etag->empty())
      throw Error(ErrorKind::network, "unable to write part " + std::to_string(number) + " of object " +
                                          s_.where(path_) + " (no ETag in the answer)");
    std::lock_guard lock(etags_mutex_);
    etags_[number - 1] = *etag;
  }

  void complete() {
    const std::string body = s3::complete_multipart_body(etags_);
    S3Storage::Call call{"POST", path_, {{"uploadId", upload_id_}}, {{"content-type", "application/xml"}},
                         as_bytes(body), "complete multipart upload of", false};
    auto r = s_.execute(call);
    s_.invalidate(path_);
    // CompleteMultipartUpload may fail after its 200 status line: the error is in the body.
    const s3::S3ErrorBody err = s3::parse_error(as_chars(r.response.body));
    if (r.response.status == 200 && err.code.empty()) {
      completed_ = true;
      return;
    }
    // A repeat of a completion whose answer was lost finds the upload gone and the object there.
    if (r.attempts > 1 && r.response.status == 404 && err.code == "NoSuchUpload") {
      auto info = s_.stat(path_);
      if (info && info->size_bytes == size_bytes_) {
        completed_ = true;
        return;
      }
    }
    if (r.response.status == 200) {
      throw Error(ErrorKind::network, "unable to complete multipart upload of " + s_.where(path_) + " (" + err.code +
                                          (err.message.empty() ? "" : ": " + err.message) + ")");
    }
    throw s_.http_failure(call, r);
  }

  void abort_upload() noexcept {
    try {
      // One attempt: this runs while an error unwinds, often because the server is unreachable,
      // and retrying there would only delay the error the user is waiting for.
      S3Storage::Call call{"DELETE", path_, {{"uploadId", upload_id_}}, {}, {}, "abort multipart upload of", false, 1};
      s_.execute(call);
    } catch (...) {
      // Best effort: a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes what is left.
    }
  }

  const S3Storage& s_;
  std::string path_;
  Bytes buffer_;
  std::uint64_t size_bytes_ = 0;
  std::string upload_id_;
  std::uint32_t next_part_ = 1;
  std::mutex etags_mutex_;
  std::vector<std::string> etags_;
  std::deque<std::future<void>> inflight_;
  bool committed_ = false;
  bool failed_ = false;
  bool completed_ = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Storage

S3Storage::S3Storage(s3::S3Config config, s3::MultipartPlan plan)
    : config_(std::move(config)),
      plan_(plan),
      client_(s3::TransportOptions{config_.connect_timeout_ms, config_.stall_timeout_ms, config_.ca_file,
                                   config_.verify_tls}) {
  s3::check_config(config_);
  if (plan_.first_part_bytes < s3::kMinPartBytes)
    throw Error(ErrorKind::internal, "s3 part size below the 5 MiB minimum");
}

S3Storage::~S3Storage() = default;

std::string S3Storage::describe() const { return s3::describe(config_); }

Capabilities S3Storage::capabilities() const {
  Capabilities caps;
  caps.atomic_exclusive_create = false;  // see the header: only where the server honours If-None-Match
  caps.local = false;
  return caps;
}

std::string S3Storage::where(std::string_view path) const {
  return path.empty() ? describe() : describe() + "/" + std::string(path);
}

S3Storage::Result S3Storage::execute(const Call& call) const {
  const s3::RequestTarget target = call.object.empty() ? s3::bucket_target(config_) : s3::object_target(config_, call.object);
  const std::string payload = payload_sha256(call.body);
  std::string url = target.url;
  if (!call.query.empty()) url += "?" + s3::canonical_query(call.query);

  const s3::RetryPolicy& policy = config_.retry;
  const std::uint32_t max_attempts = call.max_attempts > 0 ? call.max_attempts : policy.max_attempts;
  for (std::uint32_t attempt = 1;; ++attempt) {
    throw_if_interrupted();
    s3::SigningRequest sr{call.method, target.host, target.path, call.query, call.headers, payload};
    s3::SignedRequest signed_request =
        s3::sign(sr, config_.credentials, config_.region, s3::format_amz_date(std::chrono::system_clock::now()));
    s3::HttpRequest request{call.method, url, call.headers, call.body};
    for (auto& h : signed_request.headers_to_add) request.headers.push_back(std::move(h));

    bool again = false;
    Result result;
    result.attempts = attempt;
    try {
      ++requests_sent_;
      result.response = client_.perform(request);
      const long status = result.response.status;
      again = s3::retryable_status(status) || (call.retry_conflict && status == 409);
      if (!again || attempt >= max_attempts) return result;
    } catch (const s3::TransportError& e) {
      throw_if_interrupted();
      if (!e.retryable() || attempt >= max_attempts) {
        throw Error(ErrorKind::network,
                    "unable to " + call.action + " " + where(call.object) + " (" + e.what() + attempts_note(attempt) + ")");
      }
    }
    std::this_thread::sleep_for(policy.delay(attempt, thread_random()));
  }
}

Error S3Storage::http_failure(const Call& call, const Result& result) const {
  const s3::HttpResponse& r = result.response;
  const s3::S3ErrorBody err = s3::parse_error(as_chars(r.body));
  std::string why = "HTTP " + std::to_string(r.status);
  if (!err.code.empty()) why += " " + err.code;
  if (!err.message.empty()) why += ": " + err.message;
  why += attempts_note(result.attempts);
  std::string hint;
  ErrorKind kind = ErrorKind::network;
  if (err.code == "NoSuchBucket") {
    kind = ErrorKind::not_found;
    hint = "create bucket '" + config_.bucket + "' or correct s3_bucket";
  } else if (r.status == 403 || err.code == "InvalidAccessKeyId" || err.code == "SignatureDoesNotMatch") {
    hint = "check the credentials in the variables the repository names, s3_region and the clock";
  }
  return Error(kind, "unable to " + call.action + " " + where(call.object) + " (" + why + ")", hint);
}

void S3Storage::check_bucket() const {
  Call call{"GET", "", {{"list-type", "2"}, {"max-keys", "1"}}, {}, {}, "list bucket", false};
  auto r = execute(call);
  if (r.response.status != 200) throw http_failure(call, r);
}

std::optional<Bytes> S3Storage::read(std::string_view path) const {
  check_object_path(path);
  Call call{"GET", std::string(path), {}, {}, {}, "read object", false};
  auto r = execute(call);
  if (r.response.status == 200) return std::move(r.response.body);
  if (r.response.status == 404 && !is_no_such_bucket(r.response)) return std::nullopt;
  throw http_failure(call, r);
}

std::optional<Bytes> S3Storage::read_range(std::string_view path, std::uint64_t offset, std::uint64_t length) const {
  check_object_path(path);
  const std::uint64_t wanted = length > std::numeric_limits<std::uint64_t>::max() - offset
                                   ? std::numeric_limits<std::uint64_t>::max()
                                   : offset + length;
  // An empty range cannot be asked for ("bytes=4096-4095" is invalid), and a huge one is checked
  // against the object's size before anything is read.
  if (length == 0 || length > kTrustedRangeBytes) {
    auto info = stat(path);
    if (!info) return std::nullopt;
    if (wanted > info->size_bytes) throw object_truncated(*this, path, info->size_bytes, wanted);
    if (length == 0) return Bytes();
  }
  const std::uint64_t window_start = offset - offset % kWindowBytes;
  if (length <= kSmallReadBytes && wanted <= window_start + kWindowBytes) {
    auto w = window(path, window_start);
    if (!w) return std::nullopt;
    const std::uint64_t from = offset - window_start;
    if (from + length > w->data->size()) {
      if (w->reaches_end) throw object_truncated(*this, path, window_start + w->data->size(), wanted);
      // The server sent less than asked without reaching the end: not to be trusted.
      throw Error(ErrorKind::network, "unable to read object " + where(path) + " (short answer to a ranged read)");
    }
    return Bytes(w->data->begin() + static_cast<std::ptrdiff_t>(from),
                 w->data->begin() + static_cast<std::ptrdiff_t>(from + length));
  }
  Call call{"GET",
            std::string(path),
            {},
            {{"range", "bytes=" + std::to_string(offset) + "-" + std::to_string(wanted - 1)}},
            {},
            "read object",
            false};
  auto r = execute(call);
  const long status = r.response.status;
  if (status == 404 && !is_no_such_bucket(r.response)) return std::nullopt;
  if (status == 416) {
    // The range starts at or past the end: name the object's true size.
    auto info = stat(path);
    if (!info) return std::nullopt;
    throw object_truncated(*this, path, info->size_bytes, wanted);
  }
  if (status == 206) {
    Bytes& body = r.response.body;
    if (body.size() > length) throw http_failure(call, r);
    if (body.size() < length) {
      const std::uint64_t total = content_range_total(r.response).value_or(offset + body.size());
      throw object_truncated(*this, path, total, wanted);
    }
    return std::move(body);
  }
  if (status == 200) {
    // A server that ignores Range sends the whole object.
    Bytes& body = r.response.body;
    if (body.size() < wanted) throw object_truncated(*this, path, body.size(), wanted);
    return Bytes(body.begin() + static_cast<std::ptrdiff_t>(offset),
                 body.begin() + static_cast<std::ptrdiff_t>(wanted));
  }
  throw http_failure(call, r);
}

std::optional<S3Storage::Window> S3Storage::window(std::string_view path, std::uint64_t start) const {
  {
    std::lock_guard lock(windows_mutex_);
    for (auto it = windows_.begin(); it != windows_.end(); ++it) {
      if (it->start == start && it->path == path) {
        windows_.splice(windows_.begin(), windows_, it);
        return windows_.front();
      }
    }
  }
  // Fetched outside the lock: two threads missing the same window may both fetch it, which costs a
  // request but never blocks one reader behind another's transfer.
  Call call{"GET",
            std::string(path),
            {},
            {{"range", "bytes=" + std::to_string(start) + "-" + std::to_string(start + kWindowBytes - 1)}},
            {},
            "read object",
            false};
  auto r = execute(call);
  const long status = r.response.status;
  if (status == 404 && !is_no_such_bucket(r.response)) return std::nullopt;
  Window w;
  w.path = std::string(path);
  w.start = start;
  if (status == 206) {
    const std::uint64_t got = r.response.body.size();
    auto total = content_range_total(r.response);
    if (got > kWindowBytes || !total) throw http_failure(call, r);
    w.reaches_end = start + got >= *total;
    w.data = std::make_shared<const Bytes>(std::move(r.response.body));
  } else if (status == 200) {
    // A server that ignores Range sends the whole object.
    const Bytes& body = r.response.body;
    const std::uint64_t from = std::min<std::uint64_t>(start, body.size());
    const std::uint64_t to = std::min<std::uint64_t>(start + kWindowBytes, body.size());
    w.reaches_end = to == body.size();
    w.data = std::make_shared<const Bytes>(body.begin() + static_cast<std::ptrdiff_t>(from),
                                           body.begin() + static_cast<std::ptrdiff_t>(to));
  } else if (status == 416) {
    // The window starts at or past the end: an empty window that reaches it.
    auto info = stat(path);
    if (!info) return std::nullopt;
    w.reaches_end = true;
    w.data = std::make_shared<const Bytes>();
    if (info->size_bytes > start) throw http_failure(call, r);
    return w;  // not cached: the caller reports the truncation
  } else {
    throw http_failure(call, r);
  }
  std::lock_guard lock(windows_mutex_);
  windows_.push_front(w);
  while (windows_.size() > kMaxWindows) windows_.pop_back();
  return w;
}

void S3Storage::invalidate(std::string_view path) const {
  std::lock_guard lock(windows_mutex_);
  windows_.remove_if([&](const Window& w) { return w.path == path; });
}

std::unique_ptr<Writer> S3Storage::create(std::string_view path) {
  check_object_path(path);
  return std::make_unique<S3Writer>(*this, std::string(path));
}

bool S3Storage::create_exclusive(std::string_view path, ByteView data) {
  check_object_path(path);
  std::lock_guard lock(exclusive_mutex_);
  // The HEAD spares a write in the common "taken" case, and is the whole guard on servers that
  // ignore If-None-Match.
  if (stat(path)) return false;
  Call call{"PUT", std::string(path), {}, {{"if-none-match", "*"}}, data, "create object", true};
  auto r = execute(call);
  invalidate(path);
  if (r.response.status == 200) return true;
  if (r.response.status == 412) {
    // A repeat of a PUT whose answer was lost finds our own object: that is a success.
    if (r.attempts > 1) {
      auto now = read(path);
      if (now && ByteView(*now).size() == data.size() && std::equal(now->begin(), now->end(), data.begin())) return true;
    }
    return false;
  }
  throw http_failure(call, r);
}

std::optional<ObjectInfo> S3Storage::stat(std::string_view path) const {
  check_object_path(path);
  Call call{"HEAD", std::string(path), {}, {}, {}, "stat object", false};
  auto r = execute(call);
  if (r.response.status == 404) return std::nullopt;
  if (r.response.status != 200) throw http_failure(call, r);
  auto length = r.response.header("content-length");
  std::optional<std::uint64_t> size = length ? parse_u64(*length) : std::nullopt;
  if (!size)
    throw Error(ErrorKind::network, "unable to stat object " + where(path) + " (no Content-Length in the answer)");
  return ObjectInfo{std::string(path), *size};
}

std::vector<ObjectInfo> S3Storage::list(std::string_view prefix) const {
  if (!prefix.empty()) check_object_path(prefix);
  std::string key_prefix;
  if (!prefix.empty()) {
    key_prefix = s3::object_key(config_, prefix) + "/";
  } else if (const std::string p = s3::normalized_prefix(config_); !p.empty()) {
    key_prefix = p + "/";
  }
  std::vector<ObjectInfo> out;
  std::string token;
  do {
    Call call{"GET", "", {{"list-type", "2"}}, {}, {}, "list", false};
    if (!key_prefix.empty()) call.query.push_back({"prefix", key_prefix});
    if (!token.empty()) call.query.push_back({"continuation-token", token});
    call.action = "list objects under " + (prefix.empty() ? std::string("the root of") : "'" + std::string(prefix) + "' in");
    auto r = execute(call);
    if (r.response.status != 200) throw http_failure(call, r);
    s3::ListPage page = s3::parse_list_page(as_chars(r.response.body));
    for (auto& o : page.objects) {
      auto path = s3::object_path_of_key(config_, o.key);
      if (!path) continue;
      // Keys written by other tools may not be object names at all ("a//b"): they are not ours.
      try {
        check_object_path(*path);
      } catch (const Error&) {
        continue;
      }
      out.push_back(ObjectInfo{std::move(*path), o.size_bytes});
    }
    token = page.truncated ? page.next_continuation_token : std::string();
  } while (!token.empty());
  return out;
}

void S3Storage::remove(std::string_view path) {
  check_object_path(path);
  Call call{"DELETE", std::string(path), {}, {}, {}, "remove object", false};
  auto r = execute(call);
  invalidate(path);
  // S3 answers 204 whether or not the key existed; other servers may say 404 for a missing one.
  if (r.response.status == 204 || r.response.status == 200) return;
  if (r.response.status == 404 && !is_no_such_bucket(r.response)) return;
  throw http_failure(call, r);
}

void S3Storage::set_delete_batch_keys(std::size_t keys) {
  delete_batch_keys_ = std::clamp<std::size_t>(keys, 1, kMaxDeleteKeys);
}

void S3Storage::remove_many(const std::vector<std::string>& paths) {
  for (const auto& path : paths) check_object_path(path);
  for (std::size_t first = 0; first < paths.size(); first += delete_batch_keys_) {
    const std::size_t last = std::min(paths.size(), first + delete_batch_keys_);
    std::vector<std::string> keys;
    std::unordered_map<std::string, std::size_t> index_of_key;
    for (std::size_t i = first; i < last; ++i) {
      keys.push_back(s3::object_key(config_, paths[i]));
      index_of_key.emplace(keys.back(), i);
    }
    const std::string body = s3::delete_objects_body(keys);
    Call call{"POST",
              "",
              {{"delete", ""}},
              {{"content-md5", s3::content_md5(as_bytes(body))}, {"content-type", "application/xml"}},
              as_bytes(body),
              "remove " + std::to_string(keys.size()) + " objects in",
              false};
    auto r = execute(call);
    for (std::size_t i = first; i < last; ++i) invalidate(paths[i]);
    if (r.response.status != 200) throw http_failure(call, r);
    std::vector<s3::DeleteFailure> failures;
    try {
      failures = s3::parse_delete_result(as_chars(r.response.body));
    } catch (const Error& e) {
      throw Error(ErrorKind::network, "unable to " + call.action + " " + describe() + " (" + e.what() + ")");
    }
    // The first failure in the caller's order; a key that was already gone is removed all the same.
    const s3::DeleteFailure* first_failure = nullptr;
    std::size_t first_index = paths.size();
    for (const auto& f : failures) {
      if (f.code == "NoSuchKey") continue;
      auto it = index_of_key.find(f.key);
      const std::size_t index = it == index_of_key.end() ? paths.size() : it->second;
      if (!first_failure || index < first_index) {
        first_failure = &f;
        first_index = index;
      }
    }
    if (first_failure) {
      // A key the request did not name would be the server's mistake; name it as it came.
      const std::string what =
          first_index < paths.size() ? where(paths[first_index]) : "key '" + first_failure->key + "' of " + describe();
      std::string why = first_failure->code;
      if (!first_failure->message.empty()) why += ": " + first_failure->message;
      std::string hint;
      if (first_failure->code == "AccessDenied")
        hint = "check that the credentials the repository names may delete objects (s3:DeleteObject)";
      throw Error(ErrorKind::network, "unable to remove object " + what + " (" + why + ")", hint);
    }
  }
}

}  // namespace pgdr::storage
