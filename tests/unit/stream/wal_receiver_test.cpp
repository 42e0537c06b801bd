#include "stream/wal_receiver.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "core/error.h"

namespace pgdr::stream {
namespace {

TEST(WalStreamSlotName, DefaultIsDerivedFromTheClusterName) {
  EXPECT_EQ(default_slot_name("main"), "pgdr_main");
  EXPECT_EQ(default_slot_name("Shop-EU 1"), "pgdr_shop_eu_1");
  EXPECT_EQ(default_slot_name(std::string(100, 'a')).size(), 63u);
  EXPECT_NO_THROW(check_slot_name(default_slot_name("Shop-EU 1")));
}

TEST(WalStreamSlotName, InvalidNamesAreUsageErrors) {
  for (const std::string& bad :
       std::vector<std::string>{"", "Upper", "with-dash", "semi;colon", std::string(64, 'a')}) {
    try {
      check_slot_name(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_EQ(std::string(e.what()), "invalid replication slot name '" + bad + "'");
    }
  }
}

TEST(WalStreamConfig, StreamSectionIsParsedAndChecked) {
  Config c = parse_config(
      "[stream]\nslot = \"s1\"\napplication_name = \"dr\"\nflush_interval = \"250ms\"\n"
      "status_interval = \"5s\"\nretry_max = \"1m\"\nconninfo = \"host=x\"\n",
      "t.toml");
  EXPECT_EQ(c.stream.slot, "s1");
  EXPECT_EQ(c.stream.application_name, "dr");
  EXPECT_EQ(c.stream.flush_interval.count(), 250);
  EXPECT_EQ(c.stream.status_interval.count(), 5000);
  EXPECT_EQ(c.stream.retry_max.count(), 60000);
  EXPECT_EQ(c.stream.conninfo, "host=x");
  Config d = parse_config("", "t.toml");
  EXPECT_EQ(d.stream.application_name, "pgdr_wal_stream");
  EXPECT_EQ(d.stream.flush_interval.count(), 1000);
  try {
    parse_config("[stream]\nflush_interval = \"0s\"\n", "t.toml");
    ADD_FAILURE() << "accepted a zero flush_interval";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_NE(std::string(e.what()).find("[stream] flush_interval must be longer than zero"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_config("[stream]\nslots = \"x\"\n", "t.toml"), Error);
}

}  // namespace
}  // namespace pgdr::stream
