#include "core/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace pgdr {

namespace {

constexpr std::size_t kTokenMixedChars = 16;
constexpr std::size_t kTokenAnyChars = 32;
constexpr std::array<std::string_view, 4> kHookPrefixes = {"services", "hooks", "webhooks", "webhookb2"};

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool looks_like_token(std::string_view segment) {
  if (segment.size() >= kTokenAnyChars) return true;
  if (segment.size() < kTokenMixedChars) return false;
  const bool letters = std::any_of(segment.begin(), segment.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
  const bool digits = std::any_of(segment.begin(), segment.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  return letters && digits;
}

std::string redact_path(std::string_view path) {
  std::string out;
  bool after_prefix = false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (start > 0) out += '/';
    if (!seg.empty() && (after_prefix || looks_like_token(seg))) out += kRedacted;
    else out += seg;
    if (std::any_of(kHookPrefixes.begin(), kHookPrefixes.end(), [&](std::string_view p) { return equals_nocase(seg, p); }))
      after_prefix = true;
    start = end + 1;
  }
  return out;
}

std::string redact_query(std::string_view query) {
  std::string out;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view param = query.substr(start, end - start);
    if (start > 0) out += '&';
    const std::size_t eq = param.find('=');
    if (eq != std::string_view::npos) out.append(param.substr(0, eq + 1)).append(kRedacted);
    else if (!param.empty()) out += kRedacted;
    start = end + 1;
  }
  return out;
}

bool url_char(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && c != '"' && c != '\'' && c != '<' && c != '>';
}

}  // namespace

std::string redact_url(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const std::size_t host_start = scheme + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", host_start), url.size());
  std::string_view authority = url.substr(host_start, authority_end - host_start);
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string out(url.substr(0, host_start));
  out += authority;
  std::string_view rest = url.substr(authority_end);
  const std::size_t hash = rest.find('#');
  std::string_view fragment = hash == std::string_view::npos ? std::string_view{} : rest.substr(hash + 1);
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  const std::size_t q = rest.find('?');
  out += redact_path(rest.substr(0, q));
  if (q != std::string_view::npos) out += "?" + redact_query(rest.substr(q + 1));
  if (hash != std::string_view::npos) out += fragment.empty() ? std::string("#") : "#" + std::string(kRedacted);
  return out;
}

std::string redact_urls_in(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t mark = text.find("://", pos);
    if (mark == std::string_view::npos) break;
    std::size_t begin = mark;
    while (begin > pos && (std::isalnum(static_cast<unsigned char>(text[begin - 1])) || text[begin - 1] == '+' ||
                           text[begin - 1] == '-' || text[begin - 1] == '.'))
      --begin;
    std::size_t end = mark + 3;
    while (end < text.size() && url_char(text[end])) ++end;
    out.append(text.substr(pos, begin - pos));
    if (begin == mark) out.append(text.substr(begin, end - begin));  // no scheme: not a URL
    else out += redact_url(text.substr(begin, end - begin));
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

bool conninfo_has_password(std::string_view conninfo) {
  std::string lower(conninfo);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.starts_with("postgresql://") || lower.starts_with("postgres://")) {
    if (lower.find("password=") != std::string::npos) return true;
    const std::size_t start = lower.find("://") + 3;
    const std::size_t end = std::min(lower.find_first_of("/?", start), lower.size());
    const std::string_view authority = std::string_view(lower).substr(start, end - start);
    const std::size_t at = authority.rfind('@');
    return at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos;
  }
  for (std::size_t p = lower.find("password"); p != std::string::npos; p = lower.find("password", p + 1)) {
    if (p > 0 && !std::isspace(static_cast<unsigned char>(lower[p - 1]))) continue;
    std::size_t i = p + 8;
    while (i < lower.size() && std::isspace(static_cast<unsigned char>(lower[i]))) ++i;
    if (i < lower.size() && lower[i] == '=') return true;
  }
  return false;
}

}  // namespace pgdr
