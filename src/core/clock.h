// The wall clock pgdr stamps snapshots with. One function, so that tests can move it: the test hook
// PGDR_TEST_NOW=<ISO-8601 UTC time> makes the clock start at that time when the process starts
// and advance at the real rate from there. It exists for tests that need snapshots spread over
// weeks (retention); it is not a user setting and the manual does not list it.
#pragma once

#include "core/time_format.h"

namespace pgdr {

// system_clock::now(), or the PGDR_TEST_NOW time plus the time elapsed since the first call.
// Throws Error(config) when PGDR_TEST_NOW is set but unreadable. Thread-safe.
SystemTime wall_now();

}  // namespace pgdr
