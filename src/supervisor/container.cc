#include "supervisor/container.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "base/files.h"
#include "base/log.h"
#include "base/pidfd.h"
#include "base/unique_fd.h"
#include "sandbox/capabilities.h"
#include "sandbox/cgroups/layout.h"
#include "sandbox/namespaces.h"
#include "sandbox/ns_join.h"
#include "sandbox/rootfs.h"
#include "sandbox/seccomp/oci_profile.h"
#include "sandbox/sysctl.h"
#include "supervisor/child.h"
#include "supervisor/egress.h"
#include "supervisor/event_loop.h"
#include "supervisor/private_tmp.h"
#include "supervisor/sync.h"

namespace hive {
namespace {

constexpr int kTeardownSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
// After forwarding an interrupt, the sandbox gets this long to exit before it is killed.
constexpr int kInterruptGraceSeconds = 2;
// A process that alone uses the whole budget meets its RLIMIT_CPU first and dies of SIGXCPU,
// which names the cause in its exit status; the sandbox-wide kill waits a little past the
// budget (a few scheduler ticks) so as not to race it with SIGKILL on a loaded machine.
constexpr double kCpuKillGraceNs = 50e6;

bool HoldsEffective(int cap) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective >> (cap % 32)) & 1;
}

// Tests stop the supervisor at a named moment (HIVE_RUN_TEST_STOP_AT=go|setup|limit_kill) to
// kill it there: what a crash at that moment leaves must die with it and be recorded.
void TestStopPoint(const char* name) {
  static const char* const at = std::getenv("HIVE_RUN_TEST_STOP_AT");
  if (at != nullptr && std::strcmp(at, name) == 0) raise(SIGSTOP);
}

ChildContext PrepareChild(const RunSpec& spec, const rootfs::Plan& plan, const caps::Plan& caps) {
  ChildContext ctx;
  ctx.hostname = spec.hostname.empty() ? nullptr : spec.hostname.c_str();
  ctx.rootfs = &plan;
  ctx.rlimits = &spec.process.rlimits;
  ctx.caps = &caps;
  ctx.uid = spec.process.user.uid;
  ctx.gid = spec.process.user.gid;
  ctx.umask = spec.process.user.umask ? static_cast<int>(*spec.process.user.umask) : -1;
  ctx.groups.assign(spec.process.user.additional_gids.begin(),
                    spec.process.user.additional_gids.end());
  ctx.cwd = spec.process.cwd.c_str();
  const std::string& cmd = spec.process.args.at(0);
  if (cmd.find('/') != std::string::npos) {
    ctx.exec_paths.push_back(cmd);
  } else {
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const std::string& e : spec.process.env) {
      if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    }
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = path.find(':', i);
      if (j == std::string::npos) j = path.size();
      std::string dir = path.substr(i, j - i);
      ctx.exec_paths.push_back((dir.empty() ? "." : dir) + "/" + cmd);
      i = j + 1;
    }
  }
  for (const std::string& a : spec.process.args) ctx.argv.push_back(const_cast<char*>(a.c_str()));
  ctx.argv.push_back(nullptr);
  for (const std::string& e : spec.process.env) ctx.envp.push_back(const_cast<char*>(e.c_str()));
  ctx.envp.push_back(nullptr);
  return ctx;
}

Result<UniqueFd> OpenCapture(const std::string& path) {
  if (path.empty()) return UniqueFd();
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd.valid()) return Errno(fmt::format("open capture file `{}`", path));
  return fd;
}

// CPUs the sandbox can run on at once: its bandwidth quota, else the CPUs it may use.
double CpuParallelism(const ResourcesSpec& r) {
  cpu_set_t set;
  const double online =
      sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
  if (r.cpu_quota && *r.cpu_quota > 0) {
    const double cpus =
        static_cast<double>(*r.cpu_quota) / static_cast<double>(r.cpu_period.value_or(100000));
    return std::min(cpus, online);
  }
  return std::max(online, 1.0);
}

// Whether process `pid` (alive: stopped in a watched exit_group) has SIGXFSZ pending, which
// it can only have blocked: a write of its went past RLIMIT_FSIZE.
bool SigxfszPending(pid_t pid) {
  Result<std::string> status = ReadFile(fmt::format("/proc/{}/status", pid));
  if (!status.ok()) return false;
  // SigPnd (the thread) and ShdPnd (the process): hex masks, bit N-1 for signal N.
  for (const char* key : {"\nSigPnd:", "\nShdPnd:"}) {
    size_t at = status->find(key);
    if (at == std::string::npos) continue;
    const uint64_t mask = std::strtoull(status->c_str() + at + std::strlen(key), nullptr, 16);
    if (mask & (uint64_t{1} << (SIGXFSZ - 1))) return true;
  }
  return false;
}

uint64_t RlimitSoft(const RunSpec& spec, int resource) {
  for (const RlimitSpec& r : spec.process.rlimits) {
    if (r.resource == resource) return r.soft;
  }
  return UINT64_MAX;
}

