// A section of the configuration file, declared once, key by key: the key's name, its type (and
// range), the member of the section's struct that stores it (whose initializer is the default),
// and the checks that tie keys together. From that one declaration come the parsing, the refusal
// of unknown keys, and what the documentation test compares with docs/CONFIGURATION.md (the keys,
// their defaults and ranges). Each family declares its section beside its code (backup's in
// backup/backup_config.h); config/config.h gathers them into the file.
//
// Keys are read and checks run in the order they are declared, so that a file with two mistakes
// always reports the same one. Every failure is Error(config) "invalid configuration:
// <file>:<line> (<what is wrong>)", the line being the key's (or the table's, for a check across
// keys). toml++ stays inside config_section.cpp: a ConfigTable or ConfigValue is a view into a
// ConfigDocument, valid while the document lives.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/log_level.h"

namespace pgdr {

class ConfigTable;

// One value of the file as a key reads it. Each reader checks the TOML type and fails with
// "'<key>' in [<section>] must be ..." at the value's line.
class ConfigValue {
 public:
  std::string text() const;                                   // "must be a string"
  bool flag() const;                                          // "must be true or false"
  std::int64_t integer(std::int64_t lo, std::int64_t hi) const;  // "must be an integer", "must be between LO and HI"
  double number(double lo, double hi) const;                  // "must be a number", "must be between LO and HI" (%g)
  // "must be a duration such as \"4h\"", or parse_duration's message (core/duration.h).
  std::chrono::milliseconds duration() const;
  // One string, or a list of them: "must be a list of strings" (at the offending element).
  std::vector<std::string> texts() const;

  bool is_text() const;
  bool is_flag() const;
  const std::string& key() const { return key_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  friend class ConfigTable;
  ConfigValue(const void* node, const ConfigTable* table, std::string key) : node_(node), table_(table), key_(std::move(key)) {}
  const void* node_;  // toml::node
  const ConfigTable* table_;
  std::string key_;
};

// A table of the file: the top level, a section, or one element of an array of tables.
class ConfigTable {
 public:
  // "backup", "repo"; "top level" for the file itself. Messages say "[<section>] needs 'KEY'".
  const std::string& section() const { return section_; }
  // "[backup]", or "[[repo]]" for an element of an array: how a path's message names its key.
  std::string title() const { return array_ ? "[[" + section_ + "]]" : "[" + section_ + "]"; }

  bool has(std::string_view key) const;
  std::optional<ConfigValue> get(std::string_view key) const;

  [[noreturn]] void fail(const std::string& what) const;  // at the table's line
  // At the key's line (the table's when the key is absent).
  [[noreturn]] void fail_at(std::string_view key, const std::string& what) const;
  // "[<section>] needs '<key>'" when key is absent.
  void require(std::string_view key) const;
  // "<title> <key> must be an absolute path" unless value starts with '/'.
  void require_absolute(std::string_view key, const std::string& value) const;
  // "unknown key '<key>' in [<section>]" for the first key (in the document's order) not in allowed.
  void refuse_unknown(const std::vector<std::string>& allowed) const;

  // The table under key, named section key: "[<key>] must be a table" when it is another value.
  std::optional<ConfigTable> table(std::string_view key) const;
  // The tables of an array of tables under key: not_array_message when key holds something else,
  // "[[<key>]] must be a table" for an element that is not one.
  std::vector<ConfigTable> tables(std::string_view key, const std::string& not_array_message) const;

 private:
  friend class ConfigDocument;
  friend class ConfigValue;
  ConfigTable(const void* table, const std::string* source, std::string section, bool array)
      : table_(table), source_(source), section_(std::move(section)), array_(array) {}
  [[noreturn]] void fail_node(const void* node, const std::string& what) const;
  const void* table_;  // toml::table
  const std::string* source_;
  std::string section_;
  bool array_;
};

// A configuration text, parsed. A syntax error throws Error(config) with toml++'s description.
class ConfigDocument {
 public:
  ConfigDocument(const std::string& text, std::string source);
  ~ConfigDocument();
  ConfigDocument(const ConfigDocument&) = delete;
  ConfigDocument& operator=(const ConfigDocument&) = delete;

  ConfigTable top() const;  // section "top level"

 private:
  struct Root;
  std::unique_ptr<Root> root_;
  std::string source_;
};

enum class ConfigKeyType { text, flag, integer, number, duration, texts, choice, log_level, custom };

// A declared key as tests and documentation see it.
struct ConfigKeyInfo {
  std::string name;
  ConfigKeyType type = ConfigKeyType::text;
  bool required = false;             // "[<section>] needs '<name>'" when absent
  double min = 0, max = 0;           // the range of an integer or number
  std::vector<std::string> choices;  // the values of a choice or log level
};

// Path rules of a text key.
enum class ConfigPath {
  any,
  absolute_or_empty,  // when set and not empty, must start with '/'
  absolute,           // when present, must start with '/' (empty included)
};

// The rules of a text key, one at a time: text("path", &R::path, ConfigText::absolute()).
struct ConfigText {
  bool is_required = false;  // "[<section>] needs '<key>'" when absent
  ConfigPath path = ConfigPath::any;
  bool refuse_empty = false;  // "'<key>' in [<section>] is empty"
  // The value when the section is there but the key is not (when it differs from the struct's
  // initializer, which holds without the section).
  std::optional<std::string> absent_value;

