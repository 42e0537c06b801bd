// The Debian package a DBA installs, as the build directory of this test run makes it: cpack -G DEB
// on that directory (no second build; under ctest the fixture pgdr_package_build packs it once into
// PGDR_PACKAGE_TEST_DIR, run alone the suite packs it when that is missing or older than the
// binary), then the .deb unpacked with dpkg-deb -x into a temporary directory and
// checked as an administrator would meet it: the files and their modes, the packaged binary runs
// and is stripped with its symbols in the -dbgsym package, the man pages render without warnings,
// the systemd unit verifies, Depends names the libraries, the completion completes. Also that the
// man page's ENVIRONMENT and EXAMPLES stay true to the program.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/subprocess.h"
#include "harness/pgdr_runner.h"
#include "harness/temp_dir.h"

namespace pgdr::test {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool on_path(const std::string& program) {
  return run_shell("command -v " + program + " >/dev/null 2>&1").exit_code == 0;
}

std::string describe(const ProcessResult& r) { return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err; }

// The package of the build directory: the fixture's, or a new one when there is none or it is older
// than the binary it should hold. Returns the output of cpack when it ran.
ProcessResult pack_if_needed() {
  const fs::path dir = PGDR_PACKAGE_TEST_DIR;
  bool fresh = false;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".deb" && fs::last_write_time(e.path()) >= fs::last_write_time(PGDR_BINARY)) fresh = true;
  if (fresh) return {};
  fs::remove_all(dir);
  // -B: the package and CPack's staging tree go to their own directory, not among the build's files.
  return run_process({PGDR_CPACK, "-G", "DEB", "--config", PGDR_CPACK_CONFIG, "-B", dir.string()});
}

class PackageTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = std::make_unique<TempDir>("pgdr-package");
    cpack_ = pack_if_needed();
    if (!fs::exists(PGDR_PACKAGE_TEST_DIR)) return;
    for (const auto& e : fs::directory_iterator(PGDR_PACKAGE_TEST_DIR)) {
      const std::string name = e.path().filename().string();
      if (name.starts_with("pgdr_") && name.ends_with(".deb")) deb_ = e.path().string();
      if (name.starts_with("pgdr-dbgsym_") && name.ends_with(".ddeb")) dbgsym_ = e.path().string();
    }
    root_ = work_->path() + "/root";
    if (!deb_.empty()) unpacked_ = run_process({"dpkg-deb", "-x", deb_, root_});
  }
  static void TearDownTestSuite() { work_.reset(); }

  void SetUp() override {
    ASSERT_EQ(cpack_.exit_code, 0) << describe(cpack_);
    ASSERT_FALSE(deb_.empty()) << "cpack wrote no pgdr_*.deb\n" << describe(cpack_);
    ASSERT_EQ(unpacked_.exit_code, 0) << describe(unpacked_);
  }

  static std::string in_root(const std::string& path) { return root_ + path; }

  // A man page of the package, decompressed.
  static std::string man_source(const std::string& path) {
    ProcessResult r = run_process({"gzip", "-dc", in_root(path)});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return r.out;
  }

  static std::unique_ptr<TempDir> work_;
  static ProcessResult cpack_;
  static ProcessResult unpacked_;
  static std::string deb_;
  static std::string dbgsym_;
  static std::string root_;
};

std::unique_ptr<TempDir> PackageTest::work_;
ProcessResult PackageTest::cpack_;
ProcessResult PackageTest::unpacked_;
std::string PackageTest::deb_;
std::string PackageTest::dbgsym_;
std::string PackageTest::root_;

const char* const kBinary = "/usr/bin/pgdr";
const char* const kManPages[] = {"/usr/share/man/man1/pgdr.1.gz", "/usr/share/man/man5/pgdr.toml.5.gz"};
const char* const kUnit = "/usr/lib/systemd/system/pgdr-daemon@.service";
const char* const kCompletion = "/usr/share/bash-completion/completions/pgdr";
const char* const kExample = "/usr/share/doc/pgdr/examples/pgdr.toml";

