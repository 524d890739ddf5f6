#include "analyze/tool_arguments.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>

namespace hive::analyze {
namespace {

using Args = std::vector<std::string>;

// `--name` or `--name=value`.
bool IsLong(std::string_view arg, std::string_view name) {
  return arg == name ||
         (arg.starts_with(name) && arg.size() > name.size() && arg[name.size()] == '=');
}

// Short option clusters before the first operand (`-ne`, `-Ic`): true when one of `letters`
// is set. Letters in `with_value` take the rest of the cluster (or the next argument) as
// their value; letters in `stop` end option parsing (python -m).
bool ShortOption(const Args& argv, std::string_view letters, std::string_view with_value,
                 std::string_view stop = "") {
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--" || a.size() < 2 || a[0] != '-') return false;
    if (a[1] == '-') continue;
    for (size_t k = 1; k < a.size(); ++k) {
      char c = a[k];
      if (letters.find(c) != std::string_view::npos) return true;
      if (stop.find(c) != std::string_view::npos) return false;
      if (with_value.find(c) != std::string_view::npos) {
        if (k + 1 == a.size()) ++i;  // the value is the next argument
        break;
      }
    }
  }
  return false;
}

// Arguments before `--`.
Args Options(const Args& argv) {
  Args out;
  for (size_t i = 1; i < argv.size() && argv[i] != "--"; ++i) out.push_back(argv[i]);
  return out;
}

bool Any(const Args& args, std::initializer_list<std::string_view> names) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view n) { return IsLong(a, n); });
  });
}

void Git(const Args& argv, Args& why) {
  Args opts = Options(argv);
  // Global options come before the subcommand; -C, --git-dir and --work-tree take a value.
  std::string sub;
  size_t i = 0;
  for (; i < opts.size(); ++i) {
    const std::string& a = opts[i];
    if (a == "-c" || (a.starts_with("-c") && a.size() > 2) || IsLong(a, "--config-env")) {
      why.push_back(
          "git -c sets configuration, and configuration can run commands (core.pager, "
          "core.sshCommand, alias.*)");
      if (a == "-c") ++i;
      continue;
    }
    if (IsLong(a, "--exec-path") && a.find('=') != std::string::npos) {
      why.push_back("git --exec-path runs git's helper programs from another directory");
      continue;
    }
    if (a == "-C" || a == "--git-dir" || a == "--work-tree" || a == "--namespace") {
      ++i;
      continue;
    }
    if (a.empty() || a[0] != '-') {
      sub = a;
      break;
    }
  }
  Args rest(opts.begin() + static_cast<long>(std::min(i + 1, opts.size())), opts.end());
  if (Any(rest, {"--upload-pack", "--receive-pack"})) {
    why.push_back("git --upload-pack/--receive-pack name a program git runs");
  }
  if ((sub == "clone" || sub == "ls-remote") &&
      std::find(rest.begin(), rest.end(), "-u") != rest.end()) {
    why.push_back("git " + sub + " -u names a program git runs (--upload-pack)");
  }
  if ((sub == "clone" || sub == "submodule") &&
      (Any(rest, {"--config"}) || std::find(rest.begin(), rest.end(), "-c") != rest.end())) {
    why.push_back("git " + sub + " --config sets configuration that can run commands");
  }
  if (Any(rest, {"--exec"}) ||
      ((sub == "rebase") && std::find(rest.begin(), rest.end(), "-x") != rest.end())) {
    why.push_back("git " + sub + " --exec runs a command");
  }
  if (sub == "difftool" &&
      (Any(rest, {"--extcmd"}) || std::find(rest.begin(), rest.end(), "-x") != rest.end())) {
    why.push_back("git difftool --extcmd runs a command");
  }
  if (Any(rest, {"--template"})) why.push_back("git --template installs hooks, which run commands");
  for (const std::string& a : rest) {
    if (a.starts_with("ext::")) why.push_back("the git ext:: transport runs a command");
  }
  if (sub == "filter-branch") why.push_back("git filter-branch runs shell filters");
  if (sub == "bisect" && !rest.empty() && rest[0] == "run")
    why.push_back("git bisect run runs a command");
  if (sub == "submodule" && std::find(rest.begin(), rest.end(), "foreach") != rest.end()) {
    why.push_back("git submodule foreach runs a command");
  }
  if (sub == "config") {
    static const std::regex kRunsCommands(
        R"(^(alias\..*|core\.(sshcommand|pager|editor|fsmonitor|hookspath|askpass|gitproxy)|)"
        R"(.*\.(command|cmd|program|helper|textconv|clean|smudge|process)|diff\.external|)"
        R"(sequence\.editor|gpg\.program|credential\..*)$)",
        std::regex::icase);
    for (const std::string& a : rest) {
      if (std::regex_match(a, kRunsCommands)) {
        why.push_back("git config `" + a + "` is a setting that runs commands");
        break;
      }
    }
  }
}

