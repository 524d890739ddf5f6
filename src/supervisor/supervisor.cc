#include "supervisor/supervisor.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
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

#include <fmt/format.h>

#include "base/files.h"
#include "base/pidfd.h"
#include "base/unique_fd.h"
#include "sandbox/cgroups/cgroups.h"
#include "sandbox/cgroups/layout.h"
#include "sandbox/landlock/landlock.h"
#include "sandbox/namespaces.h"
#include "sandbox/rlimits.h"
#include "sandbox/seccomp/seccomp.h"
#include "supervisor/child.h"
#include "supervisor/event_loop.h"
#include "supervisor/sync.h"

namespace hive {
namespace {

constexpr int kTeardownSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
// After forwarding an interrupt, the sandbox gets this long to exit before it is killed.
constexpr int kInterruptGraceSeconds = 2;

bool HoldsEffective(int cap) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective >> (cap % 32)) & 1;
}

Result<ChildContext> PrepareChild(const RunSpec& spec, const rootfs::Plan& plan,
                                  const std::vector<RlimitSpec>& rlimits, const caps::Plan& caps) {
  ChildContext ctx;
  ctx.hostname = spec.hostname.c_str();
  ctx.rootfs = &plan;
  ctx.rlimits = &rlimits;
  ctx.caps = &caps;
  ctx.uid = spec.process.uid;
  ctx.gid = spec.process.gid;
  ctx.groups.assign(spec.process.additional_gids.begin(), spec.process.additional_gids.end());
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

// The host paths whose block devices get the io limits: what the sandbox can write, and the
// root it reads from.
std::vector<std::string> IoPaths(const RunSpec& spec) {
  std::vector<std::string> paths;
  for (const MountSpec& m : spec.mounts) {
    if (m.type == "bind" && !m.read_only) paths.push_back(m.source);
  }
  paths.push_back(spec.root.bundle_rootfs.empty() ? "/" : spec.root.bundle_rootfs);
  return paths;
}

// CPUs the sandbox can run on at once: its bandwidth quota, else the CPUs it may use.
double CpuParallelism(const ExecutionLimits& limits) {
  cpu_set_t set;
  const double online =
      sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
  return limits.cpus > 0 ? std::min(limits.cpus, online) : std::max(online, 1.0);
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

// Tests stop the supervisor at a named moment (HIVE_RUN_TEST_STOP_AT=go|setup|limit_kill) to
// kill it there: what a crash at that moment leaves must die with it and be recorded.
void TestStopPoint(const char* name) {
  static const char* const at = std::getenv("HIVE_RUN_TEST_STOP_AT");
  if (at != nullptr && std::strcmp(at, name) == 0) raise(SIGSTOP);
}

uint64_t ToMs(const struct timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
}

// Everything the parent holds for one live sandbox; dropping it kills and reaps the child.
struct Sandbox {
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd sync;
  bool reaped = false;
  ~Sandbox() {
    if (pid > 0 && !reaped) {
      PidfdSendSignal(pidfd.get(), SIGKILL);
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
};

Status Launch(const RunSpec& spec, ChildContext& ctx, rootfs::Plan& plan,
              cgroups::CgroupManager& cg, Sandbox* sb) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Errno("socketpair");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  ctx.sync_fd = child_end.get();

  int pidfd = -1;
  struct clone_args args = {};
  // The cgroup namespace is unshared by the child once it is in its own cgroup.
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS |
               CLONE_NEWIPC | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  // The child starts inside its v2 cgroup, so not one of its instructions runs unlimited.
  if (cg.CloneIntoFd() >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cg.CloneIntoFd());
  }
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && (args.flags & CLONE_INTO_CGROUP)) {
    // Kernels or delegations that refuse CLONE_INTO_CGROUP: Join() below places the child
    // before its go-ahead instead.
    args.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
    pid = syscall(SYS_clone3, &args, sizeof args);
  }
  if (pid < 0) {
    return Errno("clone3 into new user, mount, pid, net, uts and ipc namespaces");
  }
  if (pid == 0) {
    // The child must not hold the parent's end: when the parent dies, the child's reads of
    // the sync socket have to see EOF.
    parent_end.Reset();
    ChildMain(ctx);
  }
  sb->pid = static_cast<pid_t>(pid);
  sb->pidfd.Reset(pidfd);
  child_end.Reset();
  sb->sync = std::move(parent_end);

  HIVE_TRY(ns::WriteIdMaps(sb->pid, spec.uid_mappings, spec.gid_mappings)
               .Wrap("write the sandbox's id maps"));
  const bool in_v2 = (args.flags & CLONE_INTO_CGROUP) != 0;
  HIVE_TRY(cg.Join(sb->pid, in_v2).Wrap("place the sandbox in its cgroups"));

  if (!plan.idmap_trees.empty()) {
    // The sandbox root's host ids: the first mapping's host side for container id 0.
    uint32_t root_uid = spec.uid_mappings.at(0).host_id;
    uint32_t root_gid = spec.gid_mappings.at(0).host_id;
    UniqueFd userns;
    if (spec.owner_uid == 0 && spec.owner_gid == 0 && spec.uid_mappings[0].container_id == 0 &&
        spec.gid_mappings[0].container_id == 0) {
      // The sandbox's own namespace maps host 0 (on disk) to its root: no extra process.
      userns.Reset(open(fmt::format("/proc/{}/ns/user", sb->pid).c_str(), O_RDONLY | O_CLOEXEC));
      if (!userns.valid()) return Errno("open the sandbox's user namespace");
    } else {
      HIVE_ASSIGN_OR_RETURN(userns,
                            ns::IdmapUserns(spec.owner_uid, spec.owner_gid, root_uid, root_gid));
    }
    HIVE_TRY(rootfs::IdmapWritableTrees(plan, userns.get())
                 .Wrap("writable binds need idmapped mounts (Linux 5.12+, a filesystem that "
                       "supports them)"));
  }
  TestStopPoint("go");
  // sync 1: go.
  if (!sync::Send(sb->sync.get(), sync::Msg::kGo)) return Errno("release the sandbox");
  // The tree fds live on in the child; the parent's copies go once the child is on its way
  // (closing the last fd of a detached tree unmounts it, which can wait for RCU).
  plan.trees.clear();
  return Ok();
}

void ClassifyExit(int status, bool timed_out, bool interrupted, RunReport* r) {
  if (WIFEXITED(status)) {
    r->exit_code = WEXITSTATUS(status);
    r->outcome = r->exit_code == 0 ? Outcome::kSuccess : Outcome::kFailure;
  } else if (WIFSIGNALED(status)) {
    r->signal = WTERMSIG(status);
    r->outcome = Outcome::kSignaled;
    if (r->signal == SIGXCPU) {
      r->outcome = Outcome::kCpuLimit;
      r->killed_by = "cpu_limit";
    } else if (r->signal == SIGXFSZ) {
      r->outcome = Outcome::kFileSizeLimit;
      r->killed_by = "file_size_limit";
    }
  }
  if (timed_out) {
    r->outcome = Outcome::kTimeout;
    r->killed_by = "timeout";
  } else if (interrupted && r->killed_by.empty()) {
    r->killed_by = "interrupted";
  }
}

// Denials the listener counted: the report's violations, and one alert naming them.
void RecordViolations(const std::optional<seccomp::Listener>& listener, RunReport* r) {
  if (!listener || listener->total() == 0) return;
  std::vector<Violation> denied = listener->Violations();
  std::string names;
  for (const Violation& v : denied) {
    names += fmt::format("{}{} x{}", names.empty() ? "" : ", ", v.detail, v.count);
  }
  r->alerts.push_back({"violation",
                       fmt::format("{} denied system call{}: {}", listener->total(),
                                   listener->total() == 1 ? "" : "s", names),
                       static_cast<double>(listener->total()), 0});
  r->violations.insert(r->violations.end(), denied.begin(), denied.end());
}

}  // namespace

