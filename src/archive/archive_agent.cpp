#include "archive/archive_agent.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "archive/archive_get.h"
#include "archive/archive_push.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/secret_memory.h"

namespace pgdr::archive {

namespace {

// Far above `--parallel` 64 plus a recovery's prefetch: a client past it works alone.
constexpr int kMaxConnections = 256;
// How many queued segments past the one asked for the push-ahead considers: enough to step over
// those already pushed ahead whose calls PostgreSQL has not made yet (a marker answers those
// without asking the agent, so the agent learns of the queue's progress only at the next
// segment without one).
constexpr int kAheadScan = 64;

std::string joined_repo_names(const std::vector<RepoConfig>& repos) {
  std::string out;
  for (const auto& r : repos) out += (out.empty() ? "" : ",") + r.name;
  return out;
}

int int_field(const AgentMessage& m, const std::string& key, int low, int high) {
  const std::string text = m.require(key);
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || v < low || v > high)
    throw Error(ErrorKind::network, "malformed archive agent message: field '" + key + "' is not a number from " +
                                        std::to_string(low) + " to " + std::to_string(high));
  return static_cast<int>(v);
}

std::string absolute_field(const AgentMessage& m, const std::string& key) {
  std::string v = m.require(key);
  if (v.empty() || v.front() != '/')
    throw Error(ErrorKind::network, "malformed archive agent message: field '" + key + "' is not an absolute path");
  return v;
}

std::string_view outcome_text(GetOutcome o) {
  switch (o) {
    case GetOutcome::found: return "found";
    case GetOutcome::absent: return "absent";
    case GetOutcome::unavailable: return "unavailable";
  }
  return "unavailable";
}

}  // namespace

void add_configuration_fields(AgentMessage& m, const Config& cfg) {
  m.add("cluster", cfg.cluster.name).add("repos", joined_repo_names(cfg.repos));
}

ArchiveAgent::ArchiveAgent(Config cfg, std::vector<repo::Repository> repos, StoreOpener open_store)
    : cfg_(std::move(cfg)), repos_(std::move(repos)), open_store_(std::move(open_store)) {
  lock_keys();
}

void ArchiveAgent::lock_keys() {
  for (const auto& r : repos_) {
    const auto& k = r.key();
    if (!lock_in_memory(k.master()) || !lock_in_memory(k.data_key()) || !lock_in_memory(k.id_key()))
      log_warning("unable to lock the key of repository '" + r.name() + "' in memory (" + errno_text(errno) +
                  "): it may be written to swap; raise LimitMEMLOCK / ulimit -l");
  }
}

std::optional<std::string> ArchiveAgent::mismatch(const AgentMessage& request) const {
  if (request.require("cluster") != cfg_.cluster.name)
    return "it serves cluster '" + cfg_.cluster.name + "', not '" + request.require("cluster") + "'";
  if (request.require("repos") != joined_repo_names(cfg_.repos))
    return "it serves repositories '" + joined_repo_names(cfg_.repos) + "', not '" + request.require("repos") + "'";
  // A repository deleted and initialised again under the same name has a new key: pushing with the
  // one held here would store WAL nobody can read. One small read per repository and request.
  for (const auto& r : repos_)
    if (repo::Repository::read_settings(r.store(), r.name()).id != r.settings().id) {
      log_warning("repository '" + r.name() + "' was created again since the archive agent opened it; restart the agent");
      return "repository '" + r.name() + "' was created again since it opened it (restart the agent)";
    }
  return std::nullopt;
}

AgentMessage ArchiveAgent::answer(const AgentMessage& request) {
  try {
    if (auto why = mismatch(request)) return AgentMessage().add("status", "refused").add("reason", *why);
    const std::string op = request.require("op");
    if (op == "push") return push(request);
    if (op == "get") return get(request);
    return AgentMessage().add("status", "refused").add("reason", "unknown request '" + op + "'");
  } catch (const Error& e) {
    // A request this agent cannot read (a client of another pgdr version) is not the work failing:
    // the client does the work itself.
    if (std::string_view(e.what()).starts_with("malformed archive agent message"))
      return AgentMessage().add("status", "refused").add("reason", e.what());
    return error_reply(e);
  } catch (const std::exception& e) {
    return error_reply(Error(ErrorKind::internal, e.what()));
  }
}

