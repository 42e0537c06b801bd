#include "backup/source_files.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "core/error.h"
#include "pg/page.h"

namespace pgdr::backup {

namespace {

// Directories whose contents a backup leaves out; the directories themselves are kept because
// PostgreSQL expects them to exist.
const std::set<std::string> kEmptiedDirs = {"pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial",
                                            "pg_snapshots", "pg_stat_tmp", "pg_subtrans"};
// Top-level files that describe the running server or an earlier backup or recovery.
const std::set<std::string> kSkippedTopFiles = {"postmaster.pid", "postmaster.opts", "backup_label",
                                                "backup_label.old", "tablespace_map", "tablespace_map.old",
                                                "recovery.signal", "standby.signal",
                                                "pgdr-restore.lock"};  // restore/target_lock.h

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "/" + b; }

struct Walker {
  SourceTree& tree;
  std::string tablespace_prefix;

  void add_dir(const std::string& rel, const struct stat& st, const std::string& abs) {
    SourceFile f;
    f.entry.path = rel;
    f.entry.type = repo::EntryType::directory;
    f.entry.mode = st.st_mode & 07777;
    f.entry.mtime = st.st_mtime;
    f.source_path = abs;
    tree.files.push_back(std::move(f));
  }

  void add_file(const std::string& rel, const struct stat& st, const std::string& abs, bool in_db_dir) {
    SourceFile f;
    f.entry.path = rel;
    f.entry.type = repo::EntryType::file;
    f.entry.mode = st.st_mode & 07777;
    f.entry.mtime = st.st_mtime;
    f.entry.size_bytes = static_cast<std::uint64_t>(st.st_size);
    f.source_path = abs;
    std::string name = rel.substr(rel.rfind('/') + 1);
    std::uint32_t segment = 0;
    if (in_db_dir && is_relation_file_name(name, &segment)) {
      f.relation = true;
      f.first_block = segment * pg::kBlocksPerSegment;
    }
    tree.total_bytes += f.entry.size_bytes;
    tree.files.push_back(std::move(f));
  }

