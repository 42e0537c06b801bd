#include "cli/manual.h"

#include <gtest/gtest.h>

#include "cli/command_pages.h"
#include "core/error.h"

namespace pgdr::cli {
namespace {

// A small application shaped like pgdr's: a global option, a command, a command with subcommands.
struct Fixture {
  Fixture() {
    app.add_option("--config", config, "configuration file");
    auto* backup = app.add_subcommand("backup", "take a snapshot");
    backup->add_option("--process-max", n, "parallel readers")->check(CLI::Range(1, 64));
    backup->add_option("--target-action", action, "at the target")->check(CLI::IsMember({"promote", "pause"}));
    auto* key = app.add_subcommand("key", "manage keys");
    key->add_subcommand("list", "list key slots");
    key->add_subcommand("change", "replace the passphrase")->add_option("--new-passphrase-env", env, "variable");
  }
  CLI::App app{"pgdr: test application", "pgdr"};
  std::string config, env, action;
  int n = 1;
};

TEST(ManualTest, HelpTextIsWhatHelpPrints) {
  Fixture f;
  EXPECT_EQ(help_text(f.app, {}), f.app.help());
  EXPECT_EQ(help_text(f.app, {"backup"}), f.app.get_subcommand("backup")->help("pgdr"));
  EXPECT_EQ(help_text(f.app, {"key", "change"}), f.app.get_subcommand("key")->get_subcommand("change")->help("pgdr key"));
  EXPECT_NE(help_text(f.app, {"key", "change"}).find("Usage: pgdr key change [OPTIONS]"), std::string::npos);
}

TEST(ManualTest, HelpTextRefusesUnknownCommands) {
  Fixture f;
  try {
    help_text(f.app, {"key", "nope"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(), "no command 'nope' in 'pgdr key'");
  }
}

TEST(ManualTest, FirstParagraphFollowsTheTitle) {
  EXPECT_EQ(first_paragraph("# pgdr x\n\nFirst line\nsecond line.\n\nNext paragraph.\n"), "First line second line.");
  EXPECT_EQ(first_paragraph("# pgdr x\nDirect.\n"), "Direct.");
  EXPECT_EQ(first_paragraph("# pgdr x\n\n## Synopsis\n\ntext\n"), "");
  EXPECT_EQ(first_paragraph("no title\n"), "");
}

TEST(ManualTest, ManualPageHasEveryCommandAndOption) {
  Fixture f;
  const std::string man = manual_page(f.app);
  EXPECT_NE(man.find(".TH PGDR 1 "), std::string::npos);
  EXPECT_NE(man.find(".SH NAME\npgdr \\- test application\n"), std::string::npos) << man;
  for (const char* s : {"\n.SS \"pgdr backup\"\n", "\n.SS \"pgdr key\"\n", "\n.SS \"pgdr key list\"\n",
                        "\n.SS \"pgdr key change\"\n"})
    EXPECT_NE(man.find(s), std::string::npos) << s << "\n" << man;
  // Values named for what they are, ranges and choices in words, where --help shows CLI11's types
  // ("INT:INT in [1 - 64]", "TEXT:{promote,pause}").
  for (const char* s : {"\\fB\\-\\-process\\-max\\fR \\fIN\\fR\nparallel readers (1 to 64)\n",
                        "\\fB\\-\\-target\\-action\\fR \\fIACTION\\fR\nat the target (one of promote, pause)\n",
                        "\\fB\\-\\-new\\-passphrase\\-env\\fR \\fIVARIABLE\\fR", "\\fB\\-\\-config\\fR \\fIFILE\\fR"})
    EXPECT_NE(man.find(s), std::string::npos) << s << "\n" << man;
  for (const char* type : {"TEXT", "INT", " in ["}) EXPECT_EQ(man.find(type), std::string::npos) << type << "\n" << man;
  for (const char* section : {".SH EXIT STATUS\n", ".SH ENVIRONMENT\n", ".SH EXAMPLES\n", ".SH SEE ALSO\n"})
    EXPECT_NE(man.find(section), std::string::npos) << section;
  // No line may start a roff request by accident: every line is a request, a comment or text that
  // does not start with '.' or '\''.
  EXPECT_EQ(man.find("\n'"), std::string::npos);
}

TEST(ManualTest, EveryCommandPageIsCarried) {
  // The pages the build embedded: at least the first commands, each opening with its title.
  std::size_t found = 0;
  for (const auto& p : command_pages()) {
    EXPECT_TRUE(p.text.starts_with("# pgdr ")) << p.name;
    if (p.name == "backup.md" || p.name == "restore.md" || p.name == "help.md") ++found;
  }
  EXPECT_EQ(found, 3u);
}

}  // namespace
}  // namespace pgdr::cli
