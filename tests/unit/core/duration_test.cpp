#include "core/duration.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace pgdr {
namespace {

std::string message(const std::string& text) {
  try {
    parse_duration(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "<accepted>";
}

TEST(Duration, ParsesUnitsAndSums) {
  EXPECT_EQ(parse_duration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_duration("2w1d"), std::chrono::hours(24 * 15));
}

// Found by fuzzing (tests/fuzz/corpus/config_fuzz/regress-duration-overflow): each term was bounded,
// their sum was not, so enough terms overflowed it (undefined behaviour, a negative duration in
// practice), and a single large term overflowed the nanoseconds of a wall-clock time it was added to.
TEST(Duration, AtMostAHundredYears) {
  EXPECT_EQ(parse_duration("36500d"), std::chrono::hours(24 * 36500));
  EXPECT_EQ(message("36501d"), "invalid duration '36501d' (too large: at most 100 years)");
  std::string many;
  for (int i = 0; i < 16; ++i) many += "999999999w";
  EXPECT_EQ(message(many), "invalid duration '" + many + "' (too large: at most 100 years)");
  EXPECT_EQ(message("36499d86400001ms"), "invalid duration '36499d86400001ms' (too large: at most 100 years)");
}

}  // namespace
}  // namespace pgdr

namespace pgdr {
namespace {

// One style for every measured duration a person reads (reports, health reasons, the dashboard).
TEST(FormatSeconds, OneUnitStyle) {
  EXPECT_EQ(format_seconds(0), "0 s");
  EXPECT_EQ(format_seconds(0.04), "0 s");
  EXPECT_EQ(format_seconds(2.26), "2.3 s");
  EXPECT_EQ(format_seconds(61.8), "61.8 s");
  EXPECT_EQ(format_seconds(120), "2 min");
  EXPECT_EQ(format_seconds(750), "12.5 min");
  EXPECT_EQ(format_seconds(3599), "1 h");
  EXPECT_EQ(format_seconds(3600), "1 h");
  EXPECT_EQ(format_seconds(5400), "1.5 h");
  EXPECT_EQ(format_seconds(86'400), "24 h");
  EXPECT_EQ(format_seconds(3 * 86'400), "3 d");
  EXPECT_EQ(format_seconds(-90), "-90 s");
  EXPECT_EQ(format_seconds(std::nan("")), "unknown");
}

}  // namespace
}  // namespace pgdr