void ArmTimer(int fd, double seconds) {
  struct itimerspec its = {};
  its.it_value.tv_sec = static_cast<time_t>(seconds);
  its.it_value.tv_nsec = static_cast<long>((seconds - std::floor(seconds)) * 1e9);
  if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  timerfd_settime(fd, 0, &its, nullptr);
}

void Drain(int timer_fd) {
  uint64_t ticks;
  if (read(timer_fd, &ticks, sizeof ticks) < 0) {
  }
}

// The cloned child's first steps when namespaces are joined (ns::CloneJoined runs it).
struct ChildStart {
  const ChildContext* ctx;
  int parent_end;
};
void StartChild(void* p) {
  auto* s = static_cast<ChildStart*>(p);
  close(s->parent_end);  // as below: a dead parent must read as EOF
  ChildMain(*s->ctx);
}

// linux.namespaces[i] with a path of this type, or null.
const NamespaceSpec* JoinedNamespace(const RunSpec& spec, const char* type, size_t* index) {
  for (size_t i = 0; i < spec.linux.namespaces.size(); ++i) {
    const NamespaceSpec& n = spec.linux.namespaces[i];
    if (n.type == type && !n.path.empty()) {
      *index = i;
      return &n;
    }
  }
  return nullptr;
}

}  // namespace

Status SupervisorRefusal(const RunSpec& spec, bool runs_oci_hooks) {
  auto refuse = [](const std::string& field, const std::string& why) {
    return Error(Code::kUnsupported, fmt::format("{}: {}", field, why));
  };
  for (const std::string& type : SandboxNamespaces()) {
    if (!spec.HasNamespace(type)) {
      return refuse("linux.namespaces",
                    fmt::format("no `{}` namespace is asked for; hive-run isolates every run in "
                                "new user, mount, pid, network, uts, ipc and cgroup namespaces "
                                "(the OCI runtime commands share the host's network, uts, ipc "
                                "or pid namespace when security.process.host_namespaces lists "
                                "it)",
                                type));
    }
  }
  for (size_t i = 0; i < spec.linux.namespaces.size(); ++i) {
    const NamespaceSpec& n = spec.linux.namespaces[i];
    if (n.type == "time") {
      return refuse(fmt::format("linux.namespaces[{}]", i),
                    "time namespaces are not supported yet");
    }
    if (!n.path.empty() && (n.type == "mount" || n.type == "cgroup")) {
      return refuse(fmt::format("linux.namespaces[{}].path", i),
                    fmt::format("joining the {} namespace at `{}` is not supported: a "
                                "container's {} is always its own",
                                n.type, n.path,
                                n.type == "mount" ? "root filesystem" : "cgroup view"));
    }
  }
  // The other paths to join are judged when they are opened (ns::PlanJoins).
  size_t at = 0;
  if (const NamespaceSpec* n = JoinedNamespace(spec, "uts", &at);
      n != nullptr && !spec.hostname.empty()) {
    return refuse("hostname",
                  n->host ? fmt::format("`{}`: the uts namespace is the host's "
                                        "(security.process.host_namespaces), and its hostname "
                                        "is the host's to set",
                                        spec.hostname)
                          : fmt::format("`{}`: the uts namespace is joined "
                                        "(linux.namespaces[{}].path), and its hostname is its "
                                        "owner's to set",
                                        spec.hostname, at));
  }
  if (const NamespaceSpec* n = JoinedNamespace(spec, "network", &at);
      n != nullptr && spec.hive.network.enabled) {
    return refuse("security.network.allowed_domains",
                  n->host ? std::string("the supervisor serves the allowed domains inside the "
                                        "sandbox's own network namespace; the run shares the "
                                        "host's (security.process.host_namespaces)")
                          : fmt::format("the supervisor serves the allowed domains inside the "
                                        "sandbox's own network namespace; "
                                        "linux.namespaces[{}].path joins another",
                                        at));
  }
  if (!spec.hooks.empty() && !runs_oci_hooks) {
    return refuse("hooks",
                  "OCI hooks are run by the OCI runtime commands (create/start/delete) only, "
                  "not by a bundle or script run");
  }
  if (!spec.linux.devices.empty()) {
    return refuse("linux.devices",
                  fmt::format("`{}`: device nodes beyond hive-run's own /dev are not supported "
                              "yet",
                              spec.linux.devices.front().path));
  }
  const std::string& prop = spec.linux.rootfs_propagation;
  if (!prop.empty() && prop != "private" && prop != "rprivate") {
    return refuse("linux.rootfsPropagation",
                  fmt::format("`{}`: the sandbox's mounts are always private", prop));
  }
  if (!spec.process.no_new_privileges) {
    return refuse("process.noNewPrivileges",
                  "false: every sandboxed process runs with no_new_privs");
  }
  if (!spec.process.capabilities.ambient.empty() && spec.process.user.uid != 0) {
    return refuse("process.capabilities.ambient",
                  "ambient capabilities for a non-root user are not supported yet");
  }
  return Ok();
}

