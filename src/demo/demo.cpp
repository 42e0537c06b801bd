#include "demo/demo.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/duration.h"
#include "core/bytes.h"
#include "core/error.h"
#include "core/file.h"
#include "core/interrupt.h"
#include "core/process.h"
#include "core/shell.h"
#include "core/subprocess.h"
#include "core/time_format.h"
#include "demo/retail_dataset.h"
#include "drill/drill.h"
#include "drill/source_capture.h"
#include "io/kdf.h"
#include "pg/binaries.h"
#include "pg/connection.h"
#include "pg/server_user.h"
#include "pg/setting_literal.h"
#include "repo/passphrase.h"
#include "repo/repository.h"
#include "storage/open_storage.h"

namespace pgdr::demo {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr int kPgMajor = 15;
constexpr const char* kPassphraseVar = "PGDR_DEMO_PASSPHRASE";

std::string first_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (auto nl = s.rfind('\n'); nl != std::string::npos) s = s.substr(nl + 1);
  return s;
}

pid_t read_pid(const std::string& data_dir) {
  std::ifstream in(data_dir + "/postmaster.pid");
  long pid = 0;
  return (in >> pid && pid > 0) ? static_cast<pid_t>(pid) : 0;
}

// A power cut for one server: SIGKILL to the postmaster and every child it has, then the System V
// segment it leaves behind (its next start would have removed it; there is none).
void kill9(const std::string& data_dir) {
  pid_t pm = read_pid(data_dir);
  if (pm <= 0) return;
  std::vector<pid_t> victims = {pm};
  for (const auto& name : list_directory("/proc").value_or(std::vector<std::string>{})) {
    std::ifstream st("/proc/" + name + "/stat");
    std::string line;
    if (!std::getline(st, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == pm) victims.push_back(static_cast<pid_t>(std::atol(name.c_str())));
  }
  ::kill(pm, SIGKILL);
  for (pid_t v : victims) ::kill(v, SIGKILL);
  for (int i = 0; i < 200; ++i) {
    bool any = false;
    for (pid_t v : victims) any |= process_alive(v);
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  std::ifstream pidfile(data_dir + "/postmaster.pid");
  std::string line;
  for (int n = 1; n <= 7 && std::getline(pidfile, line); ++n) {
    if (n != 7) continue;
    std::istringstream fields(line);
    long key = 0, id = -1;
    shmid_ds ds{};
    if (fields >> key >> id && id >= 0 && ::shmctl(static_cast<int>(id), IPC_STAT, &ds) == 0 && ds.shm_nattch == 0)
      ::shmctl(static_cast<int>(id), IPC_RMID, nullptr);
  }
}

// Owns the work directory and the primary: stops and removes them on every path.
class Workspace {
 public:
  Workspace(const std::string& dir, bool keep, const pg::ServerUser& user) : keep_(keep), user_(user) {
    if (dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      std::string pattern = std::string(tmp && *tmp == '/' ? tmp : "/tmp") + "/pgdr-demo-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr) throw_errno("unable to create the demo directory", pattern, errno);
      root_ = pattern;
    } else {
      if (dir.front() != '/') throw Error(ErrorKind::usage, "--dir must be an absolute path: " + dir);
      if (std::filesystem::exists(dir) && !std::filesystem::is_empty(dir))
        throw Error(ErrorKind::usage, "the demo directory " + dir + " is not empty", "name a new or empty directory");
      make_directories(dir, 0755);
      root_ = dir;
    }
    // The server user runs PostgreSQL, archive_command and restore_command from here.
    ::chmod(root_.c_str(), 0755);
  }
  ~Workspace() {
    if (!primary_.empty() && process_alive(read_pid(primary_))) {
      try {
        run_process(pg::as_user(user_, {pg::find_server_programs(kPgMajor, "").program("pg_ctl"), "-D", primary_, "-m", "immediate", "-w",
                                        "stop"}));
      } catch (...) {
      }
      kill9(primary_);
    }
    if (keep_) return;
    try {
      remove_tree(root_);
    } catch (...) {
    }
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const std::string& root() const { return root_; }
  std::string path(const std::string& name) const { return root_ + "/" + name; }
  void set_primary(const std::string& data_dir) { primary_ = data_dir; }

 private:
  std::string root_;
  std::string primary_;
  bool keep_;
  pg::ServerUser user_;
};

}  // namespace

DemoResult run_demo(const DemoOptions& opt) {
  if (!(opt.scale > 0) || opt.scale > 1000) throw Error(ErrorKind::usage, "--scale must be above 0 and at most 1000");
  if (opt.sales_duration.count() < 2) throw Error(ErrorKind::usage, "--duration must be at least 2s");
  const auto t_start = Clock::now();
  int step = 0;
  const int steps = 7;
  auto say = [&](const std::string& what) {
    char head[64];
    std::snprintf(head, sizeof head, "[%d/%d %5.1fs] ", ++step, steps,
                  std::chrono::duration<double>(Clock::now() - t_start).count());
    if (opt.progress) opt.progress(head + what);
  };
  auto note = [&](const std::string& what) {
    if (opt.progress) opt.progress("             " + what);
  };

  const pg::ServerUser user = pg::server_user();
  Workspace ws(opt.work_dir, opt.keep, user);
  // The demo also runs psql and pgbench, which Debian keeps beside its servers.
  const std::string bindir = pg::find_server_programs(kPgMajor, "").bindir;
  const std::string primary = ws.path("primary"), socket_dir = ws.path("socket"), repo_dir = ws.path("repo");
  const std::string pgdr = ws.path("pgdr"), config = ws.path("pgdr.toml");
  DemoResult result;
  result.work_dir = ws.root();
  result.config_path = config;
  json& facts = result.facts;
  facts["scale"] = opt.scale;
  facts["work_dir"] = ws.root();

  // The server user runs this pgdr from archive_command and restore_command: a copy it can reach,
  // wherever the original lives (under /root, say).
  {
    auto bytes = read_file(self_executable());
    if (!bytes) throw Error(ErrorKind::io, "unable to read the pgdr binary");
    write_file_durably(pgdr, *bytes, 0755);
    ::chmod(pgdr.c_str(), 0755);
  }
  // A passphrase for this run only, handed down through the environment (never written).
  const std::string passphrase = "demo-" + to_hex(io::random_bytes(16));
  ::setenv(kPassphraseVar, passphrase.c_str(), 1);

  const int port = free_loopback_port();
  const std::string conninfo = "host=" + socket_dir + " port=" + std::to_string(port) + " user=postgres dbname=shop";
  make_directories(socket_dir, 0755);
  make_directories(ws.path("dr"), 0755);
  std::string toml = "# written by pgdr demo\n[cluster]\nname = \"shop\"\npgdata = \"" + primary + "\"\nconninfo = \"" +
                     conninfo + "\"\n[[repo]]\nname = \"local\"\npath = \"" + repo_dir + "\"\n[key]\npassphrase_env = \"" +
                     kPassphraseVar + "\"\n[drill]\ndr_path = \"" + ws.path("dr") +
                     "\"\ndatabase = \"shop\"\nheartbeat = true\n"
                     "# the shop's own health probe: the tills need stock levels and today's prices\n"
                     "app_check = \"" + bindir + "/psql -XAtq -c 'SELECT count(*) FROM retail.stock_levels' >/dev/null\"\n"
                     "[catalog]\npath = \"" + ws.path("catalog.db") + "\"\n";
  write_file_durably(config, as_bytes(toml), 0644);
  pg::give_to(user, ws.root());

  // ---- a primary with the retail shop, archiving to pgdr ---------------------------------------
  say("starting PostgreSQL " + std::to_string(kPgMajor) + " (port " + std::to_string(port) + ") in " + primary);
  auto run_as = [&](const std::vector<std::string>& argv, const std::string& what) {
    ProcessResult r = run_process(pg::as_user(user, argv), {}, {"LC_ALL=C"});
    if (r.exit_code != 0)
      throw Error(ErrorKind::postgres, what + " failed (exit " + std::to_string(r.exit_code) + "): " +
                                           first_line(r.err.empty() ? r.out : r.err));
    return r;
  };
  run_as({bindir + "/initdb", "-k", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "-D", primary},
         "initdb");
  ws.set_primary(primary);
  {
    std::ofstream conf(primary + "/postgresql.conf", std::ios::app);
    conf << "\n# pgdr demo\nport = " << port << "\nlisten_addresses = ''\nunix_socket_directories = "
         << pg::setting_literal(socket_dir) << "\narchive_mode = on\narchive_command = "
         << pg::setting_literal(pgdr_invocation(pgdr, config) + " archive-push %p")
         << "\n# an RPO of seconds: a partly filled segment is archived after 5 s\narchive_timeout = 5\n"
         << "max_wal_size = 1GB\nlogging_collector = off\n";
  }
  run_as({bindir + "/pg_ctl", "-D", primary, "-l", ws.path("primary.log"), "-w", "-t", "120", "start"}, "starting the primary");
  {
    pg::Connection c("host=" + socket_dir + " port=" + std::to_string(port) + " user=postgres dbname=postgres");
    c.exec("CREATE DATABASE shop");
  }
  say("loading the retail database at scale " + [&] {
    char b[32];
    std::snprintf(b, sizeof b, "%g", opt.scale);
    return std::string(b);
  }() + " (stores, products, stock, a year of sales)");
  load_retail(conninfo, opt.scale, [&](const std::string& s, int done, int total, double secs) {
    char b[128];
    std::snprintf(b, sizeof b, "%s (%d/%d, %.1f s)", s.c_str(), done, total, secs);
    note(b);
  });
  {
    pg::Connection c(conninfo);
    facts["database_bytes"] = std::stod(c.query("SELECT pg_database_size('shop')::text").scalar());
  }
  throw_if_interrupted();

  // ---- the repository and the first snapshot ----------------------------------------------------
  auto run_pgdr = [&](const std::vector<std::string>& args, const std::string& what) {
    std::vector<std::string> argv = {pgdr, "--config", config};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_as(argv, what);
  };
  say("pgdr init (an encrypted repository in " + repo_dir + "), pgdr backup");
  run_pgdr({"init"}, "pgdr init");
  std::vector<std::string> snapshots;
  snapshots.push_back(first_line(run_pgdr({"-q", "backup"}, "pgdr backup").out));
  note("snapshot " + snapshots.back());
  throw_if_interrupted();

  // ---- sales, with a snapshot in the middle -----------------------------------------------------
  say("selling for " + std::to_string(opt.sales_duration.count()) + " s (pgbench: sales, restocks, price changes), " +
      "with a snapshot halfway");
  std::vector<std::string> bench = {bindir + "/pgbench", "-n", "-c", std::to_string(opt.clients), "-j", "2", "-T",
                                    std::to_string(opt.sales_duration.count()), "-h", socket_dir, "-p",
                                    std::to_string(port), "-U", "postgres"};
  {
    auto scripts = write_workload_scripts(ws.path("workload"));
    pg::give_to(user, ws.path("workload"));
    bench.insert(bench.end(), scripts.begin(), scripts.end());
    bench.push_back("shop");
  }
  ProcessResult sales;
  std::exception_ptr sales_error;
  std::thread load([&] {
    try {
      sales = run_process(pg::as_user(user, bench), {}, {"LC_ALL=C"});
    } catch (...) {
      sales_error = std::current_exception();
    }
  });
  std::this_thread::sleep_for(opt.sales_duration / 2);
  try {
    snapshots.push_back(first_line(run_pgdr({"-q", "backup"}, "pgdr backup under load").out));
    note("snapshot " + snapshots.back() + " (under load: only changed blocks stored)");
  } catch (...) {
    load.join();
    throw;
  }
  load.join();
  if (sales_error) std::rethrow_exception(sales_error);
  if (sales.exit_code != 0) throw Error(ErrorKind::postgres, "the sales load failed: " + first_line(sales.err));
  {
    // pgbench: "number of transactions actually processed: 12345"
    auto at = sales.out.find("actually processed: ");
    if (at != std::string::npos) facts["sales_transactions"] = std::atol(sales.out.c_str() + at + 20);
    auto tps = sales.out.find("tps = ");
    if (tps != std::string::npos) facts["sales_tps"] = std::atof(sales.out.c_str() + tps + 6);
  }
  facts["snapshots"] = snapshots;
  throw_if_interrupted();

  // ---- the disaster -----------------------------------------------------------------------------
  say("disaster: the primary is killed (kill -9) and its data directory deleted");
  // What the business knows of the primary at the last moment: a fingerprint of every table once
  // the tills have stopped, then its newest commit (a heartbeat row), then at once the end.
  drill::SourceCapture capture;
  capture.superuser = "postgres";
  capture.databases = drill::capture_fingerprints(conninfo, {"shop"}, 200'000);
  {
    pg::Connection c(conninfo);
    capture.commit = drill::capture_commit(c, true, std::chrono::system_clock::now());
  }
  kill9(primary);
  const SystemTime disaster_at = std::chrono::system_clock::now();
  remove_tree(primary);
  facts["disaster_at"] = iso8601_ms(disaster_at);
  facts["last_commit_on_primary"] = iso8601_ms(capture.commit.newest_commit);
  note("last commit on the primary: " + iso8601_ms(capture.commit.newest_commit) + "; the primary is gone");

  // ---- the drill --------------------------------------------------------------------------------
  say("pgdr drill: recovering the shop from the repository on a fresh server");
  Config cfg = load_config(config);
  auto store = storage::open_storage(cfg.repos.front());
  repo::Repository::read_settings(*store, cfg.repos.front().name);
  repo::Passphrase pass = repo::read_passphrase(cfg.key);
  repo::Repository repo = repo::Repository::open(std::move(store), cfg.repos.front().name, pass.view(), pass.source);
  drill::DrillOptions dopt;
  dopt.keep = opt.keep;
  dopt.captured_source = capture;
  dopt.declared_at = disaster_at;
  dopt.archive_get.binary = pgdr;
  dopt.archive_get.config_path = config;
  dopt.on_phase = [&](const std::string& phase) { note("drill phase: " + phase); };
  result.drill_report = drill::run_drill(cfg, repo, dopt);
  result.drill_report["demo"] = facts;
  say("done");
  return result;
}

std::string demo_summary(const DemoResult& r, const std::string& json_path, const std::string& html_path) {
  const json& d = r.drill_report;
  const json& f = r.facts;
  auto secs = [](const json& v) { return v.is_number() ? format_seconds(v.get<double>()) : std::string("unknown"); };
  std::string out;
  out += "\npgdr demo: a retail shop (" + std::to_string(static_cast<long>(f.value("database_bytes", 0.0) / 1e6)) +
         " MB) sold for a while (" + std::to_string(f.value("sales_transactions", 0L)) + " transactions, " +
         std::to_string(f["snapshots"].size()) + " snapshots, WAL archived by pgdr archive-push);\n"
         "then its primary was destroyed at " + f.value("disaster_at", std::string("?")) +
         " and pgdr recovered it on a fresh server from the repository alone.\n\n";
  out += "  result     " + d.value("result", std::string("?")) + "\n";
  out += "  RTO        " + secs(d["rto_seconds"]) + " against an objective of " + secs(d["objectives"]["rto_seconds"]) +
         "  " + d["rto"].value("status", std::string("-")) + "\n             ";
  bool first = true;
  for (const char* k : {"prepare", "restore", "startup", "wal_replay", "checks", "application"}) {
    if (!d["rto"]["components"].contains(k)) continue;
    out += (first ? "" : ", ") + std::string(k) + " " + secs(d["rto"]["components"][k]);
    first = false;
  }
  out += "\n  RPO        " + secs(d["rpo_seconds"]) + " of commits lost, against an objective of " +
         secs(d["objectives"]["rpo_seconds"]) + "  " + d["rpo"].value("status", std::string("-")) + "\n";
  out += "             last commit on the primary " + d["rpo"].value("source_newest_commit", std::string("?")) +
         ", newest in the recovered copy " + d["rpo"].value("restored_newest_commit", std::string("?")) + "\n";
  for (const auto& p : d["phases"]) {
    if (p["name"] != "integrity") continue;
    out += "  integrity  " + p["status"].get<std::string>();
    if (p["details"].contains("databases") && p["details"]["databases"].contains("shop")) {
      const json& db = p["details"]["databases"]["shop"];
      out += ": schema " + std::string(db["schema_only_in_source"].empty() && db["schema_only_in_copy"].empty() ? "identical" : "DIFFERS");
      for (const auto& [verdict, n] : db["tables_by_verdict"].items()) out += ", " + std::to_string(n.get<int>()) + " tables " + verdict;
      out += ", amcheck " + std::string(p["details"]["amcheck"].value("ok", false) ? "clean" : "FOUND CORRUPTION");
    }
    if (p.contains("error")) out += " (" + p["error"].get<std::string>() + ")";
    out += "\n";
  }
  for (const auto& p : d["phases"])
    if (p["status"] == "FAIL" && p["name"] != "integrity")
      out += "  " + p["name"].get<std::string>() + " FAILED: " + p.value("error", std::string()) + "\n";
  out += "\n  reports    " + json_path + "\n             " + html_path + " (open it in a browser)\n";
  out += "  nothing is left running";
  out += r.work_dir.empty() ? "\n" : "; the repository, the DR copy (stopped) and the logs are kept in " + r.work_dir + "\n";
  return out;
}

}  // namespace pgdr::demo
