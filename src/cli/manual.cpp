#include "cli/manual.h"

#include <cctype>
#include <sstream>

#include "cli/command_pages.h"
#include "core/error.h"

namespace pgdr::cli {

namespace {

std::vector<const CLI::App*> commands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* c) { return !c->get_disabled() && !c->get_name().empty(); });
}

// Roff text: backslashes and minus signs escaped (a bare '-' is a hyphen, and options must be
// typed with ASCII minus), and a line that would start with a control character protected.
std::string roff_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  return out;
}

std::string roff_line(std::string_view text) {
  std::string out = roff_escape(text);
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// Inline markdown to roff: `code` and **strong** in bold, [text](link) as its text, escaping the rest.
std::string markdown_to_roff(std::string_view md) {
  std::string out;
  std::size_t i = 0;
  while (i < md.size()) {
    if (md[i] == '`') {
      std::size_t end = md.find('`', i + 1);
      if (end != std::string_view::npos) {
        out += "\\fB" + roff_escape(md.substr(i + 1, end - i - 1)) + "\\fR";
        i = end + 1;
        continue;
      }
    }
    if (md.substr(i, 2) == "**") {
      std::size_t end = md.find("**", i + 2);
      if (end != std::string_view::npos) {
        out += "\\fB" + markdown_to_roff(md.substr(i + 2, end - i - 2)) + "\\fR";
        i = end + 2;
        continue;
      }
    }
    if (md[i] == '[') {
      std::size_t close = md.find("](", i);
      std::size_t end = close == std::string_view::npos ? close : md.find(')', close);
      if (end != std::string_view::npos) {
        out += markdown_to_roff(md.substr(i + 1, close - i - 1));
        i = end + 1;
        continue;
      }
    }
    out += roff_escape(md.substr(i, 1));
    ++i;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string page_paragraph(const std::string& command) {
  for (const auto& page : command_pages())
    if (page.name == command + ".md") return first_paragraph(page.text);
  return "";
}

void write_options(std::ostringstream& out, const CLI::App& app) {
  for (const CLI::Option* opt : app.get_options()) {
    const bool positional = opt->get_positional() && opt->nonpositional() == false;
    std::string names = positional ? opt->get_name(true) : opt->get_name(false, true);
    out << ".TP\n";
    if (positional) {
      out << "\\fI" << roff_escape(names) << "\\fR\n";
    } else {
      std::string shown;
      std::size_t start = 0;
      while (start <= names.size()) {
        std::size_t comma = names.find(',', start);
        if (comma == std::string::npos) comma = names.size();
        if (!shown.empty()) shown += ", ";
        shown += "\\fB" + roff_escape(names.substr(start, comma - start)) + "\\fR";
        start = comma + 1;
      }
      const std::string type = opt->get_type_name();
      if (!type.empty()) shown += " \\fI" + roff_escape(type) + "\\fR";
      out << shown << "\n";
    }
    std::string desc = opt->get_description();
    if (opt->get_required() && !positional) desc += " (required)";
    std::string default_value = opt->get_default_str();
    if (!default_value.empty() && desc.find("default") == std::string::npos) desc += " (default: " + default_value + ")";
    out << roff_line(desc) << "\n";
  }
}

void write_command(std::ostringstream& out, const CLI::App& cmd, const std::string& prefix) {
  const std::string full = prefix + " " + cmd.get_name();
  out << ".SS \"" << roff_escape(full) << "\"\n";
  std::string para = prefix == "pgdr" ? page_paragraph(cmd.get_name()) : "";
  if (para.empty()) {
    // A subcommand has no page: its one-line description, as a sentence.
    para = cmd.get_description();
    if (!para.empty()) para[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(para[0])));
    out << roff_line(para) << "\n";
  } else {
    out << markdown_to_roff(para) << "\n";
  }
  // The usage line of the command's help, as --help shows it.
  const std::string help = cmd.get_formatter()->make_help(&cmd, full, CLI::AppFormatMode::Normal);
  std::string usage = full;
  const std::size_t at = help.find("Usage: ");
  if (at != std::string::npos) usage = help.substr(at + 7, help.find('\n', at) - at - 7);
  out << ".PP\n.B " << roff_line(usage) << "\n";
  write_options(out, cmd);
  for (const CLI::App* sub : commands_of(cmd)) write_command(out, *sub, full);
}

}  // namespace

std::string help_text(const CLI::App& root, const std::vector<std::string>& words) {
  const CLI::App* target = &root;
  std::string name = root.get_name();
  for (const auto& w : words) {
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : commands_of(*target))
      if (sub->get_name() == w) next = sub;
    if (next == nullptr)
      throw Error(ErrorKind::usage, "no command '" + w + "' in '" + name + "'",
                  "'" + name + " --help' lists the commands");
    target = next;
    name += " " + w;
  }
  // The formatter directly, not App::help(): that shows a command chosen on this command line
  // (here "help" itself) instead of the one asked for.
  return target->get_formatter()->make_help(target, name, CLI::AppFormatMode::Normal);
}