  // dir_kind: 0 = ordinary, 1 = holds relation files (base/<db>, global, tablespace db dirs).
  void walk(const std::string& abs, const std::string& rel, bool relation_dir, int depth) {
    DIR* d = opendir(abs.c_str());
    if (!d) throw_errno("unable to read directory", abs, errno);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* de = readdir(d)) {
      std::string n = de->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    int err = errno;
    closedir(d);
    if (err) throw_errno("unable to read directory", abs, err);
    std::sort(names.begin(), names.end());

    // Unlogged relations: with an init fork present, every other fork is rebuilt at startup.
    std::set<std::string> unlogged;
    if (relation_dir)
      for (const auto& n : names)
        if (n.size() > 5 && n.ends_with("_init") && all_digits(n.substr(0, n.size() - 5)))
          unlogged.insert(n.substr(0, n.size() - 5));

    for (const auto& n : names) {
      std::string child_abs = abs + "/" + n;
      std::string child_rel = join(rel, n);
      if (n.starts_with("pgsql_tmp") || n == "pg_internal.init") continue;
      if (depth == 0 && kSkippedTopFiles.count(n)) continue;
      if (relation_dir) {
        std::string base = n.substr(0, n.find_first_of("._"));
        if (unlogged.count(base) && !n.ends_with("_init")) continue;
        // Temporary relations ("t3_16384") belong to sessions that will not survive.
        if (n.size() > 1 && n[0] == 't' && n.find('_') != std::string::npos && all_digits(n.substr(1, n.find('_') - 1)))
          continue;
      }
      struct stat st;
      if (lstat(child_abs.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // dropped while we walked: WAL replay recreates what matters
        throw_errno("unable to stat", child_abs, errno);
      }
      if (depth == 0 && n == "pg_tblspc" && S_ISDIR(st.st_mode)) {
        add_dir(child_rel, st, child_abs);
        walk_tablespaces(child_abs, child_rel);
        continue;
      }
      if (S_ISLNK(st.st_mode)) {
        // pg_wal may live elsewhere; its contents are left out anyway.
        if (depth == 0 && kEmptiedDirs.count(n)) {
          struct stat target;
          if (stat(child_abs.c_str(), &target) == 0 && S_ISDIR(target.st_mode)) {
            add_dir(child_rel, target, child_abs);
            continue;
          }
        }
        struct stat target;
        if (stat(child_abs.c_str(), &target) == 0 && S_ISREG(target.st_mode)) {
          add_file(child_rel, target, child_abs, relation_dir);
        } else {
          tree.warnings.push_back("skipped symbolic link " + child_abs + " (only files and tablespaces are followed)");
        }
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        add_dir(child_rel, st, child_abs);
        if (depth == 0 && kEmptiedDirs.count(n)) {
          if (n == "pg_wal") {
            struct stat ast;
            if (lstat((child_abs + "/archive_status").c_str(), &ast) == 0 && S_ISDIR(ast.st_mode))
              add_dir(child_rel + "/archive_status", ast, child_abs + "/archive_status");
          }
          continue;
        }
        bool child_relation_dir = (depth == 0 && n == "global") || (depth == 1 && rel == "base" && all_digits(n));
        walk(child_abs, child_rel, child_relation_dir, depth + 1);
        continue;
      }
      if (S_ISREG(st.st_mode)) add_file(child_rel, st, child_abs, relation_dir);
      // Sockets, fifos and devices have no place in a data directory backup.
    }
  }

  void walk_tablespaces(const std::string& abs, const std::string& rel) {
    DIR* d = opendir(abs.c_str());
    if (!d) throw_errno("unable to read directory", abs, errno);
    std::vector<std::string> names;
    while (struct dirent* de = readdir(d)) {
      std::string n = de->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& oid : names) {
      std::string link_abs = abs + "/" + oid;
      struct stat st;
      if (lstat(link_abs.c_str(), &st) != 0) throw_errno("unable to stat", link_abs, errno);
      if (!S_ISLNK(st.st_mode) || !all_digits(oid)) {
        tree.warnings.push_back("skipped " + link_abs + " (not a tablespace link)");
        continue;
      }
      char buf[4096];
      ssize_t n = readlink(link_abs.c_str(), buf, sizeof buf - 1);
      if (n < 0) throw_errno("unable to read link", link_abs, errno);
      std::string location(buf, static_cast<std::size_t>(n));
      SourceFile link;
      link.entry.path = rel + "/" + oid;
      link.entry.type = repo::EntryType::symlink;
      link.entry.mode = 0777;
      link.entry.mtime = st.st_mtime;
      link.entry.link_target = location;
      link.source_path = link_abs;
      tree.files.push_back(std::move(link));
      tree.tablespaces.emplace_back(oid, location);
      // Only this server version's directory: a tablespace may also hold other versions' data.
      DIR* td = opendir(link_abs.c_str());
      if (!td) throw_errno("unable to read tablespace directory", location, errno);
      std::vector<std::string> versions;
      while (struct dirent* de = readdir(td)) {
        std::string v = de->d_name;
        if (v.starts_with(tablespace_prefix)) versions.push_back(v);
      }
      closedir(td);
      for (const auto& v : versions) {
        std::string vabs = link_abs + "/" + v;
        std::string vrel = rel + "/" + oid + "/" + v;
        struct stat vst;
        if (lstat(vabs.c_str(), &vst) != 0 || !S_ISDIR(vst.st_mode)) continue;
        add_dir(vrel, vst, vabs);
        walk_tablespace_version(vabs, vrel);
      }
    }
  }

  void walk_tablespace_version(const std::string& abs, const std::string& rel) {
    DIR* d = opendir(abs.c_str());
    if (!d) throw_errno("unable to read directory", abs, errno);
    std::vector<std::string> dbs;
    while (struct dirent* de = readdir(d)) {
      std::string n = de->d_name;
      if (n != "." && n != "..") dbs.push_back(std::move(n));
    }
    closedir(d);
    std::sort(dbs.begin(), dbs.end());
    for (const auto& db : dbs) {
      std::string dabs = abs + "/" + db;
      struct stat st;
      if (lstat(dabs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      add_dir(rel + "/" + db, st, dabs);
      walk(dabs, rel + "/" + db, all_digits(db), 2);
    }
  }
};

}  // namespace

bool is_relation_file_name(std::string_view name, std::uint32_t* segment) {
  std::size_t i = 0;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
  if (i == 0) return false;
  std::string_view rest = name.substr(i);
  for (std::string_view fork : {"_fsm", "_vm", "_init"}) {
    if (rest.starts_with(fork)) {
      rest.remove_prefix(fork.size());
      break;
    }
  }
  std::uint32_t seg = 0;
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() == 1 || !all_digits(rest.substr(1)) || rest.size() > 7) return false;
    seg = static_cast<std::uint32_t>(std::stoul(std::string(rest.substr(1))));
  }
  if (segment) *segment = seg;
  return true;
}

SourceTree scan_source(const std::string& pgdata, const std::string& tablespace_dir_prefix) {
  SourceTree tree;
  struct stat st;
  if (stat(pgdata.c_str(), &st) != 0) throw_errno("unable to read the data directory", pgdata, errno);
  if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::config, "the data directory is not a directory: " + pgdata);
  if (access((pgdata + "/PG_VERSION").c_str(), R_OK) != 0)
    throw Error(ErrorKind::config, "not a PostgreSQL data directory (no readable PG_VERSION): " + pgdata);
  Walker w{tree, tablespace_dir_prefix};
  w.walk(pgdata, "", false, 0);
  std::stable_partition(tree.files.begin(), tree.files.end(),
                        [](const SourceFile& f) { return f.entry.type != repo::EntryType::file; });
  return tree;
}

}  // namespace pgdr::backup
