// The command edge: parses the command line, dispatches to one command, catches every Error and
// maps it to the contract's exit codes and one-line message on stderr.
#pragma once

namespace pgdr::cli {

int run(int argc, char** argv);

}  // namespace pgdr::cli
