// The choice of summaries for a timeline path; reading them from a server is in
// tests/integration/matrix/wal_summaries_test.cpp.
#include "pg/server_summaries.h"

#include <gtest/gtest.h>

namespace pgdr::pg {
namespace {

WalSummaryName summary(std::uint32_t tli, std::uint64_t start, std::uint64_t end) {
  return {tli, Lsn{start}, Lsn{end}};
}

TEST(ChooseWalSummaries, ConsecutiveSummariesCoverARange) {
  const std::vector<WalSummaryName> available{summary(1, 0x100, 0x200), summary(1, 0x200, 0x300),
                                              summary(1, 0x300, 0x400), summary(1, 0x10, 0x100)};
  auto c = choose_wal_summaries(available, {{1, Lsn{0x180}, Lsn{0x300}}});
  EXPECT_EQ(c.gap, "");
  EXPECT_EQ(c.files, (std::vector<WalSummaryName>{summary(1, 0x100, 0x200), summary(1, 0x200, 0x300)}));
}

TEST(ChooseWalSummaries, OverlapIsFineAndTheFurthestReachWins) {
  const std::vector<WalSummaryName> available{summary(1, 0x100, 0x200), summary(1, 0x100, 0x280),
                                              summary(1, 0x180, 0x400)};
  auto c = choose_wal_summaries(available, {{1, Lsn{0x100}, Lsn{0x300}}});
  EXPECT_EQ(c.gap, "");
  EXPECT_EQ(c.files, (std::vector<WalSummaryName>{summary(1, 0x100, 0x280), summary(1, 0x180, 0x400)}));
}

TEST(ChooseWalSummaries, AGapIsNoChoice) {
  const std::vector<WalSummaryName> available{summary(1, 0x100, 0x200), summary(1, 0x210, 0x300)};
  auto c = choose_wal_summaries(available, {{1, Lsn{0x100}, Lsn{0x300}}});
  EXPECT_TRUE(c.files.empty());
  EXPECT_EQ(c.gap, "no WAL summary on timeline 1 covers 0/200 (summaries are needed from 0/100 to 0/300)");
  // One that ends short of the range's end leaves its end uncovered.
  c = choose_wal_summaries({summary(1, 0x100, 0x2FF)}, {{1, Lsn{0x100}, Lsn{0x300}}});
  EXPECT_EQ(c.gap, "no WAL summary on timeline 1 covers 0/2FF (summaries are needed from 0/100 to 0/300)");
  // One that starts after the range's beginning leaves the beginning uncovered.
  c = choose_wal_summaries({summary(1, 0x101, 0x300)}, {{1, Lsn{0x100}, Lsn{0x300}}});
  EXPECT_EQ(c.gap, "no WAL summary on timeline 1 covers 0/100 (summaries are needed from 0/100 to 0/300)");
}

TEST(ChooseWalSummaries, EachTimelineByItsOwnSummaries) {
  const std::vector<WalSummaryName> available{summary(1, 0x100, 0x300), summary(2, 0x300, 0x500),
                                              summary(2, 0x100, 0x300)};
  const std::vector<TimelineRange> path{{1, Lsn{0x200}, Lsn{0x300}}, {2, Lsn{0x300}, Lsn{0x400}}};
  auto c = choose_wal_summaries(available, path);
  EXPECT_EQ(c.gap, "");
  EXPECT_EQ(c.files, (std::vector<WalSummaryName>{summary(1, 0x100, 0x300), summary(2, 0x300, 0x500)}));
  // Timeline 1's own stretch cannot be taken from another timeline's summary at the same LSNs.
  c = choose_wal_summaries({summary(2, 0x100, 0x500)}, path);
  EXPECT_EQ(c.gap, "no WAL summary on timeline 1 covers 0/200 (summaries are needed from 0/200 to 0/300)");
}

TEST(ChooseWalSummaries, NoRangeNeedsNoSummary) {
  auto c = choose_wal_summaries({}, {});
  EXPECT_EQ(c.gap, "");
  EXPECT_TRUE(c.files.empty());
}

}  // namespace
}  // namespace pgdr::pg
