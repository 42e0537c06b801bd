#include "archive/archive_get.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/work_ahead.h"
#include "core/error.h"
#include "core/file.h"
#include "pg/lsn.h"
#include "repo/wal_archive.h"
#include "repo/wal_file_check.h"
#include "repo/wal_stream_objects.h"

namespace pgdr::archive {

namespace {

constexpr std::string_view kSpoolDir = "pgdr-prefetch";

// Writes content to dest through a temporary name: recovery never opens a half-written file.
void write_atomically(const std::string& dest, ByteView content) {
  std::string tmp = temporary_path(dest);
  {
    File f = File::open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    try {
      f.write_all(content);
      f.close();
    } catch (...) {
      unlink(tmp.c_str());
      throw;
    }
  }
  if (rename(tmp.c_str(), dest.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    throw_errno("unable to rename into", dest, err);
  }
}

struct Source {
  const std::vector<repo::Repository>& repos;
  const std::vector<repo::KnownCluster>& known;  // per repository
  // Tries each repository in order: the first good copy wins; damage falls through to the next.
  // A stored object that is not what its name says (repo::wal_file_problem) is damage too: it is
  // never handed to PostgreSQL.
  // other_cluster: some repository holds the name as another cluster's WAL, which ends this
  // cluster's archive there (see repo::is_other_clusters_wal).
  std::optional<Bytes> fetch(const std::string& name, std::string* from, std::vector<std::string>* problems,
                             bool* damaged, bool* other_cluster = nullptr) const {
    std::vector<std::string> missing;  // reported only when a later repository has the file
    for (std::size_t i = 0; i < repos.size(); ++i) {
      const auto& r = repos[i];
      try {
        auto content = repo::fetch_wal_file(r, name);
        if (content && repo::is_other_clusters_wal(name, *content, known[i])) {
          if (other_cluster) *other_cluster = true;
          missing.push_back("WAL file " + name + " in " + r.describe() + " is another cluster's (" +
                            *repo::wal_file_problem(name, *content, known[i]) + ")");
          continue;
        }
        if (content)
          if (auto problem = repo::wal_file_problem(name, *content, known[i]))
            throw Error(ErrorKind::corrupt,
                        "invalid WAL object " + repo::wal_object(name) + " in " + r.describe() + " (" + *problem + ")");
        if (content) {
          if (from) *from = "repository '" + r.name() + "'";
          if (problems) problems->insert(problems->end(), missing.begin(), missing.end());
          return content;
        }
        missing.push_back("WAL file " + name + " is missing from " + r.describe());
      } catch (const Error& e) {
        if (damaged) *damaged = true;
        std::string what = e.what();
        if (what.find("repository '" + r.name() + "'") == std::string::npos)
          what = "WAL file " + name + " in repository '" + r.name() + "' is damaged: " + what;
        if (problems) problems->push_back(what);
      }
    }
    return std::nullopt;
  }
};

// Segments recovery has passed will not be asked for again.
void prune_spool(const std::string& spool, const pg::SegmentName& now, std::uint64_t segment_bytes) {
  DIR* d = opendir(spool.c_str());
  if (!d) return;
  while (struct dirent* de = readdir(d)) {
    auto seg = pg::parse_segment_file_name(de->d_name, segment_bytes);
    bool stale_tmp = std::string_view(de->d_name).find(".tmp-") != std::string_view::npos;
    if ((seg && seg->timeline == now.timeline && seg->segno < now.segno) || stale_tmp)
      unlink((spool + "/" + de->d_name).c_str());
  }
  closedir(d);
}

// A missing segment between archived ones of its timeline is a hole, not the end of the archive:
// ending recovery there would silently drop everything after it. Returns the problem, if so.
std::optional<std::string> hole(const repo::ArchivedWal& wal, const pg::SegmentName& segment,
                                const std::string& wal_name, const std::string& where) {
  auto it = wal.segments.find(segment.timeline);
  if (it == wal.segments.end() || it->second.empty() || it->second.back() <= segment.segno ||
      it->second.front() >= segment.segno)
    return std::nullopt;
  return "WAL segment " + wal_name + " is missing from " + where + ", which holds later segments of timeline " +
         std::to_string(segment.timeline) + " (a gap in the archive)";
}

// Most calls that find nothing come at the end of recovery (the next segment, the next
// timeline's history file). Answering them takes listings only, no key: absent when every
// repository opens, holds no such WAL object and (for a segment) no streamed part of it; a
// segment missing between archived ones that the server does not hold itself is a hole
// (unavailable). nullopt sends the call down the full path, which reports whatever is wrong.
std::optional<GetResult> answer_from_listings(const std::string& wal_name, const std::optional<pg::SegmentName>& segment,
                                              bool local_copy, const Config& cfg, const GetOptions& opt) {
  if (cfg.repos.empty()) return std::nullopt;
  std::vector<std::pair<std::string, std::unique_ptr<storage::Storage>>> stores;
  GetResult result;
  result.outcome = GetOutcome::absent;
  try {
    for (const auto& rc : cfg.repos) {
      auto store = opt.open_store(rc);
      repo::Repository::read_settings(*store, rc.name);
      if (store->stat(repo::wal_object(wal_name))) return std::nullopt;
      if (segment)
        for (const auto& s : repo::list_streamed(*store, opt.segment_bytes))
          if (s.name == wal_name) return std::nullopt;
      stores.emplace_back("repository '" + rc.name + "' (" + store->describe() + ")", std::move(store));
    }
    if (!segment || local_copy) return result;
    for (const auto& [where, store] : stores)
      if (auto problem = hole(repo::list_wal(*store, opt.segment_bytes), *segment, wal_name, where)) {
        result.outcome = GetOutcome::unavailable;
        result.problems.push_back(*problem);
        break;
      }
  } catch (const Error&) {
    return std::nullopt;
  }
  return result;
}

}  // namespace

GetResult get(const std::string& wal_name, const std::string& dest, const Config& cfg,
              const std::function<repo::Repository(const RepoConfig&)>& open_repo, const GetOptions& opt) {
  auto kind = repo::classify_wal_file(wal_name);
  if (!kind) throw Error(ErrorKind::usage, "'" + wal_name + "' is not a WAL file name");
  GetResult result;
  std::string spool = parent_directory(dest) + "/" + std::string(kSpoolDir);

  auto segment = pg::parse_segment_file_name(wal_name, opt.segment_bytes);
  if (segment) {
    prune_spool(spool, *segment, opt.segment_bytes);
    std::string spooled = spool + "/" + wal_name;
    // Spooled files were checked when they were fetched and are renamed into place whole.
    if (rename(spooled.c_str(), dest.c_str()) == 0) {
      result.outcome = GetOutcome::found;
      result.from_repo = "the prefetch spool";
      // Opening a repository derives its key (scrypt: tens of milliseconds on every call recovery
      // makes, in its critical path). While the next segment is spooled too there is nothing to
      // fetch yet: the spool is refilled by the call that takes its last segment, so recovery
      // pays one key derivation per `prefetch` segments.
      std::string next = pg::segment_file_name(segment->timeline, segment->segno + 1, opt.segment_bytes);
      if (access((spool + "/" + next).c_str(), F_OK) == 0) return result;
    }
  }
  // A segment the server holds itself (a snapshot's own WAL in pg_wal) is never a hole: "absent"
  // lets it use that copy.
  const bool local_copy = access((parent_directory(dest) + "/" + wal_name).c_str(), R_OK) == 0;
  if (result.outcome != GetOutcome::found && opt.open_store)
    if (auto answer = answer_from_listings(wal_name, segment, local_copy, cfg, opt)) return *answer;

  std::vector<repo::Repository> own;
  for (const auto& rc : opt.opened ? std::vector<RepoConfig>{} : cfg.repos) {
    try {
      own.push_back(open_repo(rc));
    } catch (const Error& e) {
      result.problems.push_back(e.what());
    }
  }
  const std::vector<repo::Repository>& repos = opt.opened ? *opt.opened : own;
  if (repos.empty()) {
    if (result.outcome != GetOutcome::found) result.outcome = GetOutcome::unavailable;
    return result;
  }
  std::vector<repo::KnownCluster> known;
  for (const auto& r : repos) {
    try {
      known.push_back(repo::known_for_data_directory(
          r, opt.cluster_name, opt.data_directory.empty() ? working_directory() : opt.data_directory));
    } catch (const Error&) {
      known.emplace_back();  // a repository that cannot be listed fails its fetch and says why
    }
  }
  Source source{repos, known};

  // Prefetch the next segments of this timeline while (or after) this one is fetched.
  std::vector<std::string> prefetch;
  if (segment && opt.prefetch > 0) {
    mkdir(spool.c_str(), 0700);
    for (int i = 1; i <= opt.prefetch; ++i) {
      std::string next = pg::segment_file_name(segment->timeline, segment->segno + static_cast<std::uint64_t>(i),
                                               opt.segment_bytes);
      if (access((spool + "/" + next).c_str(), F_OK) != 0) prefetch.push_back(next);
    }
  }
  auto fetch_asked = [&] {
    if (result.outcome == GetOutcome::found) return;
    bool damaged = false;
    bool other_cluster = false;
    auto content = source.fetch(wal_name, &result.from_repo, &result.problems, &damaged, &other_cluster);
    // The newest segment of a timeline may exist only as what wal-stream has received of it so far:
    // served zero-padded, as PostgreSQL pads a partial segment, so recovery replays up to its end.
    // Only ever the newest segment of its timeline (see fetch_newest_streamed_segment): a partial
    // never stands in for a segment missing between archived ones.
    if (!content && segment && !damaged) {
      for (const auto& r : repos) {
        try {
          content = repo::fetch_newest_streamed_segment(r, wal_name, opt.segment_bytes);
        } catch (const Error& e) {
          damaged = true;
          result.problems.push_back(e.what());
        }
        if (content) {
          result.from_repo = "repository '" + r.name() + "' (streamed, partial)";
          break;
        }
      }
    }
    if (content) {
      write_atomically(dest, *content);
      result.outcome = GetOutcome::found;
    } else {
      // Absent only if every repository was asked and none had it, intact or not.
      result.outcome = (damaged || repos.size() < cfg.repos.size()) ? GetOutcome::unavailable : GetOutcome::absent;
      // Another cluster's segment under this name is where this cluster's WAL ends: no hole.
      if (result.outcome == GetOutcome::absent && segment && !local_copy && !other_cluster) {
        for (const auto& r : repos) {
          if (auto problem = hole(repo::list_wal(r, opt.segment_bytes), *segment, wal_name, r.describe())) {
            result.outcome = GetOutcome::unavailable;
            result.problems.push_back(*problem);
            break;
          }
        }
      }
    }
  };
  with_work_ahead(prefetch.size(), fetch_asked, [&](std::size_t i) {
    if (auto content = source.fetch(prefetch[i], nullptr, nullptr, nullptr))
      write_atomically(spool + "/" + prefetch[i], *content);
  });
  return result;
}

}  // namespace pgdr::archive
