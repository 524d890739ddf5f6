// The entering process's setup. The order is the payload's (child.cc), and is the security
// argument:
//
//   1. wait for the parent's go-ahead (placed in the sandbox's cgroups)
//   2. join the user, mount, network, uts, ipc and cgroup namespaces of pid 1 at once; the
//      pid namespace was the parent's to join (it applies to children only); become root of
//      the user namespace (the sandbox's mapped range), own session
//   3. rlimits
//   4. Landlock (the sandbox's paths: we are at its root now)
//   5. the process's uid/gid, capabilities, no_new_privs
//   6. cwd; every fd but 0-2 and the preserved ones marked close-on-exec
//   7. config.json's seccomp filter, then the policy's with its listener, last
//   8. wait for the start, execve
//
// Nothing here allocates after the clone: the parent prepared every string and structure.
#include "supervisor/enter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/files.h"
#include "base/log.h"
#include "base/pidfd.h"
#include "sandbox/capabilities.h"
#include "sandbox/console.h"
#include "sandbox/cgroups/cgroups.h"
#include "sandbox/cgroups/layout.h"
#include "sandbox/rlimits.h"
#include "supervisor/sync.h"

namespace hive {

struct EnteredProcess::Context {
  int sync_fd = -1;
  int exec_pipe = -1;
  int target_pidfd = -1;
  const EnterOptions* options = nullptr;
  caps::Plan caps;
  std::vector<std::string> exec_paths;
  std::vector<char*> argv, envp;
  std::vector<gid_t> groups;
  bool needs_dumpable = false;
};

namespace {

constexpr int kJoined =
    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

[[noreturn]] void Fail(int sync_fd, const char* step, const char* detail, int err) noexcept {
  sync::Send(sync_fd, sync::Msg::kSetupFailed, err, 0, step, detail);
  _exit(125);
}

bool HoldsEffective(int cap) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective >> (cap % 32)) & 1;
}

