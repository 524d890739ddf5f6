// `hive-run exec`: a process entering a running container (supervisor/enter.h), confined as
// the container's payload is, from the confinement `create` saved (oci/confinement.h). The
// process's seccomp listener goes to the container's monitor before it execs, so its denials
// are answered, counted and written into the container's audit record at delete.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "base/files.h"
#include "base/log.h"
#include "base/pidfd.h"
#include "hive/bundle.h"
#include "hive/oci_runtime.h"
#include "hive/state_dir.h"
#include "oci/confinement.h"
#include "oci/state.h"
#include "runtime/oci_internal.h"
#include "sandbox/capabilities.h"
#include "sandbox/console.h"
#include "supervisor/enter.h"

namespace hive::oci {
namespace {

Status Refuse(const std::string& field, const std::string& why) {
  return Error(Code::kUnsupported, fmt::format("{}: {}", field, why));
}

// An OCI process object (the --process file), read by the config.json front end so its
// fields are checked, and named, exactly as config.json's process is.
Result<ProcessSpec> ReadProcessFile(const std::string& path) {
  HIVE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  HIVE_ASSIGN_OR_RETURN(
      RunSpec spec,
      ParseOciConfig("{\"process\":" + text + "\n,\"root\":{\"path\":\"/\"}}", path, "/"));
  return spec.process;
}

// A process asking for a capability the container's payload does not hold in the same set is
// refused: exec must not be a way around the policy.
Status CheckCapabilities(const CapabilitySets& want, const CapabilitySets& have) {
  for (auto [name, w, h] : {std::tuple{"bounding", &want.bounding, &have.bounding},
                            std::tuple{"effective", &want.effective, &have.effective},
                            std::tuple{"inheritable", &want.inheritable, &have.inheritable},
                            std::tuple{"permitted", &want.permitted, &have.permitted},
                            std::tuple{"ambient", &want.ambient, &have.ambient}}) {
    for (int cap : *w) {
      if (std::find(h->begin(), h->end(), cap) != h->end()) continue;
      std::vector<std::string> held;
      for (int c : *h) held.push_back(caps::Name(c));
      return Refuse(fmt::format("process.capabilities.{}", name),
                    fmt::format("{} is beyond the container's ({}); an exec'd process gets at "
                                "most what the container's process has",
                                caps::Name(cap),
                                held.empty() ? "none" : fmt::format("{}", fmt::join(held, ", "))));
    }
  }
  return Ok();
}

// The container's rlimits, with the process's own where they are no higher.
Result<std::vector<RlimitSpec>> MergeRlimits(const std::vector<RlimitSpec>& want,
                                             const std::vector<RlimitSpec>& have) {
  std::vector<RlimitSpec> out = have;
  for (size_t i = 0; i < want.size(); ++i) {
    const RlimitSpec& w = want[i];
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const RlimitSpec& r) { return r.resource == w.resource; });
    if (it == out.end()) {
      out.push_back(w);
      continue;
    }
    if (w.hard > it->hard) {
      return Refuse(fmt::format("process.rlimits[{}]", i),
                    fmt::format("{} hard {} is above the container's {}", RlimitName(w.resource),
                                w.hard, it->hard));
    }
    *it = w;
  }
  return out;
}

Result<std::pair<uint32_t, uint32_t>> ParseUser(const std::string& text, uint32_t gid) {
  auto number = [](const std::string& s, uint32_t* out) {
    if (s.empty() || s.size() > 10 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
    const unsigned long long v = std::stoull(s);
    if (v > 0xfffffffeULL) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  };
  const size_t colon = text.find(':');
  uint32_t uid = 0;
  if (!number(text.substr(0, colon), &uid) ||
      (colon != std::string::npos && !number(text.substr(colon + 1), &gid))) {
    return Error(Code::kInvalidArgument,
                 fmt::format("--user: expected UID[:GID] (numbers), got `{}`", text));
  }
  return std::make_pair(uid, gid);
}

// The process to run: from the --process file, or the container's own with ARGS and the flags.
Result<ProcessSpec> ExecProcess(const ExecOptions& o, const ProcessSpec& container) {
  if (!o.process_file.empty()) {
    if (!o.args.empty()) {
      return Error(Code::kInvalidArgument,
                   "exec: both --process and a command given; the process file names the "
                   "command (process.args)");
    }
    for (auto [flag, set] : {std::pair{"--cwd", !o.cwd.empty()}, std::pair{"--env", !o.env.empty()},
                             std::pair{"--user", !o.user.empty()}}) {
      if (set) {
        return Error(Code::kInvalidArgument,
                     fmt::format("exec {}: not applied with --process; set it in the process "
                                 "file",
                                 flag));
      }
    }
    HIVE_ASSIGN_OR_RETURN(ProcessSpec p, ReadProcessFile(AbsolutePath(o.process_file, "")));
    if (!p.no_new_privileges) {
      return Refuse("process.noNewPrivileges",
                    "false: every process in a hive-run container runs with no_new_privs");
    }
    HIVE_TRY(CheckCapabilities(p.capabilities, container.capabilities));
    HIVE_ASSIGN_OR_RETURN(p.rlimits, MergeRlimits(p.rlimits, container.rlimits));
    return p;
  }
  if (o.args.empty()) {
    return Error(Code::kInvalidArgument, "exec: no command: give ARGS or --process FILE");
  }
  ProcessSpec p = container;
  p.args = o.args;
  p.terminal = false;  // the container's terminal is its pid 1's; this one asks with --tty
  if (!o.cwd.empty()) {
    if (o.cwd[0] != '/') {
      return Error(Code::kInvalidArgument,
                   fmt::format("--cwd: must be an absolute path, got `{}`", o.cwd));
    }
    p.cwd = o.cwd;
  }
  for (const std::string& e : o.env) {
    const size_t eq = e.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error(Code::kInvalidArgument, fmt::format("--env: expected NAME=VALUE, got `{}`", e));
    }
    const std::string prefix = e.substr(0, eq + 1);
    p.env.erase(std::remove_if(p.env.begin(), p.env.end(),
                               [&](const std::string& v) { return v.rfind(prefix, 0) == 0; }),
                p.env.end());
    p.env.push_back(e);
  }
  if (!o.user.empty()) {
    HIVE_ASSIGN_OR_RETURN(auto ids, ParseUser(o.user, p.user.gid));
    p.user.uid = ids.first;
    p.user.gid = ids.second;
    p.user.additional_gids.clear();
  }
  return p;
}