TEST_F(PackageTest, HoldsWhatTheAdministratorNeedsWithSaneModes) {
  std::vector<std::pair<std::string, unsigned>> expected = {
      {kBinary, 0755}, {kUnit, 0644}, {kCompletion, 0644}, {kExample, 0644},
      {"/usr/share/doc/pgdr/CONFIGURATION.md", 0644}, {"/usr/share/doc/pgdr/commands/daemon.md", 0644}};
  for (const char* page : kManPages) expected.emplace_back(page, 0644);
  for (const auto& [path, mode] : expected) {
    struct stat st {};
    ASSERT_EQ(::lstat(in_root(path).c_str(), &st), 0) << path << " is not in the package";
    EXPECT_TRUE(S_ISREG(st.st_mode)) << path;
    EXPECT_EQ(st.st_mode & 07777, mode) << path;
  }
  // Nothing writable by group or others, every directory searchable, nothing set-id.
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    struct stat st {};
    ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & (S_IWGRP | S_IWOTH | S_ISUID | S_ISGID), 0u) << e.path();
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0755u) << e.path();
    }
  }
  // The example is a configuration pgdr reads: every key is one it knows (an unknown key or a
  // wrong type is exit 2, "invalid configuration").
  ProcessResult r = run_process({in_root(kBinary), "--config", in_root(kExample), "history"}, {},
                                {"PGDR_CATALOG=" + work_->path() + "/catalog.db"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

TEST_F(PackageTest, PackagedBinaryRuns) {
  ProcessResult version = run_process({in_root(kBinary), "--version"});
  ASSERT_EQ(version.exit_code, 0) << describe(version);
  EXPECT_EQ(version.out, std::string("pgdr ") + PGDR_VERSION + "\n");
  ProcessResult help = run_process({in_root(kBinary), "help"});
  ASSERT_EQ(help.exit_code, 0) << describe(help);
  for (const char* command : {"backup", "restore", "archive-push", "verify", "drill", "daemon"})
    EXPECT_NE(help.out.find("  " + std::string(command) + " "), std::string::npos) << command << "\n" << help.out;
}

TEST_F(PackageTest, BinaryIsStrippedAndItsSymbolsAreInTheDbgsymPackage) {
  ProcessResult sections = run_process({"readelf", "-S", "-W", in_root(kBinary)});
  ASSERT_EQ(sections.exit_code, 0) << describe(sections);
  EXPECT_EQ(sections.out.find(".debug_info"), std::string::npos) << sections.out;
  EXPECT_EQ(sections.out.find(".symtab"), std::string::npos) << sections.out;
  // What gdb follows to find the separate symbols.
  EXPECT_NE(sections.out.find(".gnu_debuglink"), std::string::npos) << sections.out;

  ASSERT_FALSE(dbgsym_.empty()) << "cpack wrote no pgdr-dbgsym_*.ddeb\n" << describe(cpack_);
  ProcessResult package = run_process({"dpkg-deb", "-f", dbgsym_, "Package"});
  EXPECT_EQ(package.out, "pgdr-dbgsym\n") << describe(package);
  const std::string dbg_root = work_->path() + "/dbgsym";
  ProcessResult x = run_process({"dpkg-deb", "-x", dbgsym_, dbg_root});
  ASSERT_EQ(x.exit_code, 0) << describe(x);
  // The symbols are filed under the binary's build id, and hold the debug information.
  ProcessResult notes = run_process({"readelf", "-n", in_root(kBinary)});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(notes.out, m, std::regex(R"(Build ID: ([0-9a-f]{2})([0-9a-f]+))"))) << notes.out;
  const std::string debug_file = dbg_root + "/usr/lib/debug/.build-id/" + m[1].str() + "/" + m[2].str() + ".debug";
  ASSERT_TRUE(fs::exists(debug_file)) << debug_file;
  ProcessResult debug_sections = run_process({"readelf", "-S", "-W", debug_file});
  EXPECT_NE(debug_sections.out.find(".debug_info"), std::string::npos) << debug_sections.out;
}

TEST_F(PackageTest, ManPagesRenderWithoutWarnings) {
  for (const char* page : kManPages) {
    const std::string source = man_source(page);
    ASSERT_FALSE(source.empty()) << page;
    // groff's own check, every warning enabled.
    ProcessResult groff = run_shell("gzip -dc '" + in_root(page) + "' | groff -man -ww -z 2>&1");
    EXPECT_EQ(groff.exit_code, 0) << page << "\n" << describe(groff);
    EXPECT_EQ(groff.out, "") << page;
    ProcessResult man = run_process({"man", "--warnings", "-l", in_root(page)}, {},
                                    {"MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8"});
    ASSERT_EQ(man.exit_code, 0) << page << "\n" << describe(man);
    EXPECT_EQ(man.err, "") << page;
    EXPECT_GT(man.out.size(), 5000u) << page;
    for (const char* section : {"NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "ENVIRONMENT", "SEE ALSO"})
      EXPECT_NE(man.out.find("\n" + std::string(section) + "\n"), std::string::npos) << page << " has no " << section;
    // Values are named for what they are, not by CLI11's C++ types.
    for (const char* type : {" TEXT", " INT", " UINT", " FLOAT", "INT in [", ":{"})
      EXPECT_EQ(man.out.find(type), std::string::npos) << page << " shows '" << type << "'";
  }
  const std::string pgdr1 = man_source(kManPages[0]);
  EXPECT_NE(pgdr1.find(".SH EXIT STATUS"), std::string::npos);
  EXPECT_NE(pgdr1.find("\\fB\\-\\-process\\-max\\fR \\fIN\\fR"), std::string::npos);
  EXPECT_NE(pgdr1.find("(1 to 64)"), std::string::npos);
  // pgdr.toml(5) has a section for each section of the configuration.
  const std::string toml5 = man_source(kManPages[1]);
  for (const char* section : {"[cluster]", "[[repo]]", "[key]", "[backup]", "[retention]", "[objectives]", "[catalog]",
                              "[drill]", "[stream]", "[verify]", "[alerts]", "[schedule]", "[daemon]"})
    EXPECT_NE(toml5.find(".SH \"" + std::string(section) + "\""), std::string::npos) << section;
}

// The ENVIRONMENT section names every variable the program reads by a fixed name.
TEST_F(PackageTest, ManPageEnvironmentNamesEveryVariablePgdrReads) {
  const std::string page = man_source(kManPages[0]);
  const std::size_t begin = page.find(".SH ENVIRONMENT");
  ASSERT_NE(begin, std::string::npos);
  const std::string environment = page.substr(begin, page.find(".SH ", begin + 1) - begin);
  std::set<std::string> variables;
  static const std::regex getenv_call(R"re(getenv\("([A-Za-z_][A-Za-z0-9_]*)"\))re");
  static const std::regex aws_default(R"re("(AWS_[A-Z_]+)")re");  // the default names of the S3 credentials
  for (const auto& e : fs::recursive_directory_iterator(std::string(PGDR_SOURCE_DIR) + "/src")) {
    if (!e.is_regular_file()) continue;
    const std::string text = read_text(e.path());
    for (const auto* re : {&getenv_call, &aws_default})
      for (auto it = std::sregex_iterator(text.begin(), text.end(), *re); it != std::sregex_iterator(); ++it)
        variables.insert((*it)[1].str());
  }
  ASSERT_TRUE(variables.contains("PGDR_CONFIG") && variables.contains("NOTIFY_SOCKET")) << "the scan of src/ found too little";
  for (const auto& v : variables) EXPECT_NE(environment.find(v), std::string::npos) << v << " is read but not in ENVIRONMENT";
}

// Every pgdr line of EXAMPLES is a command pgdr has, with options that command takes.
TEST_F(PackageTest, ManPageExamplesUseCommandsAndOptionsThatExist) {
  const std::string page = man_source(kManPages[0]);
  const std::size_t begin = page.find(".SH EXAMPLES");
  ASSERT_NE(begin, std::string::npos);
  std::istringstream lines(page.substr(begin, page.find(".SH ", begin + 1) - begin));
  int checked = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("pgdr ")) continue;
    line = std::regex_replace(line, std::regex(R"(\\-)"), "-");
    std::istringstream words(line.substr(5));
    std::vector<std::string> command;
    std::vector<std::string> options;
    for (std::string w; words >> w;) {
      if (w == "--config") {
        words >> w;  // its value
      } else if (w.starts_with("--")) {
        options.push_back(w);
      } else if (options.empty() && !w.starts_with("'") && w.find('/') == std::string::npos) {
        command.push_back(w);
      }
    }
    std::vector<std::string> args = command;
    args.push_back("--help");
    ProcessResult help = run_process([&] {
      std::vector<std::string> argv = {in_root(kBinary)};
      argv.insert(argv.end(), args.begin(), args.end());
      return argv;
    }());
    ASSERT_EQ(help.exit_code, 0) << line << "\n" << describe(help);
    for (const auto& o : options) EXPECT_NE(help.out.find(o), std::string::npos) << line << ": no option " << o;
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

TEST_F(PackageTest, SystemdUnitVerifies) {
  const std::string unit = read_text(in_root(kUnit));
  // What the unit promises the administrator, whatever the verifier below knows.
  for (const char* line : {"Type=notify", "ExecStart=/usr/bin/pgdr --config /etc/pgdr/%i.toml daemon", "User=postgres",
                           "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "StateDirectory=pgdr",
                           "KillMode=mixed", "WantedBy=multi-user.target", "ReadWritePaths="})
    EXPECT_NE(unit.find(line), std::string::npos) << "the unit has no " << line << "\n" << unit;
  // .ci/deps.sh installs systemd for its verifier: without it the unit is not checked at all.
  ASSERT_TRUE(on_path("systemd-analyze")) << "systemd-analyze is not installed (Debian package systemd)";
  // An instance of the template, its ExecStart pointing at the unpacked binary (verify checks that
  // it is executable) and man finding the packaged pages (verify checks Documentation=man:).
  const std::string dir = work_->make_dir("units");
  std::string instance = std::regex_replace(unit, std::regex("/usr/bin/pgdr"), in_root(kBinary));
  std::ofstream(dir + "/pgdr-daemon@shop.service") << instance;
  ProcessResult verify = run_process({"systemd-analyze", "verify", dir + "/pgdr-daemon@shop.service"}, {},
                                     {"MANPATH=" + in_root("/usr/share/man"), "SYSTEMD_LOG_LEVEL=notice"});
  EXPECT_EQ(verify.exit_code, 0) << describe(verify);
  // Every finding about a unit is prefixed with its name; lines about the machine (a container
  // without some unit) are not ours to judge.
  EXPECT_EQ((verify.out + verify.err).find("pgdr-daemon@shop.service"), std::string::npos) << describe(verify);
}

TEST_F(PackageTest, DependsListsTheSharedLibraries) {
  ProcessResult depends = run_process({"dpkg-deb", "-f", deb_, "Depends"});
  ASSERT_EQ(depends.exit_code, 0) << describe(depends);
  for (const char* package : {"libpq5", "libssl3", "libcurl4", "libexpat1", "libzstd1", "liblz4-1", "libsqlite3-0", "libc6", "libstdc++6"})
    EXPECT_TRUE(std::regex_search(depends.out, std::regex(std::string("(^|, )") + std::regex_replace(package, std::regex(R"([+])"), R"(\+)") + "( |,|$)")))
        << package << " missing from Depends: " << depends.out;
}

TEST_F(PackageTest, BashCompletionCompletesCommandsOptionsAndChoices) {
  // bash-completion's loader sources the file and calls _pgdr with COMP_WORDS set; so does this.
  const std::string script = "source '" + in_root(kCompletion) + "'\n" +
                             R"sh(c() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _pgdr; echo "${COMPREPLY[*]}"; }
c pgdr ba
c pgdr --config /etc/pgdr/shop.toml rest
c pgdr restore --target-a
c pgdr restore --target-action p
c pgdr key ''
c pgdr backup --q
c pgdr help dr
complete -p pgdr
)sh";
  ProcessResult r = run_process({"bash", "--norc", "--noprofile", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out,
            "backup\n"
            "restore\n"
            "--target-action\n"
            "promote pause\n"
            "change list\n"
            "--quiet\n"
            "drill\n"
            "complete -F _pgdr pgdr\n")
      << describe(r);
}

}  // namespace
}  // namespace pgdr::test
