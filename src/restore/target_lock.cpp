#include "restore/target_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "core/error.h"

namespace pgdr::restore {

namespace {

std::map<std::string, std::string> parse_lines(const Bytes& raw) {
  std::map<std::string, std::string> out;
  std::string text(raw.begin(), raw.end());
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (auto eq = line.find('='); eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

bool same_file(int fd, const std::string& path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && lstat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

TargetLock TargetLock::acquire(const std::string& target_dir) {
  const std::string path = target_dir + "/" + std::string(kFileName);
  // A holder that completes removes the file while others may have it open: whoever then locks
  // the removed file tries again on the new one.
  for (int attempt = 0; attempt < 100; ++attempt) {
    bool created = true;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST) {
      created = false;
      fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0 && errno == ENOENT) continue;
    }
    if (fd < 0) throw_errno("unable to open the restore lock", path, errno);
    File file = File::adopt(fd, path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) throw_errno("unable to lock the restore target", target_dir, errno);
      std::string pid = parse_lines(file.read_all())["pid"];
      throw Error(ErrorKind::locked,
                  "restore target is locked: " + target_dir + " (another restore writes it" +
                      (pid.empty() ? std::string() : ", pid " + pid) + ")",
                  "wait for that restore to end; two restores into one directory would leave a mix of both");
    }
    if (!same_file(fd, path)) continue;
    TargetLock lock(std::move(file), target_dir, created);
    auto previous = parse_lines(lock.file_.read_all());
    lock.unfinished_system_identifier_ = previous["system_identifier"];
    lock.unfinished_snapshot_ = previous["snapshot"];
    // Who holds it, at once; what an earlier unfinished restore recorded stays until this one writes.
    std::string text = "pid=" + std::to_string(getpid()) + "\n";
    if (!lock.unfinished_snapshot_.empty()) text += "snapshot=" + lock.unfinished_snapshot_ + "\n";
    if (!lock.unfinished_system_identifier_.empty())
      text += "system_identifier=" + lock.unfinished_system_identifier_ + "\n";
    lock.write_content(text);
    return lock;
  }
  throw Error(ErrorKind::locked, "restore target is locked: " + target_dir + " (its lock file keeps being replaced)");
}

void TargetLock::write_content(const std::string& text) {
  file_.truncate(0);
  file_.pwrite_all(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), 0);
}

void TargetLock::mark_writing(const std::string& snapshot, const std::string& system_identifier) {
  write_content("pid=" + std::to_string(getpid()) + "\nsnapshot=" + snapshot + "\nsystem_identifier=" +
                system_identifier + "\n");
  // Durable before the first byte of data, so a crash never leaves data without its marker.
  file_.sync();
  if (created_) fsync_directory(dir_);
  writing_ = true;
}

void TargetLock::finish() {
  // Removed while still locked, so nobody locks it in between and finds it gone.
  std::string path = file_.path();
  if (unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno("unable to remove", path, errno);
  fsync_directory(dir_);
  file_.close();
}

TargetLock::~TargetLock() {
  if (!file_.is_open()) return;
  if (created_ && !writing_) unlink(file_.path().c_str());
}

}  // namespace pgdr::restore
