#include "storage/s3/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/error.h"
#include "io/sha256.h"

// The algorithm follows the S3 API reference, "Authenticating Requests (AWS Signature Version 4)":
// canonical request, string to sign, signing key, signature. Its published examples are the unit
// tests (tests/unit/storage/sigv4_test.cpp).

namespace pgdr::storage::s3 {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kService = "s3";
constexpr std::string_view kTerminator = "aws4_request";

[[noreturn]] void bad_request(const std::string& what) {
  throw Error(ErrorKind::internal, "unable to sign s3 request: " + what);
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// RFC 7230 token characters: what a header name may hold.
bool is_token_char(unsigned char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

std::string lower_name(std::string_view name) {
  if (name.empty()) bad_request("empty header name");
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (!is_token_char(static_cast<unsigned char>(c))) bad_request("header name '" + std::string(name) + "' is not a token");
    out += lower(c);
  }
  return out;
}

// The value as signed: blanks trimmed at both ends and each inner run of blanks made one space.
// CR, LF and NUL would split or end the header on the wire, so they are refused.
std::string canonical_value(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') bad_request("value of header '" + std::string(name) + "' holds a line break");
    if (is_blank(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

bool is_reserved_header(std::string_view lowered) {
  return lowered == "host" || lowered == "authorization" || lowered == "x-amz-date" ||
         lowered == "x-amz-content-sha256" || lowered == "x-amz-security-token";
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void check_amz_date(std::string_view amz_date) {
  bool ok = amz_date.size() == 16 && amz_date[8] == 'T' && amz_date[15] == 'Z';
  for (std::size_t i = 0; ok && i < 15; ++i) {
    if (i != 8 && (amz_date[i] < '0' || amz_date[i] > '9')) ok = false;
  }
  if (!ok) bad_request("date '" + std::string(amz_date) + "' is not YYYYMMDDTHHMMSSZ");
}

void check_request(const SigningRequest& request, std::string_view region) {
  if (request.method.empty() ||
      !std::all_of(request.method.begin(), request.method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    bad_request("method '" + request.method + "' is not an upper-case word");
  }
  if (request.host.empty() || std::any_of(request.host.begin(), request.host.end(), [](char c) {
        return is_blank(c) || c == '\r' || c == '\n' || c == '\0' || c == '/';
      })) {
    bad_request("host '" + request.host + "' is not a host");
  }
  if (request.path.empty() || request.path.front() != '/') bad_request("path '" + request.path + "' does not start with '/'");
  const std::string& p = request.payload_sha256;
  if (p != kUnsignedPayload && !(p.size() == 64 && is_lower_hex(p))) {
    bad_request("payload hash '" + p + "' is neither lower-case hex sha-256 nor " + std::string(kUnsignedPayload));
  }
  if (region.empty() || region.find('/') != std::string_view::npos) bad_request("region '" + std::string(region) + "' is not a region");
}

// HMAC-SHA-256 of data under key, kept in wiping memory: each link of the signing-key chain is as
// good as the secret for that day and region.
SecretBytes hmac(ByteView key, std::string_view data) {
  io::Digest d = io::HmacSha256(key).of(as_bytes(data));
  SecretBytes out{ByteView(d.data(), d.size())};
  OPENSSL_cleanse(d.data(), d.size());
  return out;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string canonical_uri(std::string_view path) {
  if (path.empty()) return "/";
  return uri_encode(path, true);
}

std::string canonical_query(const std::vector<QueryParameter>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const QueryParameter& q : query) encoded.emplace_back(uri_encode(q.name, false), uri_encode(q.value, false));
  // Sorted by encoded name, then value, in byte order (the encodings are ASCII).
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

SecretBytes signing_key(ByteView secret_access_key, std::string_view date, std::string_view region,
                        std::string_view service) {
  SecretBytes k_secret(4 + secret_access_key.size());
  std::memcpy(k_secret.data(), "AWS4", 4);
  if (!secret_access_key.empty()) std::memcpy(k_secret.data() + 4, secret_access_key.data(), secret_access_key.size());
  SecretBytes k_date = hmac(k_secret.view(), date);
  SecretBytes k_region = hmac(k_date.view(), region);
  SecretBytes k_service = hmac(k_region.view(), service);
  return hmac(k_service.view(), kTerminator);
}

std::string format_amz_date(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const sys_days day = floor<days>(time);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(time - day)};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

SignedRequest sign(const SigningRequest& request, const Credentials& credentials, std::string_view region,
                   std::string_view amz_date) {
  check_amz_date(amz_date);
  check_request(request, region);
  if (credentials.access_key_id.empty() || credentials.secret_access_key.size() == 0) {
    throw Error(ErrorKind::config, "unable to sign s3 request: no access key id or secret access key",
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the variables the repository names");
  }
  // The key id goes into the Credential field, which '/', ',' and blanks would break. It is not
  // printed: a wrong one should not end up in logs either.
  if (std::any_of(credentials.access_key_id.begin(), credentials.access_key_id.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == '/' || c == ',' || c == 0x7f;
      })) {
    throw Error(ErrorKind::config, "unable to sign s3 request: the access key id holds a blank, '/' or ','");
  }
  SignedRequest out;
  const std::string token(as_chars(credentials.session_token.view()));
  out.headers_to_add.push_back({"x-amz-date", std::string(amz_date)});
  out.headers_to_add.push_back({"x-amz-content-sha256", request.payload_sha256});
  if (!token.empty()) out.headers_to_add.push_back({"x-amz-security-token", token});

  // Canonical headers: lower-case names, sorted; a name given twice signs its values joined by ','
  // in the order given. stable_sort keeps that order.
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("host", canonical_value("host", request.host));
  for (const HttpHeader& h : out.headers_to_add) headers.emplace_back(h.name, canonical_value(h.name, h.value));
  for (const HttpHeader& h : request.headers) {
    std::string name = lower_name(h.name);
    if (is_reserved_header(name)) bad_request("header '" + name + "' is set by the signer");
    headers.emplace_back(std::move(name), canonical_value(h.name, h.value));
  }
  std::stable_sort(headers.begin(), headers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const bool continues = i > 0 && headers[i].first == headers[i - 1].first;
    if (continues) {
      canonical_headers.back() = ',';  // replaces the previous line's '\n'
    } else {
      if (!out.signed_headers.empty()) out.signed_headers += ';';
      out.signed_headers += headers[i].first;
      canonical_headers += headers[i].first;
      canonical_headers += ':';
    }
    canonical_headers += headers[i].second;
    canonical_headers += '\n';
  }

  out.canonical_request = request.method + '\n' + canonical_uri(request.path) + '\n' + canonical_query(request.query) +
                          '\n' + canonical_headers + '\n' + out.signed_headers + '\n' + request.payload_sha256;

  const std::string_view date = amz_date.substr(0, 8);
  std::string scope = std::string(date) + '/' + std::string(region) + '/' + std::string(kService) + '/' +
                      std::string(kTerminator);
  out.string_to_sign = std::string(kAlgorithm) + '\n' + std::string(amz_date) + '\n' + scope + '\n' +
                       to_hex(io::Sha256::of(as_bytes(out.canonical_request)));

  const SecretBytes key = signing_key(credentials.secret_access_key.view(), date, region, kService);
  out.signature = to_hex(io::HmacSha256(key.view()).of(as_bytes(out.string_to_sign)));
  out.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + '/' + scope +
                      ",SignedHeaders=" + out.signed_headers + ",Signature=" + out.signature;
  out.headers_to_add.push_back({"Authorization", out.authorization});
  return out;
}

std::string content_md5(ByteView body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &length, EVP_md5(), nullptr) != 1)
    throw Error(ErrorKind::internal, "unable to compute the md5 of a request body (openssl)");
  return to_base64(ByteView(digest, length));
}

}  // namespace pgdr::storage::s3
