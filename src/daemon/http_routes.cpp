#include "daemon/http_routes.h"

#include <httplib.h>

#include <charconv>
#include <string>

#include "catalog/catalog.h"
#include "core/error.h"
#include "daemon/dashboard.h"

namespace pgdr::daemon {

void add_http_routes(httplib::Server& http, const Config& config, const BearerToken* token,
                     std::function<Status()> status, std::function<HttpStats()> http_stats) {
  http.set_pre_routing_handler([&config, token](const httplib::Request& req, httplib::Response& res) {
    if (access_for(token, config.daemon.health_auth, req.path, req.get_header_value("Authorization")) !=
        Access::denied)
      return httplib::Server::HandlerResponse::Unhandled;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer realm=\"pgdr\"");
    res.set_content("a bearer token is required ([daemon] auth_token_file or auth_token_env)\n",
                    "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  });
  http.Get("/metrics", [&config, status, http_stats](const httplib::Request&, httplib::Response& res) {
    Status st = status();
    st.http = http_stats();
    res.set_content(metrics_text(config, st), "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/health", [&config, token, status](const httplib::Request& req, httplib::Response& res) {
    const Status st = status();
    auto problems = health_problems(config, st);
    // The reasons first (one a line), then each warning as "warning: ..."; a healthy answer starts
    // with "ok" so that a probe matching the body keeps working.
    std::string body = problems.empty() ? "ok\n" : "";
    for (const auto& p : problems) body += p + "\n";
    for (const auto& w : health_warnings(st)) body += "warning: " + w + "\n";
    if (access_for(token, config.daemon.health_auth, req.path, req.get_header_value("Authorization")) !=
        Access::full)
      body = problems.empty() ? "ok\n" : "unhealthy\n";
    res.status = problems.empty() ? 200 : 503;
    res.set_content(body, "text/plain; charset=utf-8");
  });
  http.Get("/", [&config, status](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        dashboard_html(config, status(), [](std::int64_t id) { return "/reports/" + std::to_string(id); }),
        "text/html; charset=utf-8");
  });
  http.Get(R"(/reports/(\d+))", [&config](const httplib::Request& req, httplib::Response& res) {
    // Any run of digits matches the route; one beyond 64 bits names no report, as an unknown id.
    const std::string digits = req.matches[1].str();
    std::int64_t id = 0;
    if (std::from_chars(digits.data(), digits.data() + digits.size(), id).ec != std::errc()) {
      res.status = 404;
      res.set_content("no report " + digits + " in the catalog\n", "text/plain; charset=utf-8");
      return;
    }
    try {
      auto runs = catalog::Catalog::open(catalog::catalog_path(config)).runs("", config.cluster.name, 100000);
      for (const auto& r : runs)
        if (r.id == id) {
          res.set_content(r.report_json, "application/json");
          return;
        }
    } catch (const Error& e) {
      res.status = 500;
      res.set_content(std::string(e.what()) + "\n", "text/plain; charset=utf-8");
      return;
    }
    res.status = 404;
    res.set_content("no report " + std::to_string(id) + " in the catalog\n", "text/plain; charset=utf-8");
  });
}

}  // namespace pgdr::daemon
