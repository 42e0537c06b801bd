// archive-push and archive-get answer PostgreSQL for one WAL file and, in the same call, do the
// work of the files it will ask for next (archive-push stores the segments already marked ready,
// archive-get prefetches the segments recovery replays next). This is that shape, over
// run_parallel (core/parallel.h): the file asked for and each file ahead on a thread of its own,
// every thread joined before it returns.
#pragma once

#include <cstddef>
#include <functional>

namespace pgdr::archive {

// Runs now() and ahead(i) for every i in [0, count) at the same time, one thread each, and
// returns once all are done. An Error that ahead work throws is dropped, and stops nothing:
// PostgreSQL asks for that file later and meets the error then. What now() throws is rethrown here.
void with_work_ahead(std::size_t count, const std::function<void()>& now,
                     const std::function<void(std::size_t)>& ahead);

}  // namespace pgdr::archive
