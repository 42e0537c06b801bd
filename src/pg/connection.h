// A libpq connection, owned; the only place (with replication code to come) that sees PGconn.
// Not thread-safe: one connection per thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgdr::pg {

// Rows of text values; a SQL NULL is nullopt.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;

  // The single value of a one-row, one-column result; throws Error(postgres) otherwise or if NULL.
  const std::string& scalar() const;
};

class Connection {
 public:
  // Connects; throws Error(postgres) "unable to connect to PostgreSQL at <redacted conninfo>
  // (<libpq's first line>)". application_name is set to "pgdr" unless conninfo sets it.
  explicit Connection(const std::string& conninfo);
  ~Connection();
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;

  // Runs one statement with text parameters ($1, $2, ...). Throws Error(postgres) "<what the
  // server said>" (first line, with the SQLSTATE) on failure.
  QueryResult query(std::string_view sql, const std::vector<std::string>& params = {});
  // Runs a statement that returns no rows.
  void exec(std::string_view sql);

  int server_version_num() const;
  // The conninfo with every password removed, for messages.
  const std::string& describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Removes password=... from a keyword/value conninfo and the password from a postgresql:// URI.
std::string redact_conninfo(std::string_view conninfo);

}  // namespace pgdr::pg