// Everything the parent holds for one sandbox. Dropping it kills and reaps the child and
// removes the cgroups, unless they were released.
struct Container::Impl {
  RunSpec spec;  // a copy: the child's context points into it
  ContainerOptions options;
  ContainerResult result;
  std::chrono::steady_clock::time_point start_time;

  rootfs::Plan plan;
  caps::Plan caps_plan;
  landlock::Prepared landlock_rules;
  seccomp::Filter filter;
  seccomp::OciFilter oci_filter;  // config.json's own linux.seccomp, beneath `filter`
  ns::JoinPlan joins;             // linux.namespaces[].path, opened; dropped after the clone
  sysctl::Plan sysctls;
  ChildContext ctx;
  UniqueFd out_fd, err_fd;
  UniqueFd console;  // the pty's master (process.terminal), until TakeConsole
  std::vector<std::string> cgroup_warnings;

  std::optional<cgroups::Layout> layout;
  std::unique_ptr<cgroups::CgroupManager> cg;
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd sync;
  bool reaped = false;
  bool released = false;

  sigset_t mask = {}, old_mask = {};
  bool mask_set = false;
  UniqueFd sigfd, timer, cpu_timer;
  EventLoop loop;
  std::optional<seccomp::Listener> listener;
  // Listeners of processes that entered the sandbox later (OCI exec), same filter.
  std::vector<std::unique_ptr<seccomp::Listener>> adopted;
  std::unique_ptr<Egress> egress;  // allowed domains: the resolver and connect decisions
  bool handoff = false;
  bool killed = false, exec_done = false, failed = false;
  // The payload was released: it may have exec'd before its kExecOk is read.
  bool start_sent = false;
  double cpu_budget_ns = 0, parallelism = 1;

