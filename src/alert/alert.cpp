#include "alert/alert.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include "core/time_format.h"

namespace pgdr::alert {

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

void curl_init_once() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

struct Upload {
  const std::string* data;
  std::size_t pos = 0;
};

std::size_t read_cb(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  std::size_t len = std::min(size * n, u->data->size() - u->pos);
  std::memcpy(buf, u->data->data() + u->pos, len);
  u->pos += len;
  return len;
}

std::size_t discard_cb(char*, std::size_t size, std::size_t n, void*) { return size * n; }

std::string curl_error(CURLcode rc, const char* errbuf) {
  std::string e = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
  while (!e.empty() && (e.back() == '\n' || e.back() == '\r')) e.pop_back();
  return e;
}

std::string rfc2822_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// Header values may not carry line breaks (header injection).
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

Delivery send_smtp(const AlertsConfig& cfg, const std::string& text, std::size_t count) {
  Delivery d;
  d.channel = "smtp " + redact_url(cfg.smtp_url);
  d.findings = count;
  std::string password;
  if (!cfg.smtp_password_env.empty()) {
    const char* p = std::getenv(cfg.smtp_password_env.c_str());
    if (!p || !*p) {
      d.error = "SMTP password variable " + cfg.smtp_password_env + " is not set or empty";
      return d;
    }
    password = p;
  }
  curl_init_once();
  CurlPtr curl(curl_easy_init());
  if (!curl) {
    d.error = "unable to start libcurl";
    return d;
  }
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_slist* list = nullptr;
  for (const auto& to : cfg.to) list = curl_slist_append(list, ("<" + to + ">").c_str());
  SlistPtr rcpt(list);
  Upload up{&text};
  std::string from = "<" + cfg.from + ">";
  curl_easy_setopt(curl.get(), CURLOPT_URL, cfg.smtp_url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(curl.get(), CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(curl.get(), CURLOPT_READDATA, &up);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(cfg.timeout.count()));
  if (cfg.starttls) curl_easy_setopt(curl.get(), CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!cfg.ca_file.empty()) curl_easy_setopt(curl.get(), CURLOPT_CAINFO, cfg.ca_file.c_str());
  if (!cfg.smtp_user.empty()) curl_easy_setopt(curl.get(), CURLOPT_USERNAME, cfg.smtp_user.c_str());
  if (!password.empty()) curl_easy_setopt(curl.get(), CURLOPT_PASSWORD, password.c_str());
  CURLcode rc = curl_easy_perform(curl.get());
  // Wipe our copy of the password; libcurl keeps its own until cleanup.
  std::fill(password.begin(), password.end(), '\0');
  if (rc != CURLE_OK) {
    d.error = curl_error(rc, errbuf);
    return d;
  }
  d.ok = true;
  return d;
}

Delivery send_webhook(const AlertsConfig& cfg, const std::string& url, const std::string& body, std::size_t count) {
  Delivery d;
  d.channel = "webhook " + redact_url(url);
  d.findings = count;
  curl_init_once();
  CurlPtr curl(curl_easy_init());
  if (!curl) {
    d.error = "unable to start libcurl";
    return d;
  }
  char errbuf[CURL_ERROR_SIZE] = {};
  SlistPtr headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POST, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  if (!cfg.ca_file.empty()) curl_easy_setopt(curl.get(), CURLOPT_CAINFO, cfg.ca_file.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, discard_cb);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(cfg.timeout.count()));
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    d.error = curl_error(rc, errbuf);
    return d;
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    d.error = "HTTP status " + std::to_string(status);
    return d;
  }
  d.ok = true;
  return d;
}

}  // namespace

std::optional<Severity> parse_severity(std::string_view t) {
  if (t == "investigate") return Severity::investigate;
  if (t == "warning") return Severity::warning;
  if (t == "alert") return Severity::alert;
  if (t == "critical") return Severity::critical;
  return std::nullopt;
}

std::string to_string(Severity s) {
  switch (s) {
    case Severity::investigate: return "investigate";
    case Severity::warning: return "warning";
    case Severity::alert: return "alert";
    case Severity::critical: return "critical";
  }
  return "critical";
}

std::vector<Finding> to_send(const AlertsConfig& config, const std::vector<Finding>& findings) {
  Severity min = parse_severity(config.min_severity).value_or(Severity::investigate);
  std::vector<Finding> out;
  for (const auto& f : findings)
    if (f.severity >= min) out.push_back(f);
  return out;
}

std::string email_text(const AlertsConfig& cfg, const Message& m, const std::vector<Finding>& findings) {
  std::string to;
  for (const auto& t : cfg.to) to += (to.empty() ? "" : ", ") + one_line(t);
  std::string out = "Date: " + rfc2822_now() + "\r\nFrom: " + one_line(cfg.from) + "\r\nTo: " + to +
                    "\r\nSubject: " + one_line(m.subject) +
                    "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  std::string body = m.summary;
  if (!body.empty() && body.back() != '\n') body += "\n";
  body += "\nFindings (" + std::to_string(findings.size()) + "):\n";
  for (const auto& f : findings) body += "- [" + to_string(f.severity) + "] " + f.message + "\n";
  // SMTP wants CRLF line ends and a leading dot doubled (RFC 5321 4.5.2); libcurl does the
  // dot-stuffing, we give it CRLF.
  for (char c : body) {
    if (c == '\n') out += "\r\n";
    else out += c;
  }
  return out;
}

nlohmann::json webhook_json(const Message& m, const std::vector<Finding>& findings) {
  nlohmann::json f = nlohmann::json::array();
  for (const auto& x : findings) f.push_back({{"severity", to_string(x.severity)}, {"message", x.message}});
  return {{"source", "pgdr"}, {"subject", m.subject}, {"findings", f}, {"report", m.payload}};
}

std::vector<Delivery> send(const AlertsConfig& cfg, const Message& m) {
  std::vector<Delivery> out;
  auto findings = to_send(cfg, m.findings);
  if (findings.empty()) return out;
  if (!cfg.smtp_url.empty()) out.push_back(send_smtp(cfg, email_text(cfg, m, findings), findings.size()));
  std::string body = webhook_json(m, findings).dump();
  for (const auto& url : cfg.webhook_urls) out.push_back(send_webhook(cfg, url, body, findings.size()));
  // libcurl's messages may quote the URL it was given.
  for (auto& d : out) d.error = redact_urls_in(d.error);
  return out;
}

}  // namespace pgdr::alert
