// Readers for the few XML documents S3 answers with (ListObjectsV2, Error, the multipart upload
// results, DeleteResult) and the writers of those it is sent (CompleteMultipartUpload, Delete).
// What an endpoint sends is untrusted: it is read by expat, whole, as one well-formed document
// (leading whitespace allowed) of at most 64 MiB and 32 levels of elements, without a document
// type declaration (so no entity is declared, expanded or fetched: only the five predefined ones
// and character references are decoded). Anything else is refused with Error(network) rather than
// guessed at. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgdr::storage::s3 {

// The text of each element named tag (at any depth, in document order, attributes allowed, an empty
// element <tag/> giving ""; the text of its children included), entities decoded. Elements of that
// name nested in one another are refused.
std::vector<std::string> xml_elements(std::string_view xml, std::string_view tag);
// The first such element, or nullopt.
std::optional<std::string> xml_element(std::string_view xml, std::string_view tag);
// Replaces &amp; &lt; &gt; &quot; &apos; &#N; &#xN; by what they stand for; throws on anything else.
// For one text value, the inverse of xml_escape; the readers above leave decoding to expat.
std::string xml_unescape(std::string_view text);
// Escapes & < > " ' for text and attribute values.
std::string xml_escape(std::string_view text);

struct ListedObject {
  std::string key;
  std::uint64_t size_bytes = 0;
};

struct ListPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};

// A ListObjectsV2 answer (ListBucketResult); each <Contents> child of the root must hold a Key and a
// Size. Throws Error(network) when it is not one, or when it is
// truncated without a continuation token (which would loop forever).
ListPage parse_list_page(std::string_view xml);

struct S3ErrorBody {
  std::string code;     // "NoSuchKey", "SlowDown", "AccessDenied"; empty when the body is not an Error
  std::string message;  // the server's words, one line
};

// The <Error> document of a failed request (or of a CompleteMultipartUpload that failed after its
// 200 status). Never throws: an unreadable body, or another document, gives empty fields.
S3ErrorBody parse_error(std::string_view xml);

// The UploadId of an InitiateMultipartUploadResult; throws Error(network) when absent.
std::string parse_upload_id(std::string_view xml);

// The body of CompleteMultipartUpload: etags[i] is the ETag of part i+1, as the server returned it.
std::string complete_multipart_body(const std::vector<std::string>& etags);

// The body of DeleteObjects (POST /?delete) for these keys (at most 1000: S3's limit), in quiet mode:
// the answer lists only the keys that failed.
std::string delete_objects_body(const std::vector<std::string>& keys);

struct DeleteFailure {
  std::string key;
  std::string code;     // "AccessDenied", "InternalError", "NoSuchKey" (which callers take as done)
  std::string message;  // the server's words, one line
};

// The <Error> entries of a DeleteObjects answer (DeleteResult), in document order; <Deleted> entries
// (sent by servers that ignore quiet mode) are skipped. Throws Error(network) when the document is
// not a DeleteResult (e.g. an <Error> document sent with status 200) or an entry has no Key or Code.
std::vector<DeleteFailure> parse_delete_result(std::string_view xml);

}  // namespace pgdr::storage::s3
