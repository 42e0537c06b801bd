#include "pg/connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "core/error.h"

namespace pgdr::pg {
namespace {

constexpr std::string_view kUriPrefixes[] = {"postgresql://", "postgres://"};

bool iequals_suffix(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  text.remove_prefix(text.size() - suffix.size());
  return std::equal(text.begin(), text.end(), suffix.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

// "password" and "sslpassword" (the client key's passphrase) are both secrets.
bool is_secret_keyword(std::string_view keyword) { return iequals_suffix(keyword, "password"); }

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::optional<std::size_t> uri_prefix_length(std::string_view s) {
  for (std::string_view prefix : kUriPrefixes) {
    if (s.substr(0, prefix.size()) == prefix) return prefix.size();
  }
  return std::nullopt;
}

// URI form: scheme://[user[:password]@][hosts][/dbname][?key=value&...].
// The user part is taken to end at the last '@' before the query string, not the first as libpq
// does, so that an unencoded '@' in a password is still removed; at worst this hides more than
// the password of an odd URI, never less.
std::string redact_uri(std::string_view uri, std::size_t prefix_length) {
  const std::size_t query_at = std::min(uri.find('?', prefix_length), uri.size());
  std::string out(uri.substr(0, prefix_length));
  std::string_view rest = uri.substr(prefix_length, query_at - prefix_length);
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view user = rest.substr(0, at);
    out.append(user.substr(0, user.find(':')));
    out.append(rest.substr(at));
  } else {
    out.append(rest);
  }
  if (query_at < uri.size()) {
    std::string_view query = uri.substr(query_at + 1);
    std::string kept;
    while (true) {
      const std::size_t amp = query.find('&');
      const std::string_view param = query.substr(0, amp);
      if (!param.empty() && !is_secret_keyword(param.substr(0, param.find('=')))) {
        if (!kept.empty()) kept.push_back('&');
        kept.append(param);
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
    if (!kept.empty()) out.append("?").append(kept);
  }
  return out;
}

struct Pair {
  std::string_view keyword;
  std::string_view text;   // the whole "keyword = value" as written
  std::string value;       // unquoted, unescaped
};

// Keyword/value form, parsed as libpq does: keyword, optional spaces, '=', optional spaces, then a
// value in single quotes (backslash escapes any character) or a run of non-spaces (backslash
// escapes there too). Text that is not a pair (a stray word, say the second half of an unquoted
// "password=a b") is dropped: it may be part of a secret.
std::vector<Pair> parse_pairs(std::string_view s) {
  std::vector<Pair> pairs;
  std::size_t i = 0;
  const auto skip_spaces = [&] {
    while (i < s.size() && is_space(s[i])) ++i;
  };
  while (true) {
    skip_spaces();
    if (i >= s.size()) break;
    const std::size_t start = i;
    while (i < s.size() && !is_space(s[i]) && s[i] != '=') ++i;
    const std::string_view keyword = s.substr(start, i - start);
    skip_spaces();
    if (i >= s.size() || s[i] != '=') {
      // Not a pair: skip the word and go on.
      continue;
    }
    ++i;
    skip_spaces();
    std::string value;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i++]);
      }
      if (i < s.size()) ++i;  // closing quote; an unterminated one runs to the end
    } else {
      while (i < s.size() && !is_space(s[i])) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i++]);
      }
    }
    if (!keyword.empty()) pairs.push_back({keyword, s.substr(start, i - start), std::move(value)});
  }
  return pairs;
}

std::string quote_value(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string first_line(std::string_view text) {
  text = trim_left(text);
  std::string_view line = text.substr(0, text.find('\n'));
  while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
  return std::string(line);
}

// Belt and braces: replaces any occurrence of the secrets of conninfo in a message from libpq.
std::string scrub(std::string message, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t at = message.find(secret); at != std::string::npos; at = message.find(secret, at)) {
      message.replace(at, secret.size(), "********");
      at += 8;
    }
  }
  return message;
}

// Swallows NOTICE and WARNING messages, which libpq would otherwise print on stderr: pgdr's
// stderr carries one line per error and nothing else.
void ignore_notice(void*, const char*) {}

}  // namespace

std::string redact_conninfo(std::string_view conninfo) {
  const std::string_view trimmed = trim_left(conninfo);
  if (const auto prefix = uri_prefix_length(trimmed)) return redact_uri(trimmed, *prefix);

  std::string out;
  for (const Pair& pair : parse_pairs(conninfo)) {
    if (is_secret_keyword(pair.keyword)) continue;
    if (!out.empty()) out.push_back(' ');
    // dbname may itself hold a connection string or URI, which libpq expands.
    const bool nested = pair.keyword == "dbname" &&
                        (uri_prefix_length(pair.value) || pair.value.find('=') != std::string::npos);
    if (nested) {
      out.append("dbname=").append(quote_value(redact_conninfo(pair.value)));
    } else {
      out.append(pair.text);
    }
  }
  return out;
}

