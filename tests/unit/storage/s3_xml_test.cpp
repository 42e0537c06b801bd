#include "storage/s3/s3_xml.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace pgdr::storage::s3 {
namespace {

// A ListObjectsV2 answer as AWS documents it (API reference, ListObjectsV2, "Example 1").
constexpr std::string_view kListPage = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix>prod/db1/</Prefix>
  <KeyCount>2</KeyCount>
  <MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>prod/db1/packs/3f/3fa2</Key>
    <LastModified>2026-11-26T01:02:03.000Z</LastModified>
    <ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag>
    <Size>16777216</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents>
    <Key>prod/db1/a &amp; b &lt;c&gt; &#233;&#x4e2d;</Key>
    <Size>0</Size>
  </Contents>
</ListBucketResult>)";

TEST(S3Xml, ParsesAListPage) {
  ListPage page = parse_list_page(kListPage);
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].key, "prod/db1/packs/3f/3fa2");
  EXPECT_EQ(page.objects[0].size_bytes, 16777216u);
  EXPECT_EQ(page.objects[1].key, "prod/db1/a & b <c> \xC3\xA9\xE4\xB8\xAD");
  EXPECT_EQ(page.objects[1].size_bytes, 0u);
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3Xml, LastAndEmptyPages) {
  ListPage page = parse_list_page(
      "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>");
  EXPECT_TRUE(page.objects.empty());
  EXPECT_FALSE(page.truncated);
  // Fields after the objects are found too.
  page = parse_list_page("<ListBucketResult><Contents><Key>k</Key><Size>5</Size></Contents>"
                         "<IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_EQ(page.objects.size(), 1u);
  EXPECT_FALSE(page.truncated);
}

TEST(S3Xml, RefusesWhatItCannotTrust) {
  auto kind = [](std::string_view xml) {
    try {
      parse_list_page(xml);
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::internal;
  };
  EXPECT_EQ(kind("<Error><Code>AccessDenied</Code></Error>"), ErrorKind::network);
  // Truncated without a token would list the first page forever.
  EXPECT_EQ(kind("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"), ErrorKind::network);
  EXPECT_EQ(kind("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>"),
            ErrorKind::network);
  EXPECT_EQ(kind("<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>"), ErrorKind::network);
  EXPECT_EQ(kind("<ListBucketResult><Contents><Key>k</Key><Size>1</Size>"), ErrorKind::network);
  EXPECT_EQ(kind("<ListBucketResult><Contents><Key>a &bogus; b</Key><Size>1</Size></Contents></ListBucketResult>"),
            ErrorKind::network);
  EXPECT_EQ(kind("<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>"), ErrorKind::network);
}

TEST(S3Xml, ElementsByNameNotByPrefix) {
  const std::string xml = "<R><KeyCount>3</KeyCount><Key a=\"1\">x</Key><Key/><Key>y</Key></R>";
  EXPECT_EQ(xml_elements(xml, "Key"), (std::vector<std::string>{"x", "", "y"}));
  EXPECT_EQ(xml_element(xml, "KeyCount"), "3");
  EXPECT_FALSE(xml_element(xml, "Missing").has_value());
}

TEST(S3Xml, ErrorBodies) {
  S3ErrorBody e = parse_error(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce
your request rate.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  EXPECT_EQ(e.code, "SlowDown");
  EXPECT_EQ(e.message, "Please reduce your request rate.");
  EXPECT_TRUE(parse_error("").code.empty());
  EXPECT_TRUE(parse_error("<html>bad gateway</html>").code.empty());
  EXPECT_TRUE(parse_error("<Error><Code>a &nonsense; b</Code></Error>").code.empty());
  // CompleteMultipartUpload can fail after a 200 status: the error is the body.
  EXPECT_EQ(parse_error("<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code></Error>").code, "InternalError");
  EXPECT_TRUE(parse_error("<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>").code.empty());
}

TEST(S3Xml, MultipartDocuments) {
  EXPECT_EQ(parse_upload_id("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                            "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
                            "</InitiateMultipartUploadResult>"),
            "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
  EXPECT_THROW(parse_upload_id("<InitiateMultipartUploadResult></InitiateMultipartUploadResult>"), Error);
  EXPECT_THROW(parse_upload_id("<Error><Code>AccessDenied</Code></Error>"), Error);
  EXPECT_EQ(complete_multipart_body({"\"a1\"", "\"b&2\""}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;a1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;b&amp;2&quot;</ETag></Part></CompleteMultipartUpload>");
}

TEST(S3Xml, EscapeRoundTrips) {
  const std::string text = "a&b<c>d\"e'f";
  EXPECT_EQ(xml_unescape(xml_escape(text)), text);
  EXPECT_THROW(xml_unescape("&#0;"), Error);
  EXPECT_THROW(xml_unescape("&#xD800;"), Error);
  EXPECT_THROW(xml_unescape("&amp"), Error);
}

TEST(S3Xml, DeleteObjectsBody) {
  EXPECT_EQ(delete_objects_body({"repo/packs/3f/3fa2", "repo/a & b <c>"}),
            "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            "<Object><Key>repo/packs/3f/3fa2</Key></Object>"
            "<Object><Key>repo/a &amp; b &lt;c&gt;</Key></Object></Delete>");
  // The keys read back as sent: what the server parses is what was asked.
  const std::string body = delete_objects_body({"x/1", "x/'2\""});
  EXPECT_EQ(xml_elements(body, "Key"), (std::vector<std::string>{"x/1", "x/'2\""}));
  EXPECT_EQ(xml_element(body, "Quiet"), "true");
}

// A DeleteObjects answer as AWS documents it (API reference, DeleteObjects, "Example 2"), with one
// Deleted entry as servers that ignore quiet mode send, and a key that needs escaping.
constexpr std::string_view kDeleteResult = R"(<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted>
    <Key>repo/wal/000000010000000000000001</Key>
  </Deleted>
  <Error>
    <Key>repo/packs/3f/3fa2</Key>
    <Code>AccessDenied</Code>
    <Message>Access Denied</Message>
  </Error>
  <Error><Key>repo/a &amp;amp; b</Key><Code>NoSuchKey</Code></Error>
  <Error>
    <Key>repo/x</Key>
    <Code>InternalError</Code>
    <Message>We encountered an internal error.
Please try again.</Message>
  </Error>
</DeleteResult>)";

TEST(S3Xml, DeleteResultErrors) {
  const std::vector<DeleteFailure> f = parse_delete_result(kDeleteResult);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].key, "repo/packs/3f/3fa2");
  EXPECT_EQ(f[0].code, "AccessDenied");
  EXPECT_EQ(f[0].message, "Access Denied");
  // Unescaped once: "&amp;amp;" is the text "&amp;".
  EXPECT_EQ(f[1].key, "repo/a &amp; b");
  EXPECT_EQ(f[1].code, "NoSuchKey");
  EXPECT_EQ(f[1].message, "");
  EXPECT_EQ(f[2].code, "InternalError");
  EXPECT_EQ(f[2].message, "We encountered an internal error. Please try again.");

  // Quiet success, and the verbose one of servers that ignore Quiet.
  EXPECT_TRUE(parse_delete_result("<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>").empty());
  EXPECT_TRUE(parse_delete_result("<DeleteResult><Deleted><Key>k</Key></Deleted></DeleteResult>").empty());
  // An <Error> document (sent with status 200) or anything else is not a success.
  try {
    parse_delete_result("<Error><Code>InternalError</Code><Message>oops</Message></Error>");
    ADD_FAILURE() << "an Error document was read as a DeleteResult";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::network);
    EXPECT_STREQ(e.what(), "unreadable s3 response: not a DeleteResult but InternalError: oops");
  }
  EXPECT_THROW(parse_delete_result(""), Error);
  EXPECT_THROW(parse_delete_result("<DeleteResult><Error><Code>X</Code></Error></DeleteResult>"), Error);
  EXPECT_THROW(parse_delete_result("<DeleteResult><Error><Key>k</Key></Error></DeleteResult>"), Error);
  EXPECT_THROW(parse_delete_result("<DeleteResult><Error><Key>k</Key><Code>X</Code></DeleteResult>"), Error);
}

// What an endpoint sends is read by expat as one well-formed document: no DTD (so no entity of its
// own, internal or external), bounded depth and size.
TEST(S3Xml, RefusesDocumentTypesDeepNestingAndMalformedDocuments) {
  auto refusal = [](std::string_view xml) -> std::string {
    try {
      xml_elements(xml, "Key");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::network) << e.what();
      return e.what();
    }
    return "accepted";
  };
  // Entity expansion ("billion laughs") and external entities never start: the DTD is refused.
  EXPECT_EQ(refusal("<!DOCTYPE R [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
                    "<R><Key>&b;</Key></R>"),
            "unreadable s3 response: a document type declaration");
  EXPECT_EQ(refusal("<!DOCTYPE R [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><R><Key>&x;</Key></R>"),
            "unreadable s3 response: a document type declaration");
  EXPECT_EQ(refusal("<!DOCTYPE R SYSTEM \"http://127.0.0.1:1/r.dtd\"><R><Key>k</Key></R>"),
            "unreadable s3 response: a document type declaration");
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<D>";
  EXPECT_EQ(refusal(deep), "unreadable s3 response: elements nested deeper than 32");
  EXPECT_EQ(refusal("<R>" + std::string(64u << 20, 'x') + "</R>"),
            "unreadable s3 response: a document larger than 67108864 bytes");
  EXPECT_NE(refusal("<R><Key>k</Key></R><R/>").find("junk after document element"), std::string::npos);
  EXPECT_NE(refusal("<R><Key>k</R>").find("mismatched tag"), std::string::npos);
  EXPECT_NE(refusal("").find("no element found"), std::string::npos);
  EXPECT_EQ(refusal("<R><Key>a<Key>b</Key></Key></R>"), "unreadable s3 response: <Key> inside <Key>");
}

TEST(S3Xml, ReadsWhatAParserReads) {
  // CDATA, comments and processing instructions are XML too; a child's text is its parent's.
  EXPECT_EQ(xml_elements("<?xml version=\"1.0\"?><!-- c --><R><?pi x?><Key><![CDATA[a<b>&amp;]]></Key>"
                         "<Key>x<!-- y -->z</Key><Key>p<i>q</i></Key></R>",
                         "Key"),
            (std::vector<std::string>{"a<b>&amp;", "xz", "pq"}));
  // A Key at another level is not a listed object's key.
  ListPage page = parse_list_page("<ListBucketResult><Contents><Owner><Key>not this</Key></Owner><Key>k</Key>"
                                  "<Size>1</Size></Contents></ListBucketResult>");
  ASSERT_EQ(page.objects.size(), 1u);
  EXPECT_EQ(page.objects[0].key, "k");
}

// S3 may send white space to keep the connection of a CompleteMultipartUpload alive before its
// answer, which can be an error after the 200 status: that error must not be taken for success.
TEST(S3Xml, ErrorAfterKeepAliveWhiteSpace) {
  EXPECT_EQ(parse_error("\n \n \r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
                        "<Message>We encountered an internal error.</Message></Error>")
                .code,
            "InternalError");
}

}  // namespace
}  // namespace pgdr::storage::s3
