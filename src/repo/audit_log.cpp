#include "repo/audit_log.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "core/json_integer.h"
#include "core/time_format.h"
#include "io/aead.h"
#include "io/sha256.h"

namespace pgdr::repo {

namespace {

constexpr std::string_view kAuditMagic = "PGDRAUD1";
constexpr std::string_view kAadAudit = "pgdr-v1 audit ";
constexpr int kAppendAttempts = 100;
const std::string kNoPrevious(64, '0');

Bytes aad_for(const std::string& object) { return to_bytes(std::string(kAadAudit) + object); }

// Sequence number from "audit/0000000000000042"; nullopt for any other name.
std::optional<std::uint64_t> parse_seq(const std::string& path) {
  std::string prefix = std::string(kAuditDir) + "/";
  if (!path.starts_with(prefix)) return std::nullopt;
  std::string digits = path.substr(prefix.size());
  if (digits.size() != 16 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::uint64_t v = std::stoull(digits);
  if (v == 0) return std::nullopt;
  return v;
}

AuditEntry parse_entry(const std::string& plaintext, const std::string& object) {
  try {
    auto j = nlohmann::json::parse(plaintext);
    if (j.at("format").get<std::string>() != "pgdr-audit-entry")
      throw Error(ErrorKind::corrupt, "not an audit entry");
    if (integer_at<int>(j, "version") != 1)
      throw Error(ErrorKind::corrupt, "audit entry version " + std::to_string(integer_at<int>(j, "version")) +
                                          ", this pgdr reads version 1");
    AuditEntry e;
    e.seq = integer_at<std::uint64_t>(j, "seq");
    e.time = j.at("time").get<std::string>();
    e.user = j.at("user").get<std::string>();
    e.host = j.at("host").get<std::string>();
    e.command = j.at("command").get<std::string>();
    e.what = j.at("what").get<std::string>();
    e.result = j.at("result").get<std::string>();
    e.details = j.at("details").get<std::string>();
    e.prev_sha256 = j.at("prev_sha256").get<std::string>();
    return e;
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorKind::corrupt, "corrupt audit entry " + object + " (unreadable JSON)");
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt, "corrupt audit entry " + object + " (" + e.what() + ")");
  }
}

std::vector<std::uint64_t> list_seqs(const storage::Storage& store) {
  std::vector<std::uint64_t> seqs;
  for (const auto& o : store.list(kAuditDir))
    if (auto s = parse_seq(o.path)) seqs.push_back(*s);
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

// The plaintext of entry seq, or nullopt when the object does not exist.
std::optional<std::string> read_plaintext(const Repository& repo, std::uint64_t seq) {
  std::string object = audit_object(seq);
  auto stored = repo.store().read(object);
  if (!stored) return std::nullopt;
  try {
    return open_audit_entry(repo.key(), object, *stored);
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt, "corrupt audit entry " + object + " in " + repo.describe() + " (" + e.what() + ")");
  }
}

}  // namespace

std::string audit_object(std::uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(kAuditDir) + "/" + std::string(16 - std::min<std::size_t>(16, digits.size()), '0') + digits;
}

std::string audit_entry_json(const AuditEntry& e) {
  nlohmann::json j = {{"format", "pgdr-audit-entry"}, {"version", 1},        {"seq", e.seq},
                      {"time", e.time},               {"user", e.user},      {"host", e.host},
                      {"command", e.command},         {"what", e.what},      {"result", e.result},
                      {"details", e.details},         {"prev_sha256", e.prev_sha256}};
  return j.dump();
}

Bytes seal_audit_entry(const MasterKey& key, const std::string& object, const std::string& plaintext) {
  Bytes out = to_bytes(kAuditMagic);
  io::Aead aead(key.data_key().view());
  aead.seal(as_bytes(plaintext), aad_for(object), out);
  return out;
}

