#include "cli/manual.h"

#include <cctype>
#include <set>
#include <sstream>

#include "cli/command_pages.h"
#include "cli/configuration_page.h"
#include "cli/roff.h"
#include "core/error.h"

namespace pgdr::cli {

namespace {

std::vector<const CLI::App*> commands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* c) { return !c->get_disabled() && !c->get_name().empty(); });
}

std::string page_paragraph(const std::string& command) {
  for (const auto& page : command_pages())
    if (page.name == command + ".md") return first_paragraph(page.text);
  return "";
}

// CLI11 names a value by its C++ type ("TEXT", "INT") unless the definition gives a name: the page
// says what the value is instead, from the option's name.
std::string value_name(const CLI::Option& opt, const std::string& type) {
  static const std::set<std::string> kGeneric = {"TEXT", "INT", "UINT", "FLOAT", "NUMBER", "BOOLEAN", "ENUM"};
  if (!kGeneric.contains(type)) return type;
  if (type == "INT" || type == "UINT") return "N";
  if (type == "FLOAT" || type == "NUMBER") return "NUMBER";
  std::string name = opt.get_lnames().empty() ? opt.get_name() : opt.get_lnames().front();
  if (name.find("dir") != std::string::npos) return "DIR";
  if (name == "config" || name == "output" || name.ends_with("file")) return "FILE";
  if (auto dash = name.rfind('-'); dash != std::string::npos) name.erase(0, dash + 1);
  if (name == "repo") return "NAME";
  if (name == "env") return "VARIABLE";
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

// What CLI11 appends to the type for a check, in words: "INT in [1 - 64]" gives "1 to 64",
// "{promote,pause,shutdown}" gives "one of promote, pause, shutdown"; "" for none.
std::string value_constraint(const std::string& check) {
  if (check.starts_with("{") && check.ends_with("}")) {
    std::string words = check.substr(1, check.size() - 2);
    std::string out;
    for (char c : words) out += c == ',' ? std::string(", ") : std::string(1, c);
    return "one of " + out;
  }
  const std::size_t open = check.find(" in [");
  if (open != std::string::npos && check.ends_with("]")) {
    std::string range = check.substr(open + 5, check.size() - open - 6);
    const std::size_t dash = range.find(" - ");
    if (dash != std::string::npos) return range.substr(0, dash) + " to " + range.substr(dash + 3);
  }
  return check;
}

// Whether a description already lists every word of a constraint "one of a, b, c".
bool names_every_choice(const std::string& description, const std::string& constraint) {
  if (!constraint.starts_with("one of ")) return false;
  std::istringstream words(constraint.substr(7));
  for (std::string w; std::getline(words, w, ',');) {
    if (w.starts_with(" ")) w.erase(0, 1);
    if (description.find(w) == std::string::npos) return false;
  }
  return true;
}

void write_options(std::ostringstream& out, const CLI::App& app) {
  for (const CLI::Option* opt : app.get_options()) {
    const bool positional = opt->get_positional() && opt->nonpositional() == false;
    std::string names = positional ? opt->get_name(true) : opt->get_name(false, true);
    // get_type_name() is the value's name, then ":" and each check's description.
    const std::string full_type = opt->get_type_name();
    const std::size_t colon = full_type.find(':');
    const std::string type = full_type.substr(0, colon);
    const std::string constraint = colon == std::string::npos ? "" : value_constraint(full_type.substr(colon + 1));
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
      if (!type.empty()) shown += " \\fI" + roff_escape(value_name(*opt, type)) + "\\fR";
      out << shown << "\n";
    }
    std::string desc = opt->get_description();
    if (!constraint.empty() && !names_every_choice(desc, constraint)) desc += " (" + constraint + ")";
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
    out << markdown_inline_to_roff(para) << "\n";
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

namespace {

struct Example {
  const char* what;      // one sentence, markdown inline
  const char* commands;  // lines to type, one per line
};

// The first week of a DBA, in the order of the tour in README.md. DocsTest runs each pgdr line's
// command with --help and checks its options exist, so that these cannot drift from the program.
const Example kExamples[] = {
    {"Create the repositories of a cluster's configuration (it refuses to overwrite one):",
     "pgdr --config /etc/pgdr/shop.toml init"},
    {"Prove the setup from the cluster's side: settings, repositories, keys, and `archive_command` through a "
     "forced WAL switch (exit 0 PASS, 1 WARN, 2 FAIL):",
     "pgdr --config /etc/pgdr/shop.toml check"},
    {"Archive the WAL: in `postgresql.conf`,", "archive_command = 'pgdr --config /etc/pgdr/shop.toml archive-push %p'"},
    {"Take a snapshot, then list the snapshots and the archived WAL, the second time for a script:",
     "pgdr --config /etc/pgdr/shop.toml backup\npgdr --config /etc/pgdr/shop.toml info\n"
     "pgdr --config /etc/pgdr/shop.toml info --json"},
    {"Restore the newest snapshot and every archived segment, or stop at a point in time:",
     "pgdr --config /etc/pgdr/shop.toml restore --target-dir /srv/restore\n"
     "pgdr --config /etc/pgdr/shop.toml restore --target-dir /srv/pitr --time '2026-11-25 14:30:00+00'"},
    {"Verify the repository, with a real restore into a throwaway cluster, and keep the JSON report:",
     "pgdr --config /etc/pgdr/shop.toml verify --restore-test --report verify.json"},
    {"Rehearse a disaster and measure its RTO and RPO against the objectives:",
     "pgdr --config /etc/pgdr/shop.toml drill --report drill.json --html drill.html"},
    {"Run the schedule, metrics and dashboard of /etc/pgdr/shop.toml as a service (see the unit "
     "`pgdr-daemon@.service`):",
     "systemctl enable --now pgdr-daemon@shop"},
    {"See it all on a throwaway cluster, without a configuration:", "pgdr demo"},
};

struct Variable {
  const char* name;  // roff-ready tag
  const char* what;  // markdown inline
};

// Every variable pgdr reads (a test compares the getenv calls of src/ with this list), and the
// ones whose names the configuration gives.
const Variable kEnvironment[] = {
    {"PGDR_CONFIG", "The configuration file when `--config` is not given."},
    {"PGDR_CATALOG", "The catalog (the local SQLite file of history and verification state) when `[catalog] path` "
                     "is not set."},
    {"XDG_STATE_HOME, HOME",
     "Where the catalog goes when neither is set and pgdr does not run as root: `$XDG_STATE_HOME/pgdr/`, else "
     "`~/.local/state/pgdr/` (as root: `/var/lib/pgdr/`)."},
    {"TMPDIR", "Temporary files, and the throwaway clusters of `drill` (without `[drill] dr_path`), "
               "`verify --restore-test` and `demo`; `/tmp` when unset."},
    {"PATH", "Where `pg_config` is looked for when the server programs of a cluster's major are not in "
             "`[cluster] pg_bindir` or `/usr/lib/postgresql/MAJOR/bin`; also the path of the shell commands "
             "pgdr runs (`passphrase_command`, `app_check`)."},
    {"the variable named by [key] passphrase_env",
     "The passphrase of the repositories, e.g. `PGDR_PASSPHRASE`. It must be set in the environment of the server "
     "too, which runs `archive-push` and `archive-get`."},
    {"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
     "The credentials of an S3 repository, unless its `s3_key_env`, `s3_secret_env` and `s3_token_env` name "
     "other variables."},
    {"the variables named by [alerts] smtp_password_env and [daemon] auth_token_env",
     "The SMTP password of the alerts, and the bearer token of the daemon's pages."},
    {"PGHOST, PGPORT, PGUSER, PGPASSWORD, PGAPPNAME and the other PG* variables",
     "Read by libpq for what `[cluster] conninfo` and `[stream] conninfo` leave unsaid."},
    {"NOTIFY_SOCKET", "`pgdr daemon`: the socket on which a systemd service of `Type=notify` waits for readiness "
                      "(`READY=1` once the daemon listens) and `STOPPING=1`. The daemon removes it from the "
                      "environment of its jobs."},
    {"PGDR_DEMO_PASSPHRASE", "Set by `pgdr demo` for the repository it creates, and named in the configuration "
                             "it writes; not read otherwise."},
    {"PGDR_SYSLOG_SOCKET", "The datagram socket that `[log] syslog` writes to, instead of `/dev/log`."},
    {"PGDR_TEST_KILL_AT", "For tests only: the name of a point (e.g. between a WAL segment and its summary in "
                          "`archive-push`) at which pgdr kills itself, to prove what a crash there leaves. Never set "
                          "it on a real system."},
    {"PGDR_TEST_NOW", "For tests only: an ISO-8601 UTC time at which pgdr's clock starts, instead of the real "
                      "time. Never set it on a real system."},
};

void write_examples(std::ostringstream& out) {
  out << ".SH EXAMPLES\n";
  for (const Example& e : kExamples) {
    out << ".PP\n" << markdown_inline_to_roff(e.what) << "\n.PP\n.RS 4\n.nf\n";
    std::string_view lines = e.commands;
    while (!lines.empty()) {
      const std::size_t nl = lines.find('\n');
      out << roff_line(lines.substr(0, nl)) << "\n";
      lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
    }
    out << ".fi\n.RE\n";
  }
}

void write_environment(std::ostringstream& out) {
  out << ".SH ENVIRONMENT\n";
  for (const Variable& v : kEnvironment) out << ".TP\n.B " << roff_line(v.name) << "\n" << markdown_inline_to_roff(v.what) << "\n";
}

}  // namespace

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
      << "pgdr backs a PostgreSQL 14 to 18 cluster up into encrypted, deduplicated repositories, archives\n"
      << "its WAL there, restores it to the end of the archive, to a point in time or as a standby, and\n"
      << "checks that all of it would work in a disaster: verification, drills, measured RTO and RPO.\n"
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
      << "read intact, a repository is unreachable or the archive has a gap, so that PostgreSQL stops\n"
      << "recovery instead of ending it early. Check commands (\\fBcheck\\fR, \\fBverify\\fR, \\fBdrill\\fR,\n"
      << "\\fBmeasure\\fR) follow the monitoring\\-plugin convention: 0 PASS, 1 WARN, 2 FAIL, 3 could not\n"
      << "run. Each command's page lists its own codes.\n";
  write_environment(out);
  out << ".SH FILES\n.TP\n.I ./pgdr.toml\n.TQ\n.I /etc/pgdr/pgdr.toml\n"
      << "the configuration file, tried in this order when neither \\fB\\-\\-config\\fR nor\n"
      << ".B PGDR_CONFIG\nnames one; see\n.BR pgdr.toml (5)\n"
      << ".TP\n.I /etc/pgdr/CLUSTER.toml\n"
      << "the configuration of the service instance \\fBpgdr\\-daemon@CLUSTER\\fR\n"
      << ".TP\n.I /var/lib/pgdr/\n"
      << "the catalog and the daemon's state when pgdr runs as root or as the packaged service\n";
  write_examples(out);
  out << ".SH SEE ALSO\n"
      << ".BR pgdr.toml (5),\n.BR postgres (1),\n.BR pg_ctl (1),\n.BR systemd.service (5).\n"
      << "The full manual is in /usr/share/doc/pgdr (docs/ in the sources): one page per command,\n"
      << "the configuration (CONFIGURATION.md) and the disaster\\-recovery guide\n"
      << "(DISASTER_RECOVERY.md).\n";
  return out.str();
}

std::string configuration_manual_page() {
  std::string markdown;
  for (const auto& page : configuration_page())
    if (page.name == "CONFIGURATION.md") markdown = page.text;
  if (markdown.empty()) throw Error(ErrorKind::internal, "the configuration page is not built into this binary");
  // The document's example is the page's EXAMPLES section, where man(7) readers look for one.
  const std::string example_heading = "\n## A complete example\n";
  if (auto at = markdown.find(example_heading); at != std::string::npos)
    markdown.replace(at, example_heading.size(), "\n## Examples\n");
  std::ostringstream out;
  out << ".\\\" The manual page of pgdr's configuration file, written by 'pgdr help --man-config' from\n"
      << ".\\\" docs/CONFIGURATION.md. Do not edit.\n";
  out << ".TH PGDR.TOML 5 \"\" \"pgdr " << PGDR_VERSION << "\" \"pgdr manual\"\n";
  out << ".SH NAME\npgdr.toml \\- the configuration file of pgdr\n";
  out << ".SH SYNOPSIS\n.I /etc/pgdr/pgdr.toml\n.br\n.I /etc/pgdr/CLUSTER.toml\n"
      << "(the service \\fBpgdr\\-daemon@CLUSTER\\fR)\n.br\n.I ./pgdr.toml\n";
  out << ".SH DESCRIPTION\n" << markdown_to_man_body(markdown);
  out << ".SH ENVIRONMENT\n"
      << ".TP\n.B PGDR_CONFIG\nthe file read when \\fB\\-\\-config\\fR is not given\n"
      << ".TP\n.B the variables the file names\n"
      << "the passphrase (\\fB[key] passphrase_env\\fR), S3 credentials (\\fBs3_key_env\\fR, \\fBs3_secret_env\\fR,\n"
      << "\\fBs3_token_env\\fR, by default \\fBAWS_ACCESS_KEY_ID\\fR, \\fBAWS_SECRET_ACCESS_KEY\\fR,\n"
      << "\\fBAWS_SESSION_TOKEN\\fR), the SMTP password (\\fB[alerts] smtp_password_env\\fR) and the\n"
      << "daemon's token (\\fB[daemon] auth_token_env\\fR): the file holds their names, never their values\n"
      << ".TP\n.B PGDR_CATALOG\nthe catalog when \\fB[catalog] path\\fR is not set\n";
  out << ".SH SEE ALSO\n.BR pgdr (1)\n";
  return out.str();
}

}  // namespace pgdr::cli
