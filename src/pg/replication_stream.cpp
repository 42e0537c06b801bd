#include "pg/replication_stream.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "pg/connection.h"
#include "pg/version.h"

namespace pgdr::pg {
namespace {

// Replication messages carry integers in network byte order (big-endian).
std::uint64_t get_u64be(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
void put_u64be(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Microseconds since 2000-01-01 00:00:00 UTC, PostgreSQL's timestamp epoch.
std::int64_t pg_now_us() {
  constexpr std::int64_t kPgEpochUnixUs = 946684800LL * 1000000;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(now).count() - kPgEpochUnixUs;
}

std::string first_line(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.remove_prefix(1);
  std::string_view line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  return std::string(line);
}

std::string scrub(std::string message, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret, at + 8))
      message.replace(at, secret.size(), "********");
  }
  return message;
}

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// A decimal number from the server, or nullopt.
std::optional<std::uint64_t> parse_number(const std::string& text, std::size_t* used = nullptr) {
  try {
    std::size_t n = 0;
    std::uint64_t v = std::stoull(text, &n);
    if (used)
      *used = n;
    else if (n != text.size())
      return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

struct ReplicationConnection::Impl {
  PGconn* conn = nullptr;
  std::string conninfo;  // for the ordinary connection a 14 server needs to read a slot; never printed
  std::string description;
  std::vector<std::string> secrets;

  ~Impl() {
    if (conn != nullptr) PQfinish(conn);
  }

  std::string failure(const PGresult* res) const {
    if (res != nullptr) {
      const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
      const char* sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      if (primary != nullptr) {
        std::string msg = first_line(primary);
        if (sqlstate != nullptr) msg.append(" (SQLSTATE ").append(sqlstate).append(")");
        return scrub(msg, secrets);
      }
    }
    std::string text = first_line(PQerrorMessage(conn));
    return scrub(text.empty() ? "connection lost" : text, secrets);
  }

  ResultPtr run(const std::string& command, ExecStatusType expected) {
    ResultPtr res(PQexec(conn, command.c_str()), &PQclear);
    if (!res || PQresultStatus(res.get()) != expected)
      throw Error(ErrorKind::postgres, "replication command " + command.substr(0, command.find(' ')) + " failed on " +
                                           description + " (" + failure(res.get()) + ")");
    return res;
  }

  static std::optional<std::string> value(const PGresult* res, int row, int col) {
    if (row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col)) return std::nullopt;
    return std::string(PQgetvalue(res, row, col), static_cast<std::size_t>(PQgetlength(res, row, col)));
  }
};

ReplicationConnection::ReplicationConnection(const std::string& conninfo, const std::string& application_name)
    : impl_(std::make_unique<Impl>()) {
  impl_->conninfo = conninfo;
  impl_->description = redact_conninfo(conninfo);
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (options == nullptr) {
    if (parse_error != nullptr) PQfreemem(parse_error);
    throw Error(ErrorKind::config, "unable to parse the connection string '" + impl_->description + "'");
  }
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    std::string_view k = o->keyword;
    if (o->val != nullptr && k.size() >= 8 && k.substr(k.size() - 8) == "password") impl_->secrets.emplace_back(o->val);
  }
  PQconninfoFree(options);

  // Later keywords override what the expanded conninfo sets: replication always, and the
  // application name that synchronous_standby_names refers to.
  std::vector<const char*> keywords = {"dbname", "replication", "fallback_application_name"};
  std::vector<const char*> values = {conninfo.c_str(), "true", "pgdr"};
  if (!application_name.empty()) {
    keywords.push_back("application_name");
    values.push_back(application_name.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  impl_->conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (impl_->conn == nullptr)
    throw Error(ErrorKind::network,
                "unable to open a replication connection to " + impl_->description + " (out of memory)");
  if (PQstatus(impl_->conn) != CONNECTION_OK) {
    std::string why = scrub(first_line(PQerrorMessage(impl_->conn)), impl_->secrets);
    std::string hint;
    ErrorKind kind = ErrorKind::network;
    if (why.find("replication role") != std::string::npos || why.find("permission denied") != std::string::npos) {
      kind = ErrorKind::postgres;
      hint =
          "the role needs the REPLICATION attribute (ALTER ROLE name REPLICATION) and a pg_hba.conf line for "
          "database 'replication'";
    } else if (why.find("pg_hba.conf") != std::string::npos) {
      kind = ErrorKind::postgres;
      hint = "allow replication connections for this role and host in pg_hba.conf (database 'replication')";
    }
    throw Error(kind, "unable to open a replication connection to " + impl_->description + " (" + why + ")", hint);
  }
  require_supported_version(PQserverVersion(impl_->conn), impl_->description);
}

ReplicationConnection::~ReplicationConnection() = default;

const std::string& ReplicationConnection::describe() const { return impl_->description; }

SystemIdentity ReplicationConnection::identify_system() {
  auto res = impl_->run("IDENTIFY_SYSTEM", PGRES_TUPLES_OK);
  SystemIdentity id;
  auto sysid = Impl::value(res.get(), 0, 0);
  auto tli = Impl::value(res.get(), 0, 1);
  auto pos = Impl::value(res.get(), 0, 2);
  auto lsn = pos ? parse_lsn(*pos) : std::nullopt;
  auto tli_number = tli ? parse_number(*tli) : std::nullopt;
  if (!sysid || !tli_number || !lsn)
    throw Error(ErrorKind::postgres, "unexpected answer to IDENTIFY_SYSTEM from " + impl_->description);
  id.system_identifier = *sysid;
  id.timeline = static_cast<std::uint32_t>(*tli_number);
  id.wal_flush = *lsn;
  return id;
}

std::uint64_t ReplicationConnection::wal_segment_bytes() {
  auto res = impl_->run("SHOW wal_segment_size", PGRES_TUPLES_OK);
  auto v = Impl::value(res.get(), 0, 0);
  if (!v) throw Error(ErrorKind::postgres, "unexpected answer to SHOW wal_segment_size from " + impl_->description);
  std::size_t used = 0;
  auto parsed = parse_number(*v, &used);
  if (!parsed) throw Error(ErrorKind::postgres, "unexpected wal_segment_size '" + *v + "' from " + impl_->description);
  std::uint64_t n = *parsed;
  std::string unit = v->substr(used);
  if (unit == "kB")
    n <<= 10;
  else if (unit == "MB")
    n <<= 20;
  else if (unit == "GB")
    n <<= 30;
  else if (!unit.empty())
    throw Error(ErrorKind::postgres, "unexpected wal_segment_size '" + *v + "' from " + impl_->description);
  return n;
}

std::pair<std::string, Bytes> ReplicationConnection::timeline_history(std::uint32_t timeline) {
  auto res = impl_->run("TIMELINE_HISTORY " + std::to_string(timeline), PGRES_TUPLES_OK);
  auto name = Impl::value(res.get(), 0, 0);
  auto content = Impl::value(res.get(), 0, 1);
  if (!name || !content)
    throw Error(ErrorKind::postgres,
                "unexpected answer to TIMELINE_HISTORY " + std::to_string(timeline) + " from " + impl_->description);
  return {*name, Bytes(content->begin(), content->end())};
}

SlotState ReplicationConnection::read_slot(const std::string& slot) {
  if (!has_read_replication_slot(major_of(PQserverVersion(impl_->conn)))) return read_slot_by_sql(slot);
  auto res = impl_->run("READ_REPLICATION_SLOT " + slot, PGRES_TUPLES_OK);
  SlotState s;
  auto type = Impl::value(res.get(), 0, 0);
  if (!type) return s;  // a row of NULLs: no such slot
  s.exists = true;
  s.type = *type;
  if (auto lsn = Impl::value(res.get(), 0, 1)) s.restart_lsn = parse_lsn(*lsn);
  if (auto tli = Impl::value(res.get(), 0, 2))
    if (auto n = parse_number(*tli)) s.restart_timeline = static_cast<std::uint32_t>(*n);
  return s;
}

SlotState ReplicationConnection::read_slot_by_sql(const std::string& slot) {
  Connection sql(impl_->conninfo);
  QueryResult r = sql.query("SELECT slot_type, restart_lsn::text FROM pg_replication_slots WHERE slot_name = $1", {slot});
  SlotState s;
  if (r.rows.empty() || !r.rows[0][0]) return s;
  s.exists = true;
  s.type = *r.rows[0][0];
  if (r.rows[0][1]) s.restart_lsn = parse_lsn(*r.rows[0][1]);
  if (!s.restart_lsn) return s;
  // READ_REPLICATION_SLOT's restart_tli: the timeline whose stretch of WAL holds restart_lsn, from
  // the current timeline's history (each line: parent timeline, where it was left, why).
  const std::uint32_t current = identify_system().timeline;
  s.restart_timeline = current;
  if (current <= 1) return s;
  const Bytes history = timeline_history(current).second;
  std::string_view text(reinterpret_cast<const char*>(history.data()), history.size());
  while (!text.empty()) {
    std::string_view line = text.substr(0, text.find('\n'));
    text.remove_prefix(std::min(text.size(), line.size() + 1));
    std::size_t used = 0;
    auto tli = parse_number(std::string(line), &used);
    if (!tli || used >= line.size()) continue;  // comments and blank lines
    std::string_view rest = line.substr(used);
    while (!rest.empty() && (rest.front() == '\t' || rest.front() == ' ')) rest.remove_prefix(1);
    auto switchpoint = parse_lsn(rest.substr(0, rest.find_first_of("\t ")));
    if (switchpoint && *s.restart_lsn < *switchpoint) {
      s.restart_timeline = static_cast<std::uint32_t>(*tli);
      break;
    }
  }
  return s;
}

void ReplicationConnection::create_physical_slot(const std::string& slot) {
  impl_->run("CREATE_REPLICATION_SLOT " + slot + " PHYSICAL RESERVE_WAL", PGRES_TUPLES_OK);
}

void ReplicationConnection::start_replication(const std::string& slot, Lsn start, std::uint32_t timeline) {
  impl_->run(
      "START_REPLICATION SLOT " + slot + " PHYSICAL " + to_string(start) + " TIMELINE " + std::to_string(timeline),
      PGRES_COPY_BOTH);
}

StreamMessage ReplicationConnection::receive(int timeout_ms) {
  StreamMessage msg;
  char* buf = nullptr;
  int n = PQgetCopyData(impl_->conn, &buf, /*async=*/1);
  if (n == 0) {
    if (timeout_ms > 0) {
      pollfd p{PQsocket(impl_->conn), POLLIN, 0};
      int rc = poll(&p, 1, timeout_ms);
      if (rc < 0 && errno != EINTR)
        throw_errno("unable to wait for the replication stream from", impl_->description, errno);
      if (rc <= 0) return msg;
    }
    if (PQconsumeInput(impl_->conn) == 0)
      throw Error(ErrorKind::network,
                  "replication stream from " + impl_->description + " broke (" + impl_->failure(nullptr) + ")");
    n = PQgetCopyData(impl_->conn, &buf, 1);
    if (n == 0) return msg;
  }
  if (n == -1) {
    msg.kind = StreamMessage::Kind::end_of_copy;
    return msg;
  }
  if (n < 0)
    throw Error(ErrorKind::network,
                "replication stream from " + impl_->description + " broke (" + impl_->failure(nullptr) + ")");
  std::unique_ptr<char, decltype(&PQfreemem)> owned(buf, &PQfreemem);
  auto bad = [&] {
    return Error(ErrorKind::postgres, "unexpected replication message from " + impl_->description + " (type '" +
                                          std::string(1, buf[0]) + "', " + std::to_string(n) + " bytes)");
  };
  if (buf[0] == 'w') {
    // 'w' dataStart walEnd sendTime data...
    if (n < 25) throw bad();
    msg.kind = StreamMessage::Kind::wal_data;
    msg.data_start = Lsn{get_u64be(buf + 1)};
    msg.server_wal_end = Lsn{get_u64be(buf + 9)};
    msg.data.assign(reinterpret_cast<const std::uint8_t*>(buf) + 25, reinterpret_cast<const std::uint8_t*>(buf) + n);
  } else if (buf[0] == 'k') {
    // 'k' walEnd sendTime replyRequested
    if (n < 18) throw bad();
    msg.kind = StreamMessage::Kind::keepalive;
    msg.server_wal_end = Lsn{get_u64be(buf + 1)};
    msg.reply_requested = buf[17] != 0;
  } else {
    throw bad();
  }
  return msg;
}

void ReplicationConnection::send_status(Lsn written, Lsn flushed, bool reply_requested) {
  std::string m = "r";
  put_u64be(m, written.value);
  put_u64be(m, flushed.value);
  put_u64be(m, 0);  // applied: nothing is replayed here (InvalidXLogRecPtr)
  put_u64be(m, static_cast<std::uint64_t>(pg_now_us()));
  m.push_back(reply_requested ? 1 : 0);
  if (PQputCopyData(impl_->conn, m.data(), static_cast<int>(m.size())) <= 0 || PQflush(impl_->conn) != 0)
    throw Error(ErrorKind::network,
                "unable to send a status update to " + impl_->description + " (" + impl_->failure(nullptr) + ")");
}

std::optional<NextTimeline> ReplicationConnection::finish_copy() {
  // The server sent CopyDone; answer with ours, then read the result sets that follow.
  if (PQputCopyEnd(impl_->conn, nullptr) <= 0 || PQflush(impl_->conn) != 0)
    throw Error(ErrorKind::network, "unable to end the replication stream from " + impl_->description + " (" +
                                        impl_->failure(nullptr) + ")");
  std::optional<NextTimeline> next;
  bool failed = false;
  std::string why;
  while (PGresult* raw = PQgetResult(impl_->conn)) {
    ResultPtr res(raw, &PQclear);
    ExecStatusType st = PQresultStatus(raw);
    if (st == PGRES_TUPLES_OK) {
      // next_tli | next_tli_startpos
      auto tli = Impl::value(raw, 0, 0);
      auto pos = Impl::value(raw, 0, 1);
      auto lsn = pos ? parse_lsn(*pos) : std::nullopt;
      auto tli_number = tli ? parse_number(*tli) : std::nullopt;
      if (!tli_number || !lsn) {
        failed = true;
        why = "unreadable end-of-timeline result";
        continue;
      }
      next = NextTimeline{static_cast<std::uint32_t>(*tli_number), *lsn};
    } else if (st != PGRES_COMMAND_OK && st != PGRES_COPY_IN && st != PGRES_COPY_OUT) {
      failed = true;
      why = impl_->failure(raw);
    }
  }
  if (failed)
    throw Error(ErrorKind::network, "replication stream from " + impl_->description + " ended badly (" + why + ")");
  return next;
}

}  // namespace pgdr::pg
