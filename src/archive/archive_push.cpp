#include "archive/archive_push.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "archive/work_ahead.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/test_hook.h"
#include "io/sha256.h"
#include "pg/lsn.h"
#include "pg/segment_summary.h"
#include "pg/wal_reader.h"
#include "repo/audit_log.h"
#include "repo/wal_summary.h"

namespace pgdr::archive {

namespace {

constexpr std::string_view kMarkerDir = "pgdr-archived";

// Why the object stored under name fails the checks, or nullopt when it passes them. Reads it whole:
// only done when a push meets different content.
std::optional<std::string> stored_problem(const repo::Repository& r, const std::string& name,
                                          const repo::KnownCluster& known) {
  try {
    auto stored = repo::fetch_wal_file(r, name);
    if (!stored) return std::string("it vanished");
    return repo::wal_file_problem(name, *stored, known);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::corrupt) throw;
    return std::string(e.what());
  }
}

// The segment before name as PostgreSQL still holds it in wal_dir, when it does: its last pages
// only, from which the summary's head is decoded (pg::previous_decode_start), or the whole file
// when they hold too little. Reading 64 KiB instead of the whole segment halves what a push reads
// from pg_wal. A timeline's first segment starts with its parent's pages (PostgreSQL copies them
// at the switch), whose header names the parent: the segment before is then the parent's. Only
// the head of the summary depends on it, and summarize_into() drops it when it does not precede
// name.
std::optional<Bytes> previous_in_pg_wal(const std::string& wal_dir, const std::string& name, ByteView content) {
  constexpr std::size_t kTailBytes = 64 * 1024;
  auto seg = pg::parse_segment_file_name(name, content.size());
  auto page = pg::decode_wal_page_header(content);
  if (!seg || seg->segno == 0 || !page) return std::nullopt;
  std::uint32_t timeline = page->timeline < seg->timeline ? page->timeline : seg->timeline;
  auto file = File::open_if_exists(wal_dir + "/" + pg::segment_file_name(timeline, seg->segno - 1, content.size()),
                                   O_RDONLY);
  if (!file || file->size() != content.size()) return std::nullopt;
  if (content.size() > kTailBytes) {
    Bytes tail(kTailBytes);
    if (file->read_at(tail.data(), tail.size(), content.size() - kTailBytes) != tail.size()) return std::nullopt;
    if (pg::previous_decode_start(tail)) return tail;
  }
  Bytes whole = file->read_all();
  if (whole.size() != content.size()) return std::nullopt;
  return whole;
}

std::string replace_hint(const std::string& path, const std::string& problem) {
  return "the stored object is not valid WAL (" + problem + "); once this file is known to be the real one, " +
         "replace it with: pgdr archive-push --replace-invalid " + path;
}

struct Pusher {
  const std::vector<repo::Repository>& repos;
  const std::vector<repo::KnownCluster>& known;  // per repository
  const PushOptions& opt;

  std::vector<PushResult> push_one(const std::string& path, const std::string& name) const {
    auto content = read_file(path);
    if (!content) throw Error(ErrorKind::not_found, "WAL file to archive not found: " + path);
    // Every repository's knowledge is checked before any is written: nothing is stored anywhere
    // when one of them would refuse the file.
    for (const auto& k : known)
      if (auto problem = repo::wal_file_problem(name, *content, k))
        throw Error(ErrorKind::corrupt, "refusing to archive " + path + " (" + *problem + ")");
    std::vector<PushResult> out;
    for (std::size_t i = 0; i < repos.size(); ++i) {
      const auto& r = repos[i];
      try {
        out.push_back(store(r, known[i], path, name, *content));
      } catch (const Error& e) {
        // Name the repository and the segment: the archiver's log is where the DBA will look.
        std::string msg = e.what();
        if (msg.find("repository '" + r.name() + "'") == std::string::npos)
          msg = "unable to archive " + name + " in " + r.describe() + ": " + msg;
        throw Error(e.kind(), msg, e.hint());
      }
    }
    if (repo::classify_wal_file(name) == repo::WalFileKind::segment) summarize(path, name, *content, out);
    return out;
  }

  // Only once the segment is durable everywhere: the summary is derived from it and can be rebuilt,
  // so nothing about it may fail the push. A segment pushed before (the idempotent path, or before
  // summaries existed) gets the summary it lacks.
  void summarize(const std::string& path, const std::string& name, ByteView content,
                 const std::vector<PushResult>& results) const {
    test_kill_point("archive-push-before-summary");
    bool all_already = std::all_of(results.begin(), results.end(),
                                   [](const PushResult& p) { return p.outcome == repo::PushOutcome::already_archived; });
    std::vector<const repo::Repository*> targets;
    for (const auto& r : repos) targets.push_back(&r);
    std::optional<Bytes> previous;
    try {
      previous = previous_in_pg_wal(parent_directory(path), name, content);
    } catch (const std::exception&) {
      // Read errors of the previous segment only cost the head of the summary.
    }
    auto warning = repo::summarize_into(targets, name, content,
                                        previous ? std::optional<ByteView>(*previous) : std::nullopt, all_already);
    if (warning) log_warning(*warning + " (the segment is archived; the summary is rebuilt from it when needed)");
  }