AgentMessage ArchiveAgent::push(const AgentMessage& request) {
  const auto started = std::chrono::steady_clock::now();
  const std::string path = absolute_field(request, "path");
  PushOptions opt;
  opt.parallel = int_field(request, "parallel", 1, 64);
  opt.cluster_name = cfg_.cluster.name;
  opt.data_directory = absolute_field(request, "data_directory");
  // A push-ahead of this very segment may be running: its marker then answers, once it is there.
  // Claimed, it is not pushed ahead while this call pushes it.
  ahead_.claim(path);
  struct Release {
    PushAhead& ahead;
    const std::string& path;
    ~Release() { ahead.release(path); }
  } release{ahead_, path};
  if (opt.parallel > 1 && !interrupt_requested()) {
    PushAhead::Work work;
    work.candidates = [path] { return ready_after(path, kAheadScan); };
    work.done = pushed_ahead;
    work.push = [this, opt](const std::string& p) { push_ahead(p, repos_, opt); };
    work.limit = static_cast<std::size_t>(opt.parallel - 1);
    ahead_.start(std::move(work));
  }
  PushOptions now = opt;
  now.parallel = 1;  // the segments after it are the push-ahead's
  AgentMessage reply;
  reply.add("status", "ok");
  for (const auto& r : archive::push(path, repos_, now))
    reply.add("repo", r.repo).add("outcome", r.outcome == repo::PushOutcome::already_archived ? "already" : "stored");
  ++pushed_;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  log_debug("archived " + path + " (" + std::to_string(ms.count()) + " ms)");
  return reply;
}

AgentMessage ArchiveAgent::get(const AgentMessage& request) {
  const std::string wal_name = request.require("wal_name");
  const std::string dest = absolute_field(request, "dest");
  GetOptions opt;
  opt.prefetch = int_field(request, "prefetch", 0, 64);
  opt.segment_bytes = static_cast<std::uint64_t>(int_field(request, "segment_bytes", 1 << 20, 1 << 30));
  opt.cluster_name = cfg_.cluster.name;
  opt.data_directory = absolute_field(request, "data_directory");
  opt.open_store = open_store_;
  opt.opened = &repos_;
  auto never = [](const RepoConfig&) -> repo::Repository {
    throw Error(ErrorKind::internal, "the archive agent opens no repository per request");
  };
  const GetResult r = archive::get(wal_name, dest, cfg_, never, opt);
  ++fetched_;
  log_debug("served " + wal_name + " to " + dest + ": " + std::string(outcome_text(r.outcome)));
  AgentMessage reply;
  reply.add("status", "ok").add("outcome", std::string(outcome_text(r.outcome))).add("from_repo", r.from_repo);
  for (const auto& p : r.problems) reply.add("problem", p);
  return reply;
}

void ArchiveAgent::serve(SocketFd connection) {
  try {
    const uid_t uid = peer_uid(connection.get());
    if (uid != geteuid()) {
      log_warning("archive agent: refused a connection from uid " + std::to_string(uid) + " (only uid " +
                  std::to_string(geteuid()) + " is served)");
      return;
    }
    // One request per connection; a client that connects and says nothing must not hold the
    // agent's shutdown.
    const timeval limit{10, 0};
    setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (auto request = read_message(connection.get())) write_message(connection.get(), answer(*request));
  } catch (const Error& e) {
    // A client that died or spoke nonsense costs its own connection only.
    log_debug(std::string("archive agent connection ended: ") + e.what());
  }
}

void ArchiveAgent::start_thread(SocketFd connection) {
  {
    std::lock_guard lock(mutex_);
    if (active_ >= kMaxConnections) return;  // closed unanswered: the client works alone
    ++active_;
  }
  std::thread([this, c = std::move(connection)]() mutable {
    serve(std::move(c));
    std::lock_guard lock(mutex_);
    if (--active_ == 0) idle_.notify_all();
  }).detach();
}

int ArchiveAgent::run(const std::string& socket_path) {
  SocketFd listener = listen_agent(socket_path);
  struct stat ours {};
  stat(socket_path.c_str(), &ours);
  log_info("archive agent listening on " + socket_path + " for " + std::to_string(repos_.size()) + " repositories");
  while (!interrupt_requested()) {
    pollfd p{listener.get(), POLLIN, 0};
    if (poll(&p, 1, 500) <= 0) continue;
    int fd = accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) start_thread(SocketFd(fd));
  }
  // Removed only while it is still ours: a new agent may already have taken the path over.
  struct stat now {};
  if (stat(socket_path.c_str(), &now) == 0 && now.st_ino == ours.st_ino && now.st_dev == ours.st_dev)
    unlink(socket_path.c_str());
  listener = SocketFd();
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return active_ == 0; });
  lock.unlock();
  ahead_.drain();
  log_info("archive agent stopped after " + std::to_string(pushed_.load()) + " pushes and " +
           std::to_string(fetched_.load()) + " fetches");
  return 0;
}

}  // namespace pgdr::archive
