// Progress of long work on a terminal: one line on stderr, rewritten about once a second, only when
// stderr is a terminal (logs and pipes get no control characters). Counters are atomic so workers
// update them without locks; a background thread draws.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace pgdr {

class Progress {
 public:
  Progress(std::string what, std::uint64_t total_bytes);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void add(std::uint64_t bytes) { done_.fetch_add(bytes, std::memory_order_relaxed); }
  void set_total(std::uint64_t total) { total_.store(total, std::memory_order_relaxed); }
  // Stops drawing and clears the line.
  void finish();

 private:
  void draw();
  std::string what_;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> total_;
  std::chrono::steady_clock::time_point start_;
  bool enabled_;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

// "1.5 GiB", "730 MiB", "12 KiB", "17 B".
std::string human_bytes(std::uint64_t bytes);

}  // namespace pgdr
