#include "cli/bash_completion.h"

#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace pgdr::cli {

namespace {

std::vector<const CLI::App*> commands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* c) { return !c->get_disabled() && !c->get_name().empty(); });
}

// Every name of an option, "--long" and "-s".
std::vector<std::string> option_names(const CLI::Option& opt) {
  std::vector<std::string> names;
  for (const auto& l : opt.get_lnames()) names.push_back("--" + l);
  for (const auto& s : opt.get_snames()) names.push_back("-" + s);
  return names;
}

bool takes_value(const CLI::Option& opt) { return opt.get_type_size_max() > 0 && !opt.get_lnames().empty(); }

// A set of choices CLI11 appends to the type ("TEXT:{promote,pause,shutdown}"), as words.
std::string choices_of(const CLI::Option& opt) {
  const std::string type = opt.get_type_name();
  const std::size_t open = type.find(":{");
  if (open == std::string::npos || !type.ends_with("}")) return "";
  std::string words = type.substr(open + 2, type.size() - open - 3);
  for (char& c : words)
    if (c == ',') c = ' ';
  return words;
}

bool names_a_path(const CLI::Option& opt) {
  const std::string type = opt.get_type_name().substr(0, opt.get_type_name().find(':'));
  if (type == "FILE" || type == "DIR" || type == "PATH") return true;
  for (const auto& l : opt.get_lnames())
    if (l == "config" || l == "output" || l.find("dir") != std::string::npos) return true;
  return false;
}

// Single-quoted for bash.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Entry {
  std::string words;  // "" for pgdr itself, "key", "key change"
  std::string subcommands;
  std::string options;
  bool positional = false;  // takes an argument that is not an option (a path, a WAL name)
};

void collect(const CLI::App& app, const std::string& words, std::vector<Entry>& entries,
             std::map<std::string, std::string>& choices, std::set<std::string>& paths, std::set<std::string>& valued) {
  Entry e;
  e.words = words;
  for (const CLI::App* sub : commands_of(app)) e.subcommands += (e.subcommands.empty() ? "" : " ") + sub->get_name();
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_lnames().empty() && opt->get_snames().empty()) {
      // `pgdr help COMMAND...` names commands, not files.
      if (opt->get_name() == "COMMAND" && app.get_parent() != nullptr) {
        for (const CLI::App* c : commands_of(*app.get_parent()))
          if (c != &app) e.subcommands += (e.subcommands.empty() ? "" : " ") + c->get_name();
      } else {
        e.positional = true;
      }
      continue;
    }
    for (const auto& n : option_names(*opt)) {
      e.options += (e.options.empty() ? "" : " ") + n;
      if (!takes_value(*opt)) continue;
      valued.insert(n);
      if (const std::string c = choices_of(*opt); !c.empty()) choices[n] = c;
      if (names_a_path(*opt)) paths.insert(n);
    }
  }
  entries.push_back(e);
  for (const CLI::App* sub : commands_of(app))
    collect(*sub, words.empty() ? sub->get_name() : words + " " + sub->get_name(), entries, choices, paths, valued);
}

std::string joined(const std::set<std::string>& names, const std::string& sep) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : sep) + n;
  return out;
}

}  // namespace

std::string bash_completion_script(const CLI::App& root) {
  std::vector<Entry> entries;
  std::map<std::string, std::string> choices;
  std::set<std::string> paths, valued;
  collect(root, "", entries, choices, paths, valued);
  // The global options, which pgdr takes after a command name too (fallthrough): the root's but
  // its help and version flags.
  std::string global;
  for (const CLI::Option* opt : root.get_options()) {
    if (opt == root.get_help_ptr() || opt == root.get_version_ptr() || opt->get_lnames().empty()) continue;
    for (const auto& n : option_names(*opt)) global += (global.empty() ? "" : " ") + n;
  }

  std::ostringstream out;
  out << "# bash completion for pgdr, written by 'pgdr help --bash-completion' from the command\n"
      << "# definitions. Do not edit.\n"
      << "_pgdr() {\n"
      << "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      << "  # Options that take a value, in any command: their value is not a command word.\n"
      << "  local valued=' " << joined(valued, " ") << " '\n"
      << "  local words='' w i\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    w=${COMP_WORDS[i]}\n"
      << "    if [[ $w == -* ]]; then\n"
      << "      [[ $w != *=* && $valued == *\" $w \"* ]] && ((i++))\n"
      << "      continue\n"
      << "    fi\n"
      << "    words+=${words:+ }$w\n"
      << "  done\n"
      << "  if [[ $valued == *\" $prev \"* ]]; then\n"
      << "    case $prev in\n";
  for (const auto& [name, words] : choices)
    out << "      " << name << ") COMPREPLY=($(compgen -W " << quoted(words) << " -- \"$cur\")) ;;\n";
  if (!paths.empty())
    out << "      " << joined(paths, "|") << ") compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n";
  out << "      *) COMPREPLY=() ;;\n"
      << "    esac\n"
      << "    return 0\n"
      << "  fi\n"
      << "  local subcommands='' options='' positional=0\n"
      << "  # The longest run of command words that names a command; what follows are its arguments.\n"
      << "  while :; do\n"
      << "    case $words in\n";
  for (const Entry& e : entries)
    out << "      " << quoted(e.words) << ") subcommands=" << quoted(e.subcommands) << " options=" << quoted(e.options)
        << " positional=" << (e.positional ? 1 : 0) << "; break ;;\n";
  out << "    esac\n"
      << "    [[ $words == *' '* ]] && words=${words% *} || words=''\n"
      << "  done\n"
      << "  [[ -n $words ]] && options+=" << quoted(" " + global) << "\n"
      << "  if [[ $cur == -* ]]; then\n"
      << "    COMPREPLY=($(compgen -W \"$options\" -- \"$cur\"))\n"
      << "  elif [[ -n $subcommands ]]; then\n"
      << "    COMPREPLY=($(compgen -W \"$subcommands\" -- \"$cur\"))\n"
      << "  elif ((positional)); then\n"
      << "    compopt -o filenames 2>/dev/null\n"
      << "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
      << "  fi\n"
      << "  return 0\n"
      << "}\n"
      << "complete -F _pgdr pgdr\n";
  return out.str();
}

}  // namespace pgdr::cli
