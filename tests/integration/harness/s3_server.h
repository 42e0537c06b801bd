// A throwaway S3 server for one test: s3rver (npm) on 127.0.0.1 with its files in a temporary
// directory, one bucket created at start-up, stopped and removed when the object is destroyed (also
// when the test fails). Credentials are s3rver's fixed pair S3RVER/S3RVER.
//
// s3rver is looked for in $PGDR_S3RVER, then $HOME/.cache/pgdr-npm/node_modules/.bin/s3rver (where
// .ci/deps.sh installs it), then on PATH. Its log (one line per answered request) is kept in the
// temporary directory: requests_logged() counts them.
//
// s3rver runs with node's OpenSSL legacy provider (see the .cpp). It accepts Signature Version 4
// requests without checking the signature: only the access key id must be known.
//
// Move-only: one owner; methods are not meant to race each other.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "harness/temp_dir.h"

namespace pgdr::test {

class S3Server {
 public:
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";
  static constexpr const char* kRegion = "us-east-1";

  struct Options {
    std::string bucket = "pgdr-test";
    // Virtual-host requests to "<bucket>.s3.<service_endpoint>" are understood; empty: s3rver's
    // default (amazonaws.com).
    std::string service_endpoint;
    // Serve HTTPS with this PEM certificate and key; empty: plain HTTP.
    std::string cert_file;
    std::string key_file;
  };

  // Starts s3rver and waits until it answers; throws Error(io) when it cannot.
  explicit S3Server(std::string bucket = "pgdr-test");
  explicit S3Server(Options options);
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  // The path to the s3rver program, or "" when it is not installed.
  static std::string program();

  const std::string& bucket() const { return bucket_; }
  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:PORT" ("https://..." with a certificate)
  // "K=V" entries giving the credentials through the standard AWS variables.
  std::vector<std::string> credential_env() const;
  // Sets them in this process's environment (for S3Storage opened in the test itself).
  void export_credentials() const;
  // Lines of s3rver's log that record an answered request.
  std::size_t requests_logged() const;
  // s3rver writes its log asynchronously: waits until the count has not moved for 250 ms (at most
  // 2.5 s), so that every request answered so far is counted.
  void wait_for_log() const;
  // Those of them with this method whose URL (path and query) contains url_part, and answered with
  // this status (e.g. "200") unless it is empty.
  std::size_t requests_logged(const std::string& method, const std::string& url_part,
                              const std::string& status = "") const;

 private:
  void stop() noexcept;

  std::string bucket_;
  bool tls_ = false;
  std::unique_ptr<TempDir> dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace pgdr::test