std::string open_audit_entry(const MasterKey& key, const std::string& object, ByteView stored) {
  if (stored.size() < kAuditMagic.size() + io::kAeadOverheadBytes ||
      as_chars(stored.first(kAuditMagic.size())) != kAuditMagic)
    throw Error(ErrorKind::corrupt, "not an audit entry");
  io::Aead aead(key.data_key().view());
  Bytes plain;
  try {
    aead.open(stored.subspan(kAuditMagic.size()), aad_for(object), plain);
  } catch (const Error&) {
    throw Error(ErrorKind::corrupt, "fails authentication");
  }
  return std::string(as_chars(plain));
}

std::string current_user_name() {
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
  return "uid " + std::to_string(geteuid());
}

std::string current_host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

AuditEntry append_audit(const Repository& repo, AuditEntry entry) {
  if (entry.time.empty()) entry.time = iso8601_ms(std::chrono::system_clock::now());
  if (entry.user.empty()) entry.user = current_user_name();
  if (entry.host.empty()) entry.host = current_host_name();
  for (int attempt = 0; attempt < kAppendAttempts; ++attempt) {
    auto seqs = list_seqs(repo.store());
    std::uint64_t last = seqs.empty() ? 0 : seqs.back();
    // A listing can lag behind a racing appender's create: walk forward to the true end.
    std::string prev_plain;
    while (true) {
      if (last > 0 && prev_plain.empty()) {
        auto p = read_plaintext(repo, last);
        if (!p) throw Error(ErrorKind::corrupt, "audit entry " + audit_object(last) + " vanished in " + repo.describe());
        prev_plain = std::move(*p);
      }
      auto next = read_plaintext(repo, last + 1);
      if (!next) break;
      ++last;
      prev_plain = std::move(*next);
    }
    entry.seq = last + 1;
    entry.prev_sha256 = last == 0 ? kNoPrevious : to_hex(io::Sha256::of(as_bytes(prev_plain)));
    std::string object = audit_object(entry.seq);
    if (repo.store().create_exclusive(object, seal_audit_entry(repo.key(), object, audit_entry_json(entry))))
      return entry;
  }
  throw Error(ErrorKind::locked, "unable to append to the audit log in " + repo.describe() +
                                     " (lost the race for the next entry " + std::to_string(kAppendAttempts) + " times)");
}

std::vector<std::uint64_t> list_audit_seqs(const Repository& repo) { return list_seqs(repo.store()); }

std::optional<AuditEntry> read_audit_entry(const Repository& repo, std::uint64_t seq) {
  auto plain = read_plaintext(repo, seq);
  if (!plain) return std::nullopt;
  return parse_entry(*plain, audit_object(seq));
}

AuditLog read_audit(const Repository& repo) {
  AuditLog log;
  std::uint64_t expected = 1;
  std::string prev_digest = kNoPrevious;
  for (std::uint64_t seq : list_seqs(repo.store())) {
    std::string object = audit_object(seq);
    if (seq != expected) {
      log.problems.push_back("entries " + audit_object(expected) + " to " + audit_object(seq - 1) + " are missing");
      prev_digest.clear();  // unknown: the next entry's link cannot be checked
    }
    expected = seq + 1;
    std::string plain;
    try {
      auto p = read_plaintext(repo, seq);
      if (!p) {
        log.problems.push_back("entry " + object + " vanished while being read");
        prev_digest.clear();
        continue;
      }
      plain = std::move(*p);
      AuditEntry e = parse_entry(plain, object);
      if (e.seq != seq) log.problems.push_back("entry " + object + " claims sequence number " + std::to_string(e.seq));
      if (!prev_digest.empty() && e.prev_sha256 != prev_digest)
        log.problems.push_back("entry " + object + " does not follow the entry before it (chain broken: prev_sha256 " +
                               e.prev_sha256.substr(0, 16) + "..., expected " + prev_digest.substr(0, 16) + "...)");
      log.entries.push_back(std::move(e));
      prev_digest = to_hex(io::Sha256::of(as_bytes(plain)));
    } catch (const Error& e) {
      log.problems.push_back(e.what());
      prev_digest.clear();
    }
  }
  return log;
}

}  // namespace pgdr::repo
