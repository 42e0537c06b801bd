// SIGINT and SIGTERM turn into a flag that long work polls, so it can stop between steps, undo
// what it must and leave through the normal error path (exit code and one-line message).
#pragma once

namespace pgdr {

void install_interrupt_handlers();
bool interrupt_requested();
// Throws Error(interrupted) once a signal has arrived.
void throw_if_interrupted();

}  // namespace pgdr