const std::string& QueryResult::scalar() const {
  if (rows.size() != 1 || columns.size() != 1) {
    throw Error(ErrorKind::postgres, "expected a single value from the server, got " +
                                         std::to_string(rows.size()) + " rows of " +
                                         std::to_string(columns.size()) + " columns");
  }
  if (!rows[0][0]) {
    throw Error(ErrorKind::postgres, "expected a value from the server, got NULL in column '" + columns[0] + "'");
  }
  return *rows[0][0];
}

struct Connection::Impl {
  PGconn* conn = nullptr;
  std::string description;

  ~Impl() {
    if (conn != nullptr) PQfinish(conn);
  }

  // "<primary message> (SQLSTATE xxxxx)" for a failed result, or libpq's own message when the
  // failure never reached the server (result is null, connection lost).
  std::string failure(const PGresult* res) const {
    if (res != nullptr) {
      const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
      const char* sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      if (primary != nullptr) {
        std::string msg = first_line(primary);
        if (sqlstate != nullptr) msg.append(" (SQLSTATE ").append(sqlstate).append(")");
        return msg;
      }
      const std::string text = first_line(PQresultErrorMessage(res));
      if (!text.empty()) return text;
    }
    std::string text = first_line(PQerrorMessage(conn));
    return text.empty() ? "unknown error from libpq" : text;
  }
};

Connection::Connection(const std::string& conninfo) : impl_(std::make_unique<Impl>()) {
  impl_->description = redact_conninfo(conninfo);

  // Parse first: libpq's syntax errors quote the offending text, which may be part of a password,
  // so they are reported without it. The parse also yields the secrets to scrub from later messages.
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (options == nullptr) {
    if (parse_error != nullptr) PQfreemem(parse_error);
    throw Error(ErrorKind::config, "unable to parse the connection string '" + impl_->description + "'",
                "check the conninfo syntax: keyword=value pairs or a postgresql:// URI");
  }
  std::vector<std::string> secrets;
  for (const PQconninfoOption* opt = options; opt->keyword != nullptr; ++opt) {
    if (opt->val != nullptr && is_secret_keyword(opt->keyword)) secrets.emplace_back(opt->val);
  }
  PQconninfoFree(options);

  // fallback_application_name names us unless conninfo (or PGAPPNAME) sets application_name.
  const char* keywords[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.c_str(), "pgdr", nullptr};
  impl_->conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (impl_->conn == nullptr) {
    throw Error(ErrorKind::postgres, "unable to connect to PostgreSQL at " + impl_->description + " (out of memory)");
  }
  if (PQstatus(impl_->conn) != CONNECTION_OK) {
    std::string why = scrub(first_line(PQerrorMessage(impl_->conn)), secrets);
    throw Error(ErrorKind::postgres, "unable to connect to PostgreSQL at " + impl_->description + " (" + why + ")");
  }
  PQsetNoticeProcessor(impl_->conn, ignore_notice, nullptr);
}

Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

QueryResult Connection::query(std::string_view sql, const std::vector<std::string>& params) {
  if (!impl_) throw Error(ErrorKind::internal, "query on a moved-from connection");
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());

  const std::string statement(sql);
  PGresult* res = PQexecParams(impl_->conn, statement.c_str(), static_cast<int>(values.size()), nullptr,
                               values.empty() ? nullptr : values.data(), nullptr, nullptr, /*resultFormat=*/0);
  // Owns res from here on.
  std::unique_ptr<PGresult, decltype(&PQclear)> guard(res, &PQclear);
  const ExecStatusType status = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw Error(ErrorKind::postgres, impl_->failure(res));
  }

  QueryResult result;
  const int ncols = PQnfields(res);
  const int nrows = PQntuples(res);
  result.columns.reserve(ncols);
  for (int c = 0; c < ncols; ++c) result.columns.emplace_back(PQfname(res, c));
  result.rows.reserve(nrows);
  for (int r = 0; r < nrows; ++r) {
    auto& row = result.rows.emplace_back();
    row.reserve(ncols);
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(res, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c)));
      }
    }
  }
  return result;
}

void Connection::exec(std::string_view sql) {
  if (!impl_) throw Error(ErrorKind::internal, "exec on a moved-from connection");
  const std::string statement(sql);
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(impl_->conn, statement.c_str()), &PQclear);
  const ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw Error(ErrorKind::postgres, impl_->failure(res.get()));
  }
}

int Connection::server_version_num() const {
  if (!impl_) throw Error(ErrorKind::internal, "server_version_num on a moved-from connection");
  return PQserverVersion(impl_->conn);
}

const std::string& Connection::describe() const {
  if (!impl_) throw Error(ErrorKind::internal, "describe on a moved-from connection");
  return impl_->description;
}

}  // namespace pgdr::pg
