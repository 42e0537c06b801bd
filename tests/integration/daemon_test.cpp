// pgdr daemon against a real cluster: scheduled snapshots appear on time, a SIGTERM in the middle of
// a backup leaves no partial snapshot, /metrics parses as the Prometheus text format and carries the
// repository's real values, /health turns 503 with the reason, a missed job runs once after
// downtime, and the dashboard loaded by headless Chromium shows hours without a snapshot as missing.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/time_format.h"
#include "harness/background_process.h"
#include "pgdr_fixture.h"

namespace pgdr::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// One sample of the Prometheus text exposition format 0.0.4.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses text per the format: HELP and TYPE lines, samples with optional labels (escaped values)
// and an optional timestamp. Every line must parse; each family is TYPEd once, before its samples,
// and its samples are contiguous. Fails the test (and returns what it has) on the first violation.
std::vector<Sample> parse_exposition(const std::string& text) {
  std::vector<Sample> out;
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "the exposition must end with a newline";
  static const std::regex name_re(R"([a-zA-Z_:][a-zA-Z0-9_:]*)");
  static const std::regex comment_re(R"(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
  static const std::set<std::string> types = {"counter", "gauge", "histogram", "summary", "untyped"};
  std::map<std::string, std::string> typed;
  std::set<std::string> finished;
  std::string current;
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    const std::string where = "line " + std::to_string(n) + ": '" + line + "'";
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::smatch m;
      if (std::regex_match(line, m, comment_re)) {
        if (m[1] == "TYPE") {
          EXPECT_TRUE(types.count(m[3].str())) << where;
          EXPECT_FALSE(typed.count(m[2].str())) << "second TYPE, " << where;
          typed[m[2].str()] = m[3].str();
        } else {
          EXPECT_FALSE(m[3].str().empty()) << "empty HELP, " << where;
        }
      }
      continue;
    }
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    EXPECT_TRUE(std::regex_match(s.name, name_re)) << where;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) {
          ADD_FAILURE() << "label without '=', " << where;
          return out;
        }
        std::string label = line.substr(i, eq - i);
        EXPECT_TRUE(std::regex_match(label, std::regex("[a-zA-Z_][a-zA-Z0-9_]*"))) << where;
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') {
          ADD_FAILURE() << "label value not quoted, " << where;
          return out;
        }
        ++i;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            char e = line[++i];
            EXPECT_TRUE(e == '\\' || e == '"' || e == 'n') << "bad escape, " << where;
            value += e == 'n' ? '\n' : e;
          } else {
            value += line[i];
          }
          ++i;
        }
        if (i >= line.size()) {
          ADD_FAILURE() << "unterminated label value, " << where;
          return out;
        }
        ++i;
        EXPECT_FALSE(s.labels.count(label)) << "repeated label, " << where;
        s.labels[label] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) {
        ADD_FAILURE() << "unterminated label set, " << where;
        return out;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      ADD_FAILURE() << "no value, " << where;
      return out;
    }
    std::istringstream rest(line.substr(i + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    EXPECT_TRUE(extra.empty()) << where;
    if (!timestamp.empty()) {
      EXPECT_TRUE(std::regex_match(timestamp, std::regex("-?[0-9]+"))) << where;
    }
    if (value == "NaN")
      s.value = std::nan("");
    else if (value == "+Inf")
      s.value = INFINITY;
    else if (value == "-Inf")
      s.value = -INFINITY;
    else {
      std::size_t used = 0;
      try {
        s.value = std::stod(value, &used);
      } catch (const std::exception&) {
      }
      EXPECT_EQ(used, value.size()) << "value is not a number, " << where;
    }
    EXPECT_TRUE(typed.count(s.name)) << "sample before its TYPE, " << where;
    if (s.name != current) {
      EXPECT_FALSE(finished.count(s.name)) << "family samples not contiguous, " << where;
      if (!current.empty()) finished.insert(current);
      current = s.name;
    }
    out.push_back(s);
  }
  return out;
}

