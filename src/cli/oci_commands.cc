// The runc command line: global --root/--log/--log-format/--debug/--systemd-cgroup, then
// create, start, state, kill, delete, run, exec, list, spec, features, update. Options may come
// before or after the container id, as `--name value`, `--name=value` or with one dash. Errors exit 1
// (runc's status, which clients expect); the message also goes to --log.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/files.h"
#include "base/log.h"
#include "cli/commands.h"
#include "hive/oci_runtime.h"
#include "hive/state_dir.h"
#include "oci/spec_template.h"

namespace hive::cli {
namespace {

struct Args {
  oci::Global global;
  std::map<std::string, std::string> values;  // options with a value
  std::set<std::string> flags;                // options without one
  std::vector<std::string> positional;
  std::string error;
};

int Fail1(const std::string& message) {
  log::Write(log::Level::kError, message);
  return 1;
}

// `valued` and `boolean` list the command's own options (long names without dashes).
Args Parse(int argc, char** argv, const std::set<std::string>& valued,
           const std::set<std::string>& boolean) {
  static const std::set<std::string> kGlobalValued = {"root", "log", "log-format", "criu",
                                                      "rootless", "policy", "state-dir"};
  static const std::set<std::string> kGlobalBool = {"debug", "systemd-cgroup"};
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) a.positional.push_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      a.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    static const std::map<std::string, std::string> kShort = {
        {"b", "bundle"}, {"f", "force"}, {"a", "all"}, {"q", "quiet"}, {"d", "detach"},
        {"p", "process"}, {"t", "tty"}, {"e", "env"}, {"u", "user"}, {"r", "resources"}};
    if (auto s = kShort.find(name); s != kShort.end()) name = s->second;
    if (valued.count(name) || kGlobalValued.count(name)) {
      if (!has_value) {
        if (i + 1 >= argc) {
          a.error = fmt::format("option --{} needs a value", name);
          return a;
        }
        value = argv[++i];
      }
      a.values[name] = value;
    } else if (boolean.count(name) || kGlobalBool.count(name)) {
      if (has_value && value != "true" && value != "false") {
        a.error = fmt::format("option --{}: expected true or false, got `{}`", name, value);
        return a;
      }
      if (!has_value || value == "true") a.flags.insert(name);
    } else {
      a.error = fmt::format("unknown option `{}`", arg);
      return a;
    }
  }
  a.global.root = a.values.count("root") ? a.values["root"] : oci::kDefaultRoot;
  a.global.state_dir = ResolveStateDir(a.values.count("state-dir") ? a.values["state-dir"] : "");
  if (a.values.count("policy")) a.global.policy_path = a.values["policy"];
  if (a.flags.count("debug")) log::SetLevel(log::Level::kDebug);
  return a;
}

// The global options every command shares; false (and the error logged) when one is refused.
bool ApplyGlobals(const Args& a, int* status) {
  auto fmt_it = a.values.find("log-format");
  const std::string format = fmt_it == a.values.end() ? "text" : fmt_it->second;
  if (format != "text" && format != "json") {
    *status = Fail1(fmt::format("--log-format: `{}` is not text or json", format));
    return false;
  }
  if (auto it = a.values.find("log"); it != a.values.end() && !it->second.empty()) {
    const int fd = open(it->second.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      *status = Fail1(fmt::format("--log `{}`: {}", it->second, strerror(errno)));
      return false;
    }
    log::SetSink(fd, format == "json");
  }
  if (!a.error.empty()) {
    *status = Fail1(a.error);
    return false;
  }
  if (a.flags.count("systemd-cgroup")) {
    *status = Fail1(
        "--systemd-cgroup: hive-run manages cgroupfs directly and does not drive systemd; "
        "configure the client for cgroupfs (podman --cgroup-manager=cgroupfs, containerd "
        "SystemdCgroup = false)");
    return false;
  }
  if (auto it = a.values.find("rootless"); it != a.values.end() && it->second == "true" &&
                                           geteuid() == 0) {
    *status = Fail1("--rootless=true: hive-run runs as root here; use --rootless=false or auto");
    return false;
  }
  return true;
}

bool OneId(const Args& a, const char* usage, std::string* id, int* status) {
  if (a.positional.size() != 1) {
    *status = Fail1(fmt::format("usage: hive-run {}", usage));
    return false;
  }
  *id = a.positional[0];
  return true;
}

