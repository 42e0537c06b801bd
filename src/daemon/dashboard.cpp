#include "daemon/dashboard.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/duration.h"

namespace pgdr::daemon {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fmt_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

const char* colour(const std::string& status) {
  if (status == "PASS" || status == "OK") return "#1a7f37";
  if (status == "WARN") return "#b58100";
  if (status == "FAIL" || status == "ERROR") return "#cf222e";
  return "#6e7781";
}

// Seconds since the epoch of the start of t's UTC hour.
std::time_t hour_start(SystemTime t) {
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  return s - s % 3600;
}

std::string utc_text(std::time_t t, const char* format) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[64];
  std::strftime(b, sizeof b, format, &tm);
  return b;
}

// The oldest creation among the repositories: the heat map has no cell before it. nullopt when a
// repository's is unknown (then nothing bounds the map but heatmap_days).
std::optional<SystemTime> repositories_created(const Status& st) {
  std::optional<SystemTime> first;
  for (const auto& r : st.repos) {
    if (!r.created) return std::nullopt;
    if (!first || *r.created < *first) first = r.created;
  }
  return first;
}

// Snapshots of every repository counted per UTC hour (the hour of their stop time), from the hour
// the repositories were created: an hour before then had nothing to miss, and marking it missing
// drew a week of red for a repository made this morning.
std::string heat_map(const Status& st, int days) {
  std::map<std::time_t, int> per_hour;
  for (const auto& r : st.repos)
    for (const auto& s : r.snapshots)
      if (auto t = parse_iso8601(s.stop_time)) per_hour[hour_start(*t)]++;
  const std::time_t now_hour = hour_start(st.now);
  const std::time_t today = now_hour - now_hour % 86400;
  std::time_t first_hour = 0;
  if (auto created = repositories_created(st)) {
    first_hour = std::min(hour_start(*created), now_hour);
    const std::time_t first_day = first_hour - first_hour % 86400;
    days = std::max(1, std::min<int>(days, static_cast<int>((today - first_day) / 86400) + 1));
  }
  constexpr int kCell = 14, kLeft = 46, kTop = 16;
  const int width = kLeft + 24 * kCell, height = kTop + days * kCell + 4;
  std::string h = "<svg class=\"heatmap\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                  "\" width=\"100%\" role=\"img\" aria-label=\"snapshots per hour, newest day first\">\n";
  for (int hour = 0; hour < 24; hour += 3)
    h += "<text x=\"" + std::to_string(kLeft + hour * kCell + 1) + "\" y=\"11\" class=\"axis\">" +
         std::to_string(hour) + "h</text>";
  int missing = 0, have = 0;
  for (int d = 0; d < days; ++d) {
    const std::time_t day = today - static_cast<std::time_t>(d) * 86400;
    const int y = kTop + d * kCell;
    h += "\n<text x=\"0\" y=\"" + std::to_string(y + 11) + "\" class=\"axis\">" + utc_text(day, "%m-%d") + "</text>";
    for (int hour = 0; hour < 24; ++hour) {
      const std::time_t slot = day + hour * 3600;
      if (slot < first_hour) continue;
      auto it = per_hour.find(slot);
      const int n = it == per_hour.end() ? 0 : it->second;
      std::string cls, title = utc_text(slot, "%Y-%m-%d %H:00 UTC") + ": ";
      if (n > 0) {
        cls = "have";
        title += std::to_string(n) + (n == 1 ? " snapshot" : " snapshots");
        ++have;
      } else if (slot > now_hour) {
        cls = "future";
        title += "not yet";
      } else if (slot == now_hour) {
        cls = "current";
        title += "no snapshot yet this hour";
      } else {
        cls = "missing";
        title += "no snapshot (missing)";
        ++missing;
      }
      h += "<rect class=\"" + cls + "\" data-hour=\"" + utc_text(slot, "%Y-%m-%dT%H") + "\" data-snapshots=\"" +
           std::to_string(n) + "\" x=\"" + std::to_string(kLeft + hour * kCell) + "\" y=\"" + std::to_string(y) +
           "\" width=\"" + std::to_string(kCell - 2) + "\" height=\"" + std::to_string(kCell - 2) + "\"><title>" +
           escape(title) + "</title></rect>";
    }
  }
  h += "\n</svg>\n<p class=\"legend\"><span class=\"key have\"></span> snapshot taken "
       "<span class=\"key missing\"></span> missing <span class=\"key current\"></span> this hour, none yet "
       "<span class=\"key future\"></span> not yet &middot; " +
       std::to_string(have) + (have == 1 ? " hour" : " hours") + " with a snapshot, " + std::to_string(missing) +
       " missing over " + std::to_string(days) + (days == 1 ? " day" : " days") + " (UTC)" +
       (first_hour ? ", since the repository was created at " + utc_text(first_hour, "%Y-%m-%d %H:00") : "") +
       "</p>\n";
  return h;
}

