#include "storage/s3/s3_xml.h"

#include <expat.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <memory>
#include <new>

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

// S3's documents are at most four elements deep (ListBucketResult, Contents, Owner, ID), and a
// listing page of 1000 keys of at most 1024 bytes, escaped, stays under 8 MiB: a document beyond
// these bounds is not an S3 answer, and is refused before it costs more memory.
constexpr std::size_t kMaxDepth = 32;
constexpr std::size_t kMaxDocumentBytes = 64u << 20;
constexpr std::size_t kNoParent = static_cast<std::size_t>(-1);

struct Element {
  std::string name;
  std::size_t parent = kNoParent;     // index into Document::elements()
  std::vector<std::size_t> children;  // the same, in document order
  // Its character data, its children's included, is Document::text_[text_begin, text_end).
  std::size_t text_begin = 0;
  std::size_t text_end = 0;
};

// One whole document read by expat: its elements in document order (the root first) and their
// text, with entities and character references decoded. A document type declaration is refused,
// so no entity is ever declared, expanded or fetched from outside.
class Document {
 public:
  // Throws Error(network) when xml is not one well-formed document within the bounds above.
  explicit Document(std::string_view xml) {
    // S3 may send whitespace while it works on a CompleteMultipartUpload, ahead of the XML
    // declaration, which must otherwise come first.
    xml.remove_prefix(std::min(xml.size(), xml.find_first_not_of(" \t\r\n")));
    if (xml.size() > kMaxDocumentBytes)
      throw bad_xml("a document larger than " + std::to_string(kMaxDocumentBytes) + " bytes");
    std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate(nullptr), XML_ParserFree);
    if (!parser) throw std::bad_alloc();
    parser_ = parser.get();
    XML_SetUserData(parser_, this);
    XML_SetParamEntityParsing(parser_, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetStartDoctypeDeclHandler(parser_, [](void* self, const XML_Char*, const XML_Char*, const XML_Char*, int) {
      static_cast<Document*>(self)->refuse(Refusal::doctype);
    });
    XML_SetElementHandler(
        parser_, [](void* self, const XML_Char* name, const XML_Char**) { static_cast<Document*>(self)->start(name); },
        [](void* self, const XML_Char*) { static_cast<Document*>(self)->end(); });
    XML_SetCharacterDataHandler(parser_, [](void* self, const XML_Char* s, int len) {
      static_cast<Document*>(self)->characters(std::string_view(s, static_cast<std::size_t>(len)));
    });
    const XML_Status status = XML_Parse(parser_, xml.data(), static_cast<int>(xml.size()), XML_TRUE);
    if (failure_) std::rethrow_exception(failure_);
    if (refused_ == Refusal::doctype) throw bad_xml("a document type declaration");
    if (refused_ == Refusal::depth) throw bad_xml("elements nested deeper than " + std::to_string(kMaxDepth));
    if (status != XML_STATUS_OK)
      throw bad_xml(std::string(XML_ErrorString(XML_GetErrorCode(parser_))) + " at line " +
                    std::to_string(XML_GetCurrentLineNumber(parser_)) + " column " +
                    std::to_string(XML_GetCurrentColumnNumber(parser_)));
  }
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  const std::vector<Element>& elements() const { return elements_; }
  const Element& root() const { return elements_.front(); }
  const Element* parent(const Element& e) const { return e.parent == kNoParent ? nullptr : &elements_[e.parent]; }
  std::string text(const Element& e) const { return text_.substr(e.text_begin, e.text_end - e.text_begin); }
  // parent's children named name, in document order.
  std::vector<const Element*> children(const Element& parent, std::string_view name) const {
    std::vector<const Element*> out;
    for (std::size_t i : parent.children)
      if (elements_[i].name == name) out.push_back(&elements_[i]);
    return out;
  }
  // The text of parent's first child named name, or nullopt.
  std::optional<std::string> child_text(const Element& parent, std::string_view name) const {
    for (std::size_t i : parent.children)
      if (elements_[i].name == name) return text(elements_[i]);
    return std::nullopt;
  }

