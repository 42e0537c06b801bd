// Block-reference summaries of archived WAL segments (pg/segment_summary.h), one sealed object
// beside each segment it describes:
//
//   wal/<timeline, 8 hex>/<segment name>.summary
//   plaintext = pg::encode_segment_summary(summary)
//
// A summary is derived data: it can always be rebuilt from the segment (and the segment before it,
// for the head), so writing one never decides whether a push succeeded, and a damaged one is a
// warning, not data loss. It is written atomically like every object (temporary name, fsync,
// rename), and may be replaced: a summary rebuilt later with a complete head is a better one of the
// same segment. Names end in ".summary", which no WAL file name does, so classify_wal_file() and
// every lister built on it pass them over. All functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "pg/segment_summary.h"
#include "repo/repository.h"

namespace pgdr::repo {

inline constexpr std::string_view kSummarySuffix = ".summary";

// "wal/00000001/000000010000000000000003.summary"; Error(usage) when segment_name is no segment's.
std::string summary_object(std::string_view segment_name);
// The segment a file name under wal/<timeline>/ summarises, or nullopt when it is not a summary's.
std::optional<std::string> summarized_segment(std::string_view file_name);

void store_segment_summary(const Repository& repo, const pg::SegmentSummary& summary);
bool has_segment_summary(const Repository& repo, const std::string& segment_name);
// nullopt when no summary is stored. Throws Error(corrupt) "corrupt WAL summary OBJECT in REPO
// (why)" when it does not authenticate or decode, or describes another segment. Adds the
// plaintext length read to *bytes_read when given.
std::optional<pg::SegmentSummary> read_segment_summary(const Repository& repo, const std::string& segment_name,
                                                       std::uint64_t* bytes_read = nullptr);

// Every summary object under wal/ as (segment name, object name), by name only.
std::vector<std::pair<std::string, std::string>> list_summaries(const storage::Storage& store);

// Summarises segment_name (content: the whole segment; previous: the segment before it, whole or
// its last pages as pg::summarize_segment takes it, when at hand) and stores the summary in each of repos that lacks one (all of them when
// only_missing is false). Never throws for the summary itself: returns one warning line naming
// the segment and what failed, nullopt when every repository has its summary. A previous segment
// that turns out not to precede this one is dropped and the summary built without it.
std::optional<std::string> summarize_into(const std::vector<const Repository*>& repos,
                                          const std::string& segment_name, ByteView content,
                                          std::optional<ByteView> previous, bool only_missing);

}  // namespace pgdr::repo