  ~Impl() {
    if (pid > 0 && !reaped && !released) {
      PidfdSendSignal(pidfd.get(), SIGKILL);
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (cg && !released) (void)cg->Destroy();
    if (mask_set) sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  }

  Status Prepare();
  Status Launch();
  Status Watch();
  Status Await(sync::Msg want, sync::Message* m, int* passed);
  // The handlers every listener of this sandbox's filter gets, and its place in the loop.
  Status ServeListener(seccomp::Listener* l);
  void CollectDenials();
  void KillSandbox();
  // Interrupts (SIGINT, SIGTERM, ...) hive-run received: before the payload is released the
  // sandbox is torn down; after, they are forwarded, and a grace period armed.
  void OnSignals();
  bool CpuSpent();
  // Setup stopped: the timeout or an interrupt that stopped it, or the error the child sent.
  Status Stopped(const Status& s);
};

Status Container::Impl::Prepare() {
  HIVE_ASSIGN_OR_RETURN(joins, ns::PlanJoins(spec));
  if (joins.Joins(CLONE_NEWPID) && !options.detached) {
    // A supervised run's invariant: if hive-run dies, nothing of the sandbox survives. That
    // rests on pid 1 of its own pid namespace dying with it (parent-death signal); in a
    // joined pid namespace the payload's descendants would live on. OCI create/start hands
    // the container to its caller, and kills through its cgroup.
    size_t at = 0;
    JoinedNamespace(spec, "pid", &at);
    return Error(Code::kUnsupported,
                 fmt::format("linux.namespaces[{}].path: joining a pid namespace needs the OCI "
                             "lifecycle (hive-run create/start): a supervised run must own its "
                             "pid namespace",
                             at));
  }
  HIVE_ASSIGN_OR_RETURN(sysctls, sysctl::Prepare(spec.linux.sysctl,
                                                 {joins.Owns(CLONE_NEWNET), joins.Owns(CLONE_NEWIPC),
                                                  joins.Owns(CLONE_NEWUTS)}));
  auto p = rootfs::Prepare(spec);
  if (!p.ok()) return p.status().Wrap("prepare the root filesystem");
  plan = std::move(p).value();
  if (!joins.Owns(CLONE_NEWNET)) {
    rootfs::SysfsUnavailable(&plan, "the joined network namespace belongs to the host's user "
                                    "namespace");
  }
  // Shared by policy: the supervisor is in these namespaces and makes their filesystems.
  if (joins.SharesHost(CLONE_NEWPID)) HIVE_TRY(rootfs::MountFromHost(&plan, "proc"));
  if (joins.SharesHost(CLONE_NEWIPC)) HIVE_TRY(rootfs::MountFromHost(&plan, "mqueue"));
  for (const std::string& w : plan.warnings) result.warnings.push_back(w);
  HIVE_TRY(caps::Prepare(spec.process.capabilities, &caps_plan));
  // Landlock and seccomp are decided here, in the parent; the child only applies them.
  auto ll = landlock::Prepare(spec);
  if (!ll.ok()) return ll.status();
  landlock_rules = std::move(ll).value();
  for (const std::string& gap : landlock_rules.not_enforced) {
    result.warnings.push_back("landlock (best effort): not enforced: " + gap);
  }
  if (spec.hive.network.enabled) {
    HIVE_ASSIGN_OR_RETURN(egress, Egress::Create(spec.hive.network));
  }
  auto f = seccomp::Prepare(spec, options.seccomp_cache_dir);
  if (!f.ok()) return f.status();
  filter = std::move(f).value();
  if (!spec.linux.seccomp_oci.empty()) {
    auto oci = seccomp::CompileOciProfile(spec.linux.seccomp_oci);
    if (!oci.ok()) return oci.status();
    oci_filter = std::move(oci).value();
  }
  ctx = PrepareChild(spec, plan, caps_plan);
  if (!oci_filter.program.empty()) ctx.oci_seccomp = &oci_filter;
  ctx.landlock = &landlock_rules;
  ctx.seccomp = &filter;
  ctx.detached = options.detached;
  ctx.preserve_fds = options.preserve_fds;
  ctx.own_netns = !joins.Joins(CLONE_NEWNET);
  ctx.own_pidns = !joins.Joins(CLONE_NEWPID);
  if (!sysctls.empty()) ctx.sysctls = &sysctls;
  ctx.terminal = spec.process.terminal;
  ctx.console_rows = spec.process.console_height;
  ctx.console_cols = spec.process.console_width;
  // With the listener handoff the payload waits for the supervisor before execve.
  handoff = filter.notify && !filter.program.empty();
  ctx.payload_needs_dumpable = handoff && !HoldsEffective(CAP_SYS_PTRACE);
  ctx.payload_ignores_sigxfsz =
      spec.hive.payload_ignores_sigxfsz && RlimitSoft(spec, RLIMIT_FSIZE) != UINT64_MAX;
  HIVE_ASSIGN_OR_RETURN(out_fd, OpenCapture(options.stdout_path));
  HIVE_ASSIGN_OR_RETURN(err_fd, OpenCapture(options.stderr_path));
  ctx.stdout_fd = out_fd.get();
  ctx.stderr_fd = err_fd.get();

  // Interrupts are taken through a signalfd from here on, so none is lost between clone and
  // the wait loop; the child unblocks its own.
  sigemptyset(&mask);
  for (int sig : kTeardownSignals) sigaddset(&mask, sig);
  sigprocmask(SIG_BLOCK, &mask, &old_mask);
  mask_set = true;

  // One reading of the host's hierarchies serves the run's cgroups and the stale sweep.
  auto l = cgroups::DetectLayout();
  if (!l.ok()) return l.status().Wrap("create the run's cgroups");
  layout = std::move(l).value();
  auto created = cgroups::CreateWithLayout(
      *layout, spec.hive.run_id,
      cgroups::LimitsFor(spec.linux.resources, spec.hive.cpu_seconds > 0), spec.linux.cgroups_path);
  if (!created.ok()) return created.status().Wrap("create the run's cgroups");
  cg = std::move(created).value();
  cgroup_warnings = cg->Warnings();
  // config.json's cgroup mount shows the run's own cgroups: known only now.
  if (rootfs::WantsCgroupView(plan)) HIVE_TRY(rootfs::AddCgroupView(&plan, *layout, cg->Paths()));
  HIVE_LOG(kDebug, "run {}: cgroups {}", spec.hive.run_id, fmt::join(cg->Paths(), ", "));
  return Ok();
}

Status Container::Impl::Watch() {
  // The supervisor's one wait, from before the clone to the sandbox's end: the wall clock and
  // interrupts count during setup as much as after exec.
  sigfd.Reset(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  timer.Reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  // cpu_seconds for the whole sandbox: RLIMIT_CPU counts one process, so a sandbox that
  // spreads its work over many would escape it. This timer fires at the earliest moment the
  // sandbox could have used its CPU time (what is left, at full parallelism) and is re-armed
  // from the cgroup's counter — no periodic polling.
  cpu_timer.Reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!sigfd.valid() || !timer.valid() || !cpu_timer.valid()) {
    return Errno("create the supervisor's timers and signalfd");
  }
  cpu_budget_ns = static_cast<double>(spec.hive.cpu_seconds) * 1e9 + kCpuKillGraceNs;
  parallelism = CpuParallelism(spec.linux.resources);
  if (spec.hive.timeout_seconds > 0) ArmTimer(timer.get(), spec.hive.timeout_seconds);
  HIVE_TRY(loop.Add(timer.get(), [this](uint32_t) {
    Drain(timer.get());
    if (!result.interrupted) result.timed_out = true;
    TestStopPoint("limit_kill");
    KillSandbox();
  }));
  HIVE_TRY(loop.Add(cpu_timer.get(), [this](uint32_t) {
    Drain(cpu_timer.get());
    if (!killed && CpuSpent()) {
      KillSandbox();
      result.cpu_killed = true;
    }
  }));
  HIVE_TRY(loop.Add(sigfd.get(), [this](uint32_t) { OnSignals(); }));
  return Ok();
}

void Container::Impl::OnSignals() {
  struct signalfd_siginfo si;
  while (read(sigfd.get(), &si, sizeof si) == sizeof si) {
    if (result.interrupted || killed) continue;
    result.interrupted = true;
    result.interrupt_signal = static_cast<int>(si.ssi_signo);
    if (start_sent) {
      // The payload may want to clean up: forward, then kill after a grace period. Once
      // released it may have exec'd (and printed) before pid 1's kExecOk is read here.
      PidfdSendSignal(pidfd.get(), result.interrupt_signal);
      ArmTimer(timer.get(), kInterruptGraceSeconds);
    } else {
      KillSandbox();  // nothing of the user's runs yet: stop now
    }
  }
}

void Container::Impl::KillSandbox() {
  if (pid > 0) {
    // Killing pid 1 makes the kernel kill every process of the pid namespace, including
    // ones that setsid()'d or double-forked. (In a joined pid namespace our first process is
    // not its pid 1; only an OCI container joins one, and the cgroup kill below is what
    // reaches the rest there.)
    PidfdSendSignal(pidfd.get(), SIGKILL);
  }
  // And through the cgroup: processes the sandbox moved out of reach of pid 1's death
  // (none should exist) and ones still being created.
  if (cg) (void)cg->Kill();
  killed = true;
}

bool Container::Impl::CpuSpent() {
  if (spec.hive.cpu_seconds == 0) return false;
  auto st = cg->ReadStats();
  if (!st.ok() || st->cpu_usage_ns == 0) return false;  // no cgroup CPU accounting here
  const double left_ns = cpu_budget_ns - static_cast<double>(st->cpu_usage_ns);
  if (left_ns <= 0) return true;
  // At least 50 ms apart, so a sandbox just under its budget is not read in a tight loop.
  ArmTimer(cpu_timer.get(), std::max(0.05, left_ns / 1e9 / parallelism));
  return false;
}

Status Container::Impl::Launch() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Errno("socketpair");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  ctx.sync_fd = child_end.get();

