// docs/CONFIGURATION.md cannot drift from the sections the families declare (config_sections(),
// core/config_section.h): every key a section's table documents is one the parser accepts in that
// section (parsed for real: the answer is never "unknown key"), every declared key is documented
// in its section, the sections are the declared ones, every key of the TOML examples on the page
// is accepted where it stands, and a default or range the page writes as a value is the
// declaration's.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config_test_support.h"
#include "config/config.h"
#include "core/error.h"

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

// The declared keys of each section, and the sections under "top level".
Keys accepted_keys() {
  Keys out;
  for (const auto& section : config_sections()) {
    out["top level"].insert(section.name);
    for (const auto& key : section.keys) out[section.name].insert(key.name);
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
  ASSERT_TRUE(accepted.count("top level")) << "no section is declared";
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
      EXPECT_TRUE(accepted[section].count(key)) << "documented but not declared: " << key;
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

// The cells of a documentation table row, trimmed ("| a | b |" -> {"a", "b"}).
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] != '|') {
      cell += line[i];
      continue;
    }
    const auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
    cell.clear();
  }
  return out;
}

// One documented key: its section and the cells of its row by column name ("default", "range").
struct DocumentedKey {
  std::string section;
  std::string key;
  std::map<std::string, std::string> column;
};

std::vector<DocumentedKey> documented_rows() {
  std::vector<DocumentedKey> out;
  static const std::regex heading(R"(^## \[\[?([a-z_]+)\]\]?\s*$)");
  static const std::regex key_cell("^`([a-z0-9_]+)`$");
  std::istringstream in(read_text(kRoot + "/docs/CONFIGURATION.md"));
  std::string section;
  std::vector<std::string> header;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (line.starts_with("## ")) {
      section = std::regex_match(line, m, heading) ? m[1].str() : "";
      continue;
    }
    if (section.empty() || !line.starts_with("|")) continue;
    std::vector<std::string> row = cells(line);
    if (!row.empty() && row[0] == "key") {
      header = row;
    } else if (!row.empty() && std::regex_match(row[0], m, key_cell)) {
      DocumentedKey k{section, m[1].str(), {}};
      for (std::size_t i = 1; i < row.size() && i < header.size(); ++i) k.column[header[i]] = row[i];
      out.push_back(std::move(k));
    }
  }
  return out;
}

const ConfigSectionInfo* declared_section(const std::string& name) {
  for (const auto& s : config_sections())
    if (s.name == name) return &s;
  return nullptr;
}

const ConfigKeyInfo* declared_key(const ConfigSectionInfo& section, const std::string& name) {
  for (const auto& k : section.keys)
    if (k.name == name) return &k;
  return nullptr;
}

// The value key takes in a configuration whose section holds only line (and what a [[repo]] of S3
// needs), as config_literal writes it.
std::string value_with(const ConfigSectionInfo& section, const std::string& key, const std::string& line) {
  std::string text = section.array ? "[[" + section.name + "]]\n" : "[" + section.name + "]\n";
  if (section.name == "repo")
    for (const char* base : {"name = \"r\"", "s3_endpoint = \"http://127.0.0.1:9000\"", "s3_bucket = \"b\"",
                             "s3_region = \"r\""})
      if (!std::string(base).starts_with(key + " ")) text += std::string(base) + "\n";
  text += line;
  try {
    return section.shown(parse_config(text, "t.toml"), key);
  } catch (const Error& e) {
    return std::string("error: ") + e.what();
  }
}

// A default the page writes as one TOML value ("`2`", "`\"zstd\"` (a remark)") is the value the
// key takes when it is absent; a range written "LO–HI" or as the list of allowed strings is the
// declared one. Defaults in words ("none", "see below") are not compared.
TEST(ConfigDocs, DocumentedDefaultsAndRangesAreTheDeclarations) {
  static const std::regex literal_cell(R"re(^`("[^"`]*"|-?[0-9.]+|true|false)`( \(.*\))?$)re");
  static const std::regex range_cell("^(−|-)?([0-9]+)–([0-9]+)$");
  static const std::regex typed_range("^integer, ([0-9]+) to ([0-9]+)$");
  static const std::regex choice_word("`\"([a-z0-9]+)\"`");
  int defaults = 0, ranges = 0;
  for (const DocumentedKey& doc : documented_rows()) {
    SCOPED_TRACE("[" + doc.section + "] " + doc.key);
    const ConfigSectionInfo* section = declared_section(doc.section);
    const ConfigKeyInfo* key = section ? declared_key(*section, doc.key) : nullptr;
    if (!key) continue;  // reported by EveryDocumentedKeyIsAcceptedAndEveryAcceptedKeyDocumented
    std::smatch m;
    if (doc.column.count("default") && std::regex_match(doc.column.at("default"), m, literal_cell)) {
      EXPECT_EQ(value_with(*section, doc.key, doc.key + " = " + m[1].str() + "\n"), value_with(*section, doc.key, ""))
          << "documented default " << m[1].str();
      ++defaults;
    }
    std::string range = doc.column.count("range") ? doc.column.at("range") : "";
    if (doc.column.count("type") && std::regex_match(doc.column.at("type"), m, typed_range))
      range = m[1].str() + "–" + m[2].str();
    if (std::regex_match(range, m, range_cell)) {
      const double lo = std::stod(m[2].str()) * (m[1].matched ? -1 : 1), hi = std::stod(m[3].str());
      EXPECT_EQ(key->min, lo) << "documented range " << range;
      EXPECT_EQ(key->max, hi) << "documented range " << range;
      ++ranges;
    } else if (key->type == ConfigKeyType::choice && !range.empty()) {
      std::vector<std::string> words;
      for (auto w = std::sregex_iterator(range.begin(), range.end(), choice_word); w != std::sregex_iterator(); ++w)
        words.push_back((*w)[1].str());
      EXPECT_EQ(words, key->choices) << "documented values " << range;
      ++ranges;
    }
  }
  EXPECT_GT(defaults, 40);
  EXPECT_GT(ranges, 10);
}

}  // namespace
}  // namespace pgdr::test
