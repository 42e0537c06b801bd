#include "archive/agent_socket.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"

namespace pgdr::archive {

namespace {

sockaddr_un address_of(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path)
    throw Error(ErrorKind::config, "archive agent socket path is longer than " + std::to_string(sizeof a.sun_path - 1) +
                                       " bytes: " + path,
                "set [archive] agent_socket to a shorter path");
  path.copy(a.sun_path, path.size());
  return a;
}

SocketFd new_socket() {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(ErrorKind::io, "unable to create a Unix socket: " + errno_text(errno));
  return SocketFd(fd);
}

// 0 when connected, else the errno of connect().
int try_connect(const SocketFd& s, const std::string& path) {
  const sockaddr_un a = address_of(path);
  while (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    if (errno != EINTR) return errno;
  return 0;
}

}  // namespace

std::string agent_socket_path(const Config& cfg) {
  if (!cfg.archive.agent_socket.empty()) return cfg.archive.agent_socket;
  if (cfg.cluster.pgdata.empty()) return "";
  std::string data = cfg.cluster.pgdata;
  while (data.size() > 1 && data.back() == '/') data.pop_back();
  return parent_directory(data) + "/pgdr-archive-agent." + data.substr(data.rfind('/') + 1) + ".sock";
}

SocketFd& SocketFd::operator=(SocketFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

SocketFd::~SocketFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> socket_refusal(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) throw_errno("unable to find the archive agent socket", path, errno);
  if (!S_ISSOCK(st.st_mode)) return "it is not a socket";
  if (st.st_uid != geteuid())
    return "it is owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " + std::to_string(geteuid()) + ")";
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::string("its mode is ") + mode + ", wider than 0600";
  }
  return std::nullopt;
}

SocketFd connect_agent(const std::string& path) {
  if (auto why = socket_refusal(path))
    throw Error(ErrorKind::config, "refusing the archive agent socket " + path + ": " + *why);
  SocketFd s = new_socket();
  if (int err = try_connect(s, path); err != 0)
    throw Error(err == ENOENT ? ErrorKind::not_found : ErrorKind::network,
                "unable to connect to the archive agent at " + path + ": " + errno_text(err));
  // The socket file could have been replaced between the check and the connect: the peer itself
  // must be this user.
  if (uid_t uid = peer_uid(s.get()); uid != geteuid())
    throw Error(ErrorKind::config, "refusing the archive agent at " + path + ": it runs as uid " + std::to_string(uid) +
                                       ", not as this user (uid " + std::to_string(geteuid()) + ")");
  return s;
}

SocketFd listen_agent(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw Error(ErrorKind::config, "refusing to replace " + path + " with the archive agent socket: it is not a socket");
    SocketFd probe = new_socket();
    if (try_connect(probe, path) == 0)
      throw Error(ErrorKind::locked, "another archive agent already listens on " + path);
    unlink(path.c_str());  // left by an agent that died
  }
  SocketFd s = new_socket();
  const sockaddr_un a = address_of(path);
  // Created without group or other permissions: there is no moment when another user could connect.
  const mode_t old_mask = umask(0177);
  const int rc = ::bind(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
  const int err = errno;
  umask(old_mask);
  if (rc != 0) throw_errno("unable to create the archive agent socket", path, err);
  if (chmod(path.c_str(), 0600) != 0) throw_errno("unable to set the mode of", path, errno);
  if (::listen(s.get(), 128) != 0) throw_errno("unable to listen on", path, errno);
  return s;
}

uid_t peer_uid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    throw Error(ErrorKind::network, "unable to read the archive agent peer's credentials: " + errno_text(errno));
  return cred.uid;
}

}  // namespace pgdr::archive
