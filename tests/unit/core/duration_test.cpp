#include "core/duration.h"

#include <gtest/gtest.h>

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
