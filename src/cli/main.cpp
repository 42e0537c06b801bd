#include "cli/command_runner.h"

int main(int argc, char** argv) { return pgdr::cli::run(argc, argv); }
