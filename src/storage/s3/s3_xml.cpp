#include "storage/s3/s3_xml.h"

#include <charconv>

#include "core/error.h"

namespace pgdr::storage::s3 {

namespace {

Error bad_xml(const std::string& why) { return Error(ErrorKind::network, "unreadable s3 response: " + why); }

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

}  // namespace

std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '&') {
      out += c;
      ++i;
      continue;
    }
    const std::size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) throw bad_xml("unterminated entity");
    const std::string_view name = text.substr(i + 1, semi - i - 1);
    if (name == "amp") {
      out += '&';
    } else if (name == "lt") {
      out += '<';
    } else if (name == "gt") {
      out += '>';
    } else if (name == "quot") {
      out += '"';
    } else if (name == "apos") {
      out += '\'';
    } else if (name.size() >= 2 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || cp == 0 || cp > 0x10FFFF ||
          (cp >= 0xD800 && cp <= 0xDFFF)) {
        throw bad_xml("bad character reference &" + std::string(name) + ";");
      }
      append_utf8(out, cp);
    } else {
      throw bad_xml("unknown entity &" + std::string(name) + ";");
    }
    i = semi + 1;
  }
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<std::string> xml_elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  // Appended rather than "<" + std::string(tag): GCC 12 at -O3 warns about the latter (-Wrestrict
  // false positive), which would stop a Release build.
  std::string open = "<";
  open.append(tag);
  std::string close = "</";
  close.append(tag).append(">");
  std::size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    const std::size_t after_name = pos + open.size();
    if (after_name >= xml.size()) break;
    const char next = xml[after_name];
    // "<Key" must not match "<KeyCount>".
    if (next != '>' && next != '/' && next != ' ' && next != '\t' && next != '\r' && next != '\n') {
      pos = after_name;
      continue;
    }
    const std::size_t end_of_open = xml.find('>', after_name);
    if (end_of_open == std::string_view::npos) throw bad_xml("unterminated <" + std::string(tag) + ">");
    if (xml[end_of_open - 1] == '/') {
      out.emplace_back();
      pos = end_of_open + 1;
      continue;
    }
    const std::size_t end = xml.find(close, end_of_open + 1);
    if (end == std::string_view::npos) throw bad_xml("<" + std::string(tag) + "> is not closed");
    std::string_view inner = xml.substr(end_of_open + 1, end - end_of_open - 1);
    // CDATA is not used by S3 in these documents; refusing it beats misreading it.
    if (inner.find("<![CDATA[") != std::string_view::npos) throw bad_xml("unexpected CDATA section");
    out.push_back(xml_unescape(inner));
    pos = end + close.size();
  }
  return out;
}

std::optional<std::string> xml_element(std::string_view xml, std::string_view tag) {
  auto all = xml_elements(xml, tag);
  if (all.empty()) return std::nullopt;
  return std::move(all.front());
}

ListPage parse_list_page(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) throw bad_xml("not a ListBucketResult");
  ListPage page;
  // Each <Contents> holds one object; its own <Key> and <Size> are read inside it.
  const std::string_view open = "<Contents>", close = "</Contents>";
  std::size_t pos = 0;
  std::size_t last_contents_end = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    const std::size_t end = xml.find(close, pos);
    if (end == std::string_view::npos) throw bad_xml("<Contents> is not closed");
    const std::string_view item = xml.substr(pos + open.size(), end - pos - open.size());
    auto key = xml_element(item, "Key");
    auto size = xml_element(item, "Size");
    if (!key || !size) throw bad_xml("a listed object has no Key or Size");
    ListedObject o;
    o.key = std::move(*key);
    auto [ptr, ec] = std::from_chars(size->data(), size->data() + size->size(), o.size_bytes);
    if (size->empty() || ec != std::errc() || ptr != size->data() + size->size())
      throw bad_xml("size '" + one_line(*size) + "' of a listed object is not a number");
    page.objects.push_back(std::move(o));
    pos = end + close.size();
    last_contents_end = pos;
  }
  // Top-level fields, looked for outside the objects so a key named like a field cannot fool us
  // (keys are escaped text, so they cannot hold a tag; this only keeps the scan honest).
  std::string head = std::string(xml.substr(0, xml.find(open)));
  std::string tail = std::string(xml.substr(last_contents_end));
  auto field = [&](std::string_view tag) -> std::optional<std::string> {
    if (auto v = xml_element(head, tag)) return v;
    return xml_element(tail, tag);
  };
  const std::string truncated = field("IsTruncated").value_or("false");
  if (truncated != "true" && truncated != "false") throw bad_xml("IsTruncated is '" + one_line(truncated) + "'");
  page.truncated = truncated == "true";
  if (page.truncated) {
    page.next_continuation_token = field("NextContinuationToken").value_or("");
    if (page.next_continuation_token.empty()) throw bad_xml("a truncated listing without NextContinuationToken");
  }
  return page;
}

S3ErrorBody parse_error(std::string_view xml) {
  S3ErrorBody e;
  try {
    const std::size_t at = xml.find("<Error");
    if (at == std::string_view::npos) return e;
    const std::string_view body = xml.substr(at);
    e.code = one_line(xml_element(body, "Code").value_or(""));
    e.message = one_line(xml_element(body, "Message").value_or(""));
  } catch (const Error&) {
    e = S3ErrorBody{};
  }
  return e;
}

std::string parse_upload_id(std::string_view xml) {
  if (xml.find("<InitiateMultipartUploadResult") == std::string_view::npos)
    throw bad_xml("not an InitiateMultipartUploadResult");
  auto id = xml_element(xml, "UploadId");
  if (!id || id->empty()) throw bad_xml("InitiateMultipartUploadResult without UploadId");
  return *id;
}

std::string complete_multipart_body(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + xml_escape(etags[i]) +
           "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string delete_objects_body(const std::vector<std::string>& keys) {
  std::string out = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>";
  for (const auto& key : keys) out += "<Object><Key>" + xml_escape(key) + "</Key></Object>";
  out += "</Delete>";
  return out;
}

std::vector<DeleteFailure> parse_delete_result(std::string_view xml) {
  if (xml.find("<DeleteResult") == std::string_view::npos) {
    const S3ErrorBody err = parse_error(xml);
    throw bad_xml(err.code.empty() ? "not a DeleteResult"
                                   : "not a DeleteResult but " + err.code +
                                         (err.message.empty() ? "" : ": " + err.message));
  }
  std::vector<DeleteFailure> out;
  // Each <Error> entry is read whole before its fields, so that a field's text is unescaped once
  // (xml_elements would unescape the entry, then the field again).
  const std::string_view close = "</Error>";
  std::size_t pos = 0;
  while ((pos = xml.find("<Error", pos)) != std::string_view::npos) {
    const std::size_t after_name = pos + 6;
    if (after_name >= xml.size()) break;
    if (xml[after_name] != '>' && xml[after_name] != ' ') {
      pos = after_name;
      continue;
    }
    const std::size_t start = xml.find('>', after_name);
    const std::size_t end = start == std::string_view::npos ? start : xml.find(close, start);
    if (end == std::string_view::npos) throw bad_xml("<Error> is not closed");
    const std::string_view entry = xml.substr(start + 1, end - start - 1);
    auto key = xml_element(entry, "Key");
    auto code = xml_element(entry, "Code");
    if (!key || !code || code->empty()) throw bad_xml("a DeleteResult error has no Key or Code");
    out.push_back(
        DeleteFailure{std::move(*key), one_line(*code), one_line(xml_element(entry, "Message").value_or(""))});
    pos = end + close.size();
  }
  return out;
}

}  // namespace pgdr::storage::s3