  int child_pidfd = -1;
  struct clone_args args = {};
  // The cgroup namespace is unshared by the child once it is in its own cgroup.
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS |
               CLONE_NEWIPC | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&child_pidfd);
  args.exit_signal = SIGCHLD;
  // The child starts inside its v2 cgroup, so not one of its instructions runs unlimited.
  if (cg->CloneIntoFd() >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cg->CloneIntoFd());
  }
  long child;
  bool in_v2 = false;
  if (!joins.empty()) {
    // Namespaces to join: an intermediate process joins them and clones the child as ours
    // (CLONE_PARENT), so that the supervisor itself never leaves its own namespaces.
    ChildStart start{&ctx, parent_end.get()};
    auto c = ns::CloneJoined(joins, &args, StartChild, &start, &in_v2);
    if (!c.ok()) return c.status();
    child = *c;
  } else {
    child = syscall(SYS_clone3, &args, sizeof args);
    if (child < 0 && (args.flags & CLONE_INTO_CGROUP)) {
      // Kernels or delegations that refuse CLONE_INTO_CGROUP: Join() below places the child
      // before its go-ahead instead.
      args.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
      child = syscall(SYS_clone3, &args, sizeof args);
    }
    if (child < 0) return Errno("clone3 into new user, mount, pid, net, uts and ipc namespaces");
    if (child == 0) {
      // The child must not hold the parent's end: when the parent dies, the child's reads of
      // the sync socket have to see EOF.
      parent_end.Reset();
      ChildMain(ctx);
    }
    in_v2 = (args.flags & CLONE_INTO_CGROUP) != 0;
  }
  pid = static_cast<pid_t>(child);
  pidfd.Reset(child_pidfd);
  HIVE_LOG(kDebug, "run {}: clone3: pid {}{}{}", spec.hive.run_id, pid,
           in_v2 ? ", into its v2 cgroup" : "", joins.empty() ? "" : ", namespaces joined");
  child_end.Reset();
  sync = std::move(parent_end);

  if (joins.userns.valid()) {
    // The pod's user namespace is mapped already; its maps (never onto host 0) are what the
    // idmapped binds below must match.
    HIVE_TRY(ns::ReadJoinedMaps(pid, &spec.linux.uid_mappings, &spec.linux.gid_mappings)
                 .Wrap(joins.userns_field));
  } else {
    HIVE_TRY(ns::WriteIdMaps(pid, spec.linux.uid_mappings, spec.linux.gid_mappings)
                 .Wrap("write the sandbox's id maps"));
  }
  joins = ns::JoinPlan();  // the namespace fds: the child holds what it joined
  HIVE_TRY(cg->Join(pid, in_v2).Wrap("place the sandbox in its cgroups"));
  if (spec.process.oom_score_adj) {
    HIVE_TRY(WriteControlFile(fmt::format("/proc/{}/oom_score_adj", pid),
                              std::to_string(*spec.process.oom_score_adj))
                 .Wrap("process.oomScoreAdj"));
  }

  if (!plan.idmap_trees.empty()) {
    // The sandbox root's host ids: the first mapping's host side for container id 0.
    const uint32_t root_uid = spec.linux.uid_mappings.at(0).host_id;
    const uint32_t root_gid = spec.linux.gid_mappings.at(0).host_id;
    UniqueFd userns;
    if (spec.hive.owner_uid == 0 && spec.hive.owner_gid == 0 &&
        spec.linux.uid_mappings[0].container_id == 0 &&
        spec.linux.gid_mappings[0].container_id == 0) {
      // The sandbox's own namespace maps host 0 (on disk) to its root: no extra process.
      userns.Reset(open(fmt::format("/proc/{}/ns/user", pid).c_str(), O_RDONLY | O_CLOEXEC));
      if (!userns.valid()) return Errno("open the sandbox's user namespace");
    } else {
      HIVE_ASSIGN_OR_RETURN(
          userns, ns::IdmapUserns(spec.hive.owner_uid, spec.hive.owner_gid, root_uid, root_gid));
    }
    HIVE_TRY(rootfs::IdmapWritableTrees(plan, userns.get())
                 .Wrap("writable binds need idmapped mounts (Linux 5.12+, a filesystem that "
                       "supports them)"));
  }
  if (egress) HIVE_TRY(egress->Attach(pid).Wrap("security.network"));
  TestStopPoint("go");
  // sync 1: go.
  if (!sync::Send(sync.get(), sync::Msg::kGo)) return Errno("release the sandbox");
  HIVE_LOG(kDebug, "run {}: go-ahead sent; the child sets itself up", spec.hive.run_id);
  // The tree fds live on in the child; the parent's copies go once the child is on its way
  // (closing the last fd of a detached tree unmounts it, which can wait for RCU).
  plan.trees.clear();
  plan.root_tree.Reset();
  return loop.Add(pidfd.get(), [this](uint32_t) { loop.Stop(); });
}

