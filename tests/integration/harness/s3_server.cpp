#include "harness/s3_server.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace pgdr::test {

namespace {

bool executable(const std::string& path) { return !path.empty() && ::access(path.c_str(), X_OK) == 0; }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Removes ANSI colour sequences ("ESC [ digits/; m").
std::string strip_colour(const std::string& line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < line.size() && ((line[j] >= '0' && line[j] <= '9') || line[j] == ';')) ++j;
      if (j < line.size() && line[j] == 'm') {
        i = j;
        continue;
      }
    }
    out += line[i];
  }
  return out;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "info: GET /bucket/key 200 3ms 12b"; method and url, when given, receive those fields.
bool is_answer_line(const std::string& line, std::string* method_out = nullptr, std::string* url_out = nullptr,
                    std::string* status_out = nullptr) {
  std::istringstream in(line);
  std::string tag, method, url, status, time;
  if (!(in >> tag >> method >> url >> status >> time)) return false;
  if (method_out) *method_out = method;
  if (url_out) *url_out = url;
  if (status_out) *status_out = status;
  return tag == "info:" && !method.empty() &&
         std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; }) &&
         status.size() == 3 && all_digits(status) && time.size() > 2 && time.ends_with("ms") &&
         all_digits(time.substr(0, time.size() - 2));
}

}  // namespace

std::string S3Server::program() {
  if (const char* e = std::getenv("PGDR_S3RVER"); e && executable(e)) return e;
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    const passwd* pw = ::getpwuid(::getuid());
    home = pw != nullptr ? pw->pw_dir : nullptr;
  }
  if (home != nullptr) {
    std::string p = std::string(home) + "/.cache/pgdr-npm/node_modules/.bin/s3rver";
    if (executable(p)) return p;
  }
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (executable(dir + "/s3rver")) return dir + "/s3rver";
    }
  }
  return "";
}

namespace {
S3Server::Options with_bucket(std::string bucket) {
  S3Server::Options o;
  o.bucket = std::move(bucket);
  return o;
}
}  // namespace

S3Server::S3Server(std::string bucket) : S3Server(with_bucket(std::move(bucket))) {}

S3Server::S3Server(Options options) : bucket_(std::move(options.bucket)), tls_(!options.cert_file.empty()) {
  const std::string exe = program();
  if (exe.empty())
    throw Error(ErrorKind::io, "s3rver is not installed", "run .ci/deps.sh, or set PGDR_S3RVER to the s3rver program");
  dir_ = std::make_unique<TempDir>("pgdr-s3");
  const std::string data = dir_->make_dir("data");
  log_path_ = dir_->file("s3rver.log");

  // Port 0: s3rver binds a free port and prints it, so no other process can take it in between.
  pid_ = ::fork();
  if (pid_ < 0) throw_errno("unable to fork for", exe, errno);
  if (pid_ == 0) {
    ::setpgid(0, 0);
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    // s3rver cuts the first 16 characters off koa-logger's coloured request line; without colours
    // that cut eats the method and part of the URL, so the log is written in colour (stripped
    // when read).
    ::unsetenv("NO_COLOR");
    ::setenv("FORCE_COLOR", "1", 1);
    // s3rver makes its listing continuation tokens with DES, which OpenSSL 3 keeps in its legacy
    // provider: without it every listing longer than one page fails with 500 InternalError.
    ::setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
    std::vector<std::string> args = {exe, "-d", data, "-a", "127.0.0.1", "-p", "0", "--configure-bucket", bucket_};
    if (!options.service_endpoint.empty()) args.insert(args.end(), {"--service-endpoint", options.service_endpoint});
    if (tls_) args.insert(args.end(), {"--cert", options.cert_file, "--key", options.key_file});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string log = read_file(log_path_);
    const std::size_t at = log.find("listening on 127.0.0.1:");
    if (at != std::string::npos) {
      const std::size_t start = at + std::string("listening on 127.0.0.1:").size();
      std::size_t end = start;
      while (end < log.size() && log[end] >= '0' && log[end] <= '9') ++end;
      if (end > start && end < log.size()) {
        port_ = std::stoi(log.substr(start, end - start));
        return;
      }
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw Error(ErrorKind::io, "s3rver exited at start-up: " + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string log = read_file(log_path_);
  stop();
  throw Error(ErrorKind::io, "s3rver did not start within 30 s: " + log);
}

S3Server::~S3Server() { stop(); }

void S3Server::stop() noexcept {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string S3Server::endpoint() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::vector<std::string> S3Server::credential_env() const {
  return {std::string("AWS_ACCESS_KEY_ID=") + kAccessKey, std::string("AWS_SECRET_ACCESS_KEY=") + kSecretKey};
}

void S3Server::export_credentials() const {
  ::setenv("AWS_ACCESS_KEY_ID", kAccessKey, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", kSecretKey, 1);
  ::unsetenv("AWS_SESSION_TOKEN");
}

std::size_t S3Server::requests_logged() const {
  std::stringstream log(read_file(log_path_));
  std::string line;
  std::size_t n = 0;
  // One line per answer: "info: METHOD URL STATUS TIMEms SIZE", between colour codes.
  while (std::getline(log, line))
    if (is_answer_line(strip_colour(line))) ++n;
  return n;
}

std::size_t S3Server::requests_logged(const std::string& method, const std::string& url_part,
                                      const std::string& status) const {
  std::stringstream log(read_file(log_path_));
  std::string line, m, url, st;
  std::size_t n = 0;
  while (std::getline(log, line)) {
    if (!is_answer_line(strip_colour(line), &m, &url, &st)) continue;
    if (m == method && url.find(url_part) != std::string::npos && (status.empty() || st == status)) ++n;
  }
  return n;
}

void S3Server::wait_for_log() const {
  std::size_t n = requests_logged();
  int still = 0;
  for (int i = 0; i < 50 && still < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::size_t again = requests_logged();
    still = again == n ? still + 1 : 0;
    n = again;
  }
}

}  // namespace pgdr::test
