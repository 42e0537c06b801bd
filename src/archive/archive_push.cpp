#include "archive/archive_push.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/file.h"

namespace pgdr::archive {

namespace {

constexpr std::string_view kMarkerDir = "pgdr-archived";

std::vector<PushResult> push_one(const std::string& path, const std::string& name,
                                 const std::vector<repo::Repository>& repos) {
  auto content = read_file(path);
  if (!content) throw Error(ErrorKind::not_found, "WAL file to archive not found: " + path);
  std::vector<PushResult> out;
  for (const auto& r : repos) {
    try {
      out.push_back({r.name(), repo::push_wal_file(r, name, *content)});
    } catch (const Error& e) {
      // Name the repository and the segment: the archiver's log is where the DBA will look.
      std::string msg = e.what();
      if (msg.find("repository '" + r.name() + "'") == std::string::npos)
        msg = "unable to archive " + name + " in " + r.describe() + ": " + msg;
      throw Error(e.kind(), msg, e.hint());
    }
  }
  return out;
}

// Segments after name that PostgreSQL has finished and queued for archiving, in order.
std::vector<std::string> ready_after(const std::string& wal_dir, const std::string& name, int limit) {
  std::vector<std::string> out;
  DIR* d = opendir((wal_dir + "/archive_status").c_str());
  if (!d) return out;
  while (struct dirent* de = readdir(d)) {
    std::string n = de->d_name;
    if (!n.ends_with(".ready")) continue;
    n.resize(n.size() - 6);
    if (n > name && repo::classify_wal_file(n) == repo::WalFileKind::segment) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  if (out.size() > static_cast<std::size_t>(limit)) out.resize(static_cast<std::size_t>(limit));
  return out;
}

}  // namespace

bool consume_pushed_ahead_marker(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  if (!repo::classify_wal_file(name)) return false;
  std::string marker = parent_directory(path) + "/" + std::string(kMarkerDir) + "/" + name;
  return unlink(marker.c_str()) == 0;
}

std::vector<PushResult> push(const std::string& path, std::vector<repo::Repository>& repos, int parallel) {
  std::string name = path.substr(path.rfind('/') + 1);
  if (!repo::classify_wal_file(name))
    throw Error(ErrorKind::usage, "refusing to archive " + path + " (not a WAL segment, partial segment, timeline "
                                  "history or backup history file name)");
  std::string wal_dir = parent_directory(path);
  std::string markers = wal_dir + "/" + std::string(kMarkerDir);
  if (consume_pushed_ahead_marker(path)) {
    std::vector<PushResult> out;
    for (const auto& r : repos) out.push_back({r.name(), repo::PushOutcome::already_archived});
    return out;
  }
  std::vector<std::string> ahead;
  if (parallel > 1 && repo::classify_wal_file(name) == repo::WalFileKind::segment)
    ahead = ready_after(wal_dir, name, parallel - 1);
  std::vector<std::thread> threads;
  if (!ahead.empty()) make_directories(markers, 0700);
  for (const auto& next : ahead) {
    threads.emplace_back([&, next] {
      try {
        push_one(wal_dir + "/" + next, next, repos);
        write_file_durably(markers + "/" + next, {}, 0600);
      } catch (const Error&) {
        // PostgreSQL asks for this segment again later; its error is reported then.
      }
    });
  }
  std::exception_ptr error;
  std::vector<PushResult> out;
  try {
    out = push_one(path, name, repos);
  } catch (...) {
    error = std::current_exception();
  }
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  return out;
}

}  // namespace pgdr::archive
