#include "supervisor/supervisor.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "base/files.h"
#include "base/pidfd.h"
#include "base/unique_fd.h"
#include "sandbox/namespaces.h"
#include "sandbox/rlimits.h"
#include "supervisor/child.h"
#include "supervisor/sync.h"

namespace hive {
namespace {

constexpr int kTeardownSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
// After forwarding an interrupt, the sandbox gets this long to exit before it is killed.
constexpr int kInterruptGraceSeconds = 2;

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

Status Launch(const RunSpec& spec, ChildContext& ctx, rootfs::Plan& plan, Sandbox* sb) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Errno("socketpair");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  ctx.sync_fd = child_end.get();

  // HOOK(cgroups): create the run's cgroup before clone; set CLONE_INTO_CGROUP when possible.

  int pidfd = -1;
  struct clone_args args = {};
  // The cgroup namespace is unshared by the child once it is in its own cgroup.
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS |
               CLONE_NEWIPC | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) {
    return Errno("clone3 into new user, mount, pid, net, uts and ipc namespaces");
  }
  if (pid == 0) {
    parent_end.Release();
    ChildMain(ctx);
  }
  sb->pid = static_cast<pid_t>(pid);
  sb->pidfd.Reset(pidfd);
  child_end.Reset();
  sb->sync = std::move(parent_end);

  HIVE_TRY(ns::WriteIdMaps(sb->pid, spec.uid_mappings, spec.gid_mappings)
               .Wrap("write the sandbox's id maps"));
  // HOOK(cgroups): join the child to every hierarchy CLONE_INTO_CGROUP did not cover.

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
  // The tree fds now live on in the child; the parent's copies are no longer needed.
  plan.trees.clear();

  // sync 1: go.
  if (!sync::Send(sb->sync.get(), sync::Msg::kGo)) return Errno("release the sandbox");
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
  auto ctx = PrepareChild(spec, *plan, rlimits, caps_plan);
  if (!ctx.ok()) return setup_error(ctx.status());
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

  Sandbox sb;
  if (Status s = Launch(spec, *ctx, *plan, &sb); !s.ok()) return setup_error(s);
  out_fd->Reset();
  err_fd->Reset();

  // Setup: messages until the payload has exec'd (or setup failed).
  sync::Message msg;
  if (Status s = sync::Expect(sb.sync.get(), sync::Msg::kExecOk, &msg); !s.ok()) {
    if (msg.type == sync::Msg::kExecFailed) {
      report.outcome = Outcome::kFailure;
      report.exit_code = msg.err == ENOENT || msg.err == ENOTDIR ? 127 : 126;
      report.error = fmt::format("execve `{}`: {}", spec.process.args[0], strerror(msg.err));
      return finish(report);
    }
    return setup_error(s.Wrap("set up the sandbox"));
  }

  UniqueFd sigfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  UniqueFd timer(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
  if (!sigfd.valid() || !timer.valid() || !ep.valid()) return setup_error(Errno("wait loop"));
  auto arm = [&](double seconds) {
    struct itimerspec its = {};
    its.it_value.tv_sec = static_cast<time_t>(seconds);
    its.it_value.tv_nsec = static_cast<long>((seconds - std::floor(seconds)) * 1e9);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    timerfd_settime(timer.get(), 0, &its, nullptr);
  };
  if (spec.limits.timeout_seconds > 0) arm(spec.limits.timeout_seconds);
  for (int fd : {sb.pidfd.get(), sigfd.get(), timer.get()}) {
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
  }

  bool timed_out = false, interrupted = false, killed = false;
  for (;;) {
    struct epoll_event events[4];
    int n = epoll_wait(ep.get(), events, 4, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    bool exited = false;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == sb.pidfd.get()) {
        exited = true;
      } else if (fd == timer.get()) {
        uint64_t ticks;
        if (read(timer.get(), &ticks, sizeof ticks) < 0) {
        }
        if (!interrupted) timed_out = true;
        // Killing pid 1 makes the kernel kill every process of the pid namespace, including
        // ones that setsid()'d or double-forked.
        PidfdSendSignal(sb.pidfd.get(), SIGKILL);
        // HOOK(cgroups): kill the whole cgroup too.
        killed = true;
      } else if (fd == sigfd.get()) {
        struct signalfd_siginfo si;
        while (read(sigfd.get(), &si, sizeof si) == sizeof si) {
          if (!interrupted && !killed) {
            interrupted = true;
            PidfdSendSignal(sb.pidfd.get(), static_cast<int>(si.ssi_signo));
            arm(kInterruptGraceSeconds);
          }
        }
      }
    }
    if (exited) break;
  }

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

  report.usage.cpu_user_ms = ToMs(ru.ru_utime);
  report.usage.cpu_system_ms = ToMs(ru.ru_stime);
  report.usage.memory_peak_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
  // HOOK(cgroups): usage from the cgroup's counters; name the limit that fired; destroy.
  return finish(report);
}

}  // namespace hive
