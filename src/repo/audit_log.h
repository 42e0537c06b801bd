// The audit log: an append-only, hash-chained record in the repository of every backup, restore,
// verify and drill (who, when, what, result). Each entry is one object audit/<sequence number, 16
// digits>, sealed under the data key with its name in the additional data, and carries the SHA-256
// of the previous entry's plaintext, so an entry that is changed, moved, removed from the middle or
// replaced by another valid entry breaks the chain. Appending creates the next name exclusively and
// retries on a lost race, so concurrent appenders (a backup and a verify, two hosts) never fork
// the chain. Never holds a secret.
//
// All functions may run concurrently, in this process or others, against one repository.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace pgdr::repo {

inline constexpr std::string_view kAuditDir = "audit";

struct AuditEntry {
  std::uint64_t seq = 0;    // 1, 2, ...: set by append_audit
  std::string time;         // ISO-8601 UTC to the millisecond: set by append_audit when empty
  std::string user;         // OS user: set by append_audit when empty
  std::string host;         // host name: set by append_audit when empty
  std::string command;      // "backup", "restore", "verify", "drill"
  std::string what;         // what it acted on, e.g. "snapshot 20261126T010203.004Z-3fa2"
  std::string result;       // "OK", "ERROR", "PASS", "WARN", "FAIL"
  std::string details;      // one line: figures or the error message (never a secret)
  std::string prev_sha256;  // hex SHA-256 of the previous entry's plaintext; 64 zeros for the first
};

// "audit/0000000000000042".
std::string audit_object(std::uint64_t seq);

// Appends entry as the next one of the chain; returns it as written (seq, time, who, prev_sha256
// filled in). Throws Error(corrupt) when the current last entry cannot be read, Error(locked)
// when 100 attempts in a row lose the race for the next name.
AuditEntry append_audit(const Repository& repo, AuditEntry entry);

struct AuditLog {
  std::vector<AuditEntry> entries;    // every readable entry, by sequence number
  std::vector<std::string> problems;  // one line each: what breaks the chain and where
  bool intact() const { return problems.empty(); }
};

// Reads and checks the whole chain: every entry authentic, numbered 1..N without a hole, each
// naming its predecessor's digest. Deleting the newest entries is not detectable from the
// repository alone (see docs/REPOSITORY_FORMAT.md).
AuditLog read_audit(const Repository& repo);

// The sequence numbers present under audit/, ascending (names only: no entry is read).
std::vector<std::uint64_t> list_audit_seqs(const Repository& repo);
// One entry, authenticated under its name; nullopt when it is not there. Throws Error(corrupt)
// when it does not authenticate or parse.
std::optional<AuditEntry> read_audit_entry(const Repository& repo, std::uint64_t seq);

// Sealing and digests, exposed for tests: the stored bytes of entry under name, and back.
Bytes seal_audit_entry(const MasterKey& key, const std::string& object, const std::string& plaintext);
std::string open_audit_entry(const MasterKey& key, const std::string& object, ByteView stored);
std::string audit_entry_json(const AuditEntry& e);

// The OS user and host running this process, for "who".
std::string current_user_name();
std::string current_host_name();

}  // namespace pgdr::repo
