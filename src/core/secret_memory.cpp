#include "core/secret_memory.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "core/error.h"

namespace pgdr {

void forbid_core_dumps() {
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0)
    throw Error(ErrorKind::internal, "unable to set RLIMIT_CORE to 0: " + errno_text(errno));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    throw Error(ErrorKind::internal, "unable to clear the dumpable flag: " + errno_text(errno));
}

bool lock_in_memory(const SecretBytes& secret) {
  if (secret.size() == 0) return true;
  return mlock(secret.data(), secret.size()) == 0;
}

}  // namespace pgdr
