#include "storage/open_storage.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"
#include "storage/posix/posix_storage.h"
#include "storage/s3/s3_storage.h"

namespace pgdr::storage {

namespace {

std::string env_value(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v == nullptr ? std::string() : std::string(v);
}

// An endpoint given as an address has no bucket subdomains: path-style unless the configuration
// insists (and check_config then says why that cannot work).
s3::S3Addressing addressing_of(const RepoConfig& repo) {
  if (repo.s3_uri_style == "path") return s3::S3Addressing::path;
  if (repo.s3_uri_style == "host") return s3::S3Addressing::virtual_host;
  const s3::S3Endpoint endpoint = s3::parse_endpoint(repo.s3_endpoint);
  const std::string_view host = endpoint.host;
  const bool ipv6 = host.starts_with("[");
  const bool ipv4 = !host.empty() && host.find_first_not_of("0123456789.") == std::string_view::npos;
  return ipv6 || ipv4 ? s3::S3Addressing::path : s3::S3Addressing::virtual_host;
}

s3::S3Config s3_config_of(const RepoConfig& repo) {
  s3::S3Config c;
  c.endpoint = repo.s3_endpoint;
  c.bucket = repo.s3_bucket;
  c.region = repo.s3_region;
  c.prefix = repo.s3_prefix;
  c.addressing = addressing_of(repo);
  c.ca_file = repo.s3_ca_file;
  c.verify_tls = repo.s3_verify_tls;
  c.connect_timeout_ms = static_cast<std::uint32_t>(repo.s3_connect_timeout.count());
  c.stall_timeout_ms = static_cast<std::uint32_t>(repo.s3_stall_timeout.count());
  c.retry.max_attempts = static_cast<std::uint32_t>(repo.s3_attempts);

  // Only the names of the variables appear in messages, never what they hold.
  c.credentials.access_key_id = env_value(repo.s3_key_env);
  std::string secret = env_value(repo.s3_secret_env);
  if (c.credentials.access_key_id.empty() || secret.empty()) {
    throw Error(ErrorKind::config,
                "no s3 credentials for repository '" + repo.name + "': " +
                    (c.credentials.access_key_id.empty() ? repo.s3_key_env : repo.s3_secret_env) + " is not set",
                "export " + repo.s3_key_env + " and " + repo.s3_secret_env + " (and " + repo.s3_token_env +
                    " for temporary credentials), or name other variables with s3_key_env and s3_secret_env");
  }
  c.credentials.secret_access_key = SecretBytes(as_bytes(secret));
  std::fill(secret.begin(), secret.end(), '\0');
  std::string token = env_value(repo.s3_token_env);
  if (!token.empty()) c.credentials.session_token = SecretBytes(as_bytes(token));
  std::fill(token.begin(), token.end(), '\0');
  return c;
}

}  // namespace

std::unique_ptr<Storage> open_storage(const RepoConfig& repo) {
  if (repo.is_s3()) return std::make_unique<S3Storage>(s3_config_of(repo));
  return std::make_unique<PosixStorage>(repo.path);
}

std::unique_ptr<Storage> create_storage(const RepoConfig& repo) {
  if (repo.is_s3()) {
    // A bucket is not created here: who may create one, where and with which policy is the
    // operator's choice. Checking it first turns "no such bucket" into a clear error before init.
    auto s3 = std::make_unique<S3Storage>(s3_config_of(repo));
    s3->check_bucket();
    return s3;
  }
  PosixStorage::create_root(repo.path);
  return open_storage(repo);
}

}  // namespace pgdr::storage
