#include "core/interrupt.h"

#include <csignal>

#include "core/error.h"

namespace pgdr {

namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int sig) { g_signal = sig; }
}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A vanished reader of our output must not kill us mid-write: the write fails and we unwind.
  signal(SIGPIPE, SIG_IGN);
}

bool interrupt_requested() { return g_signal != 0; }

void throw_if_interrupted() {
  if (g_signal != 0)
    throw Error(ErrorKind::interrupted, std::string("interrupted by ") + (g_signal == SIGINT ? "SIGINT" : "SIGTERM"));
}

}  // namespace pgdr
