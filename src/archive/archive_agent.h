// pgdr archive-agent: a long-running process of the cluster's OS user that opens the repositories
// once (one key derivation) and then serves archive-push and archive-get of its own host over a
// Unix socket (archive/agent_socket.h), so the per-segment commands PostgreSQL runs derive no key.
// Each request runs the same push and get code as the commands themselves (archive::push,
// archive::get), on the already open repositories; a reply says "ok" only once the work is done
// (for a push: durable in every repository).
//
// Connections are served concurrently, one thread each; the repositories are shared read-only by
// those threads and by the push-ahead. A push with `--parallel` N > 1 starts pushing the next
// segments PostgreSQL has queued (up to N - 1 at once, each finished one starting the next queued
// one, archive/push_ahead.h) and answers for its own segment without waiting for them: they go on
// while PostgreSQL starts its next calls, which wait for their segment's push-ahead if it is still
// running. Only peers of the agent's own uid
// (SO_PEERCRED) are served.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "archive/agent_protocol.h"
#include "archive/agent_socket.h"
#include "archive/push_ahead.h"
#include "config/config.h"
#include "repo/repository.h"

namespace pgdr::archive {

using StoreOpener = std::function<std::unique_ptr<storage::Storage>(const RepoConfig&)>;

class ArchiveAgent {
 public:
  // repos: every configured repository, open, in cfg's order. Their keys are locked in memory here.
  ArchiveAgent(Config cfg, std::vector<repo::Repository> repos, StoreOpener open_store);
  ArchiveAgent(const ArchiveAgent&) = delete;
  ArchiveAgent& operator=(const ArchiveAgent&) = delete;

  // Listens on socket_path and serves until SIGTERM or SIGINT; then waits for the requests being
  // served, removes the socket and returns 0.
  int run(const std::string& socket_path);

  // One request, as a connection's thread answers it (public for the unit tests of the replies).
  AgentMessage answer(const AgentMessage& request);

 private:
  void lock_keys();
  void serve(SocketFd connection);
  void start_thread(SocketFd connection);
  AgentMessage push(const AgentMessage& request);
  AgentMessage get(const AgentMessage& request);
  std::optional<std::string> mismatch(const AgentMessage& request) const;

  Config cfg_;
  std::vector<repo::Repository> repos_;
  StoreOpener open_store_;
  std::mutex mutex_;
  std::condition_variable idle_;
  int active_ = 0;  // connection threads running, under mutex_
  // Declared after repos_: destroyed first, it waits for the pushes that use them.
  PushAhead ahead_;
  std::atomic<std::uint64_t> pushed_{0};
  std::atomic<std::uint64_t> fetched_{0};
};

// The fields by which a client says which configuration it runs with; the agent refuses a request
// whose cluster or repositories differ from its own, and the client then works alone.
void add_configuration_fields(AgentMessage& m, const Config& cfg);

}  // namespace pgdr::archive