void Find(const Args& argv, Args& why) {
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-exec" || a == "-execdir" || a == "-ok" || a == "-okdir") {
      why.push_back("find " + a + " runs another program for each file");
    } else if (a == "-delete") {
      why.push_back("find -delete removes every file it matches");
    } else if (a == "-fprint" || a == "-fprint0" || a == "-fprintf" || a == "-fls") {
      why.push_back("find " + a + " writes to a file named on the command line");
    }
  }
}

void Env(const Args& argv, Args& why) {
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-u" || a == "--unset" || a == "-C" || a == "--chdir") {
      ++i;
    } else if (a == "-S" || IsLong(a, "--split-string") || a.starts_with("-S")) {
      why.push_back("env -S splits a string into a command line to run");
      return;
    } else if (a == "--" || (!a.empty() && a[0] != '-' && a.find('=') == std::string::npos)) {
      why.push_back("env runs another program (`" +
                    (a == "--" && i + 1 < argv.size() ? argv[i + 1] : a) +
                    "`), which the allowlist would never see; name it directly");
      return;
    }
  }
}

void Wrapper(const std::string& tool, const Args& argv, Args& why) {
  bool operand = std::any_of(argv.begin() + 1, argv.end(),
                             [](const std::string& a) { return !a.empty() && a[0] != '-'; });
  if (operand) {
    why.push_back(tool +
                  " runs another program, which the allowlist would never see; name it "
                  "directly");
  }
}

void Tar(const Args& argv, Args& why) {
  Args opts = Options(argv);
  if (Any(opts, {"--to-command", "--use-compress-program", "--rsh-command", "--info-script",
                 "--new-volume-script", "--checkpoint-action"}) ||
      std::any_of(opts.begin(), opts.end(), [](const std::string& a) {
        return a == "-I" || a == "-F" || a.starts_with("--checkpoint-action=exec");
      })) {
    why.push_back(
        "tar is told to run a program (--to-command, --use-compress-program, "
        "--checkpoint-action, ...)");
  }
}

void Ssh(const std::string& tool, const Args& argv, Args& why) {
  static const std::regex kCommandOption(
      R"(^(-o\s*)?(ProxyCommand|LocalCommand|PermitLocalCommand|KnownHostsCommand|)"
      R"(ProxyUseFdpass|Match\s+exec).*)",
      std::regex::icase);
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argv.size())
      a = argv[++i];
    else if (a.starts_with("-o"))
      a = a.substr(2);
    else if (a == "-F") {
      why.push_back(tool + " -F reads a configuration file, which can run commands");
      continue;
    } else if (tool == "scp" && (a == "-S" || a.starts_with("-S"))) {
      why.push_back("scp -S names a program scp runs instead of ssh");
      continue;
    } else {
      continue;
    }
    if (std::regex_match(a, kCommandOption)) {
      why.push_back(tool + " -o " + a.substr(0, a.find_first_of("= ")) + " runs a local command");
    }
  }
}

void Awk(const Args& argv, Args& why) {
  // The program is the first operand, or given with -e/--source.
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    std::string program;
    if ((a == "-e" || a == "--source") && i + 1 < argv.size()) {
      program = argv[++i];
    } else if (a == "-f" || a == "-v" || a == "-F") {
      ++i;
      continue;
    } else if (!a.empty() && a[0] == '-') {
      continue;
    } else {
      program = a;
    }
    static const std::regex kRuns(R"(system\s*\(|\|\s*(getline|&)|(print|printf)[^;}]*\|)");
    if (std::regex_search(program, kRuns)) {
      why.push_back("the awk program runs commands (system(), or a pipe to or from a command)");
    }
    return;
  }
}

void Sed(const Args& argv, Args& why) {
  static const std::regex kExecute(
      R"((^|[;\n{}])\s*([0-9$]+(,[0-9$]+)?)?\s*e(\s|;|$)|s(.).*\5.*\5[gpIiMm0-9]*e)");
  static const std::regex kWrite(
      R"((^|[;\n{}])\s*([0-9$/][^wW]*)?[wW]\s+\S|s(.).*\3.*\3[gpIiMme0-9]*w\s)");
  bool script_given = false;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    std::string script;
    if ((a == "-e" || a == "--expression") && i + 1 < argv.size()) {
      script = argv[++i];
      script_given = true;
    } else if (a == "-f" || a == "--file") {
      ++i;
      script_given = true;
      continue;
    } else if (!a.empty() && a[0] == '-') {
      continue;
    } else if (!script_given) {
      script = a;
      script_given = true;
    } else {
      continue;
    }
    if (std::regex_search(script, kExecute)) why.push_back("the sed script runs commands (e)");
    if (std::regex_search(script, kWrite)) why.push_back("the sed script writes files (w)");
  }
}

