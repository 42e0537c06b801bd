#include "cli/roff.h"

#include <gtest/gtest.h>

namespace pgdr::cli {
namespace {

TEST(RoffTest, EscapesBackslashMinusAndNonAscii) {
  EXPECT_EQ(roff_escape("a-b\\c"), "a\\-b\\ec");
  // groff reads bytes as latin-1 unless told otherwise: other characters by code point.
  EXPECT_EQ(roff_escape("1\xE2\x80\x93" "64, 5 \xC3\x97 2"), "1\\[u2013]64, 5 \\[u00D7] 2");
  EXPECT_EQ(roff_line(".hidden"), "\\&.hidden");
  EXPECT_EQ(roff_line("'quoted"), "\\&'quoted");
}

TEST(RoffTest, InlineMarkdown) {
  EXPECT_EQ(markdown_inline_to_roff("see `--config` and **this** [page](x.md#y)"),
            "see \\fB\\-\\-config\\fR and \\fBthis\\fR page");
  EXPECT_EQ(markdown_inline_to_roff("\xE2\x89\xA5 1"), "\\[u2265] 1");
}

TEST(RoffTest, DocumentBlocks) {
  const std::string md =
      "# Title\n"
      "\n"
      "Intro line one\n"
      "and two.\n"
      "\n"
      "## How it works\n"
      "\n"
      "### Details\n"
      "\n"
      "1. first\n"
      "   continued\n"
      "- bullet `x`\n"
      "\n"
      "```toml\n"
      "[cluster]\n"
      ".dot\n"
      "\n"
      "```\n"
      "\n"
      "## [cluster]\n"
      "\n"
      "| key | type | default | meaning |\n"
      "| --- | --- | --- | --- |\n"
      "| `name` | string | `\"main\"` | A label; `a|b` stays. |\n"
      "\n"
      "| key | runs |\n"
      "| --- | --- |\n"
      "| `backup` | `pgdr backup` |\n";
  EXPECT_EQ(markdown_to_man_body(md),
            ".PP\nIntro line one and two.\n"
            ".SH \"HOW IT WORKS\"\n"
            ".SS \"DETAILS\"\n"
            ".IP 1. 4\nfirst continued\n"
            ".IP \\(bu 2\nbullet \\fBx\\fR\n"
            ".PP\n.RS 4\n.nf\n[cluster]\n\\&.dot\n\\&\n.fi\n.RE\n"
            ".SH \"[cluster]\"\n"
            ".TP\n\\fBname\\fR\ntype: string; default: \\fB\"main\"\\fR\n.br\nA label; \\fBa|b\\fR stays.\n"
            ".TP\n\\fBbackup\\fR\nruns: \\fBpgdr backup\\fR\n");
}

}  // namespace
}  // namespace pgdr::cli
