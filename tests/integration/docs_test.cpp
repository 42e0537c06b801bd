// The manual cannot drift from the program: every command has its page in docs/commands and every
// page is a command; the help blocks quoted in the pages are the program's --help output byte for
// byte (scripts/update-help-docs.sh rewrites them); the options a page names exist, and the page
// describes every option; the global options are described in the manual; the manual page (pgdr
// help --man) covers every command with its page's first paragraph. Runs the built binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness/pgdr_runner.h"

namespace pgdr::test {
namespace {

const std::string kDocs = std::string(PGDR_SOURCE_DIR) + "/docs";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// `pgdr WORDS --help`, which must succeed.
std::string help(const std::vector<std::string>& words) {
  std::vector<std::string> args = words;
  args.push_back("--help");
  PgdrResult r = run_pgdr(args, {}, /*as_server_user=*/false);
  EXPECT_EQ(r.exit_code, 0) << testing::PrintToString(args) << r.err;
  return r.out;
}

// The first word of each line of one section ("Subcommands:", "Options:") of a help text.
std::vector<std::string> section_entries(const std::string& help_text, const std::string& section) {
  std::vector<std::string> out;
  bool inside = false;
  for (const auto& line : split_lines(help_text)) {
    if (line == section) {
      inside = true;
      continue;
    }
    if (line.empty()) inside = false;
    // Continuation lines of a long entry are indented further than entries (2 spaces).
    if (inside && line.size() > 2 && line.starts_with("  ") && line[2] != ' ') out.push_back(split_words(line)[0]);
  }
  return out;
}

std::vector<std::string> commands_of(const std::vector<std::string>& words) {
  return section_entries(help(words), "Subcommands:");
}

// The long options a help text offers: the "--name" parts of each entry's first word.
std::set<std::string> options_in_help(const std::string& help_text) {
  std::set<std::string> out;
  for (const auto& entry : section_entries(help_text, "Options:")) {
    std::stringstream names(entry);
    for (std::string n; std::getline(names, n, ',');)
      if (n.starts_with("--")) out.insert(n);
  }
  return out;
}

// Every "--option" written in text (a word starting with two dashes and a letter).
std::set<std::string> options_named(const std::string& text) {
  std::set<std::string> out;
  static const std::regex option(R"((^|[^A-Za-z0-9_-])(--[a-z][a-z0-9-]*))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), option); it != std::sregex_iterator(); ++it)
    out.insert((*it)[2].str());
  return out;
}

struct Page {
  std::string text;                               // the page without its help blocks
  std::map<std::string, std::string> help_blocks;  // "key change" -> the block's text
};

// Splits a page into its prose and the fenced blocks that follow "From `pgdr WORDS --help`:".
Page parse_page(const std::string& markdown) {
  Page page;
  std::string pending;
  bool in_block = false;
  std::string block;
  for (const auto& line : split_lines(markdown)) {
    static const std::regex from(R"(^From `pgdr (.+) --help`:$)");
    std::smatch m;
    if (in_block) {
      if (line.starts_with("```")) {
        page.help_blocks[pending] = block;
        in_block = false;
        pending.clear();
      } else {
        block += line + "\n";
      }
      continue;
    }
    if (std::regex_match(line, m, from)) {
      pending = m[1].str();
    } else if (!pending.empty() && line.starts_with("```")) {
      in_block = true;
      block.clear();
      continue;
    }
    page.text += line + "\n";
  }
  return page;
}

std::set<std::string> pages() {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(kDocs + "/commands"))
    if (e.path().extension() == ".md") out.insert(e.path().stem().string());
  return out;
}

TEST(DocsTest, EveryCommandHasAPageAndEveryPageIsACommand) {
  const auto commands = commands_of({});
  ASSERT_GE(commands.size(), 9u) << help({});
  std::set<std::string> listed(commands.begin(), commands.end());
  for (const auto& c : listed)
    EXPECT_TRUE(pages().contains(c)) << "pgdr " << c << " has no page docs/commands/" << c << ".md";
  for (const auto& p : pages())
    EXPECT_TRUE(listed.contains(p)) << "docs/commands/" << p << ".md describes no command of pgdr --help";
}

TEST(DocsTest, HelpBlocksAreTheProgramsOutput) {
  for (const auto& name : pages()) {
    const Page page = parse_page(read_text(kDocs + "/commands/" + name + ".md"));
    std::vector<std::vector<std::string>> expected = {{name}};
    for (const auto& sub : commands_of({name})) expected.push_back({name, sub});
    for (const auto& words : expected) {
      std::string key;
      for (const auto& w : words) key += (key.empty() ? "" : " ") + w;
      EXPECT_TRUE(page.help_blocks.contains(key)) << "docs/commands/" << name << ".md lacks From `pgdr " << key
                                                  << " --help`: and its block";
    }
    for (const auto& [words, block] : page.help_blocks)
      EXPECT_EQ(block, help(split_words(words)))
          << "the block 'pgdr " << words << " --help' in docs/commands/" << name
          << ".md is not the program's output; run scripts/update-help-docs.sh";
  }
}

// Which command an option written in a page belongs to. Code that starts with "pgdr [global
// options] NAME" or with a command's name is that command's; code that starts with another word is
// another program's (initdb --wal-segsize, a TOML line) and is left out; everything else, prose
// and code starting with an option, is the page's own command's.
std::map<std::string, std::set<std::string>> options_by_command(const std::string& page_text, const std::string& page,
                                                                 const std::set<std::string>& commands) {
  std::map<std::string, std::set<std::string>> out;
  auto attribute = [&](const std::string& code) {
    std::vector<std::string> words = split_words(code);
    std::size_t i = 0;
    if (i < words.size() && words[i] == "pgdr") {
      ++i;
      // Global options, also as a synopsis writes them: "[--config FILE] [-q]".
      while (i < words.size() && (words[i].starts_with("-") || words[i].starts_with("[")))
        i += words[i] == "--config" || words[i] == "[--config" ? 2 : 1;
    }
    if (i >= words.size() || words[i].starts_with("-") || words[i].starts_with("#")) {
      out[page].merge(options_named(code));
    } else if (commands.contains(words[i])) {
      out[words[i]].merge(options_named(code));
    }
  };
  bool fenced = false;
  for (const auto& line : split_lines(page_text)) {
    if (line.starts_with("```")) {
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      attribute(line);
      continue;
    }
    std::string prose;
    std::size_t pos = 0;
    while (true) {
      std::size_t open = line.find('`', pos);
      std::size_t close = open == std::string::npos ? open : line.find('`', open + 1);
      if (close == std::string::npos) {
        prose += line.substr(pos);
        break;
      }
      prose += line.substr(pos, open - pos) + " ";
      attribute(line.substr(open + 1, close - open - 1));
      pos = close + 1;
    }
    out[page].merge(options_named(prose));
  }
  return out;
}

std::set<std::string> options_of_command(const std::string& name) {
  std::set<std::string> offered = options_in_help(help({name}));
  for (const auto& sub : commands_of({name})) offered.merge(options_in_help(help({name, sub})));
  return offered;
}

TEST(DocsTest, PagesNameExactlyTheOptionsOfTheirCommand) {
  const std::set<std::string> global = options_in_help(help({}));
  const auto listed = commands_of({});
  const std::set<std::string> commands(listed.begin(), listed.end());
  for (const auto& name : pages()) {
    const Page page = parse_page(read_text(kDocs + "/commands/" + name + ".md"));
    const auto named = options_by_command(page.text, name, commands);
    for (const auto& [command, options] : named) {
      const std::set<std::string> offered = options_of_command(command);
      for (const auto& o : options)
        EXPECT_TRUE(offered.contains(o) || global.contains(o))
            << "docs/commands/" << name << ".md names " << o << " for pgdr " << command << ", which does not have it";
    }
    const std::set<std::string> described = named.contains(name) ? named.at(name) : std::set<std::string>{};
    for (const auto& o : options_of_command(name))
      EXPECT_TRUE(o == "--help" || described.contains(o))
          << "docs/commands/" << name << ".md does not describe " << o << " (outside its help block)";
  }
}

TEST(DocsTest, GlobalOptionsAreDescribed) {
  const std::set<std::string> described =
      options_named(parse_page(read_text(kDocs + "/README.md")).text + read_text(kDocs + "/CONFIGURATION.md"));
  const std::set<std::string> global = options_in_help(help({}));
  EXPECT_TRUE(global.contains("--config"));
  for (const auto& o : global)
    EXPECT_TRUE(described.contains(o)) << "neither docs/README.md nor docs/CONFIGURATION.md describes " << o;
}

// Letters and digits only, lower case: compares text across markdown and roff markup.
std::string plain(const std::string& text) {
  std::string out;
  for (char c : text)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

TEST(DocsTest, ManualPageCoversEveryCommand) {
  PgdrResult r = run_pgdr({"help", "--man"}, {}, false);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string& man = r.out;
  EXPECT_TRUE(man.starts_with(".\\\"")) << man.substr(0, 200);
  EXPECT_NE(man.find("\n.TH PGDR 1 "), std::string::npos);
  // roff markup removed: font changes, escaped minus signs.
  std::string text = std::regex_replace(man, std::regex(R"(\\f[BIR])"), "");
  text = std::regex_replace(text, std::regex(R"(\\-)"), "-");
  for (const auto& name : commands_of({})) {
    const auto at = text.find("\n.SS \"pgdr " + name + "\"\n");
    ASSERT_NE(at, std::string::npos) << "no section for pgdr " << name;
    const auto end = text.find("\n.SS \"pgdr ", at + 1);
    std::string section = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    // Sections of subcommands follow their command's.
    for (const auto& sub : commands_of({name})) {
      EXPECT_NE(text.find("\n.SS \"pgdr " + name + " " + sub + "\"\n"), std::string::npos) << name << " " << sub;
    }
    // The page's first paragraph, links reduced to their text.
    std::string md = read_text(kDocs + "/commands/" + name + ".md");
    std::string para;
    for (const auto& line : split_lines(md.substr(md.find('\n') + 1))) {
      if (line.empty()) {
        if (para.empty()) continue;
        break;
      }
      para += line + " ";
    }
    para = std::regex_replace(para, std::regex(R"(\]\([^)]*\))"), "");
    ASSERT_FALSE(plain(para).empty()) << name;
    EXPECT_NE(plain(section).find(plain(para)), std::string::npos)
        << "the manual's section for " << name << " lacks the first paragraph of its page:\n" << para;
    for (const auto& o : options_in_help(help({name})))
      EXPECT_NE(section.find(o), std::string::npos) << "the manual's section for " << name << " lacks " << o;
  }
}

}  // namespace
}  // namespace pgdr::test
