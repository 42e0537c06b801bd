#include "core/progress.h"

#include "core/log.h"

#include <unistd.h>

#include <cstdio>

namespace pgdr {

std::string human_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
  return buf;
}

Progress::Progress(std::string what, std::uint64_t total_bytes)
    : what_(std::move(what)), total_(total_bytes), start_(std::chrono::steady_clock::now()), enabled_(isatty(2) == 1 && !log_quiet()) {
  if (enabled_) thread_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (!stop_) {
        cv_.wait_for(lock, std::chrono::seconds(1));
        if (!stop_) draw();
      }
    });
}

Progress::~Progress() { finish(); }

void Progress::draw() {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::uint64_t done = done_.load(std::memory_order_relaxed), total = total_.load(std::memory_order_relaxed);
  double pct = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 0;
  std::uint64_t rate = secs > 0 ? static_cast<std::uint64_t>(static_cast<double>(done) / secs) : 0;
  std::fprintf(stderr, "\r\033[K%s: %s of %s (%.0f%%), %s/s", what_.c_str(), human_bytes(done).c_str(),
               human_bytes(total).c_str(), pct > 100 ? 100.0 : pct, human_bytes(rate).c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (enabled_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

}  // namespace pgdr
