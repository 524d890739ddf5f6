// `hive-run exec` names two commands: the CI sandbox (`hive-run exec [run options] -- CMD`)
// and the runc command line's exec into a running container (`hive-run exec [options] ID
// [ARGS...]`). The rule, decided on the words before the command:
//
//   * an option only the runc form has (--process/-p, --detach/-d, --pid-file,
//     --console-socket, --preserve-fds, --tty/-t, --cwd, --user/-u, -e, and the globals
//     engines put before the subcommand: --root, --log, --log-format, --debug,
//     --systemd-cgroup) → runc form;
//   * `--` before any other word → the CI sandbox (the runc form never needs it there);
//   * otherwise the first word that is no option: a container recorded under the default
//     root (/run/hive-run/<word>/state.json) → runc form, anything else → the CI sandbox.
#include <sys/stat.h>

#include <set>
#include <string>

#include "cli/commands.h"
#include "hive/oci_runtime.h"

namespace hive::cli {
namespace {

bool IsRuncExec(int argc, char** argv) {
  static const std::set<std::string> kRuncOnly = {"process",
                                                  "p",
                                                  "detach",
                                                  "d",
                                                  "pid-file",
                                                  "console-socket",
                                                  "preserve-fds",
                                                  "tty",
                                                  "t",
                                                  "cwd",
                                                  "user",
                                                  "u",
                                                  "e",
                                                  "root",
                                                  "log",
                                                  "log-format",
                                                  "debug",
                                                  "systemd-cgroup"};
  // Options of either form that take a value: their value is not the first word.
  static const std::set<std::string> kValued = {
      "policy",  "report", "bind",     "env",         "workdir", "id",   "state-dir",
      "timeout", "memory", "tmp-size", "cpu-seconds", "pids",    "owner"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return false;
    if (arg.size() > 1 && arg[0] == '-') {
      std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
      const size_t eq = name.find('=');
      if (eq != std::string::npos) name.resize(eq);
      if (kRuncOnly.count(name)) return true;
      if (kValued.count(name) && eq == std::string::npos) ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '.' || arg.find('/') != std::string::npos) return false;
    struct stat st;
    const std::string record = std::string(oci::kDefaultRoot) + "/" + arg + "/state.json";
    return stat(record.c_str(), &st) == 0;
  }
  return false;
}

}  // namespace

int ExecEitherCommand(int argc, char** argv) {
  return IsRuncExec(argc, argv) ? OciExecCommand(argc, argv) : ExecCommand(argc, argv);
}

}  // namespace hive::cli
