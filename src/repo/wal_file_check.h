// What a file must be to be archived under a WAL file name, and to be handed back to PostgreSQL.
// The name alone (classify_wal_file) does not make a file WAL: an empty file, zeros, text or
// another cluster's segment stored under a segment name would be refused forever afterwards as
// "different content", and served to recovery. archive-push checks before storing anything,
// archive-get before writing to PostgreSQL's destination, verify every stored object.
//
// The checks read only the start of a file (wal_check_prefix_bytes) and its size, so verify can
// apply them to objects it streams. Pure functions but known_cluster (which reads the repository);
// all thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "repo/repository.h"
#include "repo/wal_archive.h"

namespace pgdr::repo {

// What pgdr knows of the cluster whose WAL a repository archives; each member unknown when unset.
struct KnownCluster {
  // WAL of any of these is this cluster's: after a major upgrade (a new system identifier under the
  // same cluster name) a repository rightly holds the WAL of both. Empty: unknown.
  std::set<std::uint64_t> system_identifiers;
  std::optional<std::uint64_t> segment_bytes;
  std::string source;  // where it was learnt, for messages: "known from snapshot ID in repository 'local'"
};

// Learnt from the repository itself: the system identifiers of every snapshot of cluster_name (of
// any cluster when cluster_name is empty) and the segment size of the newest, else the WAL
// receiver's stream/status. Damaged info objects are passed over (verify reports them). Costs a
// listing of snapshots/ and the info objects' reads.
KnownCluster known_cluster(const Repository& repo, const std::string& cluster_name);

// For archive-push and archive-get, which PostgreSQL runs in the data directory of the cluster
// that pushes or recovers: when data_dir holds a readable pg_control, its system identifier alone
// (a cluster upgraded since the newest snapshot pushes WAL no snapshot knows yet; a restored old
// snapshot recovers WAL older than the newest snapshot's), with the segment size of the newest
// snapshot when it is of that identifier (one listing and one info read); otherwise known_cluster.
KnownCluster known_for_data_directory(const Repository& repo, const std::string& cluster_name,
                                      const std::string& data_dir);

// True when content fails wal_file_problem only because its system identifier is none of known's:
// sound WAL of another cluster. After a major upgrade the new cluster's segments continue the old
// one's names, so recovery of an old snapshot meets them at the end of its own WAL: for it they
// are the end of the archive, not damage.
bool is_other_clusters_wal(std::string_view name, ByteView content, const KnownCluster& known);

// How many bytes from the start of a file of kind the checks need: a segment's first page, a text
// file whole (larger ones are refused).
std::size_t wal_check_prefix_bytes(WalFileKind kind);

// Why content may not be stored or served under name, one line without the name, or nullopt.
// head holds the first min(size_bytes, wal_check_prefix_bytes(kind)) bytes of the content.
// Segments and partial segments (full-size, as PostgreSQL and pg_receivewal write them): size
// equal to the segment size; a first page header of a supported major with the long header, a
// valid segment size (equal to known's), the page address of the name's position, a timeline no
// later than the name's, and known's system identifier. History files: text lines of the history
// format. Backup history files: text with a START WAL LOCATION line naming this segment.
std::optional<std::string> wal_file_problem(std::string_view name, ByteView head, std::uint64_t size_bytes,
                                            const KnownCluster& known);
inline std::optional<std::string> wal_file_problem(std::string_view name, ByteView content, const KnownCluster& known) {
  return wal_file_problem(name, content, content.size(), known);
}

}  // namespace pgdr::repo