[[noreturn]] void EnterMain(const EnteredProcess::Context& c) noexcept {
  const int fd = c.sync_fd;
  const EnterOptions& o = *c.options;
  const ProcessSpec& p = *o.process;
  sync::Message go;
  // sync 1: in the cgroups. A parent that died closes the socket: EOF, and we are done.
  if (!sync::Receive(fd, &go) || go.type != sync::Msg::kGo) _exit(125);
  if (setns(c.target_pidfd, kJoined) != 0) {
    Fail(fd, "join the container's namespaces", "user, mount, network, uts, ipc, cgroup", errno);
  }
  if (setresgid(0, 0, 0) != 0) Fail(fd, "become root of the user namespace (gid)", "", errno);
  if (setresuid(0, 0, 0) != 0) Fail(fd, "become root of the user namespace (uid)", "", errno);
  if (p.terminal) {
    // sync 2b: a pty from the container's devpts (its /dev/pts/ptmx, reached through the
    // container's root, which joining its mount namespace made ours); the master goes to the
    // parent for the console socket, the slave becomes our controlling terminal and stdio in
    // a new session. Before Landlock, which may not allow opening it.
    int master = -1, slave = -1;
    if (int r = console::OpenPty(p.user.uid, p.user.gid, p.console_height, p.console_width,
                                 &master, &slave);
        r < 0) {
      Fail(fd, "open a pty in the container's /dev/pts", "process.terminal", -r);
    }
    if (!sync::SendFd(fd, sync::Msg::kConsole, master)) {
      Fail(fd, "send the pty's master", "process.terminal", errno);
    }
    close(master);
    if (int r = console::AttachTerminal(slave); r < 0) {
      Fail(fd, "make the pty the controlling terminal", "process.terminal", -r);
    }
  } else if (setsid() < 0) {
    Fail(fd, "setsid", "", errno);
  }
  int failed_resource = 0;
  if (rlimits::Apply(p.rlimits, &failed_resource) < 0) Fail(fd, "setrlimit", "", errno);
  if (o.landlock) {
    if (int r = landlock::Apply(*o.landlock); r < 0) Fail(fd, "apply the Landlock ruleset", "", -r);
  }
  if (setgroups(c.groups.size(), c.groups.data()) != 0) Fail(fd, "setgroups", "", errno);
  if (setresgid(p.user.gid, p.user.gid, p.user.gid) != 0) Fail(fd, "setresgid", "", errno);
  const char* step = "";
  if (int r = caps::SetUid(p.user.uid, &step); r < 0) Fail(fd, step, "", -r);
  if (int r = caps::Apply(c.caps, &step); r < 0) Fail(fd, step, "", -r);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail(fd, "set no_new_privs", "", errno);
  if (chdir(p.cwd.c_str()) != 0) Fail(fd, "chdir", p.cwd.c_str(), errno);
  if (p.user.umask) umask(static_cast<mode_t>(*p.user.umask));
  const unsigned first_closed = 3 + static_cast<unsigned>(o.preserve_fds);
  if (close_range(first_closed, ~0U, CLOSE_RANGE_CLOEXEC) != 0) Fail(fd, "close_range", "", errno);
  for (int i = 3; i < static_cast<int>(first_closed); ++i) {
    if (fcntl(i, F_SETFD, 0) != 0) Fail(fd, "keep a preserved fd", "", errno);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  int listener = -1;
  if (o.oci_filter && !o.oci_filter->program.empty()) {
    sock_fprog prog{static_cast<unsigned short>(o.oci_filter->program.size()),
                    const_cast<sock_filter*>(o.oci_filter->program.data())};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, o.oci_filter->flags, &prog) != 0) {
      Fail(fd, "install config.json's seccomp filter", "linux.seccomp", errno);
    }
  }
  if (o.filter && !o.filter->program.empty()) {
    if (o.filter->notify) {
      // sync 3: our pidfd, while sendmsg is still ours to use (see child.cc).
      if (c.needs_dumpable) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
      int self = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
      if (self < 0) Fail(fd, "pidfd_open the process", "", errno);
      if (!sync::SendFd(fd, sync::Msg::kPayloadPidfd, self)) {
        Fail(fd, "send the process's pidfd", "", errno);
      }
      close(self);
    }
    if (int r = seccomp::Install(*o.filter, &listener); r < 0) {
      Fail(fd, "install the seccomp filter", o.filter->profile_name.c_str(), -r);
    }
  }
  // sync 3b: ready, with the listener's fd number; sync 4: the start. read(2)/write(2) only.
  sync::Message start;
  if (!sync::Write(fd, sync::Msg::kReady, listener) || !sync::Read(fd, &start) ||
      start.type != sync::Msg::kStart) {
    _exit(125);
  }
  int err = ENOENT;
  for (const std::string& path : c.exec_paths) {
    execve(path.c_str(), c.argv.data(), c.envp.data());
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  int32_t e = err;
  if (write(c.exec_pipe, &e, sizeof e) < 0) {
  }
  _exit(127);
}

