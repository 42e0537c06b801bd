#include <cstdio>

#include "cli/bash_completion.h"
#include "cli/commands.h"
#include "cli/manual.h"
#include "core/bytes.h"
#include "core/error.h"
#include "core/file.h"

namespace pgdr::cli {

void add_help_command(CLI::App& app, Context&, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "help", "print the help of pgdr or of a command, as --help does; --man writes the manual page");
  static std::vector<std::string> words;
  static bool man = false;
  static bool man_config = false;
  static bool completion = false;
  static std::string output;
  cmd->add_option("COMMAND", words, "a command, and a subcommand of it (pgdr help key change)");
  cmd->add_flag("--man", man, "print the manual page pgdr.1 (roff) instead");
  cmd->add_flag("--man-config", man_config, "print the manual page pgdr.toml.5 (roff) of the configuration file instead");
  cmd->add_flag("--bash-completion", completion, "print the bash completion script instead");
  cmd->add_option("--output", output, "with --man, --man-config or --bash-completion: write to FILE instead of stdout")
      ->type_name("FILE");
  cmd->callback([&app, &body] {
    body = [&app] {
      const int generated = int{man} + int{man_config} + int{completion};
      if (generated > 1) throw Error(ErrorKind::usage, "give one of --man, --man-config and --bash-completion");
      if (generated && !words.empty())
        throw Error(ErrorKind::usage, "--man, --man-config and --bash-completion take no command: they cover all of them");
      if (!output.empty() && !generated)
        throw Error(ErrorKind::usage, "--output needs --man, --man-config or --bash-completion");
      const std::string text = man            ? manual_page(app)
                               : man_config   ? configuration_manual_page()
                               : completion   ? bash_completion_script(app)
                                              : help_text(app, words);
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
