#include "repo/lock.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/duration.h"
#include "core/error.h"
#include "core/json_integer.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/time_format.h"
#include "repo/format.h"

namespace pgdr::repo {

namespace {

const std::string kLockObject = std::string(kLocksDir) + "/writer";

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// Field 22 of /proc/PID/stat: start time in clock ticks since boot; "" when the process is gone
// or a zombie (killed, not yet reaped by its parent: it holds nothing any more).
std::string process_start(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return "";
  auto close = line.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 3 && (field == "Z" || field == "X")) return "";
    if (i == 22) return field;
  }
  return "";
}

bool holder_is_dead(const nlohmann::json& j) {
  if (j.value("host", "") != host_name()) return false;
  long pid = j.contains("pid") ? integer_at<long>(j, "pid") : 0;
  if (pid <= 0) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
  std::string start = process_start(pid);
  return start.empty() || start != j.value("start", "");
}

const std::string kBreakObject = std::string(kLocksDir) + "/writer.break";

// Removes a dead holder's lock without ever removing a live one. Of two processes that both found
// the holder dead, only the one that creates writer.break may remove the lock, and only if it
// still holds the bytes that were judged dead: the other could have taken it in between.
void break_dead_lock(storage::Storage& store, const Bytes& dead_lock, ByteView me) {
  for (int i = 0; i < 100; ++i) {
    if (store.create_exclusive(kBreakObject, me)) {
      auto now = store.read(kLockObject);
      if (now && *now == dead_lock) store.remove(kLockObject);
      store.remove(kBreakObject);
      return;
    }
    // Another process is breaking it; or one died while breaking, leaving writer.break behind.
    if (auto breaker = store.read(kBreakObject)) {
      try {
        if (holder_is_dead(nlohmann::json::parse(breaker->begin(), breaker->end()))) store.remove(kBreakObject);
      } catch (const nlohmann::json::exception&) {
        store.remove(kBreakObject);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

RepoLock RepoLock::acquire(storage::Storage& store, const std::string& repo_name, const std::string& command,
                           const LockWait& wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait.timeout;
  long pid = static_cast<long>(getpid());
  nlohmann::json me = {{"host", host_name()}, {"pid", pid}, {"start", process_start(pid)},
                       {"command", command},  {"since", now_iso8601()}};
  std::string text = me.dump() + "\n";
  std::optional<std::chrono::steady_clock::time_point> waiting_since;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (store.create_exclusive(kLockObject, as_bytes(text))) {
      if (waiting_since)
        log_debug("took the lock of repository '" + repo_name + "' after waiting " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - *waiting_since)
                                     .count()) +
                  " ms");
      return RepoLock(store);
    }
    auto raw = store.read(kLockObject);
    if (!raw) continue;  // released meanwhile
    nlohmann::json holder;
    bool dead = false;
    std::string message;
    // Valid JSON that is not an object, or has mistyped fields, makes value() throw: that lock is
    // as unreadable as one that does not parse.
    try {
      holder = nlohmann::json::parse(raw->begin(), raw->end());
      dead = attempt == 0 && holder_is_dead(holder);
      message = "repository '" + repo_name + "' is locked by " + holder.value("command", "?") + " (pid " +
                std::to_string(holder.contains("pid") ? integer_at<long>(holder, "pid") : 0) + " on host " + holder.value("host", "?") + " since " +
                holder.value("since", "?") + ")";
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::locked, "repository '" + repo_name + "' has an unreadable lock " + kLockObject + " in " +
                                         store.describe(),
                  "if no pgdr runs against it, remove that object");
    }
    if (dead) {
      log_debug(message + ", a process that no longer runs: breaking that lock");
      break_dead_lock(store, *raw, as_bytes(text));
      continue;
    }
    const std::string holder_command = holder.value("command", "");
    bool may_wait = wait.commands.empty() ||
                    std::find(wait.commands.begin(), wait.commands.end(), holder_command) != wait.commands.end();
    if (may_wait && std::chrono::steady_clock::now() < deadline) {
      if (!waiting_since) {
        waiting_since = std::chrono::steady_clock::now();
        log_debug("waiting up to " + format_duration(wait.timeout) + ": " + message);
      }
      throw_if_interrupted();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      attempt = -1;  // a holder may die while we wait: judge it afresh
      continue;
    }
    throw Error(ErrorKind::locked, message,
                "wait for it to finish; if that process is gone for good, remove " + kLockObject + " in " +
                    store.describe());
  }
  throw Error(ErrorKind::locked, "repository '" + repo_name + "' lock could not be taken in " + store.describe());
}

void RepoLock::release() {
  if (!held_) return;
  held_ = false;
  store_->remove(kLockObject);
}

RepoLock::~RepoLock() {
  try {
    release();
  } catch (...) {
    // A lock left behind is broken by the next run on this host: never throw from here.
  }
}

}  // namespace pgdr::repo
