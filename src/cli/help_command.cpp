#include <cstdio>

#include "cli/commands.h"
#include "cli/manual.h"
#include "core/bytes.h"
#include "core/error.h"
#include "core/file.h"

namespace pgdr::cli {

void add_help_command(CLI::App& app, Context&, CommandBody& body) {
  auto* cmd = app.add_subcommand("help", "print the help of pgdr or of a command, as --help does; --man writes the manual page");
  static std::vector<std::string> words;
  static bool man = false;
  static std::string output;
  cmd->add_option("COMMAND", words, "a command, and a subcommand of it (pgdr help key change)");
  auto* man_flag = cmd->add_flag("--man", man, "print the manual page pgdr.1 (roff) instead");
  cmd->add_option("--output", output, "with --man: write the page to FILE instead of stdout")
      ->type_name("FILE")
      ->needs(man_flag);
  cmd->callback([&app, &body] {
    body = [&app] {
      if (man && !words.empty()) throw Error(ErrorKind::usage, "--man takes no command: the page covers all of them");
      const std::string text = man ? manual_page(app) : help_text(app, words);
      if (!output.empty()) {
        write_file_durably(output, as_bytes(text), 0644);
        return 0;
      }
      std::fwrite(text.data(), 1, text.size(), stdout);
      return std::fflush(stdout) == 0 ? 0 : 1;
    };
  });
}

}  // namespace pgdr::cli
