#include "pg/connection.h"

#include <gtest/gtest.h>

#include <string>

namespace pgdr::pg {
namespace {

void expect_no_secret(const std::string& redacted, const std::string& secret) {
  EXPECT_EQ(redacted.find(secret), std::string::npos) << "'" << secret << "' leaked in '" << redacted << "'";
}

TEST(RedactConninfo, KeepsConninfoWithoutPassword) {
  EXPECT_EQ(redact_conninfo("host=db1 port=5432 dbname=sales user=pgdr"), "host=db1 port=5432 dbname=sales user=pgdr");
  EXPECT_EQ(redact_conninfo(""), "");
  EXPECT_EQ(redact_conninfo("application_name='my app'"), "application_name='my app'");
}

TEST(RedactConninfo, RemovesPlainPassword) {
  EXPECT_EQ(redact_conninfo("host=db1 password=hunter2 user=pgdr"), "host=db1 user=pgdr");
  EXPECT_EQ(redact_conninfo("password=hunter2"), "");
  EXPECT_EQ(redact_conninfo("host=db1 password = hunter2"), "host=db1");
  EXPECT_EQ(redact_conninfo("  host=db1\tpassword=hunter2\n"), "host=db1");
}

TEST(RedactConninfo, RemovesQuotedPasswordWithEscapes) {
  EXPECT_EQ(redact_conninfo("host=db1 password='a b' user=x"), "host=db1 user=x");
  const std::string tricky = R"(host=db1 password='it\'s se cret\\' user=x dbname='my db')";
  const std::string redacted = redact_conninfo(tricky);
  EXPECT_EQ(redacted, "host=db1 user=x dbname='my db'");
  expect_no_secret(redacted, "se cret");
  expect_no_secret(redacted, "it");
  // Backslash escapes in an unquoted value too.
  EXPECT_EQ(redact_conninfo(R"(password=a\ b host=h)"), "host=h");
  // An unterminated quote swallows the rest, as libpq reads it.
  expect_no_secret(redact_conninfo("host=h password='open ended user=x"), "open");
}

TEST(RedactConninfo, RemovesSslKeyPassphraseAndAnyCase) {
  EXPECT_EQ(redact_conninfo("host=h sslpassword=k3y sslmode=verify-full"), "host=h sslmode=verify-full");
  EXPECT_EQ(redact_conninfo("host=h PASSWORD=x"), "host=h");
}

TEST(RedactConninfo, DropsStrayWordsThatMayBeASecret) {
  // libpq rejects this; the second word could still be half a password.
  const std::string redacted = redact_conninfo("host=h password=first second user=u");
  expect_no_secret(redacted, "first");
  expect_no_secret(redacted, "second");
  EXPECT_EQ(redacted, "host=h user=u");
}

TEST(RedactConninfo, RedactsUris) {
  EXPECT_EQ(redact_conninfo("postgresql://pgdr:s3cret@db1:5432/sales"), "postgresql://pgdr@db1:5432/sales");
  EXPECT_EQ(redact_conninfo("postgres://pgdr:s3cret@db1/sales?sslmode=require"),
            "postgres://pgdr@db1/sales?sslmode=require");
  EXPECT_EQ(redact_conninfo("postgresql://pgdr@db1/sales"), "postgresql://pgdr@db1/sales");
  EXPECT_EQ(redact_conninfo("postgresql://db1:5432/sales"), "postgresql://db1:5432/sales");
  EXPECT_EQ(redact_conninfo("postgresql://"), "postgresql://");
  EXPECT_EQ(redact_conninfo("postgresql://:pw@db1"), "postgresql://@db1");
}

TEST(RedactConninfo, RedactsUriPasswordParameters) {
  EXPECT_EQ(redact_conninfo("postgresql://db1/sales?user=u&password=s3cret&sslmode=require"),
            "postgresql://db1/sales?user=u&sslmode=require");
  EXPECT_EQ(redact_conninfo("postgresql://db1/sales?password=s3cret"), "postgresql://db1/sales");
  EXPECT_EQ(redact_conninfo("postgresql://db1?sslpassword=k"), "postgresql://db1");
}

TEST(RedactConninfo, RedactsUnencodedAtSignsInUriPassword) {
  const std::string redacted = redact_conninfo("postgresql://u:p@ss@w0rd@db1/x");
  EXPECT_EQ(redacted, "postgresql://u@db1/x");
  expect_no_secret(redacted, "ss");
}

TEST(RedactConninfo, RedactsConnectionStringsInsideDbname) {
  const std::string redacted = redact_conninfo("dbname='host=h password=inner' user=u");
  expect_no_secret(redacted, "inner");
  EXPECT_EQ(redacted, "dbname='host=h' user=u");
  const std::string uri = redact_conninfo("dbname=postgresql://u:inner@h/db");
  expect_no_secret(uri, "inner");
  EXPECT_EQ(uri, "dbname='postgresql://u@h/db'");
}

}  // namespace
}  // namespace pgdr::pg