std::optional<double> value_of(const std::vector<Sample>& samples, const std::string& name,
                               const std::map<std::string, std::string>& labels = {}) {
  for (const auto& s : samples)
    if (s.name == name && s.labels == labels) return s.value;
  return std::nullopt;
}

struct Http {
  int status = 0;
  std::string body;
};

// curl, as a scraper would: the status code on the last line of output.
Http curl(const std::string& url) {
  ProcessResult r = run_process({"curl", "-sS", "--max-time", "30", "-w", "\n%{http_code}", url});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Http h;
  auto nl = r.out.rfind('\n');
  if (nl == std::string::npos) return h;
  h.status = std::atoi(r.out.c_str() + nl + 1);
  h.body = r.out.substr(0, nl);
  return h;
}

std::string hour_key(SystemTime t) {
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H", &tm);
  return b;
}

class DaemonTest : public PgdrTest {
 protected:
  void TearDown() override {
    daemon_.reset();  // before the cluster and the directory it writes to go
    PgdrTest::TearDown();
  }

  void write_daemon_config(const std::string& schedule, const std::string& more = "") {
    write_config("[catalog]\npath = \"" + work_->file("catalog.db") +
                 "\"\n[objectives]\nrto = \"2h\"\nrpo = \"10m\"\n" + "[schedule]\n" + schedule +
                 "\n[daemon]\nlisten = \"127.0.0.1:0\"\n" + more);
  }

  void start_daemon() {
    daemon_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{pgdr_path(), "--config", config_, "daemon"},
        std::vector<std::string>{std::string("PGDR_PASSPHRASE=") + kPassphrase}, work_->file("daemon.log"));
    static const std::regex listening(R"(listening on (http://127\.0\.0\.1:\d+)/)");
    for (int i = 0; i < 300; ++i) {
      std::smatch m;
      std::string log = daemon_->log();
      if (std::regex_search(log, m, listening)) {
        base_url_ = m[1].str();
        return;
      }
      ASSERT_TRUE(daemon_->running()) << "the daemon exited:\n" << log;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "the daemon did not start listening:\n" << daemon_->log();
  }

  json snapshots() {
    json info = json::parse(pgdr_ok({"info", "--json"}));
    return info["repositories"][0]["snapshots"];
  }

  // Waits until the repository lists at least n snapshots; returns them.
  json wait_snapshots(std::size_t n, int timeout_seconds) {
    json s;
    for (int i = 0; i < timeout_seconds * 4; ++i) {
      s = snapshots();
      if (s.size() >= n) return s;
      if (!daemon_->running()) break;
      std::this_thread::sleep_for(250ms);
    }
    ADD_FAILURE() << "expected " << n << " snapshots, have " << s.size() << "\n" << daemon_->log();
    return s;
  }

  // Headless Chromium as a phone (412 px wide) with its own profile, given extra (--dump-dom URL,
  // say).
  ProcessResult chromium(const std::vector<std::string>& extra) {
    const std::string home = work_->make_dir("chromium");
    std::vector<std::string> argv = {"timeout",       "60", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                     "--disable-dev-shm-usage", "--user-data-dir=" + home, "--window-size=412,915"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv, {}, {"HOME=" + home});
  }

