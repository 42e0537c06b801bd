#include "pg/timeline_history.h"

#include <gtest/gtest.h>

namespace pgdr::pg {
namespace {

TEST(TimelineHistory, ReadsWhatPostgreSqlWrites) {
  auto h = parse_timeline_history("1\t0/3000158\tno recovery target specified\n\n# a comment\n"
                                  "2\t0/5000000\tat restore point \"before\"\n",
                                  3);
  EXPECT_EQ(h.problem, "");
  ASSERT_EQ(h.switches.size(), 2u);
  EXPECT_EQ(h.switches[0].parent, 1u);
  EXPECT_EQ(h.switches[0].at, (Lsn{0x3000158}));
  EXPECT_EQ(h.switches[1].parent, 2u);
  EXPECT_EQ(h.switches[1].at, (Lsn{0x5000000}));
}

TEST(TimelineHistory, RefusesWhatPostgreSqlRefuses) {
  EXPECT_EQ(parse_timeline_history("hello\n", 2).problem, "line 1: expected a numeric timeline ID");
  EXPECT_EQ(parse_timeline_history("1\n", 2).problem, "line 1: expected a write-ahead log switchpoint location");
  EXPECT_EQ(parse_timeline_history("1\tnowhere\treason\n", 2).problem,
            "line 1: expected a write-ahead log switchpoint location");
  EXPECT_EQ(parse_timeline_history("2\t0/5000000\tx\n1\t0/6000000\ty\n", 3).problem,
            "line 2: timeline IDs must be in increasing sequence");
  EXPECT_EQ(parse_timeline_history("2\t0/5000000\tx\n", 2).problem,
            "line 1: timeline ID 2 is not below the file's timeline 2");
  EXPECT_EQ(parse_timeline_history("# only a comment\n", 2).problem, "no timeline switch in it");
  EXPECT_EQ(parse_timeline_history(std::string_view("1\t0/1\0x\n", 8), 2).problem, "line 1: not text");
}

}  // namespace
}  // namespace pgdr::pg