struct Point {
  SystemTime t;
  double v;
  std::string label;
};

// A line chart of points against a horizontal objective line.
std::string trend_chart(const std::string& css_class, const std::string& what, std::vector<Point> pts,
                        double objective) {
  if (pts.empty()) return "<p class=\"" + css_class + "\"><small>no " + escape(what) + " measured yet</small></p>\n";
  std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.t < b.t; });
  constexpr double kW = 360, kH = 150, kLeft = 44, kBottom = 18, kTop = 8;
  double top = objective;
  for (const auto& p : pts) top = std::max(top, p.v);
  top *= 1.1;
  if (top <= 0) top = 1;
  const double t0 = std::chrono::duration<double>(pts.front().t.time_since_epoch()).count();
  const double t1 = std::chrono::duration<double>(pts.back().t.time_since_epoch()).count();
  auto x = [&](SystemTime t) {
    double s = std::chrono::duration<double>(t.time_since_epoch()).count();
    return t1 > t0 ? kLeft + (s - t0) / (t1 - t0) * (kW - kLeft - 8) : kLeft + (kW - kLeft) / 2;
  };
  auto y = [&](double v) { return kTop + (1 - v / top) * (kH - kTop - kBottom); };
  std::string h = "<svg class=\"" + css_class + "\" viewBox=\"0 0 360 150\" width=\"100%\" role=\"img\" aria-label=\"" +
                  escape(what) + " against the objective\">";
  h += "<line class=\"objective\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kW - 4) + "\" y1=\"" + num(y(objective)) +
       "\" y2=\"" + num(y(objective)) + "\"><title>objective " + escape(format_seconds(objective)) + "</title></line>";
  h += "<text class=\"axis\" x=\"0\" y=\"" + num(y(objective) + 4) + "\">" + escape(format_seconds(objective)) + "</text>";
  h += "<text class=\"axis\" x=\"0\" y=\"" + num(kH - kBottom + 4) + "\">0</text>";
  std::string poly;
  for (const auto& p : pts) poly += num(x(p.t)) + "," + num(y(p.v)) + " ";
  h += "<polyline class=\"series\" points=\"" + poly + "\"/>";
  // A lone point is drawn larger: it is the whole chart.
  const char* radius = pts.size() == 1 ? "4.5" : "3";
  for (const auto& p : pts)
    h += "<circle class=\"" + std::string(p.v > objective ? "over" : "under") + "\" cx=\"" + num(x(p.t)) + "\" cy=\"" +
         num(y(p.v)) + "\" r=\"" + radius + "\"><title>" + escape(iso8601(p.t) + " " + p.label + ": " + format_seconds(p.v)) +
         "</title></circle>";
  // The newest value written beside its point, so that a chart of one point says what it shows.
  const Point& newest = pts.back();
  const bool right_half = x(newest.t) > kW / 2;
  h += "<text class=\"value\" text-anchor=\"" + std::string(right_half ? "end" : "start") + "\" x=\"" +
       num(x(newest.t) + (right_half ? -6 : 6)) + "\" y=\"" + num(std::max(kTop + 8, y(newest.v) - 6)) + "\">" +
       escape(newest.label + " " + format_seconds(newest.v)) + "</text>";
  if (pts.size() == 1 || t1 <= t0) {
    h += "<text class=\"axis\" text-anchor=\"middle\" x=\"" + num(x(newest.t)) + "\" y=\"" + num(kH - 2) + "\">" +
         escape(utc_text(std::chrono::system_clock::to_time_t(newest.t), "%m-%d %H:%M")) + "</text>";
  } else {
    h += "<text class=\"axis\" x=\"" + num(kLeft) + "\" y=\"" + num(kH - 2) + "\">" +
         escape(utc_text(std::chrono::system_clock::to_time_t(pts.front().t), "%m-%d %H:%M")) + "</text>";
    h += "<text class=\"axis\" text-anchor=\"end\" x=\"" + num(kW - 4) + "\" y=\"" + num(kH - 2) + "\">" +
         escape(utc_text(std::chrono::system_clock::to_time_t(pts.back().t), "%m-%d %H:%M")) + "</text>";
  }
  h += "</svg>\n";
  return h;
}

