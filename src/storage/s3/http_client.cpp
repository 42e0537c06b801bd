#include "storage/s3/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

#include "core/error.h"
#include "core/interrupt.h"

namespace pgdr::storage::s3 {

namespace {

std::once_flag g_curl_init;

void global_init() {
  std::call_once(g_curl_init, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw Error(ErrorKind::internal, "unable to initialise libcurl");
  });
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

using Clock = std::chrono::steady_clock;

struct Transfer {
  ByteView upload;
  std::size_t upload_offset = 0;
  HttpResponse* response = nullptr;
  // Stall detection: the last time a byte moved either way, and how long a pause may last.
  std::chrono::milliseconds stall_timeout{0};
  curl_off_t last_down = 0;
  curl_off_t last_up = 0;
  Clock::time_point last_progress = Clock::now();
  bool stalled = false;
  bool interrupted = false;
};

// curl's own CURLOPT_LOW_SPEED_TIME judges an average over the last few seconds, so a transfer that
// stops dead after moving data is noticed only some five seconds late; this callback, called at
// least once a second, measures the pause itself. It also stops a transfer when a signal asked
// pgdr to stop.
int on_progress(void* user, curl_off_t, curl_off_t down_now, curl_off_t, curl_off_t up_now) {
  auto* t = static_cast<Transfer*>(user);
  const Clock::time_point now = Clock::now();
  if (interrupt_requested()) {
    t->interrupted = true;
    return 1;
  }
  if (down_now != t->last_down || up_now != t->last_up) {
    t->last_down = down_now;
    t->last_up = up_now;
    t->last_progress = now;
    return 0;
  }
  if (now - t->last_progress >= t->stall_timeout) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  t->response->body.insert(t->response->body.end(), reinterpret_cast<std::uint8_t*>(data),
                           reinterpret_cast<std::uint8_t*>(data) + n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  // A status line starts a new response (after "100 Continue", say): forget the previous headers.
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response->headers.push_back(
        HttpHeader{lowered(trimmed(line.substr(0, colon))), std::string(trimmed(line.substr(colon + 1)))});
  }
  return n;
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = std::min(size * count, t->upload.size() - t->upload_offset);
  if (n > 0) std::memcpy(buffer, t->upload.data() + t->upload_offset, n);
  t->upload_offset += n;
  return n;
}

int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > t->upload.size())
    return CURL_SEEKFUNC_CANTSEEK;
  t->upload_offset = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// Failures of the path between us and the server, which a later attempt may not meet. A refused
// certificate, a bad URL or an unsupported protocol would fail the same way again.
bool retryable_code(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view lower_name) const {
  for (const auto& h : headers)
    if (h.name == lower_name) return h.value;
  return std::nullopt;
}

struct HttpClient::Pool {
  std::mutex mutex;
  std::vector<CURL*> idle;

  ~Pool() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }

  CURL* take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    CURL* h = curl_easy_init();
    if (h == nullptr) throw Error(ErrorKind::internal, "unable to create a libcurl handle");
    return h;
  }

  void give_back(CURL* h) {
    std::lock_guard lock(mutex);
    idle.push_back(h);
  }
};

HttpClient::HttpClient(TransportOptions options) : options_(std::move(options)), pool_(std::make_unique<Pool>()) {
  global_init();
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::perform(const HttpRequest& request) const {
  // The handle goes back to the pool whatever happens: curl_easy_reset() below clears its options
  // but keeps its connection cache, which is what the pool is for.
  struct Lease {
    Pool& pool;
    CURL* handle;
    ~Lease() { pool.give_back(handle); }
  } lease{*pool_, pool_->take()};
  CURL* h = lease.handle;
  curl_easy_reset(h);

  HttpResponse response;
  Transfer transfer;
  transfer.upload = request.body;
  transfer.response = &response;
  transfer.stall_timeout = std::chrono::milliseconds(options_.stall_timeout_ms);
  char error_text[CURL_ERROR_SIZE] = {};

  curl_slist* raw_headers = nullptr;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(raw_headers, line.c_str());
    if (next == nullptr) {
      curl_slist_free_all(raw_headers);
      throw Error(ErrorKind::internal, "out of memory building an http request");
    }
    raw_headers = next;
  };
  for (const auto& header : request.headers) add_header(header.name + ": " + header.value);
  // S3 answers "100 Continue" promptly, but waiting for it costs a round trip per upload; and a
  // server that refuses the request still reads or drops the body, which curl handles.
  add_header("Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // we are multi-threaded: no SIGALRM for timeouts
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);

  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &transfer);
    if (request.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
  } else if (request.method == "DELETE") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    throw Error(ErrorKind::internal, "unsupported http method " + request.method);
  }

  const CURLcode code = curl_easy_perform(h);
  // The pointers set above die with this frame: a pooled handle must not keep them.
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  if (code != CURLE_OK) {
    if (transfer.interrupted) throw TransportError("interrupted", false);
    if (transfer.stalled) {
      const std::uint32_t ms = options_.stall_timeout_ms;
      throw TransportError("no byte moved for " + (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms"),
                           true);
    }
    std::string why = error_text[0] != '\0' ? std::string(error_text) : std::string(curl_easy_strerror(code));
    while (!why.empty() && (why.back() == '\n' || why.back() == '.')) why.pop_back();
    throw TransportError(why, retryable_code(code));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace pgdr::storage::s3
