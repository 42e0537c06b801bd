// Keeping key material of a long-running process out of swap and out of core dumps. A process that
// holds unwrapped keys for hours (pgdr archive-agent) calls forbid_core_dumps() before it derives
// them and lock_in_memory() on each key buffer once it holds them.
#pragma once

#include "core/bytes.h"

namespace pgdr {

// RLIMIT_CORE 0 (no core file) and PR_SET_DUMPABLE 0, which also denies ptrace attach and
// /proc/PID/mem to other processes of the same user. Throws Error(internal) when either fails.
void forbid_core_dumps();

// mlock()s the pages holding secret, so they are never written to swap. False (with errno set)
// when the kernel refuses, e.g. over RLIMIT_MEMLOCK; the key then stays usable, only swappable.
bool lock_in_memory(const SecretBytes& secret);

}  // namespace pgdr