int ParseSignal(const std::string& s) {
  static const std::map<std::string, int> kSignals = {
      {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
      {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
      {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
      {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
      {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU}, {"URG", SIGURG},
      {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
      {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"PWR", SIGPWR},   {"SYS", SIGSYS}};
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (s.size() > 3) return -1;
    const int n = std::atoi(s.c_str());
    return n >= 1 && n <= SIGRTMAX ? n : -1;
  }
  std::string name = s;
  for (char& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  auto it = kSignals.find(name);
  return it == kSignals.end() ? -1 : it->second;
}

oci::CreateOptions CreateOptionsFrom(const Args& a, const std::string& id) {
  oci::CreateOptions o;
  o.id = id;
  auto get = [&](const char* k, std::string* out) {
    if (auto it = a.values.find(k); it != a.values.end()) *out = it->second;
  };
  get("bundle", &o.bundle);
  get("pid-file", &o.pid_file);
  get("console-socket", &o.console_socket);
  o.no_pivot = a.flags.count("no-pivot") > 0;
  o.no_new_keyring = a.flags.count("no-new-keyring") > 0;
  return o;
}

bool PreserveFds(const Args& a, oci::CreateOptions* o, int* status) {
  auto it = a.values.find("preserve-fds");
  if (it == a.values.end()) return true;
  const std::string& v = it->second;
  if (v.empty() || v.size() > 6 || !std::all_of(v.begin(), v.end(), ::isdigit)) {
    *status = Fail1(fmt::format("--preserve-fds: `{}` is not a number", v));
    return false;
  }
  o->preserve_fds = std::atoi(v.c_str());
  return true;
}

const std::set<std::string> kCreateValued = {"bundle", "pid-file", "console-socket",
                                             "preserve-fds"};
const std::set<std::string> kCreateBool = {"no-pivot", "no-new-keyring"};

int Print(const nlohmann::json& j) {
  const std::string s = j.dump() + "\n";
  return WriteAll(STDOUT_FILENO, s, "standard output").ok() ? 0 : 1;
}

}  // namespace

int OciCreateCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, kCreateValued, kCreateBool);
  int status = 0;
  std::string id;
  if (!ApplyGlobals(a, &status) ||
      !OneId(a, "create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID",
             &id, &status)) {
    return status;
  }
  oci::CreateOptions o = CreateOptionsFrom(a, id);
  if (!PreserveFds(a, &o, &status)) return status;
  if (Status s = oci::Create(a.global, o); !s.ok()) return Fail1(s.message());
  return 0;
}

int OciRunCommand(int argc, char** argv) {
  std::set<std::string> boolean = kCreateBool;
  boolean.insert("detach");
  Args a = Parse(argc, argv, kCreateValued, boolean);
  int status = 0;
  std::string id;
  if (!ApplyGlobals(a, &status) ||
      !OneId(a, "run [--bundle DIR] [--pid-file F] [--detach] ID", &id, &status)) {
    return status;
  }
  oci::CreateOptions o = CreateOptionsFrom(a, id);
  if (!PreserveFds(a, &o, &status)) return status;
  Result<int> r = oci::Run(a.global, o, a.flags.count("detach") > 0);
  if (!r.ok()) return Fail1(r.status().message());
  return *r;
}

int OciExecCommand(int argc, char** argv) {
  // The options are exec's (and the globals) up to the id, and after it up to the command:
  // what follows the command's first word is the command's, `-c` included. --env repeats.
  static const std::set<std::string> kValued = {"process", "pid-file", "console-socket",
                                                "preserve-fds", "cwd", "user", "root", "log",
                                                "log-format", "criu", "rootless", "policy",
                                                "state-dir"};
  static const std::map<std::string, std::string> kShortValued = {
      {"p", "process"}, {"u", "user"}, {"e", "env"}};
  std::vector<char*> own = {argv[0]};
  std::vector<std::string> env;
  std::vector<std::string> command;
  bool have_id = false;
  std::string env_error;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) command.emplace_back(argv[i]);
      break;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
      const size_t eq = name.find('=');
      const std::string bare = name.substr(0, eq);
      const std::string full = kShortValued.count(bare) ? kShortValued.at(bare) : bare;
      if (full == "env") {
        if (eq != std::string::npos) {
          env.push_back(name.substr(eq + 1));
        } else if (i + 1 < argc) {
          env.emplace_back(argv[++i]);
        } else {
          env_error = "option --env needs a value";
        }
        continue;
      }
      own.push_back(argv[i]);
      if (kValued.count(full) && eq == std::string::npos && i + 1 < argc) own.push_back(argv[++i]);
      continue;
    }
    if (!have_id) {
      have_id = true;
      own.push_back(argv[i]);
      continue;
    }
    for (; i < argc; ++i) command.emplace_back(argv[i]);
    break;
  }
  Args a = Parse(static_cast<int>(own.size()), own.data(),
                 {"process", "pid-file", "console-socket", "preserve-fds", "cwd", "user"},
                 {"detach", "tty"});
  if (a.error.empty() && !env_error.empty()) a.error = env_error;
  // The descriptors to pass are checked before --log is opened, which could take a free one
  // of them and so reach the process.
  if (auto it = a.values.find("preserve-fds"); a.error.empty() && it != a.values.end()) {
    const int n = std::atoi(it->second.c_str());
    for (int fd = 3; fd < 3 + n && fd < 3 + 65536; ++fd) {
      if (fcntl(fd, F_GETFD) < 0) {
        a.error = fmt::format("--preserve-fds {}: fd {} is not open", it->second, fd);
        break;
      }
    }
  }
  int status = 0;
  std::string id;
  if (!ApplyGlobals(a, &status) ||
      !OneId(a,
             "exec [--process FILE] [--detach] [--pid-file F] [--preserve-fds N] [--cwd DIR] "
             "[--env K=V]... [--user UID[:GID]] ID [ARGS...]",
             &id, &status)) {
    return status;
  }
  oci::ExecOptions o;
  o.id = id;
  o.args = command;
  o.env = env;
  auto get = [&](const char* k, std::string* out) {
    if (auto it = a.values.find(k); it != a.values.end()) *out = it->second;
  };
  get("process", &o.process_file);
  get("pid-file", &o.pid_file);
  get("console-socket", &o.console_socket);
  get("cwd", &o.cwd);
  get("user", &o.user);
  o.detach = a.flags.count("detach") > 0;
  o.tty = a.flags.count("tty") > 0;
  oci::CreateOptions fds;
  if (!PreserveFds(a, &fds, &status)) return status;
  o.preserve_fds = fds.preserve_fds;
  Result<int> r = oci::Exec(a.global, o);
  if (!r.ok()) return Fail1(r.status().message());
  return *r;
}

int OciStartCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, {}, {});
  int status = 0;
  std::string id;
  if (!ApplyGlobals(a, &status) || !OneId(a, "start ID", &id, &status)) return status;
  if (Status s = oci::Start(a.global, id); !s.ok()) return Fail1(s.message());
  return 0;
}

int OciStateCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, {}, {});
  int status = 0;
  std::string id;
  if (!ApplyGlobals(a, &status) || !OneId(a, "state ID", &id, &status)) return status;
  Result<nlohmann::json> j = oci::State(a.global, id);
  if (!j.ok()) return Fail1(j.status().message());
  return Print(*j);
}

int OciKillCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, {}, {"all"});
  int status = 0;
  if (!ApplyGlobals(a, &status)) return status;
  if (a.positional.empty() || a.positional.size() > 2) {
    return Fail1("usage: hive-run kill [--all] ID [SIGNAL]");
  }
  const std::string sig_text = a.positional.size() == 2 ? a.positional[1] : "TERM";
  const int sig = ParseSignal(sig_text);
  if (sig < 0) return Fail1(fmt::format("kill: unknown signal `{}`", sig_text));
  if (Status s = oci::Kill(a.global, a.positional[0], sig, a.flags.count("all") > 0); !s.ok()) {
    return Fail1(s.message());
  }
  return 0;
}

int OciDeleteCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, {}, {"force"});
  int status = 0;
  std::string id;
  if (!ApplyGlobals(a, &status) || !OneId(a, "delete [--force] ID", &id, &status)) return status;
  if (Status s = oci::Delete(a.global, id, a.flags.count("force") > 0); !s.ok()) {
    return Fail1(s.message());
  }
  return 0;
}

int OciListCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, {"format"}, {"quiet"});
  int status = 0;
  if (!ApplyGlobals(a, &status)) return status;
  if (!a.positional.empty()) return Fail1("usage: hive-run list [--format table|json] [-q]");
  const std::string format = a.values.count("format") ? a.values["format"] : "table";
  if (format != "table" && format != "json") {
    return Fail1(fmt::format("list: --format `{}` is not table or json", format));
  }
  Result<nlohmann::json> list = oci::List(a.global);
  if (!list.ok()) return Fail1(list.status().message());
  std::string out;
  if (a.flags.count("quiet")) {
    for (const auto& c : *list) out += c["id"].get<std::string>() + "\n";
  } else if (format == "json") {
    // runc prints null for no containers; clients parse both.
    out = (list->empty() ? std::string("null") : list->dump()) + "\n";
  } else {
    out = fmt::format("{:<12} {:<10} {:<10} {:<40} {:<30} {}\n", "ID", "PID", "STATUS",
                      "BUNDLE", "CREATED", "OWNER");
    for (const auto& c : *list) {
      out += fmt::format("{:<12} {:<10} {:<10} {:<40} {:<30} {}\n", c["id"].get<std::string>(),
                         c["pid"].get<int>(), c["status"].get<std::string>(),
                         c["bundle"].get<std::string>(), c["created"].get<std::string>(),
                         c["owner"].get<std::string>());
    }
  }
  return WriteAll(STDOUT_FILENO, out, "standard output").ok() ? 0 : 1;
}

int OciPsCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, {"format"}, {});
  int status = 0;
  std::string id;
  if (!ApplyGlobals(a, &status) || !OneId(a, "ps [--format table|json] ID", &id, &status)) {
    return status;
  }
  const std::string format = a.values.count("format") ? a.values["format"] : "table";
  if (format != "table" && format != "json") {
    return Fail1(fmt::format("ps: --format `{}` is not table or json", format));
  }
  Result<std::vector<pid_t>> pids = oci::Pids(a.global, id);
  if (!pids.ok()) return Fail1(pids.status().message());
  if (format == "json") return Print(nlohmann::json(*pids));
  std::string out = "PID CMD\n";
  for (pid_t p : *pids) {
    Result<std::string> cmd = ReadFile(fmt::format("/proc/{}/cmdline", p));
    std::string c = cmd.ok() ? *cmd : "";
    for (char& ch : c) ch = ch == '\0' ? ' ' : ch;
    out += fmt::format("{} {}\n", p, c);
  }
  return WriteAll(STDOUT_FILENO, out, "standard output").ok() ? 0 : 1;
}

int PauseResume(int argc, char** argv, bool pause) {
  Args a = Parse(argc, argv, {}, {});
  int status = 0;
  std::string id;
  if (!ApplyGlobals(a, &status) || !OneId(a, pause ? "pause ID" : "resume ID", &id, &status)) {
    return status;
  }
  if (Status s = oci::Pause(a.global, id, pause); !s.ok()) return Fail1(s.message());
  return 0;
}

int OciPauseCommand(int argc, char** argv) { return PauseResume(argc, argv, true); }
int OciResumeCommand(int argc, char** argv) { return PauseResume(argc, argv, false); }

int OciSpecCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, {"bundle"}, {"rootless"});
  int status = 0;
  if (!ApplyGlobals(a, &status)) return status;
  const std::string dir = a.values.count("bundle") ? a.values["bundle"] : ".";
  const std::string path = dir + "/config.json";
  if (access(path.c_str(), F_OK) == 0) {
    return Fail1(fmt::format("File {} exists. Remove it first", path));
  }
  const std::string text = oci::SpecTemplate(a.flags.count("rootless") > 0).dump(2) + "\n";
  if (Status s = WriteFileAtomic(path, text, 0644, Sync::kNoSync); !s.ok()) {
    return Fail1(s.message());
  }
  return 0;
}

int OciFeaturesCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, {}, {});
  int status = 0;
  if (!ApplyGlobals(a, &status)) return status;
  return Print(oci::Features());
}

}  // namespace hive::cli

namespace hive::cli {

// `update --resources FILE|- ID`: podman writes the LinuxResources JSON to a file, containerd's
// shim pipes it on stdin. runc's per-limit flags (--memory, ...) are not taken: one input, the
// JSON, whose every field is checked.
int OciUpdateCommand(int argc, char** argv) {
  Args a = Parse(argc, argv, {"resources"}, {});
  int status = 0;
  std::string id;
  if (!ApplyGlobals(a, &status) ||
      !OneId(a, "update --resources FILE|- ID", &id, &status)) {
    return status;
  }
  auto it = a.values.find("resources");
  if (it == a.values.end() || it->second.empty()) {
    return Fail1("update: --resources FILE (or - for standard input) is required");
  }
  std::string text;
  std::string source = it->second;
  if (source == "-") {
    source = "<stdin>";
    char buf[65536];
    for (;;) {
      const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Fail1(fmt::format("update: read standard input: {}", strerror(errno)));
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
      if (text.size() > kResourcesInput.max_bytes) {
        return Fail1(fmt::format("update: the resources on standard input exceed {} bytes",
                                 kResourcesInput.max_bytes));
      }
    }
  } else {
    Result<std::string> read = ReadInputFile(source, kResourcesInput);
    if (!read.ok()) return Fail1(read.status().Wrap("--resources").message());
    text = std::move(read).value();
  }
  if (Status s = oci::Update(a.global, id, text, source); !s.ok()) return Fail1(s.message());
  return 0;
}

}  // namespace hive::cli
