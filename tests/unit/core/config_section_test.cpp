// The section type every family declares its configuration with: each kind of key, its defaults,
// the one-line errors (type, range, unknown key, missing key, paths), checks in declaration order,
// arrays of tables, and what the declaration tells the documentation test.
#include "core/config_section.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/error.h"

namespace pgdr {
namespace {

using std::chrono::milliseconds;

struct Toy {
  std::string name;
  std::string home;
  std::string data_dir;
  std::string label = "plain";
  std::string token_env = "TOY_TOKEN";
  bool on = false;
  int count = 3;
  double ratio = 0.5;
  milliseconds wait{std::chrono::seconds(5)};
  std::vector<std::string> urls;
  std::string mode = "fast";
  LogLevel level = LogLevel::info;
  std::string color;
};

const ConfigSection<Toy>& toy_section() {
  static const auto section =
      ConfigSection<Toy>("toy")
          .text("name", &Toy::name, ConfigText::absent("unnamed"))
          .text("home", &Toy::home, ConfigText::absolute())
          .text("data_dir", &Toy::data_dir, ConfigText::absolute_or_empty())
          .text("label", &Toy::label, {},
                ConfigRule<std::string>{[](const std::string& l) { return l != "bad"; }, "[toy] label must not be bad"})
          .text("token_env", &Toy::token_env, ConfigText::not_empty())
          .flag("on", &Toy::on)
          .integer("count", &Toy::count, -2, 10)
          .number("ratio", &Toy::ratio, 0, 1)
          .duration("wait", &Toy::wait, between(std::chrono::seconds(1), std::chrono::hours(1), "[toy] wait must be between 1s and 1h"))
          .check([](const Toy& t, const ConfigTable& table) {
            if (t.on && t.count == 0) table.fail("[toy] on needs a count");
          })
          .texts("urls", &Toy::urls,
                 ConfigRule<std::string>{[](const std::string& u) { return u.starts_with("http"); }, "[toy] urls must be URLs"})
          .choice("mode", &Toy::mode, {"fast", "slow"}, "[toy] mode must be fast or slow")
          .log_level("level", &Toy::level, "[toy] level must be a level")
          .custom(
              "color",
              [](Toy& t, const ConfigValue& v) {
                if (v.is_flag()) t.color = v.flag() ? "red" : "";
                else t.color = v.text();
              },
              [](const Toy& t) { return config_literal(t.color); });
  return section;
}

Toy read(const std::string& text) {
  ConfigDocument doc(text, "t.toml");
  Toy toy;
  if (auto table = doc.top().table("toy")) toy_section().read(*table, toy);
  return toy;
}

std::string error_of(const std::string& text) {
  try {
    read(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "<no error>";
}

TEST(ConfigSection, DefaultsAreTheInitializersAndAbsentValues) {
  const Toy none = read("");
  EXPECT_EQ(none.name, "") << "without the section, the initializer";
  EXPECT_EQ(none.label, "plain");
  const Toy empty = read("[toy]\n");
  EXPECT_EQ(empty.name, "unnamed") << "with the section, the key's absent value";
  EXPECT_EQ(empty.label, "plain");
  EXPECT_EQ(empty.token_env, "TOY_TOKEN");
  EXPECT_FALSE(empty.on);
  EXPECT_EQ(empty.count, 3);
  EXPECT_EQ(empty.ratio, 0.5);
  EXPECT_EQ(empty.wait, std::chrono::seconds(5));
  EXPECT_TRUE(empty.urls.empty());
  EXPECT_EQ(empty.mode, "fast");
  EXPECT_EQ(empty.level, LogLevel::info);
}

TEST(ConfigSection, EveryKindOfKeyIsRead) {
  const Toy t = read(
      "[toy]\nname = \"n\"\nhome = \"/h\"\ndata_dir = \"\"\nlabel = \"l\"\ntoken_env = \"E\"\non = true\ncount = -2\n"
      "ratio = 1\nwait = \"1h\"\nurls = [\"http://a\", \"https://b\"]\nmode = \"slow\"\nlevel = \"debug\"\ncolor = true\n");
  EXPECT_EQ(t.name, "n");
  EXPECT_EQ(t.home, "/h");
  EXPECT_EQ(t.data_dir, "");
  EXPECT_EQ(t.label, "l");
  EXPECT_EQ(t.token_env, "E");
  EXPECT_TRUE(t.on);
  EXPECT_EQ(t.count, -2);
  EXPECT_EQ(t.ratio, 1.0);
  EXPECT_EQ(t.wait, std::chrono::hours(1));
  EXPECT_EQ(t.urls, (std::vector<std::string>{"http://a", "https://b"}));
  EXPECT_EQ(t.mode, "slow");
  EXPECT_EQ(t.level, LogLevel::debug);
  EXPECT_EQ(t.color, "red");
  EXPECT_EQ(read("[toy]\nurls = \"http://one\"\n").urls, std::vector<std::string>{"http://one"}) << "one string is a list";
  EXPECT_EQ(read("[toy]\nratio = 0.25\n").ratio, 0.25);
}

TEST(ConfigSection, WrongTypesNameKeySectionAndLine) {
  EXPECT_EQ(error_of("[toy]\nlabel = 1\n"), "invalid configuration: t.toml:2 ('label' in [toy] must be a string)");
  EXPECT_EQ(error_of("[toy]\n\non = \"yes\"\n"), "invalid configuration: t.toml:3 ('on' in [toy] must be true or false)");
  EXPECT_EQ(error_of("[toy]\ncount = 1.5\n"), "invalid configuration: t.toml:2 ('count' in [toy] must be an integer)");
  EXPECT_EQ(error_of("[toy]\nratio = \"half\"\n"), "invalid configuration: t.toml:2 ('ratio' in [toy] must be a number)");
  EXPECT_EQ(error_of("[toy]\nwait = 5\n"),
            "invalid configuration: t.toml:2 ('wait' in [toy] must be a duration such as \"4h\")");
  EXPECT_EQ(error_of("[toy]\nwait = \"5 s\"\n"), "invalid configuration: t.toml:2 (invalid duration '5 s' (missing unit))");
  EXPECT_EQ(error_of("[toy]\nurls = 3\n"), "invalid configuration: t.toml:2 ('urls' in [toy] must be a list of strings)");
  EXPECT_EQ(error_of("[toy]\nurls = [\n  \"http://a\",\n  4,\n]\n"),
            "invalid configuration: t.toml:4 ('urls' in [toy] must be a list of strings)")
      << "at the element";
  EXPECT_EQ(error_of("[toy]\nmode = 1\n"), "invalid configuration: t.toml:2 ('mode' in [toy] must be a string)");
  EXPECT_EQ(error_of("[toy]\nlevel = true\n"), "invalid configuration: t.toml:2 ('level' in [toy] must be a string)");
  EXPECT_EQ(error_of("toy = 1\n"), "invalid configuration: t.toml:1 ([toy] must be a table)");
}

TEST(ConfigSection, RangesAndRules) {
  EXPECT_EQ(error_of("[toy]\ncount = 11\n"), "invalid configuration: t.toml:2 ('count' in [toy] must be between -2 and 10)");
  EXPECT_EQ(error_of("[toy]\ncount = -3\n"), "invalid configuration: t.toml:2 ('count' in [toy] must be between -2 and 10)");
  EXPECT_EQ(error_of("[toy]\ncount = 9999999999\n"),
            "invalid configuration: t.toml:2 ('count' in [toy] must be between -2 and 10)");
  EXPECT_EQ(error_of("[toy]\nratio = 1.5\n"), "invalid configuration: t.toml:2 ('ratio' in [toy] must be between 0 and 1)");
  EXPECT_EQ(error_of("[toy]\nratio = nan\n"), "invalid configuration: t.toml:2 ('ratio' in [toy] must be between 0 and 1)");
  EXPECT_EQ(error_of("[toy]\nwait = \"500ms\"\n"), "invalid configuration: t.toml:2 ([toy] wait must be between 1s and 1h)");
  EXPECT_EQ(error_of("[toy]\nlabel = \"bad\"\n"), "invalid configuration: t.toml:2 ([toy] label must not be bad)");
  EXPECT_EQ(error_of("[toy]\nurls = [\"http://a\", \"ftp://b\"]\n"), "invalid configuration: t.toml:2 ([toy] urls must be URLs)");
  EXPECT_EQ(error_of("[toy]\nmode = \"medium\"\n"), "invalid configuration: t.toml:2 ([toy] mode must be fast or slow)");
  EXPECT_EQ(error_of("[toy]\nlevel = \"loud\"\n"), "invalid configuration: t.toml:2 ([toy] level must be a level)");
  EXPECT_EQ(error_of("[toy]\ntoken_env = \"\"\n"), "invalid configuration: t.toml:2 ('token_env' in [toy] is empty)");
}

TEST(ConfigSection, Paths) {
  EXPECT_EQ(error_of("[toy]\nhome = \"h\"\n"), "invalid configuration: t.toml:2 ([toy] home must be an absolute path)");
  EXPECT_EQ(error_of("[toy]\nhome = \"\"\n"), "invalid configuration: t.toml:2 ([toy] home must be an absolute path)")
      << "absolute: empty is refused too";
  EXPECT_EQ(error_of("[toy]\ndata_dir = \"d\"\n"), "invalid configuration: t.toml:2 ([toy] data_dir must be an absolute path)");
  EXPECT_EQ(read("[toy]\ndata_dir = \"\"\n").data_dir, "") << "absolute_or_empty: empty is unset";
}

TEST(ConfigSection, UnknownKeysComeFirst) {
  EXPECT_EQ(error_of("[toy]\ncount = 99\ncolour = \"red\"\n"), "invalid configuration: t.toml:3 (unknown key 'colour' in [toy])");
  EXPECT_EQ(error_of("[toy]\nlabel = { a = 1 }\n"), "invalid configuration: t.toml:2 ('label' in [toy] must be a string)")
      << "a known key with an odd value is not unknown";
}

TEST(ConfigSection, ChecksRunWhereDeclared) {
  EXPECT_EQ(error_of("[toy]\non = true\ncount = 0\n"), "invalid configuration: t.toml:1 ([toy] on needs a count)")
      << "at the table's line";
  // Two mistakes: the check is declared before urls, so it is the one reported.
  EXPECT_EQ(error_of("[toy]\non = true\ncount = 0\nurls = 1\n"), "invalid configuration: t.toml:1 ([toy] on needs a count)");
  EXPECT_EQ(error_of("[toy]\nlabel = 1\ncount = 99\n"), "invalid configuration: t.toml:2 ('label' in [toy] must be a string)");
}

TEST(ConfigSection, SyntaxErrorsNameTheLine) {
  const std::string e = error_of("[toy]\nlabel = \n");
  EXPECT_TRUE(e.starts_with("invalid configuration: t.toml:2 (")) << e;
}

struct Item {
  std::string id;
  int size = 1;
  std::string where;
};

const ConfigSection<Item>& item_section() {
  static const auto section = ConfigSection<Item>("item", true)
      .text("id", &Item::id, ConfigText::required())
      .check_earlier([](const Item& i, const std::vector<Item>& earlier, const ConfigTable& t) {
        for (const Item& e : earlier)
          if (e.id == i.id) t.fail("two items are named '" + i.id + "'");
      })
      .integer("size", &Item::size, 1, 9)
      .text("where", &Item::where, ConfigText::absolute_or_empty());
  return section;
}

std::vector<Item> read_items(const std::string& text) {
  ConfigDocument doc(text, "t.toml");
  std::vector<Item> items;
  for (const ConfigTable& t : doc.top().tables("item", "items are written as [[item]] sections")) {
    Item i;
    item_section().read(t, i, items);
    items.push_back(i);
  }
  return items;
}

std::string items_error(const std::string& text) {
  try {
    read_items(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ConfigSection, ArraysOfTables) {
  auto items = read_items("[[item]]\nid = \"a\"\nsize = 2\n[[item]]\nid = \"b\"\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].size, 2);
  EXPECT_EQ(items[1].id, "b");
  EXPECT_EQ(items[1].size, 1);
  EXPECT_TRUE(read_items("").empty());
  EXPECT_EQ(items_error("[[item]]\nsize = 2\n"), "invalid configuration: t.toml:1 ([item] needs 'id')");
  EXPECT_EQ(items_error("[[item]]\nid = \"a\"\n[[item]]\nid = \"a\"\n"),
            "invalid configuration: t.toml:3 (two items are named 'a')");
  EXPECT_EQ(items_error("item = 1\n"), "invalid configuration: t.toml:1 (items are written as [[item]] sections)");
  EXPECT_EQ(items_error("item = [1]\n"), "invalid configuration: t.toml:1 ([[item]] must be a table)");
  EXPECT_EQ(items_error("[[item]]\nid = \"a\"\nwhere = \"x\"\n"),
            "invalid configuration: t.toml:3 ([[item]] where must be an absolute path)")
      << "an element names its section [[item]] in a path's message";
  EXPECT_EQ(items_error("[[item]]\nid = \"a\"\nsize = 0\n"),
            "invalid configuration: t.toml:3 ('size' in [item] must be between 1 and 9)");
}

TEST(ConfigSection, DeclarationTellsKeysTypesRangesAndValues) {
  const auto& keys = toy_section().keys();
  std::vector<std::string> names;
  for (const auto& k : keys) names.push_back(k.name);
  EXPECT_EQ(names, (std::vector<std::string>{"name", "home", "data_dir", "label", "token_env", "on", "count", "ratio",
                                             "wait", "urls", "mode", "level", "color"}));
  EXPECT_EQ(keys[6].type, ConfigKeyType::integer);
  EXPECT_EQ(keys[6].min, -2);
  EXPECT_EQ(keys[6].max, 10);
  EXPECT_EQ(keys[7].type, ConfigKeyType::number);
  EXPECT_EQ(keys[8].type, ConfigKeyType::duration);
  EXPECT_EQ(keys[9].type, ConfigKeyType::texts);
  EXPECT_EQ(keys[10].choices, (std::vector<std::string>{"fast", "slow"}));
  EXPECT_EQ(keys[11].type, ConfigKeyType::log_level);
  EXPECT_TRUE(item_section().keys()[0].required);
  EXPECT_TRUE(item_section().is_array());

  const Toy d = read("[toy]\nurls = [\"http://a\"]\n");
  EXPECT_EQ(toy_section().shown(d, "name"), "\"unnamed\"");
  EXPECT_EQ(toy_section().shown(d, "on"), "false");
  EXPECT_EQ(toy_section().shown(d, "count"), "3");
  EXPECT_EQ(toy_section().shown(d, "ratio"), "0.5");
  EXPECT_EQ(toy_section().shown(d, "wait"), "\"5s\"");
  EXPECT_EQ(toy_section().shown(d, "urls"), "[\"http://a\"]");
  EXPECT_EQ(toy_section().shown(d, "level"), "\"info\"");
  EXPECT_EQ(toy_section().shown(d, "nothing"), "");
  EXPECT_EQ(config_literal(std::string("a\"b")), "\"a\\\"b\"");
}

}  // namespace
}  // namespace pgdr