Status Container::Impl::Await(sync::Msg want, sync::Message* m, int* passed) {
  // A stopped loop (the child is gone, or epoll failed) must not leave a live child to block
  // on: it is killed, and its socket then ends.
  if (!loop.WaitReadable(sync.get()) && !killed) KillSandbox();
  return passed ? sync::ExpectFd(sync.get(), want, m, passed) : sync::Expect(sync.get(), want, m);
}

Status Container::Impl::Stopped(const Status& s) {
  if (result.timed_out) {
    return Error(Code::kFailedPrecondition,
                 fmt::format("stopped at the {}s timeout during setup", spec.hive.timeout_seconds));
  }
  if (result.interrupted) {
    return Error(Code::kFailedPrecondition,
                 fmt::format("interrupted by signal {} during setup", result.interrupt_signal));
  }
  return s;
}

Status Container::Impl::ServeListener(seccomp::Listener* l) {
  if (spec.hive.blocked_operations_spare_private_tmp && landlock_rules.abi >= 1) {
    // Deletes on the sandbox's own /tmp and /dev/shm go on; Landlock backs the check.
    l->Handle("blocked_operation", supervisor::PrivateTmpHandler(l->fd()));
  }
  // The egress relay answers for the payload's listener only (OCI mode refuses domains).
  if (egress && listener && l == &*listener) {
    egress->SetListener(l->fd());
    l->Handle("egress", [this](const seccomp::Notification& n) { return egress->Decide(n); });
  }
  if (filter.watch_exits) {
    l->OnExit([this](pid_t pid) {
      if (SigxfszPending(pid)) ++result.file_size_hits;
    });
  }
  return loop.Add(l->fd(), [this, l](uint32_t events) {
    if (events & EPOLLIN) {
      // A denied call waits for our answer.
      if (Status h = l->HandleOne(); !h.ok()) result.warnings.push_back(h.message());
    } else {
      loop.Remove(l->fd());  // EPOLLHUP: no task uses the filter any more
    }
  });
}

// Denials made up to now, by every listener of the sandbox: the payload's and adopted ones.
void Container::Impl::CollectDenials() {
  result.denials.clear();
  result.denials_total = 0;
  std::vector<const seccomp::Listener*> all;
  if (listener) all.push_back(&*listener);
  for (const auto& a : adopted) all.push_back(a.get());
  for (const seccomp::Listener* l : all) {
    for (seccomp::Denial& d : l->Denials()) {
      auto same = std::find_if(result.denials.begin(), result.denials.end(),
                               [&](const seccomp::Denial& e) {
                                 return e.type == d.type && e.detail == d.detail;
                               });
      if (same != result.denials.end()) {
        same->count += d.count;
      } else {
        result.denials.push_back(std::move(d));
      }
    }
    result.denials_total += l->total();
  }
}

