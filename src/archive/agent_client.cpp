#include "archive/agent_client.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <ctime>

#include "archive/agent_protocol.h"
#include "archive/agent_socket.h"
#include "archive/archive_agent.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"

namespace pgdr::archive {

namespace {

// Touched by the warning that the agent is not answering, so that a server archiving a segment a
// second says so once a minute, not once a segment.
constexpr std::string_view kFallbackMarker = "pgdr-agent-fallback";
constexpr time_t kWarnEverySeconds = 60;
// How long a request may wait for the agent's reply before the client works alone. Long enough for
// a segment pushed to an object store through its own retries; short enough that a hung agent
// (stopped, deadlocked) holds archive_command back minutes, not forever. Both pushing the same
// segment is harmless: a push of what a repository already holds writes nothing.
constexpr time_t kReplyTimeoutSeconds = 300;

std::string absolute(const std::string& path) {
  return !path.empty() && path.front() == '/' ? path : working_directory() + "/" + path;
}

void note_fallback(const std::string& wal_dir, const std::string& why) {
  const std::string marker = wal_dir + "/" + std::string(kFallbackMarker);
  struct stat st {};
  const std::string line = why + "; working without it (slower: the key is derived here)";
  if (stat(marker.c_str(), &st) == 0 && time(nullptr) - st.st_mtime < kWarnEverySeconds) {
    log_info(line);
    return;
  }
  int fd = open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
  log_warning(line);
}

// The agent's reply, or nullopt (after saying why) when the caller must work alone.
std::optional<AgentMessage> exchange(const Config& cfg, const AgentMessage& request, const std::string& wal_dir) {
  const std::string socket = agent_socket_path(cfg);
  if (socket.empty()) return std::nullopt;
  std::optional<AgentMessage> reply;
  try {
    SocketFd s = connect_agent(socket);
    const timeval limit{kReplyTimeoutSeconds, 0};
    if (setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) != 0)
      throw Error(ErrorKind::network, "unable to set a timeout on the archive agent socket: " + errno_text(errno));
    write_message(s.get(), request);
    reply = read_message(s.get());
    if (!reply) throw Error(ErrorKind::network, "the connection closed before the reply");
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found) {
      log_debug("no archive agent at " + socket);
    } else if (e.kind() == ErrorKind::config) {
      log_error(e.what());  // someone else's socket: the DBA must see it, every time
    } else {
      note_fallback(wal_dir, "the archive agent at " + socket + " did not answer (" + e.what() + ")");
    }
    return std::nullopt;
  }
  const std::string status = reply->get("status").value_or("");
  if (status == "ok") return reply;
  if (status == "error" && reply->get("kind") != "interrupted") throw_error_reply(*reply);
  note_fallback(wal_dir, "the archive agent at " + socket + " did not do the work (" +
                             reply->get("reason").value_or(reply->get("message").value_or("no reason given")) + ")");
  return std::nullopt;
}

GetOutcome outcome_of(const std::string& text) {
  if (text == "found") return GetOutcome::found;
  if (text == "absent") return GetOutcome::absent;
  if (text == "unavailable") return GetOutcome::unavailable;
  throw Error(ErrorKind::network, "malformed archive agent message: unknown outcome '" + text + "'");
}

}  // namespace

std::optional<std::vector<PushResult>> push_through_agent(const Config& cfg, const std::string& path, int parallel) {
  const std::string full = absolute(path);
  AgentMessage request;
  request.add("op", "push").add("path", full).add("data_directory", working_directory());
  request.add("parallel", std::to_string(parallel));
  add_configuration_fields(request, cfg);
  auto reply = exchange(cfg, request, parent_directory(full));
  if (!reply) return std::nullopt;
  const auto repos = reply->all("repo");
  const auto outcomes = reply->all("outcome");
  if (repos.size() != outcomes.size() || repos.size() != cfg.repos.size())
    throw Error(ErrorKind::network, "malformed archive agent message: one outcome per repository expected");
  std::vector<PushResult> out;
  for (std::size_t i = 0; i < repos.size(); ++i)
    out.push_back({repos[i], outcomes[i] == "already" ? repo::PushOutcome::already_archived : repo::PushOutcome::stored});
  log_debug(full.substr(full.rfind('/') + 1) + " archived via the archive agent");
  return out;
}

std::optional<GetResult> get_through_agent(const Config& cfg, const std::string& wal_name, const std::string& dest,
                                           const GetOptions& opt) {
  const std::string full = absolute(dest);
  AgentMessage request;
  request.add("op", "get").add("wal_name", wal_name).add("dest", full).add("data_directory", working_directory());
  request.add("prefetch", std::to_string(opt.prefetch)).add("segment_bytes", std::to_string(opt.segment_bytes));
  add_configuration_fields(request, cfg);
  auto reply = exchange(cfg, request, parent_directory(full));
  if (!reply) return std::nullopt;
  GetResult r;
  r.outcome = outcome_of(reply->require("outcome"));
  r.from_repo = reply->get("from_repo").value_or("");
  r.problems = reply->all("problem");
  log_debug("WAL file " + wal_name + " fetched via the archive agent");
  return r;
}

}  // namespace pgdr::archive
