#include "core/redact.h"

#include <gtest/gtest.h>

namespace pgdr {
namespace {

TEST(RedactUrl, UserinfoIsRemoved) {
  EXPECT_EQ(redact_url("smtp://user:s3cret@mail.example.com:587"), "smtp://mail.example.com:587");
  EXPECT_EQ(redact_url("https://hooks.example.com/a@b"), "https://hooks.example.com/a@b");
  EXPECT_EQ(redact_url("http://127.0.0.1:8080/hook"), "http://127.0.0.1:8080/hook");
}

TEST(RedactUrl, EveryQueryValueAndTheFragment) {
  EXPECT_EQ(redact_url("https://h.example/x?token=abc&channel=ops"), "https://h.example/x?token=***&channel=***");
  EXPECT_EQ(redact_url("https://h.example/x?abc"), "https://h.example/x?***");
  EXPECT_EQ(redact_url("https://h.example?sig=abc#frag"), "https://h.example?sig=***#***");
  EXPECT_EQ(redact_url("https://u:p@h.example:8443/x?"), "https://h.example:8443/x?");
}

TEST(RedactUrl, PathSegmentsThatLookLikeTokens) {
  // Every segment after a known hook prefix, however short.
  EXPECT_EQ(redact_url("https://hooks.example/services/T000/B000/XXXXSECRET"), "https://hooks.example/services/***/***/***");
  EXPECT_EQ(redact_url("https://discord.example/api/Webhooks/123/abc"), "https://discord.example/api/Webhooks/***/***");
  EXPECT_EQ(redact_url("https://chat.example/hooks/xyz"), "https://chat.example/hooks/***");
  EXPECT_EQ(redact_url("https://teams.example/webhookb2/a@b/IncomingWebhook/c/d"),
            "https://teams.example/webhookb2/***/***/***/***");
  // 16+ characters mixing letters and digits; 32+ of anything.
  EXPECT_EQ(redact_url("https://h.example/notify/abcdefgh12345678"), "https://h.example/notify/***");
  EXPECT_EQ(redact_url("https://h.example/notify/abcdefgh1234567"), "https://h.example/notify/abcdefgh1234567");
  EXPECT_EQ(redact_url("https://h.example/notification-endpoint"), "https://h.example/notification-endpoint");
  EXPECT_EQ(redact_url("https://h.example/" + std::string(32, 'x')), "https://h.example/***");
  EXPECT_EQ(redact_url("https://h.example/api/v2/alerts/"), "https://h.example/api/v2/alerts/");
}

TEST(RedactUrl, TextThatIsNoUrlIsLeft) {
  EXPECT_EQ(redact_url("local directory /srv/pgdr"), "local directory /srv/pgdr");
  EXPECT_EQ(redact_url(""), "");
}

TEST(RedactUrlsIn, EveryUrlInAMessage) {
  // A URL runs to whitespace, a quote or an angle bracket: the colon after it is taken as its own.
  EXPECT_EQ(redact_urls_in("Failed to connect to https://h.example/services/T/B/S?token=x: refused; and 'smtp://u:p@m:25'"),
            "Failed to connect to https://h.example/services/***/***/***?token=*** refused; and 'smtp://m:25'");
  EXPECT_EQ(redact_urls_in("no url :// here"), "no url :// here");
}

TEST(ConninfoHasPassword, KeywordsAndUris) {
  EXPECT_TRUE(conninfo_has_password("host=db user=app password=x"));
  EXPECT_TRUE(conninfo_has_password("host=db password = x"));
  EXPECT_FALSE(conninfo_has_password("host=db user=app passfile=/x"));
  EXPECT_FALSE(conninfo_has_password("host=db user=app"));
  EXPECT_TRUE(conninfo_has_password("postgresql://app:pw@db/postgres"));
  EXPECT_TRUE(conninfo_has_password("postgres://db/postgres?password=pw"));
  EXPECT_FALSE(conninfo_has_password("postgresql://app@db/postgres"));
}

}  // namespace
}  // namespace pgdr
