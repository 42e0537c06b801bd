// The archive agent's Unix socket: where it is, who may listen on it and who may connect. The agent
// serves only its own user, and a client only talks to an agent of its own user: a socket owned by
// another user, or open to anyone else (mode wider than 0600), is refused before connecting, and
// the peer's credentials (SO_PEERCRED) are checked on both ends after connecting.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "config/config.h"

namespace pgdr::archive {

// The configured [archive] agent_socket, else pgdr-archive-agent.<name>.sock beside [cluster]
// pgdata (/var/lib/postgresql/16/main gives /var/lib/postgresql/16/pgdr-archive-agent.main.sock: a
// directory of the cluster's user, per cluster); "" when neither is set (no agent).
std::string agent_socket_path(const Config& cfg);

// Owns one socket descriptor; closes it when destroyed.
class SocketFd {
 public:
  SocketFd() = default;
  explicit SocketFd(int fd) : fd_(fd) {}
  SocketFd(SocketFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  SocketFd& operator=(SocketFd&& o) noexcept;
  SocketFd(const SocketFd&) = delete;
  SocketFd& operator=(const SocketFd&) = delete;
  ~SocketFd();
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// Why a client must not use the socket at path (owner, mode, not a socket), or nullopt when it may.
// Throws Error(not_found) when nothing is there.
std::optional<std::string> socket_refusal(const std::string& path);

// Connects to the agent's socket after socket_refusal() accepts it. Throws Error(not_found) when
// no socket exists, Error(config) with the refusal, Error(network) when nobody listens.
SocketFd connect_agent(const std::string& path);

// Creates the listening socket, mode 0600, replacing a stale one that nobody answers on. Throws
// Error(locked) when another agent already listens there.
SocketFd listen_agent(const std::string& path);

// The user id of the process at the other end of a connected Unix socket.
uid_t peer_uid(int fd);

}  // namespace pgdr::archive