// Waits for the process (our child), passing the interrupts meant for it on.
int WaitForwarding(pid_t pid, const sigset_t& set) {
  int status = 0;
  for (;;) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return 125;
    siginfo_t info;
    struct timespec ts = {1, 0};
    const int sig = sigtimedwait(&set, &info, &ts);
    if (sig > 0 && sig != SIGCHLD) kill(pid, sig);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

}  // namespace

Result<int> Exec(const Global& g, const ExecOptions& o) {
  if (o.preserve_fds < 0) return Error(Code::kInvalidArgument, "--preserve-fds: negative");
  for (int fd = 3; fd < 3 + o.preserve_fds; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) {
      return Error(Code::kInvalidArgument,
                   fmt::format("--preserve-fds {}: fd {} is not open", o.preserve_fds, fd));
    }
  }
  HIVE_ASSIGN_OR_RETURN(ContainerRecord r, LoadRecord(g.root, o.id));
  const std::string status = StatusOf(r);
  if (status == "stopped") {
    return Error(Code::kFailedPrecondition,
                 "cannot exec in a stopped container: container not running");
  }
  if (status == "created") {
    return Error(Code::kFailedPrecondition,
                 "cannot exec in a created container: start it first (its monitor serves "
                 "exec'd processes' denials once it runs)");
  }
  if (status == "paused") {
    return Error(Code::kFailedPrecondition, "cannot exec in a paused container");
  }
  HIVE_ASSIGN_OR_RETURN(Confinement conf, LoadConfinement(g.root, o.id));
  HIVE_ASSIGN_OR_RETURN(ProcessSpec process, ExecProcess(o, conf.process));
  // A terminal: --tty (podman), or process.terminal in the process file (the containerd shim);
  // served only through the console socket, as for create.
  if (o.tty) process.terminal = true;
  HIVE_TRY(console::CheckRequest(process.terminal, o.console_socket,
                                 o.tty ? "--tty" : "process.terminal"));

  // pid 1, pinned: between the record's check and the namespaces' join its pid could be
  // reused; the start time is checked again once the pidfd holds it.
  UniqueFd target(PidfdOpen(r.pid));
  if (!target.valid() || !Alive(r)) {
    return Error(Code::kFailedPrecondition,
                 "cannot exec in a stopped container: container not running");
  }
  sigset_t set;
  sigemptyset(&set);
  if (!o.detach) {
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) {
      sigaddset(&set, sig);
    }
    sigprocmask(SIG_BLOCK, &set, nullptr);
  }
  // The payload's Landlock rules; its scopes only where they keep something out. A new
  // process cannot join the payload's Landlock domain, only make a sibling one with the same
  // rules; scoped, it could neither signal the container's processes (`kill 1`, a reload) nor
  // reach their abstract sockets. In the container's own pid (network) namespace everything
  // the signal (abstract socket) scope would keep out is the container's; a namespace joined
  // by path holds others' too, and there the scope stays.
  landlock::Prepared rules = conf.landlock;
  if (conf.own_pid_ns) rules.scoped &= ~landlock::scope::kSignal;
  if (conf.own_net_ns) rules.scoped &= ~landlock::scope::kAbstractUnixSocket;
  EnterOptions eo;
  eo.target_pidfd = target.get();
  eo.cgroup_dirs = r.cgroup_dirs;
  eo.process = &process;
  eo.landlock = &rules;
  eo.filter = &conf.filter;
  eo.oci_filter = &conf.oci_filter;
  eo.preserve_fds = o.preserve_fds;
  auto entered = EnteredProcess::Create(eo);
  if (!entered.ok()) return entered.status().Wrap(fmt::format("exec in container `{}`", o.id));
  EnteredProcess& p = **entered;
  if (UniqueFd master = p.TakeConsole(); master.valid()) {
    HIVE_TRY(console::SendMaster(o.console_socket, master.get()).Wrap("--console-socket"));
  }
  if (UniqueFd listener = p.TakeListener(); listener.valid()) {
    // No exec'd process runs with its denials unrecorded.
    HIVE_TRY(AskMonitor(g, o.id, "adopt-listener", listener.get())
                 .Wrap("hand the exec'd process's seccomp listener to the container's monitor"));
  }
  if (Status s = p.Start(); !s.ok()) return ExecError(s, process.args.at(0));
  p.Release();
  const pid_t pid = p.pid();
  if (!o.pid_file.empty()) {
    HIVE_TRY(WriteFileAtomic(AbsolutePath(o.pid_file, ""), std::to_string(pid), 0644, Sync::kNoSync)
                 .Wrap("--pid-file"));
  }
  HIVE_LOG(kDebug, "container {}: exec'd `{}` as pid {}", o.id, process.args[0], pid);
  if (o.detach) return 0;
  return WaitForwarding(pid, set);
}

}  // namespace hive::oci
