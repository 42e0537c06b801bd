#include "daemon/cron.h"

#include <ctime>
#include <sstream>
#include <vector>

#include "core/duration.h"
#include "core/error.h"

namespace pgdr::daemon {

namespace {

[[noreturn]] void bad(const std::string& text, const std::string& why) {
  throw Error(ErrorKind::config, "invalid schedule '" + text + "' (" + why + ")",
              "write a cron expression in UTC such as \"0 * * * *\", \"@every 5m\" or \"@daily\"");
}

int number(const std::string& text, const std::string& s, const char* field) {
  if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos)
    bad(text, std::string("'") + s + "' is not a number in the " + field + " field");
  return std::stoi(s);
}

// Sets bits lo..hi of one field from its text; returns whether it was "*" (possibly with a step).
template <std::size_t N>
bool parse_field(const std::string& text, const std::string& field, const char* name, int lo, int hi,
                 std::bitset<N>& bits) {
  bool star = false;
  std::stringstream items(field);
  for (std::string item; std::getline(items, item, ',');) {
    if (item.empty()) bad(text, std::string("empty list item in the ") + name + " field");
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      step = number(text, item.substr(slash + 1), name);
      if (step == 0) bad(text, std::string("step 0 in the ") + name + " field");
      item = item.substr(0, slash);
    }
    int a = lo, b = hi;
    if (item == "*") {
      star = step == 1;
    } else if (auto dash = item.find('-'); dash != std::string::npos) {
      a = number(text, item.substr(0, dash), name);
      b = number(text, item.substr(dash + 1), name);
    } else {
      a = number(text, item, name);
      // "5/15" means from 5 to the end by 15, as in Vixie cron.
      b = field.find('/') != std::string::npos ? hi : a;
    }
    if (a < lo || b > hi || a > b)
      bad(text, std::string(name) + " field out of range " + std::to_string(lo) + "-" + std::to_string(hi));
    for (int v = a; v <= b; v += step) bits.set(static_cast<std::size_t>(v));
  }
  return star;
}

std::tm utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

Schedule Schedule::parse(const std::string& raw) {
  Schedule s;
  s.text_ = raw;
  std::vector<std::string> words;
  std::istringstream in(raw);
  for (std::string w; in >> w;) words.push_back(w);
  if (words.empty()) bad(raw, "empty");
  if (words.size() == 2 && words[0] == "after" && words[1] == "backup") {
    s.after_backup_ = true;
    return s;
  }
  if (words[0] == "@every") {
    if (words.size() != 2) bad(raw, "@every takes one duration, e.g. \"@every 10m\"");
    try {
      s.every_ = parse_duration(words[1]);
    } catch (const Error&) {
      bad(raw, "'" + words[1] + "' is not a duration");
    }
    if (s.every_ < std::chrono::seconds(1)) bad(raw, "@every needs at least 1s");
    return s;
  }
  if (words.size() == 1 && words[0].starts_with("@")) {
    static const std::pair<const char*, const char*> kMacros[] = {{"@hourly", "0 * * * *"},
                                                                  {"@daily", "0 0 * * *"},
                                                                  {"@weekly", "0 0 * * 0"},
                                                                  {"@monthly", "0 0 1 * *"},
                                                                  {"@yearly", "0 0 1 1 *"}};
    for (auto [name, expr] : kMacros)
      if (words[0] == name) {
        Schedule m = parse(expr);
        m.text_ = raw;
        return m;
      }
    bad(raw, "unknown macro " + words[0]);
  }
  if (words.size() != 5 && words.size() != 6) bad(raw, "a cron expression has 5 fields, or 6 with seconds first");
  std::size_t i = 0;
  if (words.size() == 6) {
    s.has_seconds_ = true;
    parse_field(raw, words[i++], "second", 0, 59, s.second_);
  } else {
    s.second_.set(0);
  }
  parse_field(raw, words[i++], "minute", 0, 59, s.minute_);
  parse_field(raw, words[i++], "hour", 0, 23, s.hour_);
  s.dom_star_ = parse_field(raw, words[i++], "day-of-month", 1, 31, s.dom_);
  parse_field(raw, words[i++], "month", 1, 12, s.month_);
  std::bitset<8> dow;
  s.dow_star_ = parse_field(raw, words[i++], "day-of-week", 0, 7, dow);
  for (int d = 0; d < 7; ++d) s.dow_[d] = dow[d];
  if (dow[7]) s.dow_.set(0);
  return s;
}

SystemTime Schedule::next_after(SystemTime t) const {
  using namespace std::chrono;
  if (after_backup_) return SystemTime::max();
  if (every_.count() > 0) return t + every_;
  // Start at the next whole second; walk forward skipping whole days, hours and minutes that cannot
  // match. Five years bound the search (a schedule such as "0 0 30 2 *" never fires).
  std::time_t cur = static_cast<std::time_t>(floor<seconds>(t).time_since_epoch().count()) + 1;
  const std::time_t limit = cur + 5LL * 366 * 86400;
  while (cur < limit) {
    std::tm tm = utc(cur);
    const bool dom_ok = dom_[tm.tm_mday], dow_ok = dow_[tm.tm_wday];
    const bool day_ok = (dom_star_ || dow_star_) ? (dom_ok && dow_ok) : (dom_ok || dow_ok);
    if (!month_[tm.tm_mon + 1] || !day_ok) {
      cur += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
      continue;
    }
    if (!hour_[tm.tm_hour]) {
      cur += 3600 - (tm.tm_min * 60 + tm.tm_sec);
      continue;
    }
    if (!minute_[tm.tm_min]) {
      cur += 60 - tm.tm_sec;
      continue;
    }
    if (!second_[tm.tm_sec]) {
      cur += 1;
      continue;
    }
    return system_clock::from_time_t(cur);
  }
  return SystemTime::max();
}

std::chrono::seconds Schedule::period_near(SystemTime t) const {
  using namespace std::chrono;
  if (after_backup_) return seconds(0);
  if (every_.count() > 0) return duration_cast<seconds>(every_);
  SystemTime a = next_after(t);
  if (a == SystemTime::max()) return seconds(0);
  SystemTime b = next_after(a);
  if (b == SystemTime::max()) return seconds(0);
  return duration_cast<seconds>(b - a);
}

}  // namespace pgdr::daemon
