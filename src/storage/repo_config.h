// The [[repo]] sections: where each repository lives, a local directory or an S3 bucket, and how
// its driver reaches it (storage/open_storage.h builds the driver from one).
#pragma once

#include <chrono>
#include <string>

namespace pgdr {

template <class S>
class ConfigSection;

struct RepoConfig {
  std::string name;
  std::string path;  // local repository directory (absolute); empty for an S3 repository
  // An S3 repository (s3_endpoint set). Credentials are never here: s3_*_env name the environment
  // variables that hold them.
  std::string s3_endpoint;
  std::string s3_bucket;
  std::string s3_region;
  std::string s3_prefix;
  // "host" (virtual-host addressing) or "path"; empty: path for an endpoint given as an IP address
  // (it has no bucket subdomains), host otherwise.
  std::string s3_uri_style;
  std::string s3_ca_file;             // PEM bundle; empty: the system's trust store
  bool s3_verify_tls = true;
  std::string s3_key_env = "AWS_ACCESS_KEY_ID";
  std::string s3_secret_env = "AWS_SECRET_ACCESS_KEY";
  std::string s3_token_env = "AWS_SESSION_TOKEN";
  std::chrono::milliseconds s3_connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds s3_stall_timeout{std::chrono::seconds(60)};
  int s3_attempts = 5;  // tries of one request, the first included

  bool is_s3() const { return !s3_endpoint.empty(); }
};

// One element of the array of tables; names and places are unique among the elements.
const ConfigSection<RepoConfig>& repo_section();

// Where a repository's objects live ("path: /srv/pgdr", "bucket and prefix: ENDPOINT BUCKET/PREFIX"),
// spelled one way: two [[repo]] sections naming one place would take the one lock (a backup then
// finds it "locked" by itself) and write one set of objects under two names.
std::string repo_place(const RepoConfig& repo);

}  // namespace pgdr