RunReport Supervise(const RunSpec& spec, const SuperviseOptions& options) {
  RunReport report;
  report.run_id = spec.run_id;
  report.command = spec.process.args;
  report.limits = spec.limits;
  report.policy_sha256 = spec.policy_sha256;
  report.warnings = spec.warnings;
  report.started_at = Rfc3339Now();
  const auto start = std::chrono::steady_clock::now();
  auto finish = [&](RunReport& r) {
    r.wall_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - start)
                                          .count());
    return r;
  };
  auto setup_error = [&](const Status& s) {
    report.outcome = Outcome::kSetupError;
    report.error = s.message();
    return finish(report);
  };

  auto plan = rootfs::Prepare(spec);
  if (!plan.ok()) return setup_error(plan.status().Wrap("prepare the root filesystem"));
  for (const std::string& w : plan->warnings) report.warnings.push_back(w);
  std::vector<RlimitSpec> rlimits = rlimits::FromLimits(spec.limits, spec.process.rlimits);
  caps::Plan caps_plan;
  if (Status s = caps::Prepare(spec.process.capabilities, &caps_plan); !s.ok()) {
    return setup_error(s);
  }
  // Landlock and seccomp are decided here, in the parent; the child only applies them.
  auto landlock_rules = landlock::Prepare(spec);
  if (!landlock_rules.ok()) return setup_error(landlock_rules.status());
  for (const std::string& gap : landlock_rules->not_enforced) {
    report.warnings.push_back("landlock (best effort): not enforced: " + gap);
  }
  report.enforced["landlock"] = landlock::Enforced(*landlock_rules);
  auto filter = seccomp::Prepare(spec, options.seccomp_cache_dir);
  if (!filter.ok()) return setup_error(filter.status());
  report.enforced["seccomp"] = seccomp::Enforced(*filter);
  auto ctx = PrepareChild(spec, *plan, rlimits, caps_plan);
  if (!ctx.ok()) return setup_error(ctx.status());
  ctx->landlock = &*landlock_rules;
  ctx->seccomp = &*filter;
  // With the listener handoff the payload waits for the supervisor before execve.
  const bool handoff = filter->notify && !filter->program.empty();
  ctx->payload_needs_dumpable = handoff && !HoldsEffective(CAP_SYS_PTRACE);
  ctx->payload_ignores_sigxfsz = spec.payload_ignores_sigxfsz && spec.limits.file_size_mb > 0;
  auto out_fd = OpenCapture(options.stdout_path);
  auto err_fd = OpenCapture(options.stderr_path);
  if (!out_fd.ok()) return setup_error(out_fd.status());
  if (!err_fd.ok()) return setup_error(err_fd.status());
  ctx->stdout_fd = out_fd->get();
  ctx->stderr_fd = err_fd->get();

  // Interrupts are taken through a signalfd from here on, so none is lost between clone and
  // the wait loop; the child unblocks its own.
  sigset_t mask, old_mask;
  sigemptyset(&mask);
  for (int sig : kTeardownSignals) sigaddset(&mask, sig);
  sigprocmask(SIG_BLOCK, &mask, &old_mask);
  struct MaskRestore {
    sigset_t m;
    ~MaskRestore() { sigprocmask(SIG_SETMASK, &m, nullptr); }
  } restore{old_mask};

  // Cgroups outlive the Sandbox below: the child is killed and reaped before they go.
  // One reading of the host's hierarchies serves the run's cgroups and the sweep below.
  auto layout = cgroups::DetectLayout();
  if (!layout.ok()) return setup_error(layout.status().Wrap("create the run's cgroups"));
  auto cg = cgroups::CreateWithLayout(*layout, spec.run_id, spec.limits, spec.cgroups_path,
                                      IoPaths(spec));
  if (!cg.ok()) return setup_error(cg.status().Wrap("create the run's cgroups"));
  for (const std::string& w : (*cg)->Warnings()) report.warnings.push_back(w);
  report.enforced["namespaces"] = {"user", "mount", "pid", "net", "uts", "ipc", "cgroup"};
  report.enforced["rootfs"] = {{"read_only", spec.root.read_only},
                               {"writable_paths", spec.writable_paths},
                               {"private_tmp_mb", spec.limits.tmp_size_mb}};
  report.enforced["capabilities"] = spec.process.capabilities;
  report.enforced["no_new_privs"] = true;
  report.enforced["cgroup_limits_not_enforced"] = (*cg)->Warnings();

  // The supervisor's one wait, from before the clone to the sandbox's end: the wall clock and
  // interrupts count during setup as much as after exec.
  UniqueFd sigfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  UniqueFd timer(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  // cpu_seconds for the whole sandbox: RLIMIT_CPU counts one process, so a sandbox that
  // spreads its work over many would escape it. This timer fires at the earliest moment the
  // sandbox could have used its CPU time (what is left, at full parallelism) and is re-armed
  // from the cgroup's counter — no periodic polling.
  UniqueFd cpu_timer(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!sigfd.valid() || !timer.valid() || !cpu_timer.valid()) {
    return setup_error(Errno("create the supervisor's timers and signalfd"));
  }
  auto arm_fd = [](int fd, double seconds) {
    struct itimerspec its = {};
    its.it_value.tv_sec = static_cast<time_t>(seconds);
    its.it_value.tv_nsec = static_cast<long>((seconds - std::floor(seconds)) * 1e9);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    timerfd_settime(fd, 0, &its, nullptr);
  };
  auto arm = [&](double seconds) { arm_fd(timer.get(), seconds); };
  // A process that alone uses the whole budget meets its RLIMIT_CPU first and dies of SIGXCPU,
  // which names the cause in its exit status; the sandbox-wide kill waits a little past the
  // budget (a few scheduler ticks) so as not to race it with SIGKILL on a loaded machine.
  constexpr double kCpuKillGraceNs = 50e6;
  const double cpu_budget_ns =
      static_cast<double>(spec.limits.cpu_seconds) * 1e9 + kCpuKillGraceNs;
  const double parallelism = CpuParallelism(spec.limits);
  // Returns true when the sandbox has used its CPU time; otherwise re-arms the check.
  auto cpu_spent = [&]() {
    if (spec.limits.cpu_seconds == 0) return false;
    auto st = (*cg)->ReadStats();
    if (!st.ok() || st->cpu_usage_ns == 0) return false;  // no cgroup CPU accounting here
    const double left_ns = cpu_budget_ns - static_cast<double>(st->cpu_usage_ns);
    if (left_ns <= 0) return true;
    // At least 50 ms apart, so a sandbox just under its budget is not read in a tight loop.
    arm_fd(cpu_timer.get(), std::max(0.05, left_ns / 1e9 / parallelism));
    return false;
  };
  if (spec.limits.timeout_seconds > 0) arm(spec.limits.timeout_seconds);

  Sandbox sb;
  EventLoop loop;
  uint64_t file_size_hits = 0;  // processes that exited with a write past file_size_mb
  bool timed_out = false, interrupted = false, killed = false, cpu_killed = false;
  bool exec_done = false;
  int interrupt_signal = 0;
  auto drain = [](int timer_fd) {
    uint64_t ticks;
    if (read(timer_fd, &ticks, sizeof ticks) < 0) {
    }
  };
  auto kill_sandbox = [&] {
    if (sb.pid > 0) {
      // Killing pid 1 makes the kernel kill every process of the pid namespace, including
      // ones that setsid()'d or double-forked.
      PidfdSendSignal(sb.pidfd.get(), SIGKILL);
    }
    // And through the cgroup: processes the sandbox moved out of reach of pid 1's death
    // (none should exist) and ones still being created.
    (void)(*cg)->Kill();
    killed = true;
  };
  Status watched = loop.Add(timer.get(), [&](uint32_t) {
    drain(timer.get());
    if (!interrupted) timed_out = true;
    TestStopPoint("limit_kill");
    kill_sandbox();
  });
  if (watched.ok()) {
    watched = loop.Add(cpu_timer.get(), [&](uint32_t) {
      drain(cpu_timer.get());
      if (!killed && cpu_spent()) {
        kill_sandbox();
        cpu_killed = true;
      }
    });
  }
  if (watched.ok()) {
    watched = loop.Add(sigfd.get(), [&](uint32_t) {
      struct signalfd_siginfo si;
      while (read(sigfd.get(), &si, sizeof si) == sizeof si) {
        if (interrupted || killed) continue;
        interrupted = true;
        interrupt_signal = static_cast<int>(si.ssi_signo);
        if (exec_done) {
          // The payload may want to clean up: forward, then kill after a grace period.
          PidfdSendSignal(sb.pidfd.get(), interrupt_signal);
          arm(kInterruptGraceSeconds);
        } else {
          kill_sandbox();  // nothing of the user's runs yet: stop now
        }
      }
    });
  }
  if (!watched.ok()) return setup_error(watched.Wrap("the supervisor's wait loop"));

  // A step of setup that did not complete: the timeout or an interrupt that stopped it, or
  // the error the child reported.
  auto setup_stopped = [&](const Status& s) {
    if (timed_out) {
      report.outcome = Outcome::kTimeout;
      report.killed_by = "timeout";
      report.error =
          fmt::format("stopped at the {}s timeout during setup", spec.limits.timeout_seconds);
      return finish(report);
    }
    if (interrupted) {
      report.outcome = Outcome::kSignaled;
      report.signal = interrupt_signal;
      report.killed_by = "interrupted";
      report.error = fmt::format("interrupted by signal {} during setup", interrupt_signal);
      return finish(report);
    }
    return setup_error(s);
  };
  // Waits for the child's next message, serving timers, signals and the listener meanwhile.
  auto await = [&](sync::Msg want, sync::Message* m, int* passed) {
    // A stopped loop (the child is gone, or epoll failed) must not leave a live child to
    // block on: it is killed, and its socket then ends.
    if (!loop.WaitReadable(sb.sync.get()) && !killed) kill_sandbox();
    return passed ? sync::ExpectFd(sb.sync.get(), want, m, passed)
                  : sync::Expect(sb.sync.get(), want, m);
  };

  // With the listener handoff the payload cannot exec before we answer it, so before_exec can
  // run while the child sets itself up; without it, before the child exists.
  if (options.before_exec && !handoff) {
    if (Status s = options.before_exec(); !s.ok()) return setup_error(s);
  }
  if (Status s = Launch(spec, *ctx, *plan, **cg, &sb); !s.ok()) return setup_error(s);
  if (Status s = loop.Add(sb.pidfd.get(), [&](uint32_t) { loop.Stop(); }); !s.ok()) {
    return setup_stopped(s.Wrap("the supervisor's wait loop"));
  }
  // Cgroups left by a hive-run that crashed; best effort. Done while the child sets itself
  // up, when this process would only wait.
  (void)cgroups::SweepStale(*layout);
  if (options.before_exec && handoff) {
    if (Status s = options.before_exec(); !s.ok()) return setup_stopped(s);
  }

  TestStopPoint("setup");
  sync::Message msg;
  // sync 3, 3b, 4: take the payload's seccomp listener before it may exec.
  std::optional<seccomp::Listener> listener;
  if (handoff) {
    int passed = -1;
    if (Status s = await(sync::Msg::kPayloadPidfd, &msg, &passed); !s.ok()) {
      return setup_stopped(s.Wrap("set up the sandbox"));
    }
    UniqueFd payload(passed);
    if (Status s = await(sync::Msg::kListenerFd, &msg, nullptr); !s.ok()) {
      return setup_stopped(s.Wrap("set up the sandbox"));
    }
    if (msg.value >= 0) {
      int fd = static_cast<int>(syscall(SYS_pidfd_getfd, payload.get(), msg.value, 0));
      if (fd < 0) return setup_stopped(Errno("take the seccomp listener from the sandbox"));
      listener.emplace(fd, *filter);
      if (filter->watch_exits) {
        listener->OnExit([&](pid_t pid) {
          if (SigxfszPending(pid)) ++file_size_hits;
        });
      }
      Status s = loop.Add(listener->fd(), [&](uint32_t events) {
        if (events & EPOLLIN) {
          // A denied call waits for our answer; only denied calls come here.
          if (Status h = listener->HandleOne(); !h.ok()) report.warnings.push_back(h.message());
        } else {
          loop.Remove(listener->fd());  // EPOLLHUP: no task uses the filter any more
        }
      });
      if (!s.ok()) return setup_stopped(s.Wrap("the supervisor's wait loop"));
    } else {
      report.enforced["seccomp"]["denials_recorded"] = false;
      report.warnings.push_back(
          "seccomp: denied system calls are answered but not recorded: a seccomp listener "
          "already exists above hive-run (nested sandbox)");
    }
    if (!sync::Send(sb.sync.get(), sync::Msg::kListenerTaken)) {
      return setup_stopped(Errno("release the payload"));
    }
  }

  // sync 5: the payload has exec'd, or setup failed. Its execve, and what runs right after
  // it, may already be denied: the listener is served meanwhile.
  if (Status s = await(sync::Msg::kExecOk, &msg, nullptr); !s.ok()) {
    RecordViolations(listener, &report);
    if (msg.type == sync::Msg::kExecFailed) {
      report.outcome = Outcome::kFailure;
      report.exit_code = msg.err == ENOENT || msg.err == ENOTDIR ? 127 : 126;
      report.error = fmt::format("execve `{}`: {}", spec.process.args[0], strerror(msg.err));
      return finish(report);
    }
    return setup_stopped(s.Wrap("set up the sandbox"));
  }
  exec_done = true;
  if (spec.limits.cpu_seconds > 0) {
    arm_fd(cpu_timer.get(), static_cast<double>(spec.limits.cpu_seconds) / parallelism);
  }
  // Until pid 1 exits (the pidfd handler stops the loop).
  loop.Run();

  int init_status = 0;
  struct rusage ru = {};
  while (wait4(sb.pid, &init_status, 0, &ru) < 0 && errno == EINTR) {
  }
  sb.reaped = true;

  // sync 6: pid 1 reports the payload's own wait status before it exits.
  int payload_status = 0;
  bool have_status = false;
  while (sync::Receive(sb.sync.get(), &msg)) {
    if (msg.type == sync::Msg::kExited) {
      payload_status = msg.value;
      have_status = true;
    }
  }
  if (!have_status) {
    // pid 1 itself was killed (timeout, interrupt): the payload died with the namespace.
    payload_status = WIFSIGNALED(init_status) ? WTERMSIG(init_status) : SIGKILL;
  }
  ClassifyExit(payload_status, timed_out, interrupted, &report);
  RecordViolations(listener, &report);
  // Captured output is written by the sandbox itself, so file_size_mb cuts it too: a capture
  // that reached the limit was cut there, and the report says so.
  const uint64_t file_limit = spec.limits.file_size_mb * 1024 * 1024;
  for (const auto& [fd, name] : {std::pair{out_fd->get(), "stdout"}, {err_fd->get(), "stderr"}}) {
    struct stat st;
    if (fd < 0 || file_limit == 0 || fstat(fd, &st) != 0) continue;
    if (static_cast<uint64_t>(st.st_size) >= file_limit) {
      report.violations.push_back(
          {"limit",
           fmt::format("captured {} reached file_size_mb={} and was cut there", name,
                       spec.limits.file_size_mb),
           1});
    }
  }
  if (file_size_hits > 0) {
    // The write failed with EFBIG; a process that then fails failed at the limit.
    if (report.outcome == Outcome::kFailure) {
      report.outcome = Outcome::kFileSizeLimit;
      report.killed_by = "file_size_limit";
    }
    report.violations.push_back(
        {"limit",
         fmt::format("a write went past file_size_mb={} (EFBIG; the process ignores SIGXFSZ)",
                     spec.limits.file_size_mb),
         file_size_hits});
  }

  report.usage.cpu_user_ms = ToMs(ru.ru_utime);
  report.usage.cpu_system_ms = ToMs(ru.ru_stime);
  report.usage.memory_peak_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
  // The cgroup's counters cover every process of the sandbox, not just the reaped ones
  // rusage sees; each replaces the rusage value where the cgroup measured it.
  if (auto st = (*cg)->ReadStats(); st.ok()) {
    const Usage& u = st->usage;
    if (st->cpu_usage_ns > 0) {
      report.usage.cpu_user_ms = u.cpu_user_ms;
      report.usage.cpu_system_ms = u.cpu_system_ms;
    }
    if (u.memory_peak_bytes > 0) report.usage.memory_peak_bytes = u.memory_peak_bytes;
    report.usage.pids_peak = u.pids_peak;
    report.usage.io_read_bytes = u.io_read_bytes;
    report.usage.io_write_bytes = u.io_write_bytes;
    if (!st->io_measured) {
      report.usage_unknown = {"io_read_bytes", "io_write_bytes"};
      report.usage_notes.push_back(
          "io_read_bytes, io_write_bytes: not measured (no blkio or io cgroup for this run: "
          "hive-run makes one only when io limits are set)");
    } else if (!st->io_buffered_writes_seen) {
      report.usage_notes.push_back(
          "io_write_bytes: direct and synchronous writes only (cgroup v1 blkio counts and "
          "throttles the writes the sandbox submits itself; buffered writes are written back "
          "later by the kernel, outside the sandbox's cgroup, and are not in this count)");
    }
    if (cpu_killed) {
      report.outcome = Outcome::kCpuLimit;
      report.killed_by = "cpu_limit";
      report.violations.push_back(
          {"limit",
           fmt::format("{:.2f} s of CPU used by the sandbox, cpu_seconds={}",
                       static_cast<double>(st->cpu_usage_ns) / 1e9, spec.limits.cpu_seconds),
           1});
    } else if (!timed_out) {
      if (auto hit = cgroups::ClassifyLimit(*st, spec.limits, report.exit_code, report.signal)) {
        report.outcome = hit->outcome;
        report.killed_by = hit->killed_by;
        report.violations.push_back({"limit", hit->detail, 1});
      }
    }
    // A limit that was hit without ending the run is still worth knowing.
    if (st->oom_killed && report.killed_by != "memory_limit") {
      report.violations.push_back(
          {"limit", fmt::format("OOM killer fired at memory_mb={}", spec.limits.memory_mb),
           st->oom_kill_count});
    }
    if (st->pids_limit_hit && report.killed_by != "pids_limit") {
      report.violations.push_back(
          {"limit", fmt::format("fork refused at max_processes={}", spec.limits.max_processes), 1});
    }
  } else {
    report.warnings.push_back(st.status().Wrap("read the cgroup's counters").message());
  }
  if (Status s = (*cg)->Destroy(); !s.ok()) {
    report.warnings.push_back(s.Wrap("remove the run's cgroups").message());
  }
  finish(report);
  for (Alert& a :
       cgroups::AlertsFor(report.usage, spec.limits, spec.alert_thresholds, report.wall_ms)) {
    report.alerts.push_back(std::move(a));
  }
  return report;
}

}  // namespace hive