// The names of a report's checks with a status other than PASS or SKIP, comma-separated.
std::string checks_not_passed(const std::string& report_json) {
  std::string out;
  try {
    auto j = nlohmann::json::parse(report_json);
    for (const auto& c : j.value("checks", nlohmann::json::array())) {
      const std::string status = c.is_object() ? c.value("status", "") : "";
      if (!status.empty() && status != "PASS" && status != "SKIP")
        out += (out.empty() ? "" : ", ") + c.value("name", "?") + " " + status;
    }
  } catch (const std::exception&) {
  }
  return out;
}

// One row per repository: the result of its newest verify, so that a repository that fails is
// seen beside the one that passes rather than behind it.
std::string verify_table(const Status& st, const std::function<std::string(std::int64_t)>& report_link) {
  std::string h = "<div class=\"table-wrap\"><table class=\"verify\"><tr><th>repository</th><th>result</th>"
                  "<th>started</th><th>took</th><th>checks not passed</th><th>report</th></tr>\n";
  for (const auto& r : st.repos) {
    h += "<tr data-repo=\"" + escape(r.name) + "\"><td>" + escape(r.name) + "</td>";
    if (!r.last_verify) {
      h += "<td class=\"result\">&ndash;</td><td colspan=\"4\"><small>never verified</small></td></tr>\n";
      continue;
    }
    const auto& v = *r.last_verify;
    h += "<td class=\"result\" style=\"color:" + std::string(colour(v.result)) + "\">" + escape(v.result) +
         "</td><td>" + escape(utc_text(std::chrono::system_clock::to_time_t(v.started), "%m-%d %H:%M:%S")) +
         "</td><td>" + escape(format_seconds(v.seconds)) + "</td><td>" + escape(checks_not_passed(v.report_json)) +
         "</td><td><a href=\"" + escape(report_link(v.id)) + "\">#" + std::to_string(v.id) + "</a></td></tr>\n";
  }
  return h + "</table></div>\n";
}

}  // namespace

