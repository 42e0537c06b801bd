#include <cstdio>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "core/duration.h"
#include "core/time_format.h"

namespace pgdr::cli {

void add_history_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand("history", "list the drills, verifies and measurements recorded in the local catalog");
  static bool as_json = false;
  static std::string kind;
  static std::size_t limit = 50;
  cmd->add_flag("--json", as_json, "print JSON (with each run's full report)");
  cmd->add_option("--kind", kind, "only runs of this kind: backup, drill, verify, measure")
      ->check(CLI::IsMember({"backup", "drill", "verify", "measure"}))
      ->type_name("KIND");
  cmd->add_option("--limit", limit, "at most this many runs, newest first (default 50)")->type_name("N");
  cmd->callback([&ctx, &body] {
    body = [&ctx]() -> int {
      const Config& cfg = ctx.config();
      catalog::Catalog cat = catalog::Catalog::open(catalog::catalog_path(cfg));
      auto runs = cat.runs(kind, cfg.cluster.name, limit);
      // Moving averages over the five newest runs of each kind that measured the figure.
      std::map<std::string, std::pair<double, int>> rto_avg, rpo_avg;
      for (const auto& r : runs) {
        if (r.rto_seconds && rto_avg[r.kind].second < 5) rto_avg[r.kind] = {rto_avg[r.kind].first + *r.rto_seconds, rto_avg[r.kind].second + 1};
        if (r.rpo_seconds && rpo_avg[r.kind].second < 5) rpo_avg[r.kind] = {rpo_avg[r.kind].first + *r.rpo_seconds, rpo_avg[r.kind].second + 1};
      }
      if (as_json) {
        nlohmann::json out = {{"catalog", cat.path()}, {"runs", nlohmann::json::array()}, {"moving_averages", nlohmann::json::object()}};
        for (const auto& r : runs) {
          nlohmann::json report = nlohmann::json::parse(r.report_json, nullptr, false);
          out["runs"].push_back({{"id", r.id},
                                 {"kind", r.kind},
                                 {"repository", r.repository},
                                 {"started_at", iso8601_ms(r.started)},
                                 {"seconds", r.seconds},
                                 {"result", r.result},
                                 {"rto_seconds", r.rto_seconds ? nlohmann::json(*r.rto_seconds) : nlohmann::json(nullptr)},
                                 {"rpo_seconds", r.rpo_seconds ? nlohmann::json(*r.rpo_seconds) : nlohmann::json(nullptr)},
                                 {"report", report.is_discarded() ? nlohmann::json(nullptr) : report}});
        }
        for (const auto& [k, v] : rto_avg) out["moving_averages"][k]["rto_seconds"] = v.first / v.second;
        for (const auto& [k, v] : rpo_avg) out["moving_averages"][k]["rpo_seconds"] = v.first / v.second;
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
      }
      if (runs.empty()) {
        std::printf("no run recorded in %s\n", cat.path().c_str());
        return 0;
      }
      std::printf("%-25s %-8s %-6s %9s %9s %9s  %s\n", "started", "kind", "result", "seconds", "RTO s", "RPO s",
                  "repository");
      for (const auto& r : runs) {
        auto fig = [](const std::optional<double>& v) {
          char b[32];
          if (v) std::snprintf(b, sizeof b, "%.2f", *v);
          else std::snprintf(b, sizeof b, "-");
          return std::string(b);
        };
        std::printf("%-25s %-8s %-6s %9.2f %9s %9s  %s\n", iso8601_ms(r.started).c_str(), r.kind.c_str(),
                    r.result.c_str(), r.seconds, fig(r.rto_seconds).c_str(), fig(r.rpo_seconds).c_str(),
                    r.repository.empty() ? "-" : r.repository.c_str());
      }
      for (const auto& [k, v] : rto_avg)
        std::printf("%s: RTO moving average %s over the %d newest\n", k.c_str(), format_seconds(v.first / v.second).c_str(),
                    v.second);
      for (const auto& [k, v] : rpo_avg)
        std::printf("%s: RPO moving average %s over the %d newest\n", k.c_str(), format_seconds(v.first / v.second).c_str(),
                    v.second);
      return 0;
    };
  });
}

}  // namespace pgdr::cli