  PushResult store(const repo::Repository& r, const repo::KnownCluster& k, const std::string& path,
                   const std::string& name, ByteView content) const {
    repo::PushOutcome outcome;
    std::string unreadable;  // why the stored object's header cannot be read
    try {
      outcome = repo::store_wal_file(r, name, content);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
      if (!opt.replace_invalid) throw Error(e.kind(), e.what(), replace_hint(path, "its header cannot be read"));
      outcome = repo::PushOutcome::different_content;
      unreadable = e.what();
    }
    if (outcome != repo::PushOutcome::different_content) return {r.name(), outcome};
    auto problem = unreadable.empty() ? stored_problem(r, name, k) : std::optional<std::string>(unreadable);
    if (!opt.replace_invalid) {
      throw repo::already_archived_error(
          r, name,
          problem ? replace_hint(path, *problem)
                  : "the stored object is valid WAL too: two clusters may be archiving into one repository; check "
                    "archive_command on every server");
    }
    if (!problem)
      throw Error(ErrorKind::corrupt,
                  "refusing to replace WAL file " + name + " in " + r.describe() +
                      " (the stored object passes every check; only an invalid one is replaced)",
                  "two clusters may be archiving into one repository; check archive_command on every server");
    replace(r, name, content, *problem);
    return {r.name(), repo::PushOutcome::stored, true};
  }

  // The audit entry comes first, as expire records a removal before removing: a replacement is
  // never made without its record.
  static void replace(const repo::Repository& r, const std::string& name, ByteView content, const std::string& problem) {
    auto stored = r.store().read(repo::wal_object(name));
    repo::AuditEntry entry = repo::wal_replacement_entry(
        name, "replaced an invalid stored object (stored object sha256 " +
                  (stored ? to_hex(io::Sha256::of(*stored)) : std::string("none")) + ": " + problem +
                  ") with a valid file (content sha256 " + to_hex(io::Sha256::of(content)) + ")");
    repo::append_audit(r, entry);
    repo::overwrite_wal_file(r, name, content);
  }
};

// Segments after name that PostgreSQL has finished and queued for archiving, in order.
std::vector<std::string> ready_names_after(const std::string& wal_dir, const std::string& name, int limit) {
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

std::string marker_of(const std::string& path) {
  return parent_directory(path) + "/" + std::string(kMarkerDir) + "/" + path.substr(path.rfind('/') + 1);
}

std::vector<repo::KnownCluster> known_clusters(const std::vector<repo::Repository>& repos, const PushOptions& opt) {
  std::vector<repo::KnownCluster> known;
  for (const auto& r : repos)
    known.push_back(repo::known_for_data_directory(
        r, opt.cluster_name, opt.data_directory.empty() ? working_directory() : opt.data_directory));
  return known;
}

}  // namespace

bool consume_pushed_ahead_marker(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  if (!repo::classify_wal_file(name)) return false;
  return unlink(marker_of(path).c_str()) == 0;
}

std::vector<std::string> ready_after(const std::string& path, int limit) {
  const std::string name = path.substr(path.rfind('/') + 1);
  if (repo::classify_wal_file(name) != repo::WalFileKind::segment || limit < 1) return {};
  const std::string wal_dir = parent_directory(path);
  std::vector<std::string> out;
  for (const auto& n : ready_names_after(wal_dir, name, limit)) out.push_back(wal_dir + "/" + n);
  return out;
}

bool pushed_ahead(const std::string& path) { return access(marker_of(path).c_str(), F_OK) == 0; }

void push_ahead(const std::string& path, std::vector<repo::Repository>& repos, const PushOptions& opt) {
  const std::string name = path.substr(path.rfind('/') + 1);
  const auto known = known_clusters(repos, opt);
  const Pusher pusher{repos, known, opt};
  make_directories(parent_directory(path) + "/" + std::string(kMarkerDir), 0700);
  pusher.push_one(path, name);
  write_file_durably(marker_of(path), {}, 0600);
}

std::vector<PushResult> push(const std::string& path, std::vector<repo::Repository>& repos, const PushOptions& opt) {
  std::string name = path.substr(path.rfind('/') + 1);
  if (!repo::classify_wal_file(name))
    throw Error(ErrorKind::usage, "refusing to archive " + path + " (not a WAL segment, partial segment, timeline "
                                  "history or backup history file name)");
  std::string wal_dir = parent_directory(path);
  std::string markers = wal_dir + "/" + std::string(kMarkerDir);
  if (!opt.replace_invalid && consume_pushed_ahead_marker(path)) {
    std::vector<PushResult> out;
    for (const auto& r : repos) out.push_back({r.name(), repo::PushOutcome::already_archived});
    return out;
  }
  const auto known = known_clusters(repos, opt);
  const Pusher pusher{repos, known, opt};
  std::vector<std::string> ahead;
  if (opt.parallel > 1 && !opt.replace_invalid && repo::classify_wal_file(name) == repo::WalFileKind::segment)
    ahead = ready_names_after(wal_dir, name, opt.parallel - 1);
  if (!ahead.empty()) make_directories(markers, 0700);
  std::vector<PushResult> out;
  with_work_ahead(
      ahead.size(), [&] { out = pusher.push_one(path, name); },
      [&](std::size_t i) {
        pusher.push_one(wal_dir + "/" + ahead[i], ahead[i]);
        write_file_durably(markers + "/" + ahead[i], {}, 0600);
      });
  return out;
}

}  // namespace pgdr::archive