Container::Container(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Container::~Container() = default;

Result<std::unique_ptr<Container>> Container::Create(const RunSpec& spec,
                                                     const ContainerOptions& options) {
  auto impl = std::make_unique<Impl>();
  Impl& c = *impl;
  c.spec = spec;
  c.options = options;
  c.result.started_at = Rfc3339Now();
  c.start_time = std::chrono::steady_clock::now();
  c.result.warnings = spec.hive.warnings;
  std::unique_ptr<Container> container(new Container(std::move(impl)));
  auto fail = [&](const Status& s) {
    c.failed = true;
    c.result.setup_error = c.Stopped(s);
  };
  if (Status s = SupervisorRefusal(spec, options.runs_oci_hooks); !s.ok()) return s;
  if (spec.process.terminal && !options.console) {
    return Error(Code::kUnsupported,
                 "process.terminal: a terminal is served only through the OCI console socket "
                 "(hive-run create --console-socket); this kind of run has none");
  }
  if (Status s = c.Prepare(); !s.ok()) return s;
  if (Status s = c.Watch(); !s.ok()) return s.Wrap("the supervisor's wait loop");
  if (Status s = c.Launch(); !s.ok()) return s;
  // Cgroups left by a hive-run that crashed; best effort, while the child sets itself up.
  (void)cgroups::SweepStale(*c.layout);
  // The payload waits for Start before it execs, so this overlaps the child's setup.
  if (options.before_exec) {
    if (Status s = options.before_exec(); !s.ok()) return s;
  }

  sync::Message msg;
  // sync 2b: the terminal's master, sent once the sandbox's devpts exists.
  if (spec.process.terminal) {
    int passed = -1;
    if (Status s = c.Await(sync::Msg::kConsole, &msg, &passed); !s.ok()) {
      fail(s.Wrap("set up the sandbox"));
      return container;
    }
    c.console.Reset(passed);
  }
  // sync 3: the payload's pidfd, to take its listener from (handoff only).
  UniqueFd payload;
  if (c.handoff) {
    int passed = -1;
    if (Status s = c.Await(sync::Msg::kPayloadPidfd, &msg, &passed); !s.ok()) {
      fail(s.Wrap("set up the sandbox"));
      return container;
    }
    payload.Reset(passed);
  }
  // sync 3b: set up and ready to exec; with the listener's fd number in the payload.
  if (Status s = c.Await(sync::Msg::kReady, &msg, nullptr); !s.ok()) {
    fail(s.Wrap("set up the sandbox"));
    return container;
  }
  if (c.handoff && msg.value >= 0) {
    int fd = PidfdGetfd(payload.get(), msg.value);
    if (fd < 0) {
      fail(Errno("take the seccomp listener from the sandbox"));
      return container;
    }
    c.listener.emplace(fd, c.filter);
    HIVE_LOG(kDebug, "run {}: seccomp listener taken (payload fd {})", spec.hive.run_id, msg.value);
    Status s = c.ServeListener(&*c.listener);
    if (!s.ok()) return s.Wrap("the supervisor's wait loop");
  } else if (c.handoff && c.egress) {
    // Without the listener every connect would be refused unrecorded: not what was asked.
    fail(Error(Code::kUnsupported,
               "security.network.allowed_domains: the seccomp listener is taken by a sandbox "
               "above hive-run; per-domain network access needs it"));
    return container;
  } else if (c.handoff) {
    c.result.denials_recorded = false;
    c.result.warnings.push_back(
        "seccomp: denied system calls are answered but not recorded: a seccomp listener "
        "already exists above hive-run (nested sandbox)");
  }
  return container;
}

Status Container::Start() {
  Impl& c = *impl_;
  if (c.failed) return c.result.setup_error;
  TestStopPoint("setup");
  auto fail = [&](const Status& s) {
    c.failed = true;
    c.result.setup_error = c.Stopped(s);
    return c.result.setup_error;
  };
  c.OnSignals();  // an interrupt that came while stopped here is not the payload's
  if (c.killed) return fail(Error(Code::kFailedPrecondition, "the sandbox was killed"));
  // sync 4: start.
  if (!sync::Send(c.sync.get(), sync::Msg::kStart)) return fail(Errno("release the payload"));
  c.start_sent = true;
  // sync 5: the payload has exec'd, or setup failed. Its execve, and what runs right after
  // it, may already be denied: the listener is served meanwhile.
  sync::Message msg;
  if (Status s = c.Await(sync::Msg::kExecOk, &msg, nullptr); !s.ok()) {
    if (msg.type == sync::Msg::kExecFailed) {
      c.result.exec_failed = true;
      c.result.exec_errno = msg.err;
      c.failed = true;
      return Error(Code::kNotFound,
                   fmt::format("execve `{}`: {}", c.spec.process.args[0], strerror(msg.err)));
    }
    return fail(s.Wrap("set up the sandbox"));
  }
  c.exec_done = true;
  c.result.ran = true;
  HIVE_LOG(kDebug, "run {}: `{}` exec'd", c.spec.hive.run_id, c.spec.process.args[0]);
  if (c.spec.hive.cpu_seconds > 0) {
    ArmTimer(c.cpu_timer.get(), static_cast<double>(c.spec.hive.cpu_seconds) / c.parallelism);
  }
  return Ok();
}

void Container::Monitor() {
  Impl& c = *impl_;
  if (c.exec_done) c.loop.Run();  // until pid 1 exits (the pidfd handler stops the loop)
}

ContainerResult Container::Collect() {
  Impl& c = *impl_;
  ContainerResult& r = c.result;
  auto finish = [&]() {
    r.wall_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - c.start_time)
                                          .count());
    return std::move(r);
  };
  c.CollectDenials();
  if (c.failed && !r.ran) {
    c.KillSandbox();
    return finish();
  }
  int init_status = 0;
  if (c.options.detached) {
    // Not our child: whoever it reparented to reaps it; its end is the pidfd's.
    struct pollfd p = {c.pidfd.get(), POLLIN, 0};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
  } else {
    while (wait4(c.pid, &init_status, 0, &r.rusage) < 0 && errno == EINTR) {
    }
  }
  c.reaped = true;
  HIVE_LOG(kDebug, "run {}: pid 1 exited (wait status {:#x})", c.spec.hive.run_id, init_status);
  // sync 6: pid 1 reports the payload's own wait status before it exits.
  sync::Message msg;
  bool have_status = false;
  while (sync::Receive(c.sync.get(), &msg)) {
    if (msg.type == sync::Msg::kExited) {
      r.wait_status = msg.value;
      have_status = true;
    }
  }
  if (!have_status) {
    // pid 1 itself was killed (timeout, interrupt): the payload died with the namespace.
    r.wait_status = WIFSIGNALED(init_status) ? WTERMSIG(init_status) : SIGKILL;
  }
  // Denials made up to the end count too.
  c.CollectDenials();
  if (c.egress) {
    c.egress->Stop();
    r.network = c.egress->ReportJson();
    for (seccomp::Denial& d : c.egress->Refusals()) {
      r.denials_total += d.count;
      r.denials.push_back(std::move(d));
    }
  }
  // Captured output is written by the sandbox itself, so RLIMIT_FSIZE cuts it too.
  const uint64_t file_limit = RlimitSoft(c.spec, RLIMIT_FSIZE);
  for (const auto& [fd, name] : {std::pair{c.out_fd.get(), "stdout"}, {c.err_fd.get(), "stderr"}}) {
    struct stat st;
    if (fd < 0 || file_limit == UINT64_MAX || fstat(fd, &st) != 0) continue;
    if (static_cast<uint64_t>(st.st_size) >= file_limit) r.captures_cut.push_back(name);
  }
  auto st = c.cg->ReadStats();
  if (st.ok()) {
    r.cgroup = *st;
  } else {
    r.warnings.push_back(st.status().Wrap("read the cgroup's counters").message());
  }
  if (c.options.detached) return finish();  // removed at delete: DestroyCgroups
  if (Status s = c.cg->Destroy(); !s.ok()) {
    r.warnings.push_back(s.Wrap("remove the run's cgroups").message());
  }
  return finish();
}