// execve candidates: the program itself when it has a slash, else each entry of the
// process's PATH (the OCI default when it sets none) joined with it.
std::vector<std::string> ExecPaths(const ProcessSpec& p) {
  const std::string& cmd = p.args.at(0);
  if (cmd.find('/') != std::string::npos) return {cmd};
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& e : p.env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  std::vector<std::string> out;
  for (size_t i = 0; i <= path.size();) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    const std::string dir = path.substr(i, j - i);
    out.push_back((dir.empty() ? "." : dir) + "/" + cmd);
    i = j + 1;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<EnteredProcess>> EnteredProcess::Create(const EnterOptions& o) {
  if (o.process == nullptr || o.process->args.empty()) {
    return Error(Code::kInvalidArgument, "exec: no program to run (process.args is empty)");
  }
  std::unique_ptr<EnteredProcess> e(new EnteredProcess());
  e->ctx_ = std::make_unique<Context>();
  Context& c = *e->ctx_;
  c.options = &o;
  c.target_pidfd = o.target_pidfd;
  HIVE_TRY(caps::Prepare(o.process->capabilities, &c.caps));
  c.exec_paths = ExecPaths(*o.process);
  for (const std::string& a : o.process->args) c.argv.push_back(const_cast<char*>(a.c_str()));
  c.argv.push_back(nullptr);
  for (const std::string& v : o.process->env) c.envp.push_back(const_cast<char*>(v.c_str()));
  c.envp.push_back(nullptr);
  c.groups.assign(o.process->user.additional_gids.begin(), o.process->user.additional_gids.end());
  c.needs_dumpable =
      o.filter && o.filter->notify && !o.filter->program.empty() && !HoldsEffective(CAP_SYS_PTRACE);

  HIVE_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::DetectLayout());
  HIVE_ASSIGN_OR_RETURN(auto cg, cgroups::AdoptRun(layout, o.cgroup_dirs));
  // The manager only places the process: the cgroups stay the container's.
  struct ReleaseCgroups {
    cgroups::CgroupManager* m;
    ~ReleaseCgroups() { m->Release(); }
  } release_cgroups{cg.get()};

  // The pid namespace applies to the children we make from here on: the process is created
  // in it, as our own child.
  if (setns(o.target_pidfd, CLONE_NEWPID) != 0) {
    return Errno("join the container's pid namespace");
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Errno("socketpair");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Errno("pipe2");
  e->exec_pipe_.Reset(pipe_fds[0]);
  UniqueFd exec_write(pipe_fds[1]);
  c.sync_fd = child_end.get();
  c.exec_pipe = exec_write.get();

  int child_pidfd = -1;
  struct clone_args args = {};
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&child_pidfd);
  args.exit_signal = SIGCHLD;
  if (cg->CloneIntoFd() >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cg->CloneIntoFd());
  }
  long child = syscall(SYS_clone3, &args, sizeof args);
  if (child < 0 && (args.flags & CLONE_INTO_CGROUP)) {
    args.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
    child = syscall(SYS_clone3, &args, sizeof args);
  }
  if (child < 0) return Errno("clone3 into the container's pid namespace");
  if (child == 0) {
    parent_end.Reset();
    EnterMain(c);
  }
  e->pid_ = static_cast<pid_t>(child);
  e->pidfd_.Reset(child_pidfd);
  child_end.Reset();
  exec_write.Reset();
  e->sync_ = std::move(parent_end);
  HIVE_LOG(kDebug, "exec: pid {} cloned into the container's pid namespace", e->pid_);
  HIVE_TRY(cg->Join(e->pid_, (args.flags & CLONE_INTO_CGROUP) != 0)
               .Wrap("place the process in the container's cgroups"));
  if (o.process->oom_score_adj) {
    HIVE_TRY(WriteControlFile(fmt::format("/proc/{}/oom_score_adj", e->pid_),
                              std::to_string(*o.process->oom_score_adj))
                 .Wrap("process.oomScoreAdj"));
  }
  // sync 1: go.
  if (!sync::Send(e->sync_.get(), sync::Msg::kGo)) return Errno("release the process");
  sync::Message msg;
  if (o.process->terminal) {
    int passed = -1;
    HIVE_TRY(sync::ExpectFd(e->sync_.get(), sync::Msg::kConsole, &msg, &passed)
                 .Wrap("set up the process's terminal"));
    e->console_.Reset(passed);
  }
  UniqueFd self;
  const bool handoff = o.filter && o.filter->notify && !o.filter->program.empty();
  if (handoff) {
    int passed = -1;
    HIVE_TRY(sync::ExpectFd(e->sync_.get(), sync::Msg::kPayloadPidfd, &msg, &passed)
                 .Wrap("set up the process"));
    self.Reset(passed);
  }
  HIVE_TRY(sync::Expect(e->sync_.get(), sync::Msg::kReady, &msg).Wrap("set up the process"));
  if (handoff && msg.value >= 0) {
    e->listener_.Reset(PidfdGetfd(self.get(), msg.value));
    if (!e->listener_.valid()) return Errno("take the seccomp listener from the process");
  }
  return e;
}

EnteredProcess::~EnteredProcess() {
  if (pid_ > 0 && !released_) {
    PidfdSendSignal(pidfd_.get(), SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

UniqueFd EnteredProcess::TakeListener() { return std::move(listener_); }

Status EnteredProcess::Start() {
  // sync 4: start; the exec pipe closes (close-on-exec) when the program runs.
  if (!sync::Send(sync_.get(), sync::Msg::kStart)) return Errno("release the process");
  int32_t err = 0;
  ssize_t n;
  do {
    n = read(exec_pipe_.get(), &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof err) {
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return Errno(fmt::format("exec `{}`", ctx_->argv[0]), err);
  }
  HIVE_LOG(kDebug, "exec: pid {} exec'd `{}`", pid_, ctx_->argv[0]);
  return Ok();
}

}  // namespace hive