  static ConfigText required() {
    ConfigText r;
    r.is_required = true;
    return r;
  }
  static ConfigText absolute() {
    ConfigText r;
    r.path = ConfigPath::absolute;
    return r;
  }
  static ConfigText absolute_or_empty() {
    ConfigText r;
    r.path = ConfigPath::absolute_or_empty;
    return r;
  }
  static ConfigText not_empty() {
    ConfigText r;
    r.refuse_empty = true;
    return r;
  }
  static ConfigText absent(std::string value) {
    ConfigText r;
    r.absent_value = std::move(value);
    return r;
  }
};

// A condition on a present value, with the message given when it does not hold (at the key's line).
template <class T>
struct ConfigRule {
  std::function<bool(const T&)> holds;
  std::string message;
};

// A duration's bounds: at_least(ms(1), "[key] command_timeout must be above 0").
ConfigRule<std::chrono::milliseconds> at_least(std::chrono::milliseconds min, std::string message);
ConfigRule<std::chrono::milliseconds> between(std::chrono::milliseconds min, std::chrono::milliseconds max,
                                              std::string message);

// The value of a key as TOML writes it, for comparisons in tests: "2", "\"zstd\"", "\"7d\"".
std::string config_literal(const std::string& v);
std::string config_literal(bool v);
std::string config_literal(std::int64_t v);
std::string config_literal(double v);
std::string config_literal(std::chrono::milliseconds v);
std::string config_literal(const std::vector<std::string>& v);

template <class S>
class ConfigSection {
 public:
  using Check = std::function<void(const S& value, const ConfigTable& table)>;
  // For an element of an array of tables: the elements read before it, in file order.
  using CheckEarlier = std::function<void(const S& value, const std::vector<S>& earlier, const ConfigTable& table)>;

  // array: the section is an array of tables ([[name]]).
  explicit ConfigSection(std::string name, bool array = false) : name_(std::move(name)), array_(array) {}

  const std::string& name() const { return name_; }
  bool is_array() const { return array_; }
  const std::vector<ConfigKeyInfo>& keys() const { return keys_; }
  std::vector<std::string> key_names() const {
    std::vector<std::string> out;
    for (const auto& k : keys_) out.push_back(k.name);
    return out;
  }
  // The value of key in value, as config_literal writes it; "" for a key not declared.
  std::string shown(const S& value, std::string_view key) const {
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i].name == key) return shows_[i](value);
    return {};
  }

  ConfigSection& text(const char* key, std::string S::*field, ConfigText rule = {},
                      std::optional<ConfigRule<std::string>> valid = {}) {
    return add(key_info(key, ConfigKeyType::text, rule.is_required), [key = std::string(key), field, rule, valid](const ConfigTable& t, S& s) {
      auto v = t.get(key);
      if (!v) {
        if (rule.is_required) t.require(key);
        if (rule.absent_value) s.*field = *rule.absent_value;
        return;
      }
      s.*field = v->text();
      if (rule.refuse_empty && (s.*field).empty()) v->fail("'" + key + "' in [" + t.section() + "] is empty");
      if (rule.path == ConfigPath::absolute || (rule.path == ConfigPath::absolute_or_empty && !(s.*field).empty()))
        t.require_absolute(key, s.*field);
      if (valid && !valid->holds(s.*field)) v->fail(valid->message);
    }, [field](const S& s) { return config_literal(s.*field); });
  }

  ConfigSection& flag(const char* key, bool S::*field) {
    return add(key_info(key, ConfigKeyType::flag), [key = std::string(key), field](const ConfigTable& t, S& s) {
      if (auto v = t.get(key)) s.*field = v->flag();
    }, [field](const S& s) { return config_literal(s.*field); });
  }

  ConfigSection& integer(const char* key, int S::*field, int lo, int hi) {
    return add(key_info(key, ConfigKeyType::integer, false, lo, hi),
               [key = std::string(key), field, lo, hi](const ConfigTable& t, S& s) {
                 if (auto v = t.get(key)) s.*field = static_cast<int>(v->integer(lo, hi));
               },
               [field](const S& s) { return config_literal(std::int64_t{s.*field}); });
  }

