#include "backup/change_source.h"

#include <gtest/gtest.h>

namespace pgdr::backup {
namespace {

class FullReadReasonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    q.now = *parse_iso8601("2026-12-06T12:00:00Z");
    q.full_read_every = std::chrono::hours(24 * 7);
    q.last_full_read = *parse_iso8601("2026-12-05T12:00:00Z");
    q.system_identifier = 7312345678901234567ULL;
    q.data_checksums = true;
    q.start_lsn = pg::Lsn{0x9000028};
    repo::SnapshotInfo p;
    p.id = "20261206T110000.000Z-0001";
    p.system_identifier = "7312345678901234567";
    p.start_lsn = "0/6000028";
    p.data_checksums = true;
    q.previous.push_back(p);
  }
  ChangeQuery q;
};

TEST_F(FullReadReasonTest, AMapMayBeLookedForWhenNothingForbidsIt) { EXPECT_FALSE(full_read_reason(q)); }

TEST_F(FullReadReasonTest, EveryReasonIsSaid) {
  auto reason = [](ChangeQuery c) { return full_read_reason(c).value_or("<none>"); };
  ChangeQuery c = q;
  c.force_full_read = true;
  EXPECT_EQ(reason(c), "--full-read");

  c = q;
  c.last_full_read = *parse_iso8601("2026-11-28T12:00:00Z");
  EXPECT_NE(reason(c).find("the last full read was"), std::string::npos) << reason(c);
  c.full_read_every = std::chrono::milliseconds(0);
  EXPECT_EQ(reason(c), "<none>") << "0 never forces a full read by age";

  c = q;
  c.last_full_read.reset();
  EXPECT_EQ(reason(c), "no snapshot read the whole data directory yet");

  c = q;
  c.system_identifier = 1;
  EXPECT_NE(reason(c).find("another system identifier"), std::string::npos);

  c = q;
  c.data_checksums = false;
  EXPECT_NE(reason(c).find("data checksums were turned off since snapshot 20261206T110000.000Z-0001"),
            std::string::npos)
      << reason(c);

  c = q;
  c.start_lsn = pg::Lsn{0x100};
  EXPECT_NE(reason(c).find("starts after this one"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::backup
