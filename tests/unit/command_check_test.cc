// hive::CheckCommand: injection attempts, lookalike paths, tools directories and the
// arguments that make an allowed program run another one. Nothing here executes a command.
#include "hive/command_check.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "analyze/tool_arguments.h"
#include "temp_dir.h"

namespace {

using hive::CheckCommand;
using hive::CommandCheckOptions;
using hive::CommandVerdict;
using hive::testing::TempDir;

constexpr const char* kTool = "#!/bin/sh\necho tool\n";

bool Mentions(const CommandVerdict& v, const std::string& text) {
  for (const std::string& r : v.reasons) {
    if (r.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string Reasons(const CommandVerdict& v) {
  std::string out;
  for (const std::string& r : v.reasons) out += r + " | ";
  return out;
}

std::vector<std::string> Why(const std::string& tool, std::vector<std::string> argv) {
  return hive::analyze::DangerousArguments(tool, argv);
}

}  // namespace

TEST_CASE("an allowed program with plain arguments passes") {
  CommandVerdict v = CheckCommand({"ls", "-l", "/tmp"}, {});
  CHECK_MESSAGE(v.allowed, Reasons(v));
  CHECK(v.program.size() > 3);
  CHECK(v.program.substr(v.program.size() - 3) == "/ls");
  CHECK(v.argv == std::vector<std::string>{"ls", "-l", "/tmp"});
}

TEST_CASE("one string is split like a shell would, quotes included") {
  CommandVerdict v = CheckCommand({"grep -n 'a;b|c' \"my file\" x\\ y"}, {});
  CHECK_MESSAGE(v.allowed, Reasons(v));
  CHECK(v.argv == std::vector<std::string>{"grep", "-n", "a;b|c", "my file", "x y"});
}

TEST_CASE("shell syntax in a command string is refused, each kind named") {
  struct Case {
    const char* line;
    const char* reason;
  };
  const Case cases[] = {
      {"ls; rm -rf /", "`;` runs another command"},
      {"ls && id", "`&&` chains"},
      {"ls || id", "`||` chains"},
      {"ls | sh", "`|` pipes"},
      {"ls & id", "background"},
      {"echo x > /etc/passwd", "`>` redirects output"},
      {"cat < /etc/shadow", "`<` redirects input"},
      {"echo `id`", "backticks"},
      {"echo $(id)", "`$(` runs another command"},
      {"echo \"$(id)\"", "`$(` runs another command"},
      {"echo $HOME", "`$` expands a variable"},
      {"ls\nid", "a newline starts another command"},
      {"ls\r\nid", "a newline starts another command"},
      {"ls #; rm", "`#` starts a comment"},
      {"(id)", "subshell"},
      {"ls 'unclosed", "unbalanced single quote"},
  };
  for (const Case& c : cases) {
    CommandVerdict v = CheckCommand({c.line}, {});
    CHECK_MESSAGE(!v.allowed, c.line);
    CHECK_MESSAGE(Mentions(v, c.reason), c.line, " -> ", Reasons(v));
  }
}

TEST_CASE("given as separate arguments, metacharacters are just characters") {
  CommandVerdict v = CheckCommand({"echo", "a;b", "$(id)", "`x`"}, {});
  CHECK_MESSAGE(v.allowed, Reasons(v));
}

TEST_CASE("SplitCommandLine names the shell syntax it refuses") {
  auto ok = hive::SplitCommandLine("tar czf 'out dir.tgz' src");
  REQUIRE(ok.ok());
  CHECK(*ok == std::vector<std::string>{"tar", "czf", "out dir.tgz", "src"});
  auto bad = hive::SplitCommandLine("a && b | c");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "shell syntax in the command: `&&` chains another command; `|` pipes into another "
        "command");
}

TEST_CASE("lookalike and disguised program paths are refused") {
  for (const char* name : {"/usr/bin/../bin/ls", "/usr/bin/./ls", "/bin/../usr/bin/ls"}) {
    CommandVerdict v = CheckCommand({name}, {});
    CHECK_MESSAGE(!v.allowed, name);
    CHECK_MESSAGE(Mentions(v, "uses `.` or `..`"), name, " -> ", Reasons(v));
  }
  // Trailing space, zero-width space, a Unicode small-L lookalike, a control character.
  for (std::string name : {std::string("/usr/bin/ls "), std::string("ls\u200b"),
                           std::string("\u217cs"), std::string("l\x01s")}) {
    CommandVerdict v = CheckCommand(std::vector<std::string>{name, "-l"}, {});
    CHECK_MESSAGE(!v.allowed, name);
  }
  CHECK(Mentions(CheckCommand({"l\x01s", "x"}, {}), "control characters"));
  CHECK(Mentions(CheckCommand({"nosuchprogram-hive", "x"}, {}), "is not found"));
}

TEST_CASE("a program outside the trusted directories is refused, even as a link to one") {
  TempDir t;
  std::string copy = t.Write("ls", kTool, 0755);
  CommandVerdict v = CheckCommand({copy, "-l"}, {});
  CHECK_FALSE(v.allowed);
  CHECK_MESSAGE(Mentions(v, "not in a trusted directory"), Reasons(v));

  std::string link = t.path() + "/cat";
  REQUIRE(::symlink("/bin/cat", link.c_str()) == 0);
  v = CheckCommand({link, "/etc/hostname"}, {});
  CHECK_FALSE(v.allowed);
  CHECK_MESSAGE(Mentions(v, "not in a trusted directory"), Reasons(v));

  v = CheckCommand({"./relative/ls"}, {});
  CHECK_FALSE(v.allowed);
}

TEST_CASE("the allowlist: by name, by absolute path, and the built-in default") {
  CommandCheckOptions only_cat;
  only_cat.allowed = {"cat"};
  CommandVerdict v = CheckCommand({"ls"}, only_cat);
  CHECK_FALSE(v.allowed);
  CHECK_MESSAGE(Mentions(v, "is not in the allowlist"), Reasons(v));
  CHECK(CheckCommand({"cat", "/etc/hostname"}, only_cat).allowed);

  CommandCheckOptions by_path;
  by_path.allowed = {"/bin/ls"};
  CHECK(CheckCommand({"ls"}, by_path).allowed);

  const auto& d = hive::DefaultAllowedPrograms();
  CHECK(std::find(d.begin(), d.end(), "python3") != d.end());
  CHECK(std::find(d.begin(), d.end(), "sh") == d.end());
  CHECK_FALSE(CheckCommand({"sh", "script.sh"}, {}).allowed);
}

TEST_CASE("tools directory: its programs are allowed; symlinks out of it are not") {
  TempDir t;
  std::string tools = t.Dir("tools", 0755);
  t.Write("tools/mytool", kTool, 0755);
  t.Write("tools/noexec", kTool, 0644);
  REQUIRE(::symlink("/bin/sh", (tools + "/ls2").c_str()) == 0);
  CommandCheckOptions o;
  o.tools_dirs = {tools};

  CommandVerdict v = CheckCommand({"mytool", "--flag"}, o);
  CHECK_MESSAGE(v.allowed, Reasons(v));
  CHECK(v.program == tools + "/mytool");
  CHECK(CheckCommand({tools + "/mytool"}, o).allowed);

  v = CheckCommand({"noexec"}, o);
  CHECK_FALSE(v.allowed);
  CHECK_MESSAGE(Mentions(v, "is not executable"), Reasons(v));

  // ls2 -> /bin/sh: judged as what it really is, and sh is not allowed.
  v = CheckCommand({"ls2"}, o);
  CHECK_FALSE(v.allowed);
  CHECK_MESSAGE(Mentions(v, "symlink"), Reasons(v));

  CHECK_FALSE(CheckCommand({tools + "/../tools/mytool"}, o).allowed);
}

TEST_CASE("tools directory writable by everyone is ignored") {
  TempDir t;
  std::string tools = t.Dir("open", 0777);
  t.Write("open/mytool", kTool, 0755);
  CommandCheckOptions o;
  o.tools_dirs = {tools};
  CommandVerdict v = CheckCommand({"mytool"}, o);
  CHECK_FALSE(v.allowed);
  bool noted = false;
  for (const std::string& n : v.notes) noted |= n.find("writable by every user") != n.npos;
  CHECK(noted);
}

TEST_CASE("a program file writable by others is refused") {
  TempDir t;
  std::string tools = t.Dir("tools", 0755);
  std::string tool = t.Write("tools/tool", kTool, 0757);
  CommandCheckOptions o;
  o.tools_dirs = {tools};
  CommandVerdict v = CheckCommand({"tool"}, o);
  CHECK_FALSE(v.allowed);
  CHECK_MESSAGE(Mentions(v, "writable by every user"), Reasons(v));
}

TEST_CASE("dangerous arguments through CheckCommand") {
  CHECK(Mentions(CheckCommand({"find", ".", "-name", "*.py", "-exec", "rm", "{}", ";"}, {}),
                 "find -exec"));
  CHECK(Mentions(CheckCommand({"find", "/", "-delete"}, {}), "-delete"));
  CHECK(CheckCommand({"find", ".", "-name", "*.py"}, {}).allowed);
  CHECK(Mentions(CheckCommand({"python3", "-c", "import os"}, {}), "python -c"));
  CHECK(CheckCommand({"python3", "script.py", "-c", "x"}, {}).allowed);
  CommandCheckOptions with_env;
  with_env.allowed = {"env", "ls"};
  CHECK(Mentions(CheckCommand({"env", "FOO=1", "ls"}, with_env), "env runs another program"));
  CHECK(CheckCommand({"env"}, with_env).allowed);
}

TEST_CASE("git: configuration, transports and helpers that run commands") {
  CHECK_FALSE(Why("git", {"git", "-c", "core.sshCommand=touch /tmp/x", "fetch"}).empty());
  CHECK_FALSE(Why("git", {"git", "-ccore.pager=sh", "log"}).empty());
  CHECK_FALSE(Why("git", {"git", "--config-env=core.pager=X", "log"}).empty());
  CHECK_FALSE(Why("git", {"git", "fetch", "--upload-pack=touch /tmp/x", "origin"}).empty());
  CHECK_FALSE(Why("git", {"git", "push", "--receive-pack", "x", "origin"}).empty());
  CHECK_FALSE(Why("git", {"git", "clone", "-u", "sh -c id", "repo"}).empty());
  CHECK_FALSE(Why("git", {"git", "clone", "ext::sh -c id", "dir"}).empty());
  CHECK_FALSE(Why("git", {"git", "clone", "--config", "core.hooksPath=/x", "url"}).empty());
  CHECK_FALSE(Why("git", {"git", "config", "alias.st", "!sh -c id"}).empty());
  CHECK_FALSE(Why("git", {"git", "config", "core.fsmonitor", "id"}).empty());
  CHECK_FALSE(Why("git", {"git", "rebase", "-x", "make test", "main"}).empty());
  CHECK_FALSE(Why("git", {"git", "archive", "--remote=r", "--exec=/tmp/x", "HEAD"}).empty());
  CHECK_FALSE(Why("git", {"git", "submodule", "foreach", "id"}).empty());
  CHECK_FALSE(Why("git", {"git", "bisect", "run", "./test.sh"}).empty());
  CHECK(Why("git", {"git", "log", "-c", "--oneline"}).empty());  // -c: combined diff here
  CHECK(Why("git", {"git", "-C", "repo", "status"}).empty());
  CHECK(Why("git", {"git", "config", "user.name", "Me"}).empty());
  CHECK(Why("git", {"git", "log", "--", "-c"}).empty());
}

TEST_CASE("interpreters given code on the command line") {
  CHECK_FALSE(Why("python", {"python3", "-c", "x"}).empty());
  CHECK_FALSE(Why("python", {"python3", "-Ic", "x"}).empty());
  CHECK_FALSE(Why("python", {"python3", "-W", "ignore", "-c", "x"}).empty());
  CHECK(Why("python", {"python3", "-m", "pip", "-c", "x"}).empty());
  CHECK(Why("python", {"python3", "-u", "job.py"}).empty());
  CHECK_FALSE(Why("perl", {"perl", "-ne", "print"}).empty());
  CHECK_FALSE(Why("perl", {"perl", "-E", "say 1"}).empty());
  CHECK(Why("perl", {"perl", "-Iexlib", "script.pl"}).empty());
  CHECK_FALSE(Why("ruby", {"ruby", "-e", "x"}).empty());
  CHECK_FALSE(Why("node", {"node", "--eval=process.exit()"}).empty());
  CHECK_FALSE(Why("node", {"node", "-p", "1"}).empty());
  CHECK_FALSE(Why("sh", {"bash", "-ec", "id"}).empty());
  CHECK_FALSE(Why("sh", {"sh", "-o", "errexit", "-c", "id"}).empty());
  CHECK(Why("sh", {"sh", "build.sh", "-c"}).empty());
  CHECK_FALSE(Why("php", {"php", "-r", "system('id');"}).empty());
  CHECK_FALSE(Why("lua", {"lua", "-e", "os.execute('id')"}).empty());
}

TEST_CASE("wrappers, archivers, remote shells, awk and sed") {
  CHECK_FALSE(Why("env", {"env", "-i", "PATH=/bin", "sh"}).empty());
  CHECK_FALSE(Why("env", {"env", "-S", "sh -c id"}).empty());
  CHECK(Why("env", {"env", "-u", "HOME"}).empty());
  CHECK_FALSE(Why("xargs", {"xargs", "rm"}).empty());
  CHECK_FALSE(Why("timeout", {"timeout", "5", "sh"}).empty());
  CHECK_FALSE(Why("tar", {"tar", "xf", "a.tar", "--to-command=sh"}).empty());
  CHECK_FALSE(
      Why("tar", {"tar", "cf", "a.tar", "--checkpoint=1", "--checkpoint-action=exec=sh"}).empty());
  CHECK_FALSE(Why("tar", {"tar", "-I", "sh -c id", "-cf", "a", "b"}).empty());
  CHECK(Why("tar", {"tar", "czf", "out.tgz", "src"}).empty());
  CHECK_FALSE(Why("ssh", {"ssh", "-o", "ProxyCommand=sh -c id", "host"}).empty());
  CHECK_FALSE(Why("ssh", {"ssh", "-oLocalCommand=id", "host"}).empty());
  CHECK(Why("ssh", {"ssh", "-o", "BatchMode=yes", "host"}).empty());
  CHECK_FALSE(Why("scp", {"scp", "-S", "/tmp/evil", "a", "h:b"}).empty());
  CHECK_FALSE(Why("rsync", {"rsync", "-avze", "sh -c id", "a", "h:b"}).empty());
  CHECK_FALSE(Why("awk", {"awk", "BEGIN { system(\"id\") }"}).empty());
  CHECK_FALSE(Why("awk", {"gawk", "{ print | \"sh\" }", "f"}).empty());
  CHECK(Why("awk", {"awk", "-F:", "{ print $1 }", "/etc/passwd"}).empty());
  CHECK_FALSE(Why("sed", {"sed", "s/x/id/e", "f"}).empty());
  CHECK_FALSE(Why("sed", {"sed", "-e", "1e id", "f"}).empty());
  CHECK_FALSE(Why("sed", {"sed", "w /etc/x", "f"}).empty());
  CHECK(Why("sed", {"sed", "-n", "s/a/b/gp", "f"}).empty());
  CHECK(Why("sed", {"sed", "s/there/here/", "f"}).empty());
}

TEST_CASE("tool identity follows the program family") {
  using hive::analyze::ToolIdentity;
  CHECK(ToolIdentity("python3.11") == "python");
  CHECK(ToolIdentity("/usr/bin/pypy3") == "python");
  CHECK(ToolIdentity("dash") == "sh");
  CHECK(ToolIdentity("gawk") == "awk");
  CHECK(ToolIdentity("nodejs") == "node");
  CHECK(ToolIdentity("perl5.36") == "perl");
  CHECK(ToolIdentity("git") == "git");
}
