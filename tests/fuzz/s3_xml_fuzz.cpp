// The XML that an S3 endpoint (or whatever answers in its place) sends back (storage/s3/s3_xml.cpp):
// listings, errors, multipart results, delete results; and the entity decoding against the
// encoding pgdr uses for what it sends.
#include "fuzz_support.h"
#include "storage/s3/s3_xml.h"

using namespace pgdr;
namespace s3 = pgdr::storage::s3;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  fuzz::expect_errors({ErrorKind::network}, [&] {
    auto page = s3::parse_list_page(xml);
    fuzz::require(!page.truncated || !page.next_continuation_token.empty(), "a truncated page says where to go on");
  });
  s3::parse_error(xml);
  fuzz::expect_errors({ErrorKind::network}, [&] { fuzz::require(!s3::parse_upload_id(xml).empty(), "an upload id"); });
  fuzz::expect_errors({ErrorKind::network}, [&] {
    for (const auto& f : s3::parse_delete_result(xml)) fuzz::require(!f.code.empty(), "a failure has its code");
  });
  fuzz::expect_errors({ErrorKind::network}, [&] { s3::xml_elements(xml, "Key"); });
  fuzz::expect_errors({ErrorKind::network}, [&] { s3::xml_unescape(xml); });
  fuzz::require(s3::xml_unescape(s3::xml_escape(xml)) == xml, "unescape undoes escape");
  return 0;
}
