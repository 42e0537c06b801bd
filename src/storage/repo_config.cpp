#include "storage/repo_config.h"

#include <cctype>

#include "core/config_section.h"
#include "core/path.h"

namespace pgdr {

std::string repo_place(const RepoConfig& r) {
  if (!r.is_s3()) return "path: " + resolved_path(r.path);
  std::string endpoint = r.s3_endpoint, prefix = r.s3_prefix;
  for (auto& ch : endpoint) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (endpoint.ends_with('/')) endpoint.pop_back();
  while (prefix.starts_with('/')) prefix.erase(0, 1);
  while (prefix.ends_with('/')) prefix.pop_back();
  return "bucket and prefix: " + endpoint + " " + r.s3_bucket + "/" + prefix;
}

const ConfigSection<RepoConfig>& repo_section() {
  using R = RepoConfig;
  const auto timeout = [](const char* key) {
    return between(std::chrono::seconds(1), std::chrono::hours(1),
                   std::string("'") + key + "' in [repo] must be between 1s and 1h");
  };
  static const auto section = ConfigSection<R>("repo", true)
      .text("name", &R::name, ConfigText::required())
      .check_earlier([](const R& r, const std::vector<R>& earlier, const ConfigTable& t) {
        for (const R& e : earlier)
          if (e.name == r.name) t.fail("two repositories are named '" + r.name + "'");
      })
      // Either local (path) or S3 (s3_endpoint and the keys that go with it), never both.
      .check([](const R& r, const ConfigTable& t) {
        const bool local = t.has("path"), s3 = t.has("s3_endpoint");
        if (local && s3) t.fail("[[repo]] '" + r.name + "' takes path or s3_endpoint, not both");
        if (!local && !s3) t.fail("[[repo]] '" + r.name + "' needs path (a local directory) or s3_endpoint");
        if (local)
          for (const auto& k : repo_section().keys())
            if (k.name.starts_with("s3_") && t.has(k.name))
              t.fail_at(k.name, "'" + k.name + "' applies to an s3 repository, not one with path");
      })
      .text("path", &R::path, ConfigText::absolute())
      .text("s3_endpoint", &R::s3_endpoint, ConfigText::not_empty())
      .check([](const R& r, const ConfigTable& t) { if (r.is_s3()) t.require("s3_bucket"); })
      .text("s3_bucket", &R::s3_bucket)
      .check([](const R& r, const ConfigTable& t) { if (r.is_s3()) t.require("s3_region"); })
      .text("s3_region", &R::s3_region)
      .text("s3_prefix", &R::s3_prefix)
      .choice("s3_uri_style", &R::s3_uri_style, {"host", "path"}, "[repo] s3_uri_style must be \"host\" or \"path\"")
      .text("s3_ca_file", &R::s3_ca_file, ConfigText::absolute_or_empty())
      .flag("s3_verify_tls", &R::s3_verify_tls)
      .text("s3_key_env", &R::s3_key_env, ConfigText::not_empty())
      .text("s3_secret_env", &R::s3_secret_env, ConfigText::not_empty())
      .text("s3_token_env", &R::s3_token_env, ConfigText::not_empty())
      .duration("s3_connect_timeout", &R::s3_connect_timeout, timeout("s3_connect_timeout"))
      .duration("s3_stall_timeout", &R::s3_stall_timeout, timeout("s3_stall_timeout"))
      .integer("s3_attempts", &R::s3_attempts, 1, 100)
      .check_earlier([](const R& r, const std::vector<R>& earlier, const ConfigTable& t) {
        const std::string place = repo_place(r);
        for (const R& e : earlier)
          if (repo_place(e) == place) t.fail("repositories '" + e.name + "' and '" + r.name + "' have one " + place);
      });
  return section;
}

}  // namespace pgdr
