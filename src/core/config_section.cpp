#include "core/config_section.h"

#include <toml++/toml.h>

#include <cstdio>

#include "core/duration.h"
#include "core/error.h"

namespace pgdr {

namespace {

const toml::node* as_node(const void* p) { return static_cast<const toml::node*>(p); }
const toml::table& as_table(const void* p) { return *static_cast<const toml::table*>(p); }

std::string shown_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

}  // namespace

struct ConfigDocument::Root {
  toml::table table;
};

ConfigDocument::ConfigDocument(const std::string& text, std::string source)
    : root_(std::make_unique<Root>()), source_(std::move(source)) {
  try {
    root_->table = toml::parse(text, source_);
  } catch (const toml::parse_error& e) {
    throw Error(ErrorKind::config, "invalid configuration: " + source_ + ":" + std::to_string(e.source().begin.line) +
                                       " (" + std::string(e.description()) + ")");
  }
}

ConfigDocument::~ConfigDocument() = default;

ConfigTable ConfigDocument::top() const { return ConfigTable(&root_->table, &source_, "top level", false); }

void ConfigTable::fail_node(const void* node, const std::string& what) const {
  std::string loc = *source_;
  const toml::node* n = as_node(node);
  if (n && n->source().begin.line > 0) loc += ":" + std::to_string(n->source().begin.line);
  throw Error(ErrorKind::config, "invalid configuration: " + loc + " (" + what + ")");
}

void ConfigTable::fail(const std::string& what) const { fail_node(&as_table(table_), what); }

void ConfigTable::fail_at(std::string_view key, const std::string& what) const {
  const toml::node* n = as_table(table_).get(key);
  fail_node(n ? n : &as_table(table_), what);
}

bool ConfigTable::has(std::string_view key) const { return as_table(table_).get(key) != nullptr; }

std::optional<ConfigValue> ConfigTable::get(std::string_view key) const {
  const toml::node* n = as_table(table_).get(key);
  if (!n) return std::nullopt;
  return ConfigValue(n, this, std::string(key));
}

void ConfigTable::require(std::string_view key) const {
  if (!has(key)) fail("[" + section_ + "] needs '" + std::string(key) + "'");
}

void ConfigTable::require_absolute(std::string_view key, const std::string& value) const {
  if (value.empty() || value.front() != '/') fail_at(key, title() + " " + std::string(key) + " must be an absolute path");
}

void ConfigTable::refuse_unknown(const std::vector<std::string>& allowed) const {
  for (auto&& [k, v] : as_table(table_)) {
    bool known = false;
    for (const auto& a : allowed) known = known || a == k.str();
    if (!known) fail_node(&v, "unknown key '" + std::string(k.str()) + "' in [" + section_ + "]");
  }
}

std::optional<ConfigTable> ConfigTable::table(std::string_view key) const {
  const toml::node* n = as_table(table_).get(key);
  if (!n) return std::nullopt;
  if (!n->is_table()) fail_node(n, "[" + std::string(key) + "] must be a table");
  return ConfigTable(n->as_table(), source_, std::string(key), false);
}

std::vector<ConfigTable> ConfigTable::tables(std::string_view key, const std::string& not_array_message) const {
  const toml::node* n = as_table(table_).get(key);
  if (!n) return {};
  const toml::array* arr = n->as_array();
  if (!arr) fail_node(n, not_array_message);
  std::vector<ConfigTable> out;
  for (const toml::node& el : *arr) {
    if (!el.is_table()) fail_node(&el, "[[" + std::string(key) + "]] must be a table");
    out.push_back(ConfigTable(el.as_table(), source_, std::string(key), true));
  }
  return out;
}

void ConfigValue::fail(const std::string& what) const { table_->fail_node(node_, what); }

bool ConfigValue::is_text() const { return as_node(node_)->is_string(); }
bool ConfigValue::is_flag() const { return as_node(node_)->is_boolean(); }

std::string ConfigValue::text() const {
  if (!is_text()) fail("'" + key_ + "' in [" + table_->section() + "] must be a string");
  return as_node(node_)->as_string()->get();
}

bool ConfigValue::flag() const {
  if (!is_flag()) fail("'" + key_ + "' in [" + table_->section() + "] must be true or false");
  return as_node(node_)->as_boolean()->get();
}

std::int64_t ConfigValue::integer(std::int64_t lo, std::int64_t hi) const {
  const toml::node* n = as_node(node_);
  if (!n->is_integer()) fail("'" + key_ + "' in [" + table_->section() + "] must be an integer");
  const std::int64_t v = n->as_integer()->get();
  if (v < lo || v > hi)
    fail("'" + key_ + "' in [" + table_->section() + "] must be between " + std::to_string(lo) + " and " +
         std::to_string(hi));
  return v;
}

double ConfigValue::number(double lo, double hi) const {
  const toml::node* n = as_node(node_);
  if (!n->is_number()) fail("'" + key_ + "' in [" + table_->section() + "] must be a number");
  const double v = n->is_integer() ? static_cast<double>(n->as_integer()->get()) : n->as_floating_point()->get();
  if (!(v >= lo && v <= hi))  // so that NaN, which compares false with both bounds, is refused
    fail("'" + key_ + "' in [" + table_->section() + "] must be between " + shown_number(lo) + " and " + shown_number(hi));
  return v;
}

std::chrono::milliseconds ConfigValue::duration() const {
  if (!is_text()) fail("'" + key_ + "' in [" + table_->section() + "] must be a duration such as \"4h\"");
  try {
    return parse_duration(as_node(node_)->as_string()->get());
  } catch (const Error& e) {
    fail(e.what());
  }
}

std::vector<std::string> ConfigValue::texts() const {
  const toml::node* n = as_node(node_);
  if (n->is_string()) return {n->as_string()->get()};
  const std::string message = "'" + key_ + "' in [" + table_->section() + "] must be a list of strings";
  const toml::array* a = n->as_array();
  if (!a) fail(message);
  std::vector<std::string> out;
  for (const toml::node& el : *a) {
    if (!el.is_string()) table_->fail_node(&el, message);
    out.push_back(el.as_string()->get());
  }
  return out;
}

ConfigRule<std::chrono::milliseconds> at_least(std::chrono::milliseconds min, std::string message) {
  return {[min](const std::chrono::milliseconds& v) { return v >= min; }, std::move(message)};
}

ConfigRule<std::chrono::milliseconds> between(std::chrono::milliseconds min, std::chrono::milliseconds max,
                                              std::string message) {
  return {[min, max](const std::chrono::milliseconds& v) { return v >= min && v <= max; }, std::move(message)};
}

std::string config_literal(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string config_literal(bool v) { return v ? "true" : "false"; }
std::string config_literal(std::int64_t v) { return std::to_string(v); }
std::string config_literal(double v) { return shown_number(v); }
std::string config_literal(std::chrono::milliseconds v) { return config_literal(format_duration(v)); }

std::string config_literal(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += (out.size() > 1 ? ", " : "") + config_literal(s);
  return out + "]";
}

}  // namespace pgdr
