#include "core/test_hook.h"

#include <csignal>
#include <cstdlib>

namespace pgdr {

void test_kill_point(std::string_view point) {
  const char* at = std::getenv("PGDR_TEST_KILL_AT");
  if (at && point == at) std::raise(SIGKILL);
}

}  // namespace pgdr
