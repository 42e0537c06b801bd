#include "archive/work_ahead.h"

#include <exception>

#include "core/error.h"
#include "core/parallel.h"

namespace pgdr::archive {

void with_work_ahead(std::size_t count, const std::function<void()>& now,
                     const std::function<void(std::size_t)>& ahead) {
  // now()'s error is held, not thrown through run_parallel: that would stop the queue and skip
  // the ahead work that has not started yet, which a failure of this file does not make useless.
  std::exception_ptr error;
  const std::size_t items = count + 1;
  run_parallel(items, static_cast<int>(items), [&](WorkQueue& queue) {
    // One item per thread, as many threads as items: none waits behind another's transfer.
    auto i = queue.next();
    if (!i) return;
    if (*i == 0) {
      try {
        now();
      } catch (...) {
        error = std::current_exception();
      }
      return;
    }
    try {
      ahead(*i - 1);
    } catch (const Error&) {
    }
  });
  if (error) std::rethrow_exception(error);
}

}  // namespace pgdr::archive