std::string first_paragraph(std::string_view markdown) {
  std::string para;
  std::size_t pos = 0;
  bool seen_title = false;
  while (pos < markdown.size()) {
    std::size_t end = markdown.find('\n', pos);
    if (end == std::string_view::npos) end = markdown.size();
    std::string_view line = markdown.substr(pos, end - pos);
    pos = end + 1;
    if (!seen_title) {
      seen_title = line.starts_with("# ");
      continue;
    }
    const bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    if (blank) {
      if (!para.empty()) break;
      continue;
    }
    if (line.starts_with("#") || line.starts_with("```")) break;
    if (!para.empty()) para += ' ';
    para += line;
  }
  return para;
}

std::string manual_page(const CLI::App& root) {
  std::ostringstream out;
  std::string summary = root.get_description();
  if (summary.starts_with("pgdr: ")) summary.erase(0, 6);
  out << ".\\\" The manual page of pgdr, written by 'pgdr help --man' from the command definitions and\n"
      << ".\\\" the first paragraph of each page docs/commands/NAME.md. Do not edit.\n";
  out << ".TH PGDR 1 \"\" \"pgdr " << PGDR_VERSION << "\" \"pgdr manual\"\n";
  out << ".SH NAME\npgdr \\- " << roff_line(summary) << "\n";
  out << ".SH SYNOPSIS\n.B pgdr\n[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fB\\-q\\fR|\\fB\\-v\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n";
  out << ".SH DESCRIPTION\n"
      << "pgdr backs a PostgreSQL 15 cluster up into encrypted, deduplicated repositories, archives its\n"
      << "WAL there, restores it to the end of the archive, to a point in time or as a standby, and\n"
      << "checks that all of it would work in a disaster.\n"
      << ".PP\n"
      << "Global options may be given before or after the command name. Every command prints its own\n"
      << "help with \\fB\\-\\-help\\fR or \\fBpgdr help\\fR \\fICOMMAND\\fR.\n";
  out << ".SH OPTIONS\n";
  write_options(out, root);
  out << ".SH COMMANDS\n";
  for (const CLI::App* cmd : commands_of(root)) write_command(out, *cmd, root.get_name());
  out << ".SH EXIT STATUS\n"
      << "Action commands exit 0 on success, 1 on failure and 2 on bad usage or configuration.\n"
      << "\\fBarchive\\-get\\fR exits 1 when no repository has the file and 126 when it exists but cannot be\n"
      << "read intact. Check commands follow the monitoring\\-plugin convention: 0 PASS, 1 WARN, 2 FAIL,\n"
      << "3 could not run. Each command's page lists its own codes.\n";
  out << ".SH ENVIRONMENT\n.TP\n.B PGDR_CONFIG\nthe configuration file when \\fB\\-\\-config\\fR is not given\n"
      << ".TP\n.B PGDR_SYSLOG_SOCKET\nthe datagram socket that [log] syslog writes to, instead of /dev/log\n";
  out << ".SH FILES\n.TP\n.I ./pgdr.toml\n.TQ\n.I /etc/pgdr/pgdr.toml\n"
      << "the configuration file, tried in this order when neither \\fB\\-\\-config\\fR nor\n"
      << ".B PGDR_CONFIG\nnames one\n";
  out << ".SH SEE ALSO\n"
      << ".BR postgres (1),\n.BR pg_ctl (1),\n.BR pgbench (1).\n"
      << "The full manual is docs/README.md in the pgdr sources: one page per command, the\n"
      << "configuration (docs/CONFIGURATION.md) and the disaster\\-recovery guide\n"
      << "(docs/DISASTER_RECOVERY.md).\n";
  return out.str();
}

}  // namespace pgdr::cli
