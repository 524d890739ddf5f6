// The runc command line's lifecycle over hive::Container. See hive/oci_runtime.h for the
// process model; the monitor's protocol is one line per connection on <root>/<id>/monitor.sock:
// "start", "delete" or "adopt-listener" (an exec'd process's seccomp listener rides along,
// SCM_RIGHTS), answered "ok" or "error MESSAGE".
#include "hive/oci_runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "base/fd_passing.h"
#include "base/files.h"
#include "base/log.h"
#include "base/pidfd.h"
#include "base/unique_fd.h"
#include "hive/audit.h"
#include "hive/bundle.h"
#include "hive/policy.h"
#include "hive/report.h"
#include "hive/state_dir.h"
#include "oci/confinement.h"
#include "oci/kubernetes.h"
#include "oci/policy_annotation.h"
#include "oci/state.h"
#include "runtime/oci_hooks.h"
#include "runtime/oci_internal.h"
#include "runtime/report_builder.h"
#include "sandbox/cgroups/cgroup_dir.h"
#include "sandbox/cgroups/cgroups.h"
#include "sandbox/cgroups/layout.h"
#include "sandbox/console.h"
#include "supervisor/container.h"

namespace hive::oci {
namespace {

constexpr const char* kSystemPolicy = "/etc/hive-run/policy.yml";

// The descriptors this process was started with (a client's pipes, a leaked socket): the
// monitor must not keep them open, or a client waiting for EOF on them would wait for it.
std::vector<int> InheritedFds() {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  const int own = dirfd(d);
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd > 2 && fd != own) fds.push_back(fd);
  }
  closedir(d);
  return fds;
}

Result<Policy> OciPolicy(const Global& g) {
  if (!g.policy_path.empty()) return LoadPolicyFile(g.policy_path);
  // Engines that pass no flags of the user's (the containerd shim) pass their environment.
  if (const char* env = std::getenv("HIVE_RUN_POLICY"); env && *env) return LoadPolicyFile(env);
  struct stat st;
  if (stat(kSystemPolicy, &st) == 0) return LoadPolicyFile(kSystemPolicy);
  // Not the scripts' default: that one refuses every engine's default container.
  return ContainerPolicy();
}

// The monitor's socket, reached through the state directory's descriptor: the state root
// of a client can be longer than a socket path may be (108 bytes).
struct SocketPath {
  UniqueFd dir;
  sockaddr_un addr = {};
};

Result<SocketPath> MonitorAddress(const std::string& root, const std::string& id) {
  SocketPath p;
  const std::string dir = RecordDir(root, id);
  p.dir.Reset(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!p.dir.valid()) return Errno(fmt::format("open `{}`", dir));
  p.addr.sun_family = AF_UNIX;
  fmt::format_to_n(p.addr.sun_path, sizeof p.addr.sun_path - 1, "/proc/self/fd/{}/monitor.sock",
                   p.dir.get());
  return p;
}

// Everything `create` makes before the monitor takes over.
struct Created {
  RunSpec spec;
  std::unique_ptr<Container> container;
  std::optional<audit::AuditLog> audit_log;
  UniqueFd listen;     // the monitor's socket
  UniqueFd pidfd;      // pid 1
  ContainerRecord record;
  std::string audit_path;
};

void Reply(int fd, const Status& s) {
  const std::string line = s.ok() ? "ok\n" : "error " + s.message() + "\n";
  (void)WriteAll(fd, line, "reply");
}

// One command line, and the descriptor that came with it (SCM_RIGHTS on its first bytes).
struct Command {
  std::string line;
  UniqueFd fd;
};

Command ReadCommand(int fd) {
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  Command cmd;
  char c;
  while (cmd.line.size() < 64) {
    int passed = -1;
    if (ReceiveWithFd(fd, &c, 1, &passed) != 1) break;
    if (passed >= 0) cmd.fd.Reset(passed);
    if (c == '\n') break;
    cmd.line += c;
  }
  return cmd;
}