Status Container::DestroyCgroups() {
  if (!impl_->cg || impl_->released) return Ok();
  (void)impl_->cg->Kill();
  return impl_->cg->Destroy();
}

Status Container::AdoptListener(int fd) {
  Impl& c = *impl_;
  if (c.filter.program.empty() || !c.filter.notify) {
    close(fd);
    return Error(Code::kFailedPrecondition, "the sandbox's seccomp filter has no listener to join");
  }
  c.adopted.push_back(std::make_unique<seccomp::Listener>(fd, c.filter));
  HIVE_LOG(kDebug, "run {}: adopted a seccomp listener (fd {})", c.spec.hive.run_id, fd);
  return c.ServeListener(c.adopted.back().get());
}

Status Container::Serve(int fd, std::function<void()> on_readable) {
  return impl_->loop.Add(fd, [cb = std::move(on_readable)](uint32_t) { cb(); });
}

const seccomp::OciFilter& Container::oci_filter() const { return impl_->oci_filter; }

Status Container::SetupError() const {
  return impl_->failed ? impl_->result.setup_error : Ok();
}

pid_t Container::pid() const { return impl_->pid; }

UniqueFd Container::TakeConsole() { return std::move(impl_->console); }

const landlock::Prepared& Container::landlock() const { return impl_->landlock_rules; }
const seccomp::Filter& Container::filter() const { return impl_->filter; }
const std::vector<std::string>& Container::cgroup_warnings() const {
  return impl_->cgroup_warnings;
}

ContainerState Container::Release(int* listener_fd) {
  Impl& c = *impl_;
  ContainerState state;
  state.pid = c.pid;
  if (c.cg) {
    state.cgroup_dirs = c.cg->Paths();
    c.cg->Release();
  }
  if (listener_fd) *listener_fd = -1;
  if (c.listener && listener_fd) *listener_fd = fcntl(c.listener->fd(), F_DUPFD_CLOEXEC, 0);
  c.released = true;
  return state;
}

}  // namespace hive