 private:
  // Expat is C: nothing may be thrown through it. A handler that fails or refuses stops the parser,
  // and the constructor throws once XML_Parse has returned. Expat may call a handler or two after
  // the stop (the end of an empty element whose start failed): they do nothing.
  enum class Refusal { none, doctype, depth };
  void refuse(Refusal why) noexcept {
    if (stopped_) return;
    refused_ = why;
    stopped_ = true;
    XML_StopParser(parser_, XML_FALSE);
  }
  template <typename F>
  void guarded(F&& f) noexcept {
    if (stopped_) return;
    try {
      f();
    } catch (...) {
      failure_ = std::current_exception();
      stopped_ = true;
      XML_StopParser(parser_, XML_FALSE);
    }
  }
  void start(const XML_Char* name) {
    if (open_.size() >= kMaxDepth) return refuse(Refusal::depth);
    guarded([&] {
      Element e;
      e.name = name;
      e.parent = open_.empty() ? kNoParent : open_.back();
      e.text_begin = text_.size();
      elements_.push_back(std::move(e));
      if (!open_.empty()) elements_[open_.back()].children.push_back(elements_.size() - 1);
      open_.push_back(elements_.size() - 1);
    });
  }
  void end() {
    if (stopped_) return;
    elements_[open_.back()].text_end = text_.size();
    open_.pop_back();
  }
  void characters(std::string_view s) {
    guarded([&] { text_.append(s); });
  }

  XML_Parser parser_ = nullptr;
  std::vector<Element> elements_;
  std::vector<std::size_t> open_;  // the elements started and not ended yet, outermost first
  std::string text_;
  bool stopped_ = false;
  Refusal refused_ = Refusal::none;
  std::exception_ptr failure_;
};

// The Code and Message of an <Error> document; empty fields for any other document.
S3ErrorBody error_body(const Document& doc) {
  S3ErrorBody e;
  if (doc.root().name != "Error") return e;
  e.code = one_line(doc.child_text(doc.root(), "Code").value_or(""));
  e.message = one_line(doc.child_text(doc.root(), "Message").value_or(""));
  return e;
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
  const Document doc(xml);
  std::vector<std::string> out;
  for (const Element& e : doc.elements()) {
    if (e.name != tag) continue;
    for (const Element* p = doc.parent(e); p; p = doc.parent(*p))
      if (p->name == tag) throw bad_xml("<" + std::string(tag) + "> inside <" + std::string(tag) + ">");
    out.push_back(doc.text(e));
  }
  return out;
}

std::optional<std::string> xml_element(std::string_view xml, std::string_view tag) {
  auto all = xml_elements(xml, tag);
  if (all.empty()) return std::nullopt;
  return std::move(all.front());
}

ListPage parse_list_page(std::string_view xml) {
  const Document doc(xml);
  const Element& root = doc.root();
  if (root.name != "ListBucketResult") throw bad_xml("not a ListBucketResult");
  ListPage page;
  for (const Element* item : doc.children(root, "Contents")) {
    auto key = doc.child_text(*item, "Key");
    auto size = doc.child_text(*item, "Size");
    if (!key || !size) throw bad_xml("a listed object has no Key or Size");
    ListedObject o;
    o.key = std::move(*key);
    auto [ptr, ec] = std::from_chars(size->data(), size->data() + size->size(), o.size_bytes);
    if (size->empty() || ec != std::errc() || ptr != size->data() + size->size())
      throw bad_xml("size '" + one_line(*size) + "' of a listed object is not a number");
    page.objects.push_back(std::move(o));
  }
  const std::string truncated = doc.child_text(root, "IsTruncated").value_or("false");
  if (truncated != "true" && truncated != "false") throw bad_xml("IsTruncated is '" + one_line(truncated) + "'");
  page.truncated = truncated == "true";
  if (page.truncated) {
    page.next_continuation_token = doc.child_text(root, "NextContinuationToken").value_or("");
    if (page.next_continuation_token.empty()) throw bad_xml("a truncated listing without NextContinuationToken");
  }
  return page;
}

S3ErrorBody parse_error(std::string_view xml) {
  try {
    return error_body(Document(xml));
  } catch (const Error&) {
    return {};
  }
}

std::string parse_upload_id(std::string_view xml) {
  const Document doc(xml);
  if (doc.root().name != "InitiateMultipartUploadResult") throw bad_xml("not an InitiateMultipartUploadResult");
  auto id = doc.child_text(doc.root(), "UploadId");
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
  const Document doc(xml);
  if (doc.root().name != "DeleteResult") {
    const S3ErrorBody err = error_body(doc);
    throw bad_xml(err.code.empty() ? "not a DeleteResult"
                                   : "not a DeleteResult but " + err.code +
                                         (err.message.empty() ? "" : ": " + err.message));
  }
  // <Deleted> entries, sent by servers that ignore quiet mode, are not read.
  std::vector<DeleteFailure> out;
  for (const Element* entry : doc.children(doc.root(), "Error")) {
    auto key = doc.child_text(*entry, "Key");
    auto code = doc.child_text(*entry, "Code");
    if (!key || !code || code->empty()) throw bad_xml("a DeleteResult error has no Key or Code");
    out.push_back(
        DeleteFailure{std::move(*key), one_line(*code), one_line(doc.child_text(*entry, "Message").value_or(""))});
  }
  return out;
}

}  // namespace pgdr::storage::s3
