#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace pgdr {

namespace {
std::mutex g_mu;
std::atomic<bool> g_quiet{false};
void emit(std::string_view prefix, std::string_view message) {
  std::string line = "pgdr: ";
  line.append(prefix).append(message).append("\n");
  std::lock_guard lock(g_mu);
  std::fputs(line.c_str(), stderr);
}
}  // namespace

void log_warning(std::string_view message) { emit("warning: ", message); }
void log_info(std::string_view message) {
  if (!g_quiet) emit("", message);
}
void set_log_quiet(bool quiet) { g_quiet = quiet; }
bool log_quiet() { return g_quiet; }

}  // namespace pgdr
