// Points where a test can have pgdr killed by SIGKILL, to prove that what was made durable before
// the point is enough after a crash there. The environment variable PGDR_TEST_KILL_AT names one
// point; unset (always, outside tests) every point is a no-op. The window a crash test must hit
// can be microseconds wide (between two objects of one push), too narrow to aim at from outside.
#pragma once

#include <string_view>

namespace pgdr {

// Kills the process with SIGKILL when PGDR_TEST_KILL_AT equals point.
void test_kill_point(std::string_view point);

}  // namespace pgdr