struct Interpreter {
  std::string_view tool;
  std::string_view letters;     // options that take code on the command line
  std::string_view with_value;  // options whose value follows
  std::string_view stop;        // options after which the rest belongs to the program
  std::string_view what;
};

constexpr Interpreter kInterpreters[] = {
    {"python", "c", "WX", "m", "python -c runs code given on the command line"},
    {"perl", "eE", "IMmixlC0dD", "", "perl -e runs code given on the command line"},
    {"ruby", "e", "IrCEFKTWx0l", "", "ruby -e runs code given on the command line"},
    {"sh", "c", "o", "", "a shell given -c runs a command line"},
    {"lua", "e", "l", "", "lua -e runs code given on the command line"},
    {"php", "rR", "cdzf", "", "php -r runs code given on the command line"},
    {"rscript", "e", "", "", "Rscript -e runs code given on the command line"},
    {"osascript", "e", "l", "", "osascript -e runs code given on the command line"},
    {"tcl", "", "", "", ""},
};

constexpr std::array<std::string_view, 24> kWrappers = {
    "xargs",  "nice",   "nohup",   "timeout", "sudo",   "doas",   "su",      "chroot",
    "setsid", "stdbuf", "unshare", "nsenter", "strace", "ltrace", "gdb",     "watch",
    "flock",  "ionice", "taskset", "chrt",    "script", "expect", "busybox", "runuser"};

}  // namespace

std::string ToolIdentity(std::string_view name) {
  std::string n(name.substr(name.find_last_of('/') + 1));
  while (!n.empty() && (std::isdigit(static_cast<unsigned char>(n.back())) || n.back() == '.')) {
    n.pop_back();
  }
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "pypy" || n == "python-config") return "python";
  if (n == "bash" || n == "dash" || n == "zsh" || n == "ksh" || n == "mksh" || n == "ash" ||
      n == "yash" || n == "fish" || n == "tcsh" || n == "csh" || n == "rbash") {
    return "sh";
  }
  if (n == "gawk" || n == "mawk" || n == "nawk") return "awk";
  if (n == "nodejs") return "node";
  if (n == "gsed") return "sed";
  if (n == "tclsh" || n == "wish") return "tcl";
  if (n == "slogin") return "ssh";
  return n;
}

std::vector<std::string> DangerousArguments(const std::string& tool, const Args& argv) {
  Args why;
  if (tool == "git")
    Git(argv, why);
  else if (tool == "find")
    Find(argv, why);
  else if (tool == "env")
    Env(argv, why);
  else if (tool == "tar")
    Tar(argv, why);
  else if (tool == "ssh" || tool == "scp" || tool == "sftp")
    Ssh(tool, argv, why);
  else if (tool == "awk")
    Awk(argv, why);
  else if (tool == "sed")
    Sed(argv, why);
  else if (std::find(kWrappers.begin(), kWrappers.end(), tool) != kWrappers.end())
    Wrapper(tool, argv, why);
  else if (tool == "node") {
    if (Any(Options(argv), {"-e", "--eval", "-p", "--print"})) {
      why.push_back("node -e/--eval runs code given on the command line");
    }
  } else if (tool == "rsync") {
    if (Any(Options(argv), {"--rsh", "--rsync-path"}) || ShortOption(argv, "e", "")) {
      why.push_back("rsync -e/--rsh/--rsync-path names a program rsync runs");
    }
  } else if (tool == "zip") {
    if (Any(Options(argv), {"--unzip-command"}) ||
        std::find(argv.begin(), argv.end(), "-TT") != argv.end()) {
      why.push_back("zip -TT/--unzip-command names a program zip runs");
    }
  } else if (tool == "wget") {
    if (Any(Options(argv), {"--execute", "-e"}) || ShortOption(argv, "e", "")) {
      why.push_back("wget -e/--execute runs wgetrc commands");
    }
  }
  for (const Interpreter& in : kInterpreters) {
    if (in.tool != tool || in.letters.empty()) continue;
    if (ShortOption(argv, in.letters, in.with_value, in.stop)) why.emplace_back(in.what);
    if (tool == "python" && Any(Options(argv), {"--command"})) why.emplace_back(in.what);
  }
  return why;
}

}  // namespace hive::analyze
