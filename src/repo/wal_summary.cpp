#include "repo/wal_summary.h"

#include <exception>

#include "core/error.h"
#include "repo/sealed_stream.h"
#include "repo/wal_archive.h"

namespace pgdr::repo {

std::string summary_object(std::string_view segment_name) {
  if (classify_wal_file(segment_name) != WalFileKind::segment)
    throw Error(ErrorKind::usage, "'" + std::string(segment_name) + "' is not a WAL segment name");
  return wal_object(segment_name) + std::string(kSummarySuffix);
}

std::optional<std::string> summarized_segment(std::string_view file_name) {
  if (!file_name.ends_with(kSummarySuffix)) return std::nullopt;
  std::string_view segment = file_name.substr(0, file_name.size() - kSummarySuffix.size());
  if (classify_wal_file(segment) != WalFileKind::segment) return std::nullopt;
  return std::string(segment);
}

void store_segment_summary(const Repository& repo, const pg::SegmentSummary& summary) {
  write_sealed_object(repo.store(), summary_object(summary.segment), repo.key(), pg::encode_segment_summary(summary));
}

bool has_segment_summary(const Repository& repo, const std::string& segment_name) {
  return repo.store().stat(summary_object(segment_name)).has_value();
}

std::optional<pg::SegmentSummary> read_segment_summary(const Repository& repo, const std::string& segment_name,
                                                       std::uint64_t* bytes_read) {
  std::string object = summary_object(segment_name);
  auto bad = [&](const std::string& why) {
    return Error(ErrorKind::corrupt, "corrupt WAL summary " + object + " in " + repo.describe() + " (" + why + ")");
  };
  std::optional<Bytes> bytes;
  try {
    bytes = read_sealed_object(repo.store(), object, repo.key());
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::corrupt) throw;
    throw bad(e.what());
  }
  if (!bytes) return std::nullopt;
  if (bytes_read) *bytes_read += bytes->size();
  pg::SegmentSummary s;
  try {
    s = pg::decode_segment_summary(*bytes, object);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::corrupt) throw;
    throw bad(e.what());
  }
  // The AAD binds the bytes to the object name; a writer's bug could still have sealed another
  // segment's summary here, and a map built on it would skip this segment's changes.
  if (s.segment != segment_name) throw bad("describes " + s.segment);
  return s;
}

std::vector<std::pair<std::string, std::string>> list_summaries(const storage::Storage& store) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& o : store.list(kWalDir)) {
    auto segment = summarized_segment(o.path.substr(o.path.rfind('/') + 1));
    if (segment && summary_object(*segment) == o.path) out.emplace_back(*segment, o.path);
  }
  return out;
}

std::optional<std::string> summarize_into(const std::vector<const Repository*>& repos,
                                          const std::string& segment_name, ByteView content,
                                          std::optional<ByteView> previous, bool only_missing) {
  std::vector<const Repository*> todo;
  try {
    for (const auto* r : repos)
      if (!only_missing || !has_segment_summary(*r, segment_name)) todo.push_back(r);
  } catch (const Error& e) {
    return "unable to look for the WAL summary of " + segment_name + ": " + e.what();
  }
  if (todo.empty()) return std::nullopt;
  std::optional<pg::SegmentSummary> summary;
  std::string why;
  // A previous segment that does not decode as this one's predecessor (a file of pg_wal being
  // recycled, say) must not cost the summary: the head is then left out and the summary says so.
  for (auto prev : {previous, std::optional<ByteView>{}}) {
    try {
      summary = pg::summarize_segment(segment_name, content, prev, content.size());
      break;
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (!previous) break;
  }
  if (!summary) return "unable to summarise WAL segment " + segment_name + ": " + why;
  std::string failed;
  for (const auto* r : todo) {
    try {
      store_segment_summary(*r, *summary);
    } catch (const Error& e) {
      if (failed.empty()) failed = "unable to store the WAL summary of " + segment_name + " in " + r->describe() + ": " + e.what();
    }
  }
  if (!failed.empty()) return failed;
  return std::nullopt;
}

}  // namespace pgdr::repo
