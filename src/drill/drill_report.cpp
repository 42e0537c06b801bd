#include "drill/drill_report.h"

#include "core/duration.h"
#include "core/json_field.h"

#include <algorithm>
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

std::string label(const std::string& key) {
  std::string out = key;
  for (char& c : out)
    if (c == '_') c = ' ';
  return out;
}

std::string scalar_html(const json& v) {
  if (v.is_string()) return v.get<std::string>().empty() ? "&mdash;" : escape(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return "&mdash;";
  if (v.is_number_float()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v.get<double>());
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
  }
  return escape(v.dump());
}

// Any JSON value as HTML a reader can scan: objects become two-column tables of labelled rows,
// arrays of objects become tables with a column per member, other arrays become lists. Never
// raw JSON, which the page's readers (auditors, managers) should not have to parse.
std::string value_html(const json& v) {
  if (v.is_object()) {
    if (v.empty()) return "&mdash;";
    std::string h = "<table class=\"kv\">";
    for (const auto& [k, x] : v.items()) h += "<tr><th>" + escape(label(k)) + "</th><td>" + value_html(x) + "</td></tr>";
    return h + "</table>";
  }
  if (v.is_array()) {
    if (v.empty()) return "none";
    bool objects = true;
    for (const auto& x : v) objects &= x.is_object();
    if (objects) {
      std::vector<std::string> columns;
      for (const auto& x : v)
        for (const auto& [k, unused] : x.items())
          if (std::find(columns.begin(), columns.end(), k) == columns.end()) columns.push_back(k);
      std::string h = "<table class=\"kv\"><tr>";
      for (const auto& c : columns) h += "<th>" + escape(label(c)) + "</th>";
      h += "</tr>";
      for (const auto& x : v) {
        h += "<tr>";
        for (const auto& c : columns) h += "<td>" + (x.contains(c) ? value_html(x[c]) : std::string("&mdash;")) + "</td>";
        h += "</tr>";
      }
      return h + "</table>";
    }
    std::string h = "<ul class=\"plain\">";
    for (const auto& x : v) h += "<li>" + value_html(x) + "</li>";
    return h + "</ul>";
  }
  return scalar_html(v);
}

