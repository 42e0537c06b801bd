#include "drill/drill_report.h"

#include "core/duration.h"
#include "core/json_field.h"

#include <cmath>
#include <cstdio>

namespace pgdr::drill {

namespace {

using nlohmann::json;

std::string fmt_seconds(const json& v) { return v.is_number() ? format_seconds(v.get<double>()) : "unknown"; }

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

const char* colour(const std::string& status) {
  if (status == "PASS") return "#1a7f37";
  if (status == "WARN") return "#b58100";
  if (status == "FAIL") return "#cf222e";
  return "#6e7781";
}

}  // namespace

std::string drill_summary(const json& r) {
  std::string out;
  const json& obj = field(r, "objectives");
  out += "drill " + text(r, "result", "?") + " (snapshot " +
         (field(r, "snapshot").is_string() ? field(r, "snapshot").get<std::string>() : std::string("none")) + ", " +
         fmt_seconds(field(r, "seconds")) + " in all)\n";
  out += "  RTO " + fmt_seconds(field(r, "rto_seconds")) + " against " + fmt_seconds(field(obj, "rto_seconds")) + "  " +
         text(field(r, "rto"), "status", "-") + "\n";
  out += "  RPO " + fmt_seconds(field(r, "rpo_seconds")) + " against " + fmt_seconds(field(obj, "rpo_seconds")) + "  " +
         text(field(r, "rpo"), "status", "-") + "\n";
  for (const auto& p : field(r, "phases")) {
    char line[512];
    std::snprintf(line, sizeof line, "  %-10s %-7s %8.2f s", text(p, "name").c_str(),
                  text(p, "status").c_str(), number(p, "seconds"));
    out += line;
    if (p.contains("error")) out += "  " + text(p, "error");
    out += "\n";
  }
  if (field(r, "rto").contains("components")) {
    out += "  RTO components:";
    for (const char* k : {"prepare", "restore", "startup", "wal_replay", "checks", "application"})
      if (field(field(r, "rto"), "components").contains(k)) out += " " + std::string(k) + " " + fmt_seconds(field(field(field(r, "rto"), "components"), k)) + ";";
    out += "\n";
  }
  for (const auto& rec : field(r, "recommendations"))
    if (rec.is_string()) out += "  - " + rec.get<std::string>() + "\n";
  return out;
}

std::string drill_html(const json& r) {
  const std::string result = text(r, "result", "?");
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>pgdr drill " + escape(text(r, "started_at")) + "</title><style>"
       "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em;max-width:60em;color:#24292f}"
       "h1{font-size:1.4em}.badge{display:inline-block;padding:.1em .6em;border-radius:.3em;color:#fff;font-weight:600}"
       "table{border-collapse:collapse;margin:.8em 0;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.3em .5em;"
       "text-align:left;vertical-align:top}th{background:#f6f8fa}.figure{font-size:1.6em;font-weight:600}"
       ".cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:.5em;padding:.8em 1.2em;"
       "min-width:12em}small{color:#57606a}code{font-size:.9em}</style></head><body>\n";
  h += "<h1>DR drill of cluster " + escape(text(r, "cluster")) + " <span class=\"badge\" style=\"background:" +
       colour(result) + "\">" + escape(result) + "</span></h1>\n";
  h += "<p><small>started " + escape(text(r, "started_at")) + ", snapshot " +
       escape(field(r, "snapshot").is_string() ? field(r, "snapshot").get<std::string>() : "none") + ", repository " +
       escape(text(r, "repository")) + ", pgdr " + escape(text(r, "pgdr_version")) +
       "</small></p>\n<div class=\"cards\">\n";
  for (const char* which : {"rto", "rpo"}) {
    const std::string key = std::string(which) + "_seconds";
    const json& part = field(r, which);
    std::string status = text(part, "status", "-");
    h += "<div class=\"card\"><div>" + std::string(which[1] == 't' ? "RTO (recovery time)" : "RPO (data lost)") +
         "</div><div class=\"figure\" style=\"color:" + colour(status) + "\">" + escape(fmt_seconds(field(r, key))) +
         "</div><small>objective " + escape(fmt_seconds(field(field(r, "objectives"), key))) + " &middot; " + escape(status) +
         "</small></div>\n";
  }
  h += "</div>\n<h2>Timeline</h2>\n";
  double total = 0;
  for (const auto& p : field(r, "phases")) total += number(p, "seconds");
  if (total <= 0) total = 1;
  const int width = 800, bar = 26;
  int rows = static_cast<int>(field(r, "phases").size());
  h += "<svg viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(rows * (bar + 8) + 10) +
       "\" width=\"100%\" role=\"img\" aria-label=\"phases of the drill over time\">\n";
  double offset = 0;
  int row = 0;
  for (const auto& p : field(r, "phases")) {
    double s = number(p, "seconds");
    double x = 120 + (width - 130) * offset / total;
    double w = std::max(2.0, (width - 130) * s / total);
    int y = 5 + row * (bar + 8);
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "<text x=\"0\" y=\"%d\" font-size=\"14\">%s</text><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                  "fill=\"%s\" rx=\"3\"><title>%s %.2f s</title></rect><text x=\"%.1f\" y=\"%d\" font-size=\"12\">%.2f s</text>\n",
                  y + 18, escape(text(p, "name")).c_str(), x, y, w, bar,
                  colour(text(p, "status")), escape(text(p, "name")).c_str(), s,
                  std::min(x + w + 4, width - 60.0), y + 18, s);
    h += buf;
    offset += s;
    ++row;
  }
  h += "</svg>\n<h2>Phases</h2>\n<table><tr><th>phase</th><th>status</th><th>seconds</th><th>details</th></tr>\n";
  for (const auto& p : field(r, "phases")) {
    std::string details = p.contains("error") ? "<b>" + escape(text(p, "error")) + "</b><br>" : "";
    details += "<code>" + escape(field(p, "details").dump()) + "</code>";
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f", number(p, "seconds"));
    h += "<tr><td>" + escape(text(p, "name")) + "</td><td style=\"color:" +
         colour(text(p, "status")) + "\">" + escape(text(p, "status")) + "</td><td>" + secs +
         "</td><td>" + details + "</td></tr>\n";
  }
  h += "</table>\n<h2>RTO components</h2>\n<table>";
  for (const auto& [k, v] : field(field(r, "rto"), "components").items())
    h += "<tr><td>" + escape(k) + "</td><td>" + escape(fmt_seconds(v)) + "</td></tr>";
  h += "</table>\n<p><small>" + escape(text(field(r, "rto"), "method")) + "</small></p>\n";
  h += "<h2>RPO</h2>\n<table>";
  for (const auto& [k, v] : field(r, "rpo").items())
    h += "<tr><td>" + escape(k) + "</td><td>" + escape(v.is_string() ? v.get<std::string>() : v.dump()) + "</td></tr>";
  h += "</table>\n";
  if (r.contains("trend") && field(field(r, "trend"), "drills").size() > 1) {
    h += "<h2>Trend</h2>\n<table><tr><th>drill</th><th>result</th><th>RTO</th><th>RPO</th></tr>";
    for (const auto& d : field(field(r, "trend"), "drills"))
      h += "<tr><td>" + escape(text(d, "started_at")) + "</td><td>" + escape(text(d, "result")) +
           "</td><td>" + escape(fmt_seconds(field(d, "rto_seconds"))) + "</td><td>" + escape(fmt_seconds(field(d, "rpo_seconds"))) +
           "</td></tr>";
    h += "</table><p><small>moving average of the last five: RTO " +
         escape(fmt_seconds(field(field(r, "trend"), "rto_moving_average_seconds"))) + ", RPO " +
         escape(fmt_seconds(field(field(r, "trend"), "rpo_moving_average_seconds"))) + "</small></p>\n";
  }
  if (!field(r, "recommendations").empty()) {
    h += "<h2>Recommendations</h2>\n<ul>";
    for (const auto& rec : field(r, "recommendations"))
      if (rec.is_string()) h += "<li>" + escape(rec.get<std::string>()) + "</li>";
    h += "</ul>\n";
  }
  h += "</body></html>\n";
  return h;
}