  // Waits until the daemon's log holds needle at least n times.
  bool wait_log(const std::string& needle, int n, int timeout_seconds) {
    for (int i = 0; i < timeout_seconds * 10; ++i) {
      const std::string log = daemon_->log();
      int found = 0;
      for (std::size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++found;
      if (found >= n) return true;
      if (!daemon_->running()) return false;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  std::unique_ptr<BackgroundProcess> daemon_;
  std::string base_url_;
};

TEST_F(DaemonTest, ScheduledSnapshotsAppearOnTimeMetricsParseAndHealthTellsWhy) {
  pgdr_ok({"init"});
  write_daemon_config("backup = \"@every 3s\"\nmeasure = \"@every 4s\"");
  const auto started = std::chrono::system_clock::now();
  start_daemon();
  json snaps = wait_snapshots(4, 60);
  ASSERT_GE(snaps.size(), 4u);

  // On time: the first about 3 s after the start, then one every 3 s (a backup of this small
  // cluster takes well under a second, so no slot is skipped).
  std::vector<double> starts;
  for (const auto& s : snaps)
    starts.push_back(
        std::chrono::duration<double>(*parse_iso8601(s["start_time"].get<std::string>()) - started).count());
  EXPECT_GT(starts[0], 2.5) << daemon_->log();
  EXPECT_LT(starts[0], 7.0) << daemon_->log();
  for (std::size_t i = 1; i < starts.size(); ++i) {
    EXPECT_GT(starts[i] - starts[i - 1], 2.0) << "snapshots " << i - 1 << " and " << i << "\n" << daemon_->log();
    EXPECT_LT(starts[i] - starts[i - 1], 4.5) << "snapshots " << i - 1 << " and " << i << "\n" << daemon_->log();
  }
  EXPECT_NE(daemon_->log().find("job backup ended: ok (exit 0)"), std::string::npos) << daemon_->log();

  // measure is a check job: it records its own report in the catalog, where the metrics read it.
  for (int i = 0; i < 300 && daemon_->log().find("job measure ended") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
  ASSERT_NE(daemon_->log().find("job measure ended"), std::string::npos) << daemon_->log();

  // Metrics: every line parses, and the values are the repository's and the catalog's.
  Http m = curl(base_url_ + "/metrics");
  ASSERT_EQ(m.status, 200) << m.body;
  std::vector<Sample> samples = parse_exposition(m.body);
  json after = snapshots();
  const std::map<std::string, std::string> repo = {{"repo", "local"}};
  auto count = value_of(samples, "pgdr_snapshots", repo);
  ASSERT_TRUE(count) << m.body;
  // A backup may complete between the scrape and the listing.
  EXPECT_LE(*count, static_cast<double>(after.size())) << m.body;
  EXPECT_GE(*count + 1, static_cast<double>(after.size())) << m.body;
  EXPECT_GE(*count, 4.0);
  auto age = value_of(samples, "pgdr_last_snapshot_age_seconds", repo);
  ASSERT_TRUE(age) << m.body;
  EXPECT_GE(*age, 0.0);
  EXPECT_LT(*age, 10.0) << m.body;
  // The newest snapshot the scrape saw is one of the listed ones: its size must match one of them.
  auto size = value_of(samples, "pgdr_last_snapshot_size_bytes", repo);
  ASSERT_TRUE(size);
  bool size_matches = false;
  for (const auto& s : after) size_matches |= s["size_bytes"].get<double>() == *size;
  EXPECT_TRUE(size_matches) << *size;
  EXPECT_EQ(value_of(samples, "pgdr_rto_objective_seconds"), 7200.0);
  EXPECT_EQ(value_of(samples, "pgdr_rpo_objective_seconds"), 600.0);
  auto ok_runs = value_of(samples, "pgdr_job_runs_total", {{"job", "backup"}, {"result", "ok"}});
  ASSERT_TRUE(ok_runs) << m.body;
  // A backup's snapshot is visible before its process has exited and the daemon has counted the
  // run: every snapshot of the scrape but the newest was counted.
  EXPECT_GE(*ok_runs, *count - 1) << m.body;
  EXPECT_LE(*ok_runs, *count + 1) << m.body;  // or one finished between the listing and the count
  auto coverage = value_of(samples, "pgdr_snapshot_coverage_ratio", repo);
  ASSERT_TRUE(coverage);
  // Every snapshot is in the current hour slot, the only one since the repository was created (it
  // was 1/24 when the 23 hours before the repository counted as missing).
  EXPECT_NEAR(*coverage, 1.0, 1e-9);
  auto repo_bytes = value_of(samples, "pgdr_repository_size_bytes", repo);
  ASSERT_TRUE(repo_bytes);
  std::uintmax_t on_disk = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(repo_dir_))
    if (e.is_regular_file()) on_disk += e.file_size();
  EXPECT_GT(*repo_bytes, 0.0);
  EXPECT_LE(std::abs(*repo_bytes - static_cast<double>(on_disk)), 0.5 * static_cast<double>(on_disk))
      << "the repository grows between the scrape and this walk, but not by half";
  EXPECT_EQ(value_of(samples, "pgdr_healthy"), 1.0);
  auto measure_result = value_of(samples, "pgdr_last_measure_result");
  ASSERT_TRUE(measure_result) << m.body;
  json history = json::parse(pgdr_ok({"history", "--kind", "measure", "--limit", "2", "--json"}))["runs"];
  ASSERT_GE(history.size(), 1u);
  const std::map<std::string, double> codes = {{"PASS", 0}, {"WARN", 1}, {"FAIL", 2}};
  bool one_of_newest = false;  // a measure may complete between the scrape and the history
  for (const auto& r : history) one_of_newest |= codes.at(r["result"].get<std::string>()) == *measure_result;
  EXPECT_TRUE(one_of_newest) << history.dump() << "\n" << m.body;
  double measure_runs = 0;
  for (const auto& sample : samples)
    if (sample.name == "pgdr_job_runs_total" && sample.labels.at("job") == "measure") measure_runs += sample.value;
  EXPECT_GE(measure_runs, 1.0);

  // Healthy, and saying what warned: this cluster archives no WAL, so measure's rpo check warns.
  Http h = curl(base_url_ + "/health");
  EXPECT_EQ(h.status, 200) << h.body;
  EXPECT_TRUE(h.body.starts_with("ok\nwarning: last measure warned (started ")) << h.body;
  EXPECT_TRUE(h.body.ends_with("): rpo\n")) << h.body;

  // The source goes down: the next backup fails, and /health says so.
  cluster_->stop();
  Http down;
  for (int i = 0; i < 60; ++i) {
    down = curl(base_url_ + "/health");
    if (down.status == 503) break;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_NE(down.body.find("last backup job failed with exit code 1: pgdr: "), std::string::npos) << down.body;
  samples = parse_exposition(curl(base_url_ + "/metrics").body);
  EXPECT_EQ(value_of(samples, "pgdr_healthy"), 0.0);
  EXPECT_GE(value_of(samples, "pgdr_job_runs_total", {{"job", "backup"}, {"result", "error"}}).value_or(0), 1.0);

  EXPECT_EQ(daemon_->stop(30), 0) << daemon_->log();
  EXPECT_NE(daemon_->log().find("stopped"), std::string::npos);
}

// systemd's side of Type=notify: a datagram socket named in NOTIFY_SOCKET. Open to every user, as
// systemd's is, since the daemon runs as the server user.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << path;
    ::chmod(path.c_str(), 0666);
  }
  ~NotifySocket() { ::close(fd_); }
  // The next datagram, or "" after timeout.
  std::string receive(std::chrono::seconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// The packaged unit is Type=notify: READY=1 must come once the port answers, and STOPPING=1 at
// SIGTERM, from the daemon itself.
TEST_F(DaemonTest, TellsTheServiceManagerItIsReadyOnceListeningAndWhenItStops) {
  pgdr_ok({"init"});
  write_daemon_config("backup = \"0 0 1 1 *\"");
  NotifySocket manager(work_->file("notify.sock"));
  daemon_ = std::make_unique<BackgroundProcess>(
      std::vector<std::string>{pgdr_path(), "--config", config_, "daemon"},
      std::vector<std::string>{std::string("PGDR_PASSPHRASE=") + kPassphrase, "NOTIFY_SOCKET=" + work_->file("notify.sock")},
      work_->file("daemon.log"));
  const std::string ready = manager.receive(60s);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(ready, m, std::regex(R"(READY=1\nSTATUS=running the schedule, serving (http://127\.0\.0\.1:\d+)/)")))
      << "'" << ready << "'\n" << daemon_->log();
  // Ready means listening: the first request after READY=1 is answered.
  EXPECT_NE(curl(m[1].str() + "/health").status, 0);
  EXPECT_EQ(daemon_->stop(60), 0) << daemon_->log();
  EXPECT_EQ(manager.receive(10s), "STOPPING=1\nSTATUS=stopping: waiting for the running jobs to roll back and end");
  EXPECT_EQ(daemon_->log().find("unable to notify"), std::string::npos) << daemon_->log();
}

TEST_F(DaemonTest, SigtermMidBackupLeavesNoPartialSnapshotAndTheNextBackupWorks) {
  // About 200 MB that compresses little, read by one process: a backup of a second or more.
  cluster_->psql(
      "CREATE TABLE filler AS SELECT g, md5(g::text) || md5((g * 7)::text) || repeat(md5(random()::text), 12) AS t "
      "FROM generate_series(1, 450000) g");
  pgdr_ok({"init"});
  write_daemon_config("backup = \"@every 2s\"");
  std::string text;
  {
    std::ifstream in(config_);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  ASSERT_NE(text.find("process_max = 2"), std::string::npos);
  text = std::regex_replace(text, std::regex("process_max = 2"), "process_max = 1");
  std::ofstream(config_, std::ios::trunc) << text;

  cluster_->psql("CHECKPOINT");
  start_daemon();
  // Mid-backup for certain: the first 16 MiB pack of the snapshot has been written.
  auto pack_written = [&] {
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(repo_dir_ + "/packs", ec), end;
    for (; !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec) && it->path().filename().string().find(".tmp-") == std::string::npos) return true;
    return false;
  };
  for (int i = 0; i < 1500 && !pack_written() && daemon_->running(); ++i) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(pack_written()) << daemon_->log();
  EXPECT_EQ(daemon_->stop(60), 0) << daemon_->log();
  const std::string log = daemon_->log();
  EXPECT_NE(log.find(") told to stop"), std::string::npos) << log;
  EXPECT_NE(log.find("job backup ended: interrupted"), std::string::npos)
      << "the backup was not in hand at SIGTERM; the test needs a bigger database\n"
      << log;
  EXPECT_NE(log.find("interrupted by SIGTERM"), std::string::npos) << log;

  // No snapshot, and no snapshot info or manifest left in the repository.
  EXPECT_EQ(snapshots().size(), 0u);
  if (std::filesystem::exists(repo_dir_ + "/snapshots"))
    for (auto& e : std::filesystem::directory_iterator(repo_dir_ + "/snapshots"))
      ADD_FAILURE() << "left in snapshots/: " << e.path();

  std::string id = backup();
  json after = snapshots();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["id"], id);
}

TEST_F(DaemonTest, MissedJobRunsOnceAndTheDashboardShowsMissingHoursInChromium) {
  pgdr_ok({"init"});
  // A repository three hours old: the hour before its snapshot is after its creation, so it is
  // missing. (The heat map starts at the creation: in a repository made a moment ago that hour
  // would not be drawn at all.) pgdr.repo is plaintext JSON; only its creation time changes.
  {
    json settings = json::parse(read_whole(repo_dir_ + "/pgdr.repo"));
    settings["created"] = iso8601(std::chrono::system_clock::now() - 3h);
    std::ofstream(repo_dir_ + "/pgdr.repo", std::ios::trunc) << settings.dump();
  }
  // The daemon was last running in 2020: a daily backup missed thousands of slots; it runs once.
  work_->write_file("daemon-state.json", R"({"last_started": {"backup": "2020-01-01T00:00:00.000Z"}})");
  write_daemon_config("backup = \"0 0 * * *\"", "state_file = \"" + work_->file("daemon-state.json") + "\"\n");
  start_daemon();
  json snaps = wait_snapshots(1, 60);
  ASSERT_EQ(snaps.size(), 1u);
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(snapshots().size(), 1u) << daemon_->log();
  EXPECT_NE(daemon_->log().find("job backup missed its slot at 2020-01-02T00:00:00Z"), std::string::npos)
      << daemon_->log();
  for (int i = 0; i < 100 && daemon_->log().find("job backup ended") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);

  const SystemTime stop = *parse_iso8601(snaps[0]["stop_time"].get<std::string>());
  const std::string have_hour = hour_key(stop), missing_hour = hour_key(stop - 1h);

  // The page as the daemon serves it, loaded by a real browser.
  ProcessResult dom = chromium({"--dump-dom", base_url_ + "/"});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  auto cell = [&](const std::string& hour) {
    std::smatch m;
    std::regex re("<rect class=\"([a-z]+)\" data-hour=\"" + hour + "\" data-snapshots=\"(\\d+)\"");
    return std::regex_search(dom.out, m, re) ? m[1].str() + "/" + m[2].str() : std::string("absent");
  };
  EXPECT_EQ(cell(have_hour), "have/1") << dom.out;
  EXPECT_EQ(cell(missing_hour), "missing/0") << dom.out;
  EXPECT_NE(dom.out.find("<title>" + std::string(missing_hour.substr(0, 10)) + " " + missing_hour.substr(11) +
                         ":00 UTC: no snapshot (missing)</title>"),
            std::string::npos);
  EXPECT_NE(dom.out.find("name=\"viewport\""), std::string::npos);
  // Self-contained: nothing fetched from anywhere.
  EXPECT_EQ(dom.out.find("src=\"http"), std::string::npos);
  EXPECT_EQ(dom.out.find("<script"), std::string::npos);
  EXPECT_EQ(dom.out.find("<link"), std::string::npos);
  // The daemon's backup is in the results, linked to its stored report.
  std::smatch link;
  ASSERT_TRUE(std::regex_search(dom.out, link, std::regex("<a href=\"(/reports/\\d+)\">"))) << dom.out;
  Http report = curl(base_url_ + link[1].str());
  ASSERT_EQ(report.status, 200);
  json r = json::parse(report.body);
  EXPECT_EQ(r["kind"], "backup");
  EXPECT_EQ(r["snapshot"], snaps[0]["id"]);

  const auto artifacts = std::filesystem::path(PGDR_BINARY).parent_path().parent_path() / "test-artifacts";
  std::filesystem::create_directories(artifacts);
  const std::string png = (artifacts / "dashboard.png").string();
  std::filesystem::remove(png);
  ProcessResult shot = chromium({"--screenshot=" + png, base_url_ + "/"});
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  std::ifstream in(png, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 2000u) << png;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  // The same page written statically by pgdr report.
  const std::string page = work_->file("static/dashboard.html");
  work_->make_dir("static", 0777);
  std::string out = pgdr_ok({"report", "--html", page});
  EXPECT_EQ(out, "healthy\n");
  std::ifstream sp(page);
  std::string html((std::istreambuf_iterator<char>(sp)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("class=\"missing\" data-hour=\"" + missing_hour + "\""), std::string::npos);
  EXPECT_NE(html.find("<a href=\"reports/"), std::string::npos);

  EXPECT_EQ(daemon_->stop(30), 0) << daemon_->log();
}

// Two local repositories, "damaged" listed first and "good" after it, both fed by archive_command
// (archive-push stores each segment in both).
class DaemonReposTest : public DaemonTest {
 protected:
  PgClusterOptions cluster_options() override { return archiving({}); }
  std::string repo_toml() override {
    std::string toml;
    for (const std::string name : {"damaged", "good"})
      toml += "[[repo]]\nname = \"" + name + "\"\npath = \"" + repo_path(name) + "\"\n";
    return toml;
  }
  std::string repo_path(const std::string& name) const { return work_->file("repo-" + name); }

  // The newest verify run of each repository, from pgdr history.
  std::map<std::string, json> newest_verifies() {
    json runs = json::parse(pgdr_ok({"history", "--kind", "verify", "--json"}))["runs"];
    std::map<std::string, json> out;
    for (const auto& r : runs) out.emplace(r["repository"].get<std::string>(), r);  // newest first: the first stays
    return out;
  }
};

// The scheduled verify checks every repository, one after another: the damaged one FAILs on its
// own and the good one after it still PASSes, each recorded in the catalog under its name, each
// with its own samples in /metrics, and both shown by the dashboard. Then the damaged repository
// becomes unreachable: its verify cannot run (exit 3), which the daemon records as a FAIL of that
// repository, and the good one is verified all the same.
TEST_F(DaemonReposTest, EveryRepositoryIsVerifiedAndADamagedOneFailsOnItsOwn) {
  pgdr_ok({"init"});
  cluster_->psql("CREATE TABLE t AS SELECT g, md5(g::text) m FROM generate_series(1, 50000) g");
  pgdr_ok({"backup"});
  archive_now(*cluster_);
  std::string pack;
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo_path("damaged") + "/packs"))
    if (e.is_regular_file() && (pack.empty() || e.file_size() > std::filesystem::file_size(pack)))
      pack = e.path().string();
  ASSERT_FALSE(pack.empty());
  {
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(std::filesystem::file_size(pack) / 3));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x20);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(pack) / 3));
    f.write(&c, 1);
  }

  write_daemon_config("verify = \"@every 3s\"");
  start_daemon();
  ASSERT_TRUE(wait_log("job verify ended: ", 1, 120)) << daemon_->log();
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("job verify for repository 'damaged' started (pid "), std::string::npos) << log;
  EXPECT_NE(log.find("job verify for repository 'damaged' ended: fail (exit 2)"), std::string::npos) << log;
  EXPECT_NE(log.find("job verify for repository 'good' ended: pass (exit 0)"), std::string::npos) << log;
  EXPECT_NE(log.find("job verify ended: fail (exit 2) after "), std::string::npos) << log;
  EXPECT_LT(log.find("repository 'damaged' started"), log.find("repository 'good' started")) << log;

  // The catalog: each repository's run under its name, each report valid against the schema.
  auto verifies = newest_verifies();
  ASSERT_TRUE(verifies.count("damaged") && verifies.count("good")) << daemon_->log();
  EXPECT_EQ(verifies["damaged"]["result"], "FAIL");
  EXPECT_EQ(verifies["damaged"]["report"]["repository"], "damaged");
  EXPECT_EQ(verifies["good"]["result"], "PASS") << verifies["good"].dump(2);
  for (const auto& [name, run] : verifies) EXPECT_EQ(report_text_schema_errors("verify", run["report"].dump()), "");

  // /metrics: one sample per repository, labelled like the snapshot gauges.
  Http m = curl(base_url_ + "/metrics");
  ASSERT_EQ(m.status, 200) << daemon_->log();
  std::vector<Sample> samples = parse_exposition(m.body);
  EXPECT_EQ(value_of(samples, "pgdr_last_verify_result", {{"repo", "damaged"}}), 2.0) << m.body;
  EXPECT_EQ(value_of(samples, "pgdr_last_verify_result", {{"repo", "good"}}), 0.0) << m.body;
  auto good_verified = value_of(samples, "pgdr_last_verify_timestamp_seconds", {{"repo", "good"}});
  ASSERT_TRUE(good_verified) << m.body;
  EXPECT_TRUE(value_of(samples, "pgdr_last_verify_duration_seconds", {{"repo", "damaged"}})) << m.body;
  EXPECT_FALSE(value_of(samples, "pgdr_last_verify_result")) << "every verify sample names its repository";
  EXPECT_EQ(value_of(samples, "pgdr_healthy"), 0.0);

  // /health names the repository that failed, and only that one.
  Http h = curl(base_url_ + "/health");
  EXPECT_EQ(h.status, 503) << h.body;
  EXPECT_NE(h.body.find("last verify of repository 'damaged' failed (started "), std::string::npos) << h.body;
  EXPECT_NE(h.body.find("): checksums"), std::string::npos) << h.body;
  EXPECT_EQ(h.body.find("repository 'good'"), std::string::npos) << h.body;

  // The dashboard in a real browser: one row per repository, with its result and report.
  ProcessResult dom = chromium({"--dump-dom", base_url_ + "/"});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  auto row = [&](const std::string& name) {
    auto at = dom.out.find("<tr data-repo=\"" + name + "\">");
    return at == std::string::npos ? std::string("absent") : dom.out.substr(at, dom.out.find("</tr>", at) - at);
  };
  EXPECT_NE(row("damaged").find(">FAIL</td>"), std::string::npos) << row("damaged");
  EXPECT_NE(row("damaged").find("checksums FAIL"), std::string::npos) << row("damaged");
  EXPECT_NE(row("good").find(">PASS</td>"), std::string::npos) << row("good");
  std::smatch link;
  const std::string good_row = row("good");
  ASSERT_TRUE(std::regex_search(good_row, link, std::regex("<a href=\"(/reports/\\d+)\">"))) << good_row;
  json good_report = json::parse(curl(base_url_ + link[1].str()).body);
  EXPECT_EQ(good_report["repository"], "good");
  EXPECT_EQ(good_report["result"], "PASS");

  // The damaged repository becomes unreachable: its verify cannot run, the daemon records that as
  // its FAIL, and the good one is verified again after it.
  std::filesystem::rename(repo_path("damaged"), repo_path("damaged") + ".away");
  ASSERT_TRUE(wait_log("job verify ended: error (exit 3)", 1, 120)) << daemon_->log();
  EXPECT_NE(daemon_->log().find("job verify for repository 'damaged' ended: error (exit 3)"), std::string::npos)
      << daemon_->log();
  verifies = newest_verifies();
  json lost = verifies["damaged"];
  EXPECT_EQ(lost["result"], "FAIL") << lost.dump(2);
  ASSERT_EQ(lost["report"]["checks"].size(), 1u) << lost.dump(2);
  EXPECT_EQ(lost["report"]["checks"][0]["name"], "repository");
  EXPECT_EQ(lost["report"]["checks"][0]["details"]["exit_code"], 3);
  EXPECT_TRUE(lost["report"]["checks"][0]["summary"].get<std::string>().starts_with("verify could not run: "))
      << lost.dump(2);
  EXPECT_NE(lost["report"]["checks"][0]["summary"].get<std::string>().find("damaged"), std::string::npos)
      << lost.dump(2);
  EXPECT_EQ(report_text_schema_errors("verify", lost["report"].dump()), "");
  EXPECT_EQ(verifies["good"]["result"], "PASS");

  ASSERT_TRUE(wait_log("job verify for repository 'good' ended: pass", 2, 60)) << daemon_->log();
  samples = parse_exposition(curl(base_url_ + "/metrics").body);
  EXPECT_EQ(value_of(samples, "pgdr_last_verify_result", {{"repo", "damaged"}}), 2.0);
  EXPECT_EQ(value_of(samples, "pgdr_last_verify_result", {{"repo", "good"}}), 0.0);
  EXPECT_GT(value_of(samples, "pgdr_last_verify_timestamp_seconds", {{"repo", "good"}}).value_or(0), *good_verified)
      << "the good repository was verified again after the unreachable one";
  h = curl(base_url_ + "/health");
  EXPECT_NE(h.body.find("last verify of repository 'damaged' failed (started "), std::string::npos) << h.body;
  EXPECT_NE(h.body.find("): repository\n"), std::string::npos) << h.body;

  EXPECT_EQ(daemon_->stop(60), 0) << daemon_->log();
}

}  // namespace
}  // namespace pgdr::test
