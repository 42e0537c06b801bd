#include "archive/archive_push.h"

#include "core/error.h"
#include "core/file.h"

namespace pgdr::archive {

std::vector<PushResult> push(const std::string& path, std::vector<repo::Repository>& repos) {
  std::string name = path.substr(path.rfind('/') + 1);
  if (!repo::classify_wal_file(name))
    throw Error(ErrorKind::usage, "refusing to archive " + path + " (not a WAL segment, partial segment, timeline "
                                  "history or backup history file name)");
  auto content = read_file(path);
  if (!content) throw Error(ErrorKind::not_found, "WAL file to archive not found: " + path);
  std::vector<PushResult> out;
  for (auto& r : repos) {
    try {
      out.push_back({r.name(), repo::push_wal_file(r, name, *content)});
    } catch (const Error& e) {
      // Name the repository and the segment: the archiver's log is where the DBA will look.
      std::string msg = e.what();
      if (msg.find(name) == std::string::npos) msg = "unable to archive " + name + " in " + r.describe() + ": " + msg;
      throw Error(e.kind(), msg, e.hint());
    }
  }
  return out;
}

}  // namespace pgdr::archive
