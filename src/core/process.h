// Facts about other processes and the machine that pgdr's own servers (drills, restore tests, the
// demo) need: whether a process still runs, and a free TCP port on the loopback interface.
#pragma once

#include <sys/types.h>

namespace pgdr {

// True while pid runs. A zombie counts as gone: an orphaned postmaster is re-parented to init or
// to a subreaper, which may reap it late.
bool process_alive(pid_t pid);

// A port on 127.0.0.1 that nothing listens on right now (the kernel's choice for port 0). Another
// program may take it before the caller binds it: callers retry with a new one on "could not bind".
int free_loopback_port();

}  // namespace pgdr
