#include "cli/suggestion.h"

#include <gtest/gtest.h>

namespace pgdr::cli {
namespace {

const std::vector<std::string> kCommands = {"init",  "backup", "restore", "info",  "expire", "verify",
                                            "drill", "measure", "archive-push", "archive-get", "audit"};

TEST(Suggestion, TyposFindTheirCommand) {
  EXPECT_EQ(closest("bakup", kCommands), "backup");
  EXPECT_EQ(closest("bakcup", kCommands), "backup") << "an adjacent swap is one slip";
  EXPECT_EQ(closest("restor", kCommands), "restore");
  EXPECT_EQ(closest("veriffy", kCommands), "verify");
  EXPECT_EQ(closest("archive-pus", kCommands), "archive-push");
  EXPECT_EQ(closest("--tagret-dir", {"--target-dir", "--snapshot", "--delta"}), "--target-dir");
}

TEST(Suggestion, OtherWordsFindNothing) {
  EXPECT_EQ(closest("frobnicate", kCommands), std::nullopt);
  EXPECT_EQ(closest("x", kCommands), std::nullopt);
  EXPECT_EQ(closest("", kCommands), std::nullopt);
  EXPECT_EQ(closest("backup", {}), std::nullopt);
}

TEST(Suggestion, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
}

}  // namespace
}  // namespace pgdr::cli
