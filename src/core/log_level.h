// The levels of pgdr's log lines, most severe first: a threshold lets through its own level and
// every more severe one. The names are those of `[log] level` and of the log file.
#pragma once

#include <optional>
#include <string_view>

namespace pgdr {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

// "error", "warn", "info", "debug".
std::string_view log_level_name(LogLevel level);
// The inverse of log_level_name; nullopt for any other text.
std::optional<LogLevel> parse_log_level(std::string_view name);

}  // namespace pgdr