// A step of 1, 2 or 5 times a power of ten giving at most about eight ticks over total seconds.
double tick_step(double total) {
  double step = 1e-3;
  while (total / step > 8) {
    if (total / (step * 2) <= 8) return step * 2;
    if (total / (step * 5) <= 8) return step * 5;
    step *= 10;
  }
  return step;
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
       "min-width:12em}small{color:#57606a}code{font-size:.9em}table.kv{margin:0;width:auto}table.kv th{background:none;"
       "font-weight:500;color:#57606a}ul.plain{margin:0;padding-left:1.1em}</style></head><body>\n";
  h += "<h1>DR drill of cluster " + escape(text(r, "cluster")) + " <span class=\"badge\" style=\"background:" +
       colour(result) + "\">" + escape(result) + "</span></h1>\n";
  h += "<p><small>started " + escape(text(r, "started_at")) + ", snapshot " +
       escape(field(r, "snapshot").is_string() ? field(r, "snapshot").get<std::string>() : "none") + ", repository " +
       escape(text(r, "repository")) + "<br>run on host " + escape(text(r, "host", "unknown")) + " as OS user " +
       escape(text(r, "os_user", "unknown")) + " with pgdr " + escape(text(r, "pgdr_version")) +
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
  // Three columns that never overlap: phase names right-aligned left of the plot, the bars inside
  // it, each duration right of it; the time axis runs under the bars.
  const double width = 800, name_right = 100, plot_left = 110, plot_right = 690, figure_left = 700;
  const int bar = 24, gap = 8;
  const int rows = static_cast<int>(field(r, "phases").size());
  const int axis_y = 5 + rows * (bar + gap);
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "<svg viewBox=\"0 0 %.0f %d\" width=\"100%%\" role=\"img\" aria-label=\"phases of the drill over time\" "
                "font-family=\"system-ui,sans-serif\">\n",
                width, axis_y + 34);
  h += buf;
  const double scale = (plot_right - plot_left) / total;
  double offset = 0;
  int row = 0;
  for (const auto& p : field(r, "phases")) {
    const double s = number(p, "seconds");
    const double x = plot_left + scale * offset;
    const double w = std::max(2.0, scale * s);
    const int y = 5 + row * (bar + gap);
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.0f\" y=\"%d\" font-size=\"13\" text-anchor=\"end\">%s</text>"
                  "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" rx=\"3\"><title>%s %.2f s</title></rect>"
                  "<text x=\"%.0f\" y=\"%d\" font-size=\"12\">%s</text>\n",
                  name_right, y + 17, escape(text(p, "name")).c_str(), x, y, w, bar, colour(text(p, "status")),
                  escape(text(p, "name")).c_str(), s, figure_left, y + 17, escape(format_seconds(s)).c_str());
    h += buf;
    offset += s;
    ++row;
  }
  std::snprintf(buf, sizeof buf, "<line x1=\"%.0f\" y1=\"%d\" x2=\"%.0f\" y2=\"%d\" stroke=\"#57606a\"/>\n", plot_left,
                axis_y, plot_right, axis_y);
  h += buf;
  const double step = tick_step(total);
  for (double t = 0; t <= total + 1e-9; t += step) {
    const double x = plot_left + scale * t;
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#57606a\"/>"
                  "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\">%s</text>\n",
                  x, axis_y, x, axis_y + 5, x, axis_y + 18, scalar_html(json(std::round(t * 1000) / 1000)).c_str());
    h += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.0f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\">seconds since "
                "the drill started</text>\n",
                (plot_left + plot_right) / 2, axis_y + 32);
  h += buf;
  h += "</svg>\n";

  h += "<h2>RTO components</h2>\n<table><tr><th>component</th><th>seconds</th></tr>";
  const json& comps = field(field(r, "rto"), "components");
  static const std::pair<const char*, const char*> kComponents[] = {
      {"prepare", "prepare"},        {"restore", "restore"}, {"startup", "server startup"},
      {"wal_replay", "WAL replay"}, {"checks", "checks"},   {"application", "application check"}};
  double component_sum = 0;
  for (const auto& [key, name] : kComponents) {
    if (!comps.contains(key)) continue;
    component_sum += number(comps, key);
    h += "<tr><td>" + std::string(name) + "</td><td>" + escape(fmt_seconds(field(comps, key))) + "</td></tr>";
  }
  h += "<tr><th>total (RTO)</th><th>" +
       escape(field(r, "rto_seconds").is_number() ? fmt_seconds(field(r, "rto_seconds")) : fmt_seconds(json(component_sum))) +
       "</th></tr></table>\n<p><small>" + escape(text(field(r, "rto"), "method")) + "</small></p>\n";

  h += "<h2>RPO</h2>\n" + value_html(field(r, "rpo")) + "\n";

  h += "<h2>Integrity</h2>\n";
  const json* integrity = nullptr;
  for (const auto& p : field(r, "phases"))
    if (text(p, "name") == "integrity") integrity = &p;
  if (integrity && field(*integrity, "details").contains("databases")) {
    const json& d = field(*integrity, "details");
    h += "<table><tr><th>database</th><th>result</th><th>tables by verdict</th><th>tables not identical</th>"
         "<th>schema only in the source</th><th>schema only in the copy</th></tr>";
    for (const auto& [db, x] : field(d, "databases").items())
      h += "<tr><td>" + escape(db) + "</td><td style=\"color:" + colour(text(x, "result")) + "\">" +
           escape(text(x, "result")) + "</td><td>" + value_html(field(x, "tables_by_verdict")) + "</td><td>" +
           value_html(field(x, "tables_not_identical")) + "</td><td>" + value_html(field(x, "schema_only_in_source")) +
           "</td><td>" + value_html(field(x, "schema_only_in_copy")) + "</td></tr>";
    h += "</table>\n";
    const json& am = field(d, "amcheck");
    h += "<table><tr><th>check</th><th>result</th><th>detail</th></tr><tr><td>compared with the source</td><td>" +
         value_html(field(d, "compared_with_source")) + "</td><td>" + value_html(field(d, "not_compared")) +
         "</td></tr><tr><td>pg_amcheck</td><td style=\"color:" + colour(field(am, "ok") == true ? "PASS" : "FAIL") + "\">" +
         (field(am, "ok") == true ? "clean" : "damage found") + "</td><td>relations: " + value_html(field(am, "relations")) +
         "; exit code " + value_html(field(am, "exit_code")) + "; " + value_html(field(am, "seconds")) +
         " s</td></tr><tr><td>culprits</td><td colspan=\"2\">" + value_html(field(d, "culprits")) + "</td></tr></table>\n";
  } else {
    h += "<p>not run</p>\n";
  }

  h += "<h2>Phases</h2>\n<table><tr><th>phase</th><th>status</th><th>seconds</th><th>details</th></tr>\n";
  for (const auto& p : field(r, "phases")) {
    std::string details = p.contains("error") ? "<b>" + escape(text(p, "error")) + "</b><br>" : "";
    details += text(p, "name") == "integrity" ? std::string("shown under Integrity") : value_html(field(p, "details"));
    std::snprintf(buf, sizeof buf, "%.2f", number(p, "seconds"));
    h += "<tr><td>" + escape(text(p, "name")) + "</td><td style=\"color:" + colour(text(p, "status")) + "\">" +
         escape(text(p, "status")) + "</td><td>" + buf + "</td><td>" + details + "</td></tr>\n";
  }
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