// The monitor: not an ancestor of the container. Serves `start`, the container's seccomp
// notifications and limits while it runs, then `delete`: the audit record and the cgroups.
[[noreturn]] void MonitorMain(Created& c, const std::vector<int>& inherited) {
  setsid();
  for (int fd : inherited) close(fd);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    for (int i = 0; i < 3; ++i) dup2(null, i);
    if (null > 2) close(null);
  }
  log::SetSink(-1, false);
  Container& ct = *c.container;
  RunReport report;
  StartReport(c.spec, &report);
  ReportEnforced(c.spec, ct, &report);
  report.bundle = c.record.bundle;
  report.kubernetes = KubernetesOf(c.spec.annotations);
  std::optional<ContainerResult> result;

  auto finish = [&]() {
    if (!result) {
      result = ct.Collect();
      FinishReport(c.spec, std::move(*result), &report);
      result.emplace();
    }
  };
  bool started = false;
  // A connection from the container's owner, with its command; none for anyone else.
  auto accept_one = [&]() -> std::optional<std::pair<UniqueFd, Command>> {
    UniqueFd conn(accept4(c.listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) return std::nullopt;
    // Only the container's owner may command it.
    struct ucred cred = {};
    socklen_t len = sizeof cred;
    if (getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
      return std::nullopt;
    }
    Command cmd = ReadCommand(conn.get());
    return std::make_pair(std::move(conn), std::move(cmd));
  };
  // Commands that came while pid 1 ran and need its end (delete, which kills it first).
  std::vector<std::pair<UniqueFd, Command>> pending;
  std::function<void(UniqueFd, Command)> handle = [&](UniqueFd conn, Command cmd) {
    if (cmd.line == "start") {
      if (started || result) {
        Reply(conn.get(), Error(Code::kFailedPrecondition,
                                result ? "cannot start a container that has stopped"
                                       : "cannot start an already running container"));
        return;
      }
      started = true;
      // startContainer hooks run "inside the container, before the user program execs". The
      // payload cannot run them: it is already under its seccomp filter and Landlock, set up
      // and blocked right before execve, and loosening that for a hook would loosen it for the
      // user program. So the monitor runs each hook as a new process that enters the
      // container's namespaces through pid 1 (user, mount, pid, net, uts, ipc, cgroup), as the
      // container's root, while the payload still waits; the payload is released only once
      // they all succeeded. A failure kills the container: it never runs its program.
      Status s = RunHooks(HookKind::kStartContainer, c.spec.hooks.start_container,
                          StateJson(c.record), c.record.pid, nullptr);
      if (!s.ok()) {
        PidfdSendSignal(c.pidfd.get(), SIGKILL);
        Reply(conn.get(), s);
        conn.Reset();
        finish();
        return;
      }
      s = ct.Start();
      if (!s.ok()) s = ExecError(s, c.spec.process.args.at(0));
      Reply(conn.get(), s);
      conn.Reset();
      if (s.ok()) {
        // While pid 1 runs, the socket is served from the container's wait loop: an exec'd
        // process waits for its listener to be adopted before it execs.
        Status served = ct.Serve(c.listen.get(), [&]() {
          auto next = accept_one();
          if (!next) return;
          if (next->second.line == "delete") {
            pending.push_back(std::move(*next));
          } else {
            handle(std::move(next->first), std::move(next->second));
          }
        });
        if (!served.ok()) HIVE_LOG(kWarning, "container {}: {}", c.record.id, served.message());
        ct.Monitor();  // until pid 1 exits
      }
      finish();
    } else if (cmd.line == "adopt-listener") {
      if (!started || result || !cmd.fd.valid()) {
        Reply(conn.get(), Error(Code::kFailedPrecondition,
                                !cmd.fd.valid() ? "adopt-listener: no descriptor came with it"
                                                : "container not running"));
        return;
      }
      Reply(conn.get(), ct.AdoptListener(cmd.fd.Release()));
    } else if (cmd.line == "delete") {
      if (!result) {
        PidfdSendSignal(c.pidfd.get(), SIGKILL);
        finish();
      }
      Status s;
      if (c.audit_log) {
        auto ref = audit::RecordRun(*c.audit_log, report);
        if (!ref.ok()) s = ref.status().Wrap("the container's audit record could not be written");
      }
      if (Status d = ct.DestroyCgroups(); !d.ok() && s.ok()) s = d.Wrap("remove the cgroups");
      Reply(conn.get(), s);
      _exit(s.ok() ? 0 : 1);
    } else {
      Reply(conn.get(), Error(Code::kInvalidArgument, "unknown command"));
    }
  };
  for (;;) {
    while (!pending.empty()) {
      auto next = std::move(pending.front());
      pending.erase(pending.begin());
      handle(std::move(next.first), std::move(next.second));
    }
    struct pollfd p[2] = {{c.listen.get(), POLLIN, 0}, {c.pidfd.get(), POLLIN, 0}};
    const int n = poll(p, result ? 1 : 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (!result && (p[1].revents & POLLIN)) {
      finish();
      continue;
    }
    if (!(p[0].revents & POLLIN)) continue;
    auto next = accept_one();
    if (next) handle(std::move(next->first), std::move(next->second));
  }
}

Status Refuse(const std::string& field, const std::string& why) {
  return Error(Code::kUnsupported, fmt::format("{}: {}", field, why));
}

// Creates the mount point of `m` in the rootfs when it is missing (a directory, or an empty
// file for a file bind), as runc does before the root turns read-only: engines bind files
// such as /etc/hosts onto images that lack them. Resolved inside the rootfs, never out of it.
Status EnsureMountPoint(const std::string& rootfs, const MountSpec& m) {
  UniqueFd dir(open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return Errno(fmt::format("open rootfs `{}`", rootfs));
  bool source_is_dir = true;
  if (m.type == "bind") {
    struct stat st;
    if (stat(m.source.c_str(), &st) == 0) source_is_dir = S_ISDIR(st.st_mode);
  }
  std::vector<std::string> parts;
  for (size_t a = 1; a < m.destination.size();) {
    size_t b = m.destination.find('/', a);
    if (b == std::string::npos) b = m.destination.size();
    if (b > a) parts.push_back(m.destination.substr(a, b - a));
    a = b + 1;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    struct open_how how = {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT;
    std::string rel;
    for (size_t k = 0; k <= i; ++k) rel += (k ? "/" : "") + parts[k];
    int fd = static_cast<int>(syscall(SYS_openat2, dir.get(), parts[i].c_str(), &how, sizeof how));
    if (fd >= 0) {
      dir.Reset(fd);
      continue;
    }
    if (errno != ENOENT) return Errno(fmt::format("mount point `{}`", m.destination));
    const bool last = i + 1 == parts.size();
    if (!last || source_is_dir) {
      if (mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        return Errno(fmt::format("create mount point `{}` in the rootfs", m.destination));
      }
    } else {
      int f = openat(dir.get(), parts[i].c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
                     O_NOFOLLOW, 0644);
      if (f < 0 && errno != EEXIST) {
        return Errno(fmt::format("create mount point `{}` in the rootfs", m.destination));
      }
      if (f >= 0) close(f);
    }
    fd = static_cast<int>(syscall(SYS_openat2, dir.get(), parts[i].c_str(), &how, sizeof how));
    if (fd < 0) return Errno(fmt::format("mount point `{}`", m.destination));
    dir.Reset(fd);
  }
  return Ok();
}

// What config.json asks for that hive-run's OCI mode adds or refuses beyond the policy front
// end: the user and cgroup namespaces are always new (the container's root is never host
// root), whatever config.json lists.
Status Harden(RunSpec* spec) {
  for (const std::string& type : {std::string("user"), std::string("cgroup")}) {
    if (!spec->HasNamespace(type)) spec->linux.namespaces.push_back({type, ""});
  }
  // `tmpcopyup` (podman --read-only's tmpfs on /run, /tmp, /var/tmp): copy the image's files
  // at the destination into the new tmpfs. Over an empty or absent directory there is
  // nothing to copy; anything else is refused rather than hidden.
  for (size_t i = 0; i < spec->mounts.size(); ++i) {
    MountSpec& m = spec->mounts[i];
    if (m.type != "tmpfs") continue;
    std::vector<std::string> kept;
    bool copy_up = false;
    for (size_t a = 0; a <= m.data.size();) {
      size_t b = m.data.find(',', a);
      if (b == std::string::npos) b = m.data.size();
      const std::string opt = m.data.substr(a, b - a);
      if (opt == "tmpcopyup") {
        copy_up = true;
      } else if (!opt.empty()) {
        kept.push_back(opt);
      }
      a = b + 1;
    }
    if (!copy_up) continue;
    m.data = fmt::format("{}", fmt::join(kept, ","));
    UniqueFd root(open(spec->root.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return Errno(fmt::format("open rootfs `{}`", spec->root.path));
    struct open_how how = {};
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT;
    const std::string rel = m.destination.substr(1);
    int fd = static_cast<int>(syscall(SYS_openat2, root.get(), rel.c_str(), &how, sizeof how));
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return Errno(fmt::format("mounts[{}] `{}` (tmpcopyup)", i, m.destination));
    }
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
      close(fd);
      return Errno(fmt::format("mounts[{}] `{}` (tmpcopyup)", i, m.destination));
    }
    bool empty = true;
    while (struct dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) empty = false;
    }
    closedir(d);
    if (!empty) {
      return Refuse(fmt::format("mounts[{}].options", i),
                    fmt::format("tmpcopyup: the image has files at `{}`, and copying them into "
                                "the tmpfs is not supported",
                                m.destination));
    }
  }
  // A writable root gets its mount points from the container itself, through its idmapped
  // root (rootfs.h): made here, as host root, they would be host root's inside.
  for (const MountSpec& m : spec->mounts) {
    if (!spec->root.readonly) break;
    if (m.destination == "/" || m.destination.empty()) continue;
    HIVE_TRY(EnsureMountPoint(spec->root.path, m));
  }
  return Ok();
}

Result<std::unique_ptr<Created>> Make(const Global& g, const CreateOptions& o) {
  if (o.preserve_fds < 0) return Error(Code::kInvalidArgument, "--preserve-fds: negative");
  if (sodium_init() < 0) return Error(Code::kInternal, "libsodium failed to initialise");
  auto c = std::make_unique<Created>();
  HIVE_ASSIGN_OR_RETURN(Bundle bundle, LoadBundle(o.bundle));
  HIVE_TRY(console::CheckRequest(bundle.config.process.terminal, o.console_socket,
                                 "process.terminal"));
  HIVE_ASSIGN_OR_RETURN(Policy node_policy, OciPolicy(g));
  // config.json may select a stricter policy by name; it is then this container's ceiling.
  HIVE_ASSIGN_OR_RETURN(Policy policy,
                        SelectPolicy(std::move(node_policy), bundle.config.annotations));
  SandboxRequest req;
  req.run_id = o.id;
  req.config_mounts_only = true;
  HIVE_ASSIGN_OR_RETURN(c->spec, CompileRunSpec(policy, req, &bundle.config));
  HIVE_TRY(Harden(&c->spec));

  ContainerRecord& r = c->record;
  r.id = o.id;
  r.bundle = bundle.dir;
  r.rootfs = bundle.config.root.path;
  r.created = Rfc3339Now();
  r.owner = "";
  r.annotations = c->spec.annotations;
  r.command = fmt::format("{}", fmt::join(c->spec.process.args, " "));
  c->audit_path = AuditLogPath(policy.audit.log, g.state_dir);
  r.audit_log = AbsolutePath(c->audit_path, "");
  r.key_dir = AbsolutePath(g.state_dir + "/keys", "");
  // What `update` may raise the limits to: the policy's, not the (possibly lower) ones
  // config.json chose.
  r.ceiling.memory_bytes = policy.execution.memory_mb * 1024 * 1024;
  r.ceiling.pids = policy.execution.max_processes;
  r.ceiling.cpus = policy.execution.cpus;
  r.ceiling.io_read_bps = policy.execution.io_read_bps;
  r.ceiling.io_write_bps = policy.execution.io_write_bps;
  r.ceiling.policy = policy.source;

  // The monitor's socket exists before the container does: `start` can come the moment
  // create returns.
  HIVE_ASSIGN_OR_RETURN(SocketPath addr, MonitorAddress(g.root, o.id));
  c->listen.Reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!c->listen.valid()) return Errno("socket");
  if (bind(c->listen.get(), reinterpret_cast<sockaddr*>(&addr.addr), sizeof addr.addr) != 0 ||
      listen(c->listen.get(), 16) != 0) {
    return Errno("listen on the monitor's socket");
  }

  ContainerOptions opts;
  opts.detached = true;
  opts.preserve_fds = o.preserve_fds;
  opts.runs_oci_hooks = true;
  opts.console = !o.console_socket.empty();
  opts.seccomp_cache_dir = g.state_dir + "/cache/seccomp";
  Created* cp = c.get();
  opts.before_exec = [cp, &g]() -> Status {
    // A container that cannot be audited does not start.
    auto log = audit::AuditLog::Open(cp->audit_path, g.state_dir + "/keys");
    if (!log.ok()) return log.status().Wrap("refusing to run unaudited");
    if (Status s = log->Reserve(); !s.ok()) return s.Wrap("refusing to run unaudited");
    cp->audit_log.emplace(std::move(log).value());
    return Ok();
  };
  HIVE_TRY(EnsureDir(g.state_dir, 0700).Wrap("state directory"));
  HIVE_ASSIGN_OR_RETURN(c->container, Container::Create(c->spec, opts));
  if (Status s = c->container->SetupError(); !s.ok()) {
    return ExecError(s, c->spec.process.args.at(0));
  }
  // The engine reads the terminal from its socket before create returns (runc's order).
  if (opts.console) {
    UniqueFd master = c->container->TakeConsole();
    HIVE_TRY(console::SendMaster(AbsolutePath(o.console_socket, ""), master.get()));
  }
  r.pid = c->container->pid();
  r.pid_start = ProcessStartTime(r.pid);
  // What `exec` needs to confine a process as the payload is (oci/confinement.h).
  Confinement conf{c->spec.process, c->container->landlock(), c->container->filter(),
                   c->container->oci_filter()};
  for (const NamespaceSpec& n : c->spec.linux.namespaces) {
    if (n.type == "pid" && !n.path.empty()) conf.own_pid_ns = false;
    if (n.type == "network" && !n.path.empty()) conf.own_net_ns = false;
  }
  HIVE_TRY(SaveConfinement(g.root, o.id, conf)
               .Wrap("save the container's confinement"));
  c->pidfd.Reset(PidfdOpen(r.pid));
  if (!c->pidfd.valid()) return Errno("pidfd_open the container");
  // The container's namespaces exist and pid 1 waits before exec: the create-time hooks, in
  // the runtime-spec's order. Every one of them sees the final rootfs already mounted (hive-run
  // builds and pivots the root in one step of the child's setup), which a hook that only
  // reads the state or configures the network namespace does not notice. A failure drops
  // `c`, which kills pid 1 and removes the cgroups.
  r.hooks = c->spec.hooks;
  const nlohmann::json state = StateJson(r);
  HIVE_TRY(RunHooks(HookKind::kPrestart, r.hooks.prestart, state, r.pid, nullptr));
  HIVE_TRY(RunHooks(HookKind::kCreateRuntime, r.hooks.create_runtime, state, r.pid, nullptr));
  HIVE_TRY(RunHooks(HookKind::kCreateContainer, r.hooks.create_container, state, r.pid, nullptr));
  return c;
}

// Create's second half: the monitor forked, the record and pid-file written. The container
// and the monitor are then on their own.
Status Detach(const Global& g, const CreateOptions& o, Created& c,
              const std::vector<int>& inherited) {
  const pid_t monitor = fork();
  if (monitor < 0) return Errno("fork the monitor");
  if (monitor == 0) MonitorMain(c, inherited);
  c.record.monitor_pid = monitor;
  c.record.monitor_start = ProcessStartTime(monitor);
  c.record.cgroup_dirs = c.container->Release(nullptr).cgroup_dirs;
  if (Status s = SaveRecord(g.root, c.record); !s.ok()) {
    kill(c.record.pid, SIGKILL);
    kill(monitor, SIGKILL);
    return s;
  }
  if (!o.pid_file.empty()) {
    if (Status s = WriteFileAtomic(AbsolutePath(o.pid_file, ""), std::to_string(c.record.pid),
                                   0644, Sync::kNoSync);
        !s.ok()) {
      return s.Wrap("--pid-file");
    }
  }
  HIVE_LOG(kDebug, "container {}: created, pid {}, monitor {}", o.id, c.record.pid, monitor);
  return Ok();
}

// Every process in the container's cgroups and the cgroups it made below them, each once.
// A cgroup already gone has none.
std::vector<pid_t> CgroupPids(const ContainerRecord& r) {
  std::vector<pid_t> pids;
  for (const std::string& dir : r.cgroup_dirs) (void)cgroups::CollectProcs(dir, &pids);
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

// Removes what a container whose monitor is gone left: its processes, cgroups; records it as
// lost in the audit log.
void CleanUpWithoutMonitor(const ContainerRecord& r) {
  for (auto it = r.cgroup_dirs.rbegin(); it != r.cgroup_dirs.rend(); ++it) {
    (void)WriteControlFile(*it + "/cgroup.kill", "1");
  }
  for (pid_t p : CgroupPids(r)) kill(p, SIGKILL);
  for (int tries = 0; tries < 100; ++tries) {
    bool left = false;
    for (auto it = r.cgroup_dirs.rbegin(); it != r.cgroup_dirs.rend(); ++it) {
      if (rmdir(it->c_str()) != 0 && errno != ENOENT) left = true;
    }
    if (!left) break;
    usleep(10000);
  }
  if (!r.audit_log.empty() && sodium_init() >= 0) {
    auto log = audit::AuditLog::Open(r.audit_log, r.key_dir);
    if (log.ok()) {
      (void)audit::RecordLostRun(*log, r.id,
                                 {{"bundle", r.bundle}, {"started_at", r.created},
                                  {"command", r.command}});
    }
  }
}

Status Freeze(const ContainerRecord& r, bool frozen);


// The container made and handed to its monitor; its pid 1, blocked before exec. A failure
// leaves no record behind.
Result<pid_t> CreateDetached(const Global& g, const CreateOptions& o) {
  const std::vector<int> inherited = InheritedFds();
  HIVE_TRY(CreateRecordDir(g.root, o.id));
  auto made = Make(g, o);
  if (!made.ok()) {
    (void)RemoveRecordDir(g.root, o.id);
    return made.status();
  }
  const pid_t pid = (*made)->record.pid;
  if (Status s = Detach(g, o, **made, inherited); !s.ok()) {
    (void)RemoveRecordDir(g.root, o.id);
    return s;
  }
  return pid;
}

}  // namespace

Status AskMonitor(const Global& g, const std::string& id, const std::string& command,
                  int pass_fd, int64_t reply_seconds) {
  HIVE_ASSIGN_OR_RETURN(SocketPath p, MonitorAddress(g.root, id));
  UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Errno("socket");
  if (connect(s.get(), reinterpret_cast<sockaddr*>(&p.addr), sizeof p.addr) != 0) {
    return Errno(fmt::format("reach the monitor of container `{}`", id));
  }
  struct timeval tv = {static_cast<time_t>(reply_seconds), 0};
  setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (pass_fd >= 0) {
    // The descriptor rides on the command's first bytes (SCM_RIGHTS).
    const std::string line = command + "\n";
    if (SendWithFd(s.get(), line.data(), line.size(), pass_fd) !=
        static_cast<ssize_t>(line.size())) {
      return Errno(fmt::format("send `{}` to the monitor of container `{}`", command, id));
    }
  } else {
    HIVE_TRY(WriteAll(s.get(), command + "\n", "the monitor's socket"));
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = read(s.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(fmt::format("wait for the monitor of container `{}`", id));
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
    if (reply.size() > 64 * 1024) break;
  }
  while (!reply.empty() && reply.back() == '\n') reply.pop_back();
  if (reply == "ok") return Ok();
  if (reply.rfind("error ", 0) == 0) return Error(Code::kFailedPrecondition, reply.substr(6));
  return Error(Code::kInternal,
               fmt::format("the monitor of container `{}` gave no answer to `{}`", id, command));
}

// The message clients match on (podman: "no such file or directory" → 127, "permission
// denied" → 126), in runc's words.
Status ExecError(const Status& setup, const std::string& program) {
  const std::string& m = setup.message();
  if (m.find("exec `") == std::string::npos) return setup;
  if (setup.err() == ENOENT || setup.err() == ENOTDIR) {
    if (program.find('/') == std::string::npos) {
      return Error(Code::kNotFound,
                   fmt::format("exec: \"{}\": executable file not found in $PATH", program));
    }
    return Error(Code::kNotFound,
                 fmt::format("exec: \"{}\": stat {}: no such file or directory", program, program));
  }
  if (setup.err() == EACCES || setup.err() == EPERM) {
    return Error(Code::kPermissionDenied, fmt::format("exec: \"{}\": permission denied", program));
  }
  return setup;
}

Status Create(const Global& g, const CreateOptions& o) { return CreateDetached(g, o).status(); }

Status Start(const Global& g, const std::string& id) {
  HIVE_ASSIGN_OR_RETURN(ContainerRecord r, LoadRecord(g.root, id));
  const std::string status = StatusOf(r);
  if (status == "stopped") {
    return Error(Code::kFailedPrecondition, "cannot start a container that has stopped");
  }
  if (status != "created") {
    return Error(Code::kFailedPrecondition, "cannot start an already running container");
  }
  // startContainer hooks run before the monitor answers: its answer may take their time.
  const int64_t hooks_bound = HooksTimeBound(r.hooks.start_container);
  HIVE_TRY(AskMonitor(g, id, "start", -1,
                      hooks_bound < 0 ? 0 : kMonitorReplySeconds + hooks_bound));
  r.started = true;
  HIVE_TRY(SaveRecord(g.root, r));
  // After the program started, before `start` returns; a failure is a warning (runtime-spec).
  std::vector<std::string> warnings;
  // The program may already have ended (StateJson then says pid 0): the hooks are told
  // about the process that started.
  nlohmann::json state = StateJson(r);
  state["pid"] = r.pid;
  (void)RunHooks(HookKind::kPoststart, r.hooks.poststart, state, r.pid, &warnings);
  for (const std::string& w : warnings) HIVE_LOG(kWarning, "container {}: {}", id, w);
  return Ok();
}

Result<nlohmann::json> State(const Global& g, const std::string& id) {
  HIVE_ASSIGN_OR_RETURN(ContainerRecord r, LoadRecord(g.root, id));
  return StateJson(r);
}

Status Kill(const Global& g, const std::string& id, int signal, bool all) {
  HIVE_ASSIGN_OR_RETURN(ContainerRecord r, LoadRecord(g.root, id));
  if (!Alive(r)) {
    if (all) return Ok();  // the shim sends this after every exit of a shared-pid container
    return Error(Code::kFailedPrecondition, "container not running");
  }
  if (all) {
    const std::vector<pid_t> pids = CgroupPids(r);
    for (pid_t p : pids) kill(p, signal);
    return Ok();
  }
  UniqueFd pidfd(PidfdOpen(r.pid));
  // Between the check and the signal the pid could be reused: the pidfd pins the process,
  // and its start time is checked again once it is pinned.
  if (!pidfd.valid() || !Alive(r)) return Error(Code::kFailedPrecondition, "container not running");
  if (PidfdSendSignal(pidfd.get(), signal) != 0) {
    if (errno == ESRCH) return Error(Code::kFailedPrecondition, "container not running");
    return Errno(fmt::format("signal {} to container `{}`", signal, id));
  }
  return Ok();
}

Status Delete(const Global& g, const std::string& id, bool force) {
  auto loaded = LoadRecord(g.root, id);
  if (!loaded.ok()) {
    if (loaded.status().code() == Code::kNotFound && force) {
      // A create that failed half-way may have left the directory without a record.
      if (ValidateId(id).ok()) (void)RemoveRecordDir(g.root, id);
      return Ok();
    }
    return loaded.status();
  }
  const ContainerRecord& r = *loaded;
  const std::string status = StatusOf(r);
  if ((status == "running" || status == "paused") && !force) {
    return Error(Code::kFailedPrecondition,
                 fmt::format("cannot delete container {} that is not stopped: {}", id, status));
  }
  if (status == "paused") (void)Freeze(r, false);  // v1 frozen tasks die only once thawed
  if (Alive(r)) {
    UniqueFd pidfd(PidfdOpen(r.pid));
    if (pidfd.valid() && Alive(r)) PidfdSendSignal(pidfd.get(), SIGKILL);
  }
  const bool monitor_alive =
      r.monitor_start != 0 && ProcessStartTime(r.monitor_pid) == r.monitor_start;
  Status asked = monitor_alive ? AskMonitor(g, id, "delete")
                               : Error(Code::kNotFound, "the monitor is gone");
  if (!asked.ok()) {
    if (monitor_alive) {
      HIVE_LOG(kWarning, "container {}: {}; cleaning up without it", id, asked.message());
      kill(r.monitor_pid, SIGKILL);
    }
    CleanUpWithoutMonitor(r);
  }
  // The container is gone; poststop hooks run before delete returns, and a failure is a
  // warning (runtime-spec).
  std::vector<std::string> warnings;
  (void)RunHooks(HookKind::kPoststop, r.hooks.poststop, StateJson(r), r.pid, &warnings);
  for (const std::string& w : warnings) HIVE_LOG(kWarning, "container {}: {}", id, w);
  HIVE_TRY(RemoveRecordDir(g.root, id));
  return Ok();
}

Result<int> Run(const Global& g, const CreateOptions& o, bool detach) {
  HIVE_ASSIGN_OR_RETURN(const pid_t pid, CreateDetached(g, o));
  if (Status s = Start(g, o.id); !s.ok()) {
    (void)Delete(g, o.id, true);
    return s;
  }
  if (detach) return 0;
  // We are pid 1's parent: its status is the payload's (128+N for a signal). Interrupts
  // meant for the container are passed on to it.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) {
    sigaddset(&set, sig);
  }
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int status = 0;
  for (;;) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    siginfo_t info;
    struct timespec ts = {1, 0};
    const int sig = sigtimedwait(&set, &info, &ts);
    if (sig > 0 && sig != SIGCHLD) kill(pid, sig);
  }
  HIVE_TRY(Delete(g, o.id, true));
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

namespace {

// The freezer: cgroup.freeze of the container's v2 cgroup, else its v1 freezer cgroup.
Status Freeze(const ContainerRecord& r, bool frozen) {
  for (const std::string& dir : r.cgroup_dirs) {
    struct stat st;
    if (stat((dir + "/cgroup.freeze").c_str(), &st) == 0) {
      return WriteControlFile(dir + "/cgroup.freeze", frozen ? "1" : "0");
    }
  }
  for (const std::string& dir : r.cgroup_dirs) {
    struct stat st;
    if (stat((dir + "/freezer.state").c_str(), &st) == 0) {
      return WriteControlFile(dir + "/freezer.state", frozen ? "FROZEN" : "THAWED");
    }
  }
  return Error(Code::kUnsupported,
               fmt::format("container `{}` has no freezer cgroup (cgroup v2 cgroup.freeze or "
                           "the v1 freezer controller)",
                           r.id));
}

}  // namespace

Result<std::vector<pid_t>> Pids(const Global& g, const std::string& id) {
  HIVE_ASSIGN_OR_RETURN(ContainerRecord r, LoadRecord(g.root, id));
  if (!Alive(r)) return std::vector<pid_t>{};
  return CgroupPids(r);
}

Status Pause(const Global& g, const std::string& id, bool pause) {
  HIVE_ASSIGN_OR_RETURN(ContainerRecord r, LoadRecord(g.root, id));
  const std::string status = StatusOf(r);
  if (pause && status != "running") {
    return Error(Code::kFailedPrecondition,
                 status == "paused" ? "container already paused" : "container not running");
  }
  if (!pause && status != "paused") {
    return Error(Code::kFailedPrecondition, "container not paused");
  }
  return Freeze(r, pause);
}

Status Update(const Global& g, const std::string& id, const std::string& resources_json,
              const std::string& source) {
  HIVE_ASSIGN_OR_RETURN(ContainerRecord r, LoadRecord(g.root, id));
  if (!Alive(r)) return Error(Code::kFailedPrecondition, "container not running");
  HIVE_ASSIGN_OR_RETURN(ResourcesSpec res, ParseResourcesUpdate(resources_json, source));
  const ResourceCeiling& c = r.ceiling;
  auto above = [&](const std::string& field, const std::string& want, const std::string& key,
                   const std::string& ceiling) {
    return Error(Code::kPermissionDenied,
                 fmt::format("{}: {} is above the policy's ceiling, security.execution.{} = {} "
                             "(policy {})",
                             field, want, key, ceiling, c.policy));
  };
  const uint64_t kMiB = 1024 * 1024;
  if (res.memory_limit && c.memory_bytes > 0 &&
      static_cast<uint64_t>(*res.memory_limit) > c.memory_bytes) {
    return above("linux.resources.memory.limit", fmt::format("{} bytes", *res.memory_limit),
                 "memory_mb", fmt::format("{} ({} bytes)", c.memory_bytes / kMiB, c.memory_bytes));
  }
  if (res.memory_swap) {
    // The policy keeps swap off: memory + swap is the memory limit itself.
    if (!res.memory_limit || *res.memory_swap != *res.memory_limit) {
      return Error(Code::kPermissionDenied,
                   fmt::format("linux.resources.memory.swap: {} bytes of memory + swap; hive-run "
                               "keeps swap off, so it must equal linux.resources.memory.limit "
                               "({}; podman: give --memory-swap equal to --memory)",
                               *res.memory_swap,
                               res.memory_limit ? std::to_string(*res.memory_limit) : "not given"));
    }
  }
  if (res.pids_limit && c.pids > 0 && static_cast<uint64_t>(*res.pids_limit) > c.pids) {
    return above("linux.resources.pids.limit", std::to_string(*res.pids_limit), "max_processes",
                 std::to_string(c.pids));
  }
  if (res.cpu_quota && c.cpus > 0) {
    const double cpus =
        static_cast<double>(*res.cpu_quota) / static_cast<double>(res.cpu_period.value_or(100000));
    if (cpus > c.cpus) {
      return above("linux.resources.cpu.quota",
                   fmt::format("{}/{} ({} CPUs)", *res.cpu_quota, res.cpu_period.value_or(100000),
                               cpus),
                   "cpus", fmt::format("{}", c.cpus));
    }
  }
  for (auto [list, ceiling, name, key] :
       {std::tuple{&res.read_bps, c.io_read_bps, "throttleReadBpsDevice", "io.read_bps"},
        std::tuple{&res.write_bps, c.io_write_bps, "throttleWriteBpsDevice", "io.write_bps"}}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const ThrottleDevice& t = (*list)[i];
      if (ceiling > 0 && t.rate > ceiling) {
        return above(fmt::format("linux.resources.blockIO.{}[{}].rate", name, i),
                     fmt::format("{} B/s", t.rate), key, fmt::format("{} B/s", ceiling));
      }
    }
  }
  if (res.empty()) return Ok();
  HIVE_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::DetectLayout());
  HIVE_TRY(cgroups::UpdateLimits(layout, r.cgroup_dirs, cgroups::LimitsFor(res, false)));
  HIVE_LOG(kDebug, "container {}: limits updated", id);
  return Ok();
}

Result<nlohmann::json> List(const Global& g) {
  HIVE_ASSIGN_OR_RETURN(std::vector<ContainerRecord> records, ListRecords(g.root));
  nlohmann::json out = nlohmann::json::array();
  for (const ContainerRecord& r : records) out.push_back(StateJson(r));
  return out;
}

}  // namespace hive::oci