std::string dashboard_html(const Config& config, const Status& st,
                           const std::function<std::string(std::int64_t)>& report_link) {
  const auto problems = health_problems(config, st);
  const double rto_obj = std::chrono::duration<double>(config.objectives.rto).count();
  const double rpo_obj = std::chrono::duration<double>(config.objectives.rpo).count();
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>pgdr " +
       escape(config.cluster.name) +
       "</title><style>"
       "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1em 1.5em;color:#24292f}"
       "h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.4em}"
       ".badge{display:inline-block;padding:.1em .6em;border-radius:.3em;color:#fff;font-weight:600}"
       "table{border-collapse:collapse;margin:.6em 0;width:100%;font-size:.9em}td,th{border-bottom:1px solid #d0d7de;"
       "padding:.25em .4em;text-align:left;vertical-align:top}th{background:#f6f8fa}"
       ".cards{display:flex;gap:.8em;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:.5em;padding:.6em 1em;"
       "flex:1 1 9em}.figure{font-size:1.4em;font-weight:600}small,.legend{color:#57606a;font-size:.85em}"
       ".axis{font-size:9px;fill:#57606a}svg.heatmap .axis{font-size:7px}.value{font-size:10px;fill:#24292f;font-weight:600}svg{display:block}"
       ".trends{display:grid;grid-template-columns:repeat(auto-fit,minmax(22em,1fr));gap:0 2em}"
       "rect.have{fill:#1a7f37}rect.missing{fill:#ffebe9;stroke:#cf222e;stroke-width:1}rect.current{fill:#fff8c5;"
       "stroke:#b58100}rect.future{fill:#f6f8fa}.key{display:inline-block;width:.8em;height:.8em;margin:0 .2em 0 .6em;"
       "vertical-align:middle}.key.have{background:#1a7f37}.key.missing{background:#ffebe9;border:1px solid #cf222e}"
       ".key.current{background:#fff8c5;border:1px solid #b58100}.key.future{background:#f6f8fa;border:1px solid "
       "#d0d7de}"
       "line.objective{stroke:#cf222e;stroke-dasharray:4 3}polyline.series{fill:none;stroke:#0969da;stroke-width:1.5}"
       "circle.under{fill:#0969da}circle.over{fill:#cf222e}.table-wrap{overflow-x:auto}"
       "</style></head><body>\n";
  h += "<h1>pgdr: cluster " + escape(config.cluster.name) + " <span class=\"badge\" id=\"health\" style=\"background:" +
       (problems.empty() ? "#1a7f37\">healthy" : "#cf222e\">unhealthy") + "</span></h1>\n";
  h += "<p><small>as of " + escape(iso8601(st.now)) + " (times in UTC)</small></p>\n";
  if (!problems.empty()) {
    h += "<ul class=\"problems\">";
    for (const auto& p : problems) h += "<li>" + escape(p) + "</li>";
    h += "</ul>\n";
  }

  h += "<div class=\"cards\">";
  for (const auto& r : st.repos) {
    h += "<div class=\"card\"><small>newest snapshot, repository " + escape(r.name) + "</small><div class=\"figure\">";
    if (!r.snapshots.empty()) {
      const auto& s = r.snapshots.back();
      auto t = parse_iso8601(s.stop_time);
      h += t ? escape(format_seconds(std::chrono::duration<double>(st.now - *t).count())) + " ago" : "?";
      h += "</div><small>" + escape(s.id) + ", " + escape(fmt_bytes(static_cast<double>(s.logical_bytes))) + ", " +
           escape(fmt_bytes(static_cast<double>(s.stored_bytes))) + " stored; " + std::to_string(r.snapshots.size()) +
           (r.snapshots.size() == 1 ? " snapshot" : " snapshots") + "; coverage " +
           num(100 * coverage_ratio(r, st.now)) + " % of the last 24 h</small>";
    } else {
      h += "none</div><small>" + escape(r.error.empty() ? "no snapshot yet" : r.error) + "</small>";
    }
    h += "</div>";
  }
  const auto* drill = st.last_run("drill");
  const auto* measure = st.last_run("measure");
  h += "<div class=\"card\"><small>RTO (last drill) / objective</small><div class=\"figure\">" +
       (drill && drill->rto_seconds ? escape(format_seconds(*drill->rto_seconds)) : std::string("&ndash;")) +
       "</div><small>objective " + escape(format_seconds(rto_obj)) + "</small></div>";
  std::optional<double> rpo;
  if (measure && measure->rpo_seconds)
    rpo = measure->rpo_seconds;
  else if (drill && drill->rpo_seconds)
    rpo = drill->rpo_seconds;
  h += "<div class=\"card\"><small>RPO (last measured) / objective</small><div class=\"figure\">" +
       (rpo ? escape(format_seconds(*rpo)) : std::string("&ndash;")) + "</div><small>objective " +
       escape(format_seconds(rpo_obj)) + "</small></div></div>\n";

  if (!st.repos.empty()) h += "<h2>Verify per repository</h2>\n" + verify_table(st, report_link);

  const int days = config.daemon.heatmap_days;
  h += "<h2>Snapshot coverage per hour</h2>\n" + heat_map(st, days);

  std::vector<Point> rto_pts, rpo_pts;
  for (const auto& r : st.runs) {
    if (r.kind == "drill" && r.rto_seconds) rto_pts.push_back({r.started, *r.rto_seconds, "drill"});
    if ((r.kind == "drill" || r.kind == "measure") && r.rpo_seconds)
      rpo_pts.push_back({r.started, *r.rpo_seconds, r.kind});
  }
  // Side by side on a wide screen, one above the other on a phone.
  h += "<div class=\"trends\"><div><h2>RTO trend (drills)</h2>\n" + trend_chart("trend rto", "RTO", rto_pts, rto_obj) +
       "</div><div><h2>RPO trend (measures and drills)</h2>\n" + trend_chart("trend rpo", "RPO", rpo_pts, rpo_obj) +
       "</div></div>\n";

  h += "<h2>Latest results</h2>\n";
  if (!st.catalog_error.empty()) h += "<p><small>catalog: " + escape(st.catalog_error) + "</small></p>\n";
  if (st.runs.empty()) {
    h += "<p><small>nothing recorded yet</small></p>\n";
  } else {
    h += "<div class=\"table-wrap\"><table "
         "class=\"results\"><tr><th>started</th><th>kind</th><th>result</th><th>took</th>"
         "<th>RTO</th><th>RPO</th><th>report</th></tr>\n";
    std::size_t shown = 0;
    for (const auto& r : st.runs) {
      if (++shown > 25) break;
      h += "<tr><td>" + escape(utc_text(std::chrono::system_clock::to_time_t(r.started), "%m-%d %H:%M:%S")) +
           "</td><td>" + escape(r.kind) + "</td><td style=\"color:" + colour(r.result) + "\">" + escape(r.result) +
           "</td><td>" + escape(format_seconds(r.seconds)) + "</td><td>" +
           (r.rto_seconds ? escape(format_seconds(*r.rto_seconds)) : "") + "</td><td>" +
           (r.rpo_seconds ? escape(format_seconds(*r.rpo_seconds)) : "") + "</td><td><a href=\"" +
           escape(report_link(r.id)) + "\">#" + std::to_string(r.id) + "</a></td></tr>\n";
    }
    h += "</table></div>\n";
  }
  if (!st.jobs.last.empty()) {
    h += "<h2>Daemon jobs</h2>\n<div class=\"table-wrap\"><table class=\"jobs\"><tr><th>job</th><th>last result</th>"
         "<th>ended</th><th>took</th></tr>\n";
    for (const auto& [job, o] : st.jobs.last)
      h += "<tr><td>" + escape(job) + "</td><td>" + escape(o.result) +
           (o.exit_code ? " (exit " + std::to_string(o.exit_code) + ")" : "") + "</td><td>" + escape(iso8601(o.ended)) +
           "</td><td>" + escape(format_seconds(o.seconds)) + "</td></tr>\n";
    h += "</table></div>\n";
  }
  h += "<p><small>pgdr " PGDR_VERSION "</small></p>\n</body></html>\n";
  return h;
}

}  // namespace pgdr::daemon
