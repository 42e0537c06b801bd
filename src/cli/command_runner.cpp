#include "cli/command_runner.h"

#include <cstdio>

namespace pgdr::cli {

int run(int, char**) {
  std::fputs("pgdr: no command yet\n", stderr);
  return 2;
}

}  // namespace pgdr::cli