  ConfigSection& number(const char* key, double S::*field, double lo, double hi) {
    return add(key_info(key, ConfigKeyType::number, false, lo, hi), [key = std::string(key), field, lo, hi](const ConfigTable& t, S& s) {
      if (auto v = t.get(key)) s.*field = v->number(lo, hi);
    }, [field](const S& s) { return config_literal(s.*field); });
  }

  ConfigSection& duration(const char* key, std::chrono::milliseconds S::*field,
                          std::optional<ConfigRule<std::chrono::milliseconds>> valid = {}) {
    return add(key_info(key, ConfigKeyType::duration), [key = std::string(key), field, valid](const ConfigTable& t, S& s) {
      auto v = t.get(key);
      if (!v) return;
      s.*field = v->duration();
      if (valid && !valid->holds(s.*field)) v->fail(valid->message);
    }, [field](const S& s) { return config_literal(s.*field); });
  }

  // A string or a list of strings; each must satisfy valid, if given.
  ConfigSection& texts(const char* key, std::vector<std::string> S::*field,
                       std::optional<ConfigRule<std::string>> valid = {}) {
    return add(key_info(key, ConfigKeyType::texts), [key = std::string(key), field, valid](const ConfigTable& t, S& s) {
      auto v = t.get(key);
      if (!v) return;
      s.*field = v->texts();
      if (valid)
        for (const auto& each : s.*field)
          if (!valid->holds(each)) v->fail(valid->message);
    }, [field](const S& s) { return config_literal(s.*field); });
  }

  // A string that must be one of values (message otherwise).
  ConfigSection& choice(const char* key, std::string S::*field, std::vector<std::string> values, std::string message) {
    return add(key_info(key, ConfigKeyType::choice, false, 0, 0, values), [key = std::string(key), field, values, message](const ConfigTable& t, S& s) {
      auto v = t.get(key);
      if (!v) return;
      s.*field = v->text();
      for (const auto& allowed : values)
        if (s.*field == allowed) return;
      v->fail(message);
    }, [field](const S& s) { return config_literal(s.*field); });
  }

  // A log level by its name (core/log_level.h); message for any other string.
  ConfigSection& log_level(const char* key, LogLevel S::*field, std::string message) {
    return add(key_info(key, ConfigKeyType::log_level, false, 0, 0, {"error", "warn", "info", "debug"}), [key = std::string(key), field, message](const ConfigTable& t, S& s) {
      auto v = t.get(key);
      if (!v) return;
      auto level = parse_log_level(v->text());
      if (!level) v->fail(message);
      s.*field = *level;
    }, [field](const S& s) { return config_literal(std::string(log_level_name(s.*field))); });
  }

  // A key of its own kind: read is called when the key is present, show renders its value.
  ConfigSection& custom(const char* key, std::function<void(S&, const ConfigValue&)> read,
                        std::function<std::string(const S&)> show) {
    return add(key_info(key, ConfigKeyType::custom), [key = std::string(key), read](const ConfigTable& t, S& s) {
      if (auto v = t.get(key)) read(s, *v);
    }, std::move(show));
  }

  // Runs after the keys declared above it, whether they were present or not.
  ConfigSection& check(Check check) {
    steps_.push_back([check](const ConfigTable& t, S& s, const std::vector<S>&) { check(s, t); });
    return *this;
  }
  ConfigSection& check_earlier(CheckEarlier check) {
    steps_.push_back([check](const ConfigTable& t, S& s, const std::vector<S>& earlier) { check(s, earlier, t); });
    return *this;
  }

  // Reads table into value, which holds the defaults: unknown keys first, then each key and check
  // in declaration order.
  void read(const ConfigTable& table, S& value, const std::vector<S>& earlier = {}) const {
    table.refuse_unknown(key_names());
    for (const auto& step : steps_) step(table, value, earlier);
  }

 private:
  using Step = std::function<void(const ConfigTable&, S&, const std::vector<S>&)>;

  static ConfigKeyInfo key_info(const char* key, ConfigKeyType type, bool required = false, double min = 0,
                                double max = 0, std::vector<std::string> choices = {}) {
    ConfigKeyInfo info;
    info.name = key;
    info.type = type;
    info.required = required;
    info.min = min;
    info.max = max;
    info.choices = std::move(choices);
    return info;
  }

  ConfigSection& add(ConfigKeyInfo info, std::function<void(const ConfigTable&, S&)> read,
                     std::function<std::string(const S&)> show) {
    keys_.push_back(std::move(info));
    shows_.push_back(std::move(show));
    steps_.push_back([read = std::move(read)](const ConfigTable& t, S& s, const std::vector<S>&) { read(t, s); });
    return *this;
  }

  std::string name_;
  bool array_;
  std::vector<ConfigKeyInfo> keys_;
  std::vector<std::function<std::string(const S&)>> shows_;
  std::vector<Step> steps_;
};

}  // namespace pgdr
