// docs/CONFIGURATION.md cannot drift from the parser: every key a section's table documents is one
// the parser accepts in that section (parsed for real: the answer is never "unknown key"), every
// key the parser accepts (the allowed lists src/core/config.cpp gives its only_keys checks) is
// documented in its section, the sections are the parser's top-level tables, and every key of the
// TOML examples on the page is accepted where it stands.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "config_test_support.h"

namespace pgdr::test {
namespace {

const std::string kRoot = std::string(PGDR_UNIT_TEST_DIR) + "/../..";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

using Keys = std::map<std::string, std::set<std::string>>;  // section -> keys

// The keys in the first column of the tables under each "## [section]" or "## [[section]]".
Keys documented_keys() {
  Keys out;
  static const std::regex heading(R"(^## \[\[?([a-z_]+)\]\]?\s*$)");
  static const std::regex row(R"(^\| `([a-z0-9_]+)` \|)");
  std::istringstream in(read_text(kRoot + "/docs/CONFIGURATION.md"));
  std::string section;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (line.starts_with("## ")) section = std::regex_match(line, m, heading) ? m[1].str() : "";
    else if (!section.empty() && std::regex_search(line, m, row)) out[section].insert(m[1].str());
  }
  return out;
}

// The allowed lists of config.cpp's only_keys calls: only_keys(table, "section", {"a", "b", ...}).
Keys accepted_keys() {
  Keys out;
  const std::string src = read_text(kRoot + "/src/core/config.cpp");
  static const std::regex call(R"re(only_keys\(\s*\*?\w+,\s*"([^"]+)",\s*\{([^}]*)\})re");
  static const std::regex word("\"([a-z0-9_]+)\"");
  for (auto it = std::sregex_iterator(src.begin(), src.end(), call); it != std::sregex_iterator(); ++it) {
    const std::string list = (*it)[2].str();
    for (auto w = std::sregex_iterator(list.begin(), list.end(), word); w != std::sregex_iterator(); ++w)
      out[(*it)[1].str()].insert((*w)[1].str());
  }
  return out;
}

// A configuration the parser accepts, with key set to a value of no key's type in section: the
// error, if any, is about the value, unless the parser does not know the key.
std::string probe(const std::string& section, const std::string& key) {
  std::map<std::string, std::map<std::string, std::string>> base = {
      {"cluster", {{"name", "\"t\""}}},
      {"repo", {{"name", "\"r\""}, {"path", "\"/srv/pgdr/repo\""}}},
      {"key", {{"passphrase_env", "\"PGDR_PASSPHRASE\""}}}};
  base[section][key] = "{ probe = 1 }";  // an inline table: no key takes one
  std::string text;
  for (const auto& [s, kv] : base) {
    text += s == "repo" ? "[[repo]]\n" : "[" + s + "]\n";
    for (const auto& [k, v] : kv) text += k + " = " + v + "\n";
  }
  return config_error_of(text);
}

TEST(ConfigDocs, EveryDocumentedKeyIsAcceptedAndEveryAcceptedKeyDocumented) {
  const Keys documented = documented_keys();
  Keys accepted = accepted_keys();
  ASSERT_TRUE(accepted.count("top level")) << "config.cpp's only_keys calls were not found";
  const std::set<std::string> sections = accepted["top level"];
  accepted.erase("top level");
  ASSERT_GE(documented.size(), 10u);

  std::set<std::string> documented_sections;
  for (const auto& [s, keys] : documented) documented_sections.insert(s);
  EXPECT_EQ(documented_sections, sections) << "sections of docs/CONFIGURATION.md against the parser's tables";

  for (const auto& [section, keys] : documented) {
    SCOPED_TRACE("[" + section + "]");
    // The probe reaches this section's check: a key nobody documents is refused there.
    EXPECT_NE(probe(section, "no_such_key").find("unknown key 'no_such_key' in [" + section + "]"), std::string::npos)
        << probe(section, "no_such_key");
    for (const auto& key : keys) {
      EXPECT_EQ(probe(section, key).find("unknown key"), std::string::npos)
          << "documented but refused: " << key << ": " << probe(section, key);
      EXPECT_TRUE(accepted[section].count(key)) << "documented but not in config.cpp's list: " << key;
    }
    for (const auto& key : accepted[section])
      EXPECT_TRUE(keys.count(key)) << "accepted but not documented in docs/CONFIGURATION.md: " << key;
  }
}

// The TOML blocks of the page (the complete example, each section's example) use only keys the
// parser accepts in the section they stand in.
TEST(ConfigDocs, ExamplesUseAcceptedKeys) {
  Keys accepted = accepted_keys();
  std::istringstream in(read_text(kRoot + "/docs/CONFIGURATION.md"));
  static const std::regex table(R"(^\[\[?([a-z_]+)\]\]?\s*(#.*)?$)");
  static const std::regex assignment(R"(^([a-z0-9_]+)\s*=)");
  bool in_toml = false;
  std::string section;
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("```")) {
      in_toml = !in_toml && line == "```toml";
      section.clear();
      continue;
    }
    if (!in_toml) continue;
    std::smatch m;
    if (std::regex_match(line, m, table)) {
      section = m[1].str();
      EXPECT_TRUE(accepted["top level"].count(section)) << "example table [" << section << "]";
    } else if (std::regex_search(line, m, assignment)) {
      const std::string where = section.empty() ? "top level" : section;
      EXPECT_TRUE(accepted[where].count(m[1].str())) << "example key " << m[1].str() << " in [" << where << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace pgdr::test