json drill_trend(const std::vector<catalog::RunRecord>& earlier, const json& current) {
  json drills = json::array();
  for (auto it = earlier.rbegin(); it != earlier.rend(); ++it) {
    drills.push_back({{"started_at", iso8601_ms(it->started)},
                      {"result", it->result},
                      {"rto_seconds", it->rto_seconds ? json(*it->rto_seconds) : json(nullptr)},
                      {"rpo_seconds", it->rpo_seconds ? json(*it->rpo_seconds) : json(nullptr)}});
  }
  drills.push_back({{"started_at", field(current, "started_at")},
                    {"result", field(current, "result")},
                    {"rto_seconds", field(current, "rto_seconds")},
                    {"rpo_seconds", field(current, "rpo_seconds")}});
  auto average = [&](const char* key) -> json {
    double sum = 0;
    int n = 0;
    for (std::size_t i = drills.size() > 5 ? drills.size() - 5 : 0; i < drills.size(); ++i)
      if (drills[i][key].is_number()) {
        sum += drills[i][key].get<double>();
        ++n;
      }
    return n ? json(std::round(sum / n * 1000) / 1000) : json(nullptr);
  };
  return {{"drills", drills},
          {"rto_moving_average_seconds", average("rto_seconds")},
          {"rpo_moving_average_seconds", average("rpo_seconds")}};
}

}  // namespace pgdr::drill
