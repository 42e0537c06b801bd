// Timeline history files (pg/timeline_history.cpp), which restore and verify read from the WAL
// archive. The first byte picks the file's own timeline (0: not checked), the rest is its text.
// What parses must be what PostgreSQL would accept: parents increasing and below the timeline.
#include "fuzz_support.h"
#include "pg/timeline_history.h"

using namespace pgdr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::split_mode(data, size);
  const std::uint32_t timeline = in.mode;
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    auto h = pg::parse_timeline_history(as_chars(in.rest), timeline);
    if (!h.problem.empty()) return;
    for (std::size_t i = 0; i < h.switches.size(); ++i) {
      if (i > 0) fuzz::require(h.switches[i].parent > h.switches[i - 1].parent, "parent timelines increase");
      if (timeline != 0) fuzz::require(h.switches[i].parent < timeline, "parents are below the file's timeline");
    }
  });
  return 0;
}
