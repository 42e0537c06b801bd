#include <cstdio>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/file.h"
#include "daemon/dashboard.h"
#include "daemon/status.h"

namespace pgdr::cli {

void add_report_command(CLI::App& app, Context& ctx, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "report", "write the dashboard (coverage heat map, RTO/RPO trends, results) as a static HTML file");
  static std::string html_path;
  cmd->add_option("--html", html_path, "write the page to FILE, and the reports it links to under reports/ beside it")
      ->type_name("FILE")
      ->required();
  cmd->callback([&ctx, &body] {
    body = [&ctx]() -> int {
      const Config& cfg = ctx.config();
      // Repositories that cannot be opened are shown on the page as unreadable, not fatal.
      std::vector<repo::Repository> repos;
      std::vector<std::pair<std::string, std::string>> errors;
      for (const auto& rc : ctx.selected_repos()) {
        try {
          repos.push_back(ctx.open_repo(rc));
        } catch (const Error& e) {
          if (e.kind() == ErrorKind::config || e.kind() == ErrorKind::crypto) throw;
          errors.emplace_back(rc.name, e.what());
        }
      }
      std::vector<const repo::Repository*> ptrs;
      for (const auto& r : repos) ptrs.push_back(&r);
      daemon::Status st = daemon::gather_status(cfg, ptrs, errors);
      const std::string dir = parent_directory(html_path);
      // The reports the page links to: the latest results, and each repository's newest verify.
      std::vector<const catalog::RunRecord*> linked;
      for (std::size_t i = 0; i < st.runs.size() && i < 25; ++i) linked.push_back(&st.runs[i]);
      for (const auto& r : st.repos)
        if (r.last_verify) linked.push_back(&*r.last_verify);
      if (!linked.empty()) make_directories(dir + "/reports", 0750);
      for (const auto* r : linked)
        write_file_durably(dir + "/reports/" + std::to_string(r->id) + ".json", as_bytes(r->report_json + "\n"), 0640);
      std::string page =
          daemon::dashboard_html(cfg, st, [](std::int64_t id) { return "reports/" + std::to_string(id) + ".json"; });
      write_file_durably(html_path, as_bytes(page), 0640);
      auto problems = daemon::health_problems(cfg, st);
      std::printf("%s\n", problems.empty() ? "healthy" : "unhealthy:");
      for (const auto& p : problems) std::printf("  %s\n", p.c_str());
      return 0;
    };
  });
}

}  // namespace pgdr::cli
