// The child's setup sequence. The order is the security argument:
//
//   1. wait for the parent's go-ahead (id maps written, cgroup joined, binds idmapped)
//   2. own session (no controlling terminal to inject into), own cgroup namespace, hostname
//   3. mounts private; root assembled on a tmpfs; pivot_root; old root detached; sysctls
//      written through the new /proc; masked and read-only paths (/proc/sys) applied;
//      with a terminal, a pty opened in the new /dev/pts (its master sent to the parent)
//   4. rlimits
//   5. Landlock (needs the final paths, before privileges are gone)
//   6. sandbox uid/gid, every capability dropped, no_new_privs
//   7. every fd but 0-2 marked close-on-exec
//   8. the payload is cloned sharing this process's memory until it execs (CLONE_VM |
//      CLONE_VFORK, as posix_spawn does): no page is copied, and a page fault costs tens of
//      microseconds in a VM. This process stays as pid 1 (reaps, forwards signals, reports
//      the payload's status); the payload takes the terminal (its own session), installs
//      seccomp last, hands its listener to the parent, and execs with a clean environment.
//
// Nothing here allocates: the parent prepared every string and structure.
#include "supervisor/child.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sandbox/console.h"
#include "sandbox/network.h"
#include "sandbox/rlimits.h"
#include "supervisor/sync.h"

namespace hive {
namespace {

[[noreturn]] void Fail(int sync_fd, const char* step, const char* detail, int err) noexcept {
  sync::Send(sync_fd, sync::Msg::kSetupFailed, err, 0, step, detail);
  _exit(125);
}

constexpr int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                              SIGALRM, SIGWINCH, SIGCONT, SIGTSTP};

void NoopHandler(int) {}

[[noreturn]] void Payload(const ChildContext& ctx, int exec_pipe, pid_t init, int tty) noexcept {
  // Not in a pid namespace of its own, the payload would outlive an Init killed alone (OCI
  // `kill ID 9`): it dies with it instead. Init may have died before the signal was armed.
  if (!ctx.own_pidns &&
      (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != init)) {
    _exit(125);
  }
  sigset_t none;
  sigemptyset(&none);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : kForwarded) sigaction(sig, &dfl, nullptr);
  sigaction(SIGCHLD, &dfl, nullptr);
  if (ctx.payload_ignores_sigxfsz) sigaddset(&none, SIGXFSZ);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  if (ctx.umask >= 0) umask(static_cast<mode_t>(ctx.umask));
  // The terminal is the payload's, not pid 1's: the payload's session gets its signals (^C,
  // SIGWINCH) and its hangup.
  if (tty >= 0) {
    if (int r = console::AttachTerminal(tty); r < 0) {
      Fail(ctx.sync_fd, "make the pty the controlling terminal", "process.terminal", -r);
    }
  }

  // OCI create reports a program that cannot run before it returns (clients map the
  // message to 127/126), so it is looked up now, while errors can still be sent.
  if (ctx.detached) {
    int err = ENOENT;
    bool found = false;
    for (const std::string& path : ctx.exec_paths) {
      if (access(path.c_str(), X_OK) == 0) {
        found = true;
        break;
      }
      if (errno != ENOENT && errno != ENOTDIR) err = errno;
    }
    if (!found) Fail(ctx.sync_fd, "exec", ctx.argv[0], err);
  }

  // Last before execve: the seccomp filter. The parent answers its denials, so it must hold
  // the listener before we exec (the listener is close-on-exec; without a holder every
  // denial would answer ENOSYS, unrecorded).
  int listener = -1;
  if (ctx.oci_seccomp) {
    sock_fprog prog{static_cast<unsigned short>(ctx.oci_seccomp->program.size()),
                    const_cast<sock_filter*>(ctx.oci_seccomp->program.data())};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, ctx.oci_seccomp->flags, &prog) != 0) {
      Fail(ctx.sync_fd, "install config.json's seccomp filter", "linux.seccomp", errno);
    }
  }
  if (ctx.seccomp && !ctx.seccomp->program.empty()) {
    const bool handoff = ctx.seccomp->notify;
    if (handoff) {
      // sync 3: our pidfd, while sendmsg is still ours to use. The id changes of setup made
      // us non-dumpable, which would keep an unprivileged parent's pidfd_getfd out; execve
      // decides dumpability afresh anyway.
      if (ctx.payload_needs_dumpable) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
      int self = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
      if (self < 0) Fail(ctx.sync_fd, "pidfd_open the payload", "", errno);
      if (!sync::SendFd(ctx.sync_fd, sync::Msg::kPayloadPidfd, self)) {
        Fail(ctx.sync_fd, "send the payload's pidfd", "", errno);
      }
      close(self);
    }
    if (int r = seccomp::Install(*ctx.seccomp, &listener); r < 0) {
      Fail(ctx.sync_fd, "install the seccomp filter", ctx.seccomp->profile_name.c_str(), -r);
    }
  }
  // sync 3b: ready, with the listener's fd number (or -1); sync 4: wait for the start, which
  // comes once the parent holds the listener. read(2) and write(2) only from here on.
  sync::Message start;
  if (!sync::Write(ctx.sync_fd, sync::Msg::kReady, listener) ||
      !sync::Read(ctx.sync_fd, &start) || start.type != sync::Msg::kStart) {
    _exit(125);
  }

  int err = ENOENT;
  for (const std::string& path : ctx.exec_paths) {
    execve(path.c_str(), ctx.argv.data(), ctx.envp.data());
    // Keep looking along PATH on ENOENT; remember a permission problem if nothing runs.
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  int32_t e = err;
  if (write(exec_pipe, &e, sizeof e) < 0) {
  }
  _exit(127);
}

struct PayloadArgs {
  const ChildContext* ctx;
  int exec_pipe;
  pid_t init;
  int tty;  // the pty's slave, or -1
};

int PayloadEntry(void* arg) {
  auto* a = static_cast<PayloadArgs*>(arg);
  Payload(*a->ctx, a->exec_pipe, a->init, a->tty);
}

// The payload's stack while it shares our memory; unmapped with its image at execve.
constexpr size_t kPayloadStack = 256 * 1024;

// pid 1 of the sandbox (or, in a joined pid namespace, the payload's subreaper): forwards
// signals to the payload and reports its wait status.
[[noreturn]] void Init(const ChildContext& ctx, pid_t payload, int exec_pipe) noexcept {
  int32_t exec_err = 0;
  ssize_t n;
  do {
    n = read(exec_pipe, &exec_err, sizeof exec_err);
  } while (n < 0 && errno == EINTR);
  close(exec_pipe);
  if (n == sizeof exec_err) {
    sync::Send(ctx.sync_fd, sync::Msg::kExecFailed, exec_err, 0, "execve", ctx.argv[0]);
    int status;
    waitpid(payload, &status, 0);
    _exit(exec_err == ENOENT || exec_err == ENOTDIR ? 127 : 126);
  }
  sync::Send(ctx.sync_fd, sync::Msg::kExecOk);  // sync 5

  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(payload, sig);
      continue;
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      if (p == payload) {
        sync::Send(ctx.sync_fd, sync::Msg::kExited, 0, status);  // sync 6
        // Whoever reaps a detached sandbox's pid 1 (conmon, the containerd shim) reads the
        // payload's fate from its status; pid 1 cannot die of a signal sent to itself.
        if (ctx.detached) _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        _exit(0);
      }
    }
  }
}

}  // namespace

void ChildMain(const ChildContext& ctx) noexcept {
  const int fd = ctx.sync_fd;
  // If hive-run dies, so does the sandbox: pid 1 dying takes the whole pid namespace with it.
  // Armed before anything else; every change of our ids below disarms it (the kernel clears
  // the parent-death signal on credential changes), so it is armed again after the last one.
  if (!ctx.detached && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    Fail(fd, "set parent-death signal", "", errno);
  }
  sync::Message go;
  // sync 1: nothing happens until the parent has mapped our ids and placed us in the cgroup.
  // A parent that died before it sent the go-ahead closes the socket: EOF, and we are done.
  if (!sync::Receive(fd, &go) || go.type != sync::Msg::kGo) _exit(125);
  // Until now we carried the parent's host ids, which mean nothing in our namespace; become
  // the namespace's root (mapped to the unprivileged host range) to own what we create.
  if (setresgid(0, 0, 0) != 0) Fail(fd, "become root of the user namespace (gid)", "", errno);
  if (setresuid(0, 0, 0) != 0) Fail(fd, "become root of the user namespace (uid)", "", errno);

  if (setsid() < 0) Fail(fd, "setsid", "", errno);
  if (unshare(CLONE_NEWCGROUP) != 0) Fail(fd, "unshare cgroup namespace", "", errno);
  if (ctx.hostname != nullptr && sethostname(ctx.hostname, strlen(ctx.hostname)) != 0) {
    Fail(fd, "sethostname", ctx.hostname, errno);
  }
  if (ctx.own_netns) {
    if (int r = net::LoopbackUp(); r < 0) Fail(fd, "bring up lo", "lo", -r);
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Fail(fd, "make mounts private", "/", errno);
  }
  const char* step = "";
  const char* detail = "";
  if (int r = rootfs::Build(*ctx.rootfs, ctx.root_base, &step, &detail); r < 0) {
    Fail(fd, step, detail, -r);
  }
  // Through our own /proc, while /proc/sys is still writable and we are still root here.
  if (ctx.sysctls != nullptr) {
    if (int r = sysctl::Apply(*ctx.sysctls, &detail); r < 0) Fail(fd, "linux.sysctl", detail, -r);
  }
  if (int r = rootfs::RestrictPaths(*ctx.rootfs, &step, &detail); r < 0) {
    Fail(fd, step, detail, -r);
  }
  // sync 2b: the terminal, from the devpts just mounted; opened before Landlock could refuse
  // it, and sent from here because the console socket's path is the host's.
  int tty = -1;
  if (ctx.terminal) {
    // The terminal is the payload's stdio; ours (create's) would keep an engine waiting. Done
    // first, so that 0-2 are taken and the pty's fds land above them.
    if (int r = console::ReleaseStdio(); r < 0) {
      Fail(fd, "point pid 1's stdio at /dev/null", "process.terminal", -r);
    }
    int master = -1;
    if (int r = console::OpenPty(ctx.uid, ctx.gid, ctx.console_rows, ctx.console_cols, &master,
                                    &tty); r < 0) {
      Fail(fd, "open a pty in the container's /dev/pts", "process.terminal", -r);
    }
    if (!sync::SendFd(fd, sync::Msg::kConsole, master)) {
      Fail(fd, "send the pty's master", "process.terminal", errno);
    }
    close(master);
  }

  int failed_resource = 0;
  if (rlimits::Apply(*ctx.rlimits, &failed_resource) < 0) Fail(fd, "setrlimit", "", errno);

  // Landlock: the final paths exist now; we still hold CAP_SYS_ADMIN in our namespace,
  // which restricting ourselves needs before no_new_privs is set.
  if (ctx.landlock) {
    if (int r = landlock::Apply(*ctx.landlock); r < 0) {
      Fail(fd, "apply the Landlock ruleset", "", -r);
    }
  }

  if (setgroups(ctx.groups.size(), ctx.groups.data()) != 0) Fail(fd, "setgroups", "", errno);
  if (setresgid(ctx.gid, ctx.gid, ctx.gid) != 0) Fail(fd, "setresgid", "", errno);
  if (int r = caps::SetUid(ctx.uid, &step); r < 0) Fail(fd, step, "", -r);
  if (int r = caps::Apply(*ctx.caps, &step); r < 0) Fail(fd, step, "", -r);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail(fd, "set no_new_privs", "", errno);
  // Our ids are final: arm the parent-death signal again, then make sure the parent did not
  // die while it was disarmed (its end of the sync socket would be closed).
  if (!ctx.detached && prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    Fail(fd, "set parent-death signal", "", errno);
  }
  if (sync::PeerGone(fd)) _exit(125);
  if (chdir(ctx.cwd) != 0) Fail(fd, "chdir", ctx.cwd, errno);

  if (ctx.stdout_fd >= 0 && dup2(ctx.stdout_fd, 1) < 0) Fail(fd, "dup2 stdout", "", errno);
  if (ctx.stderr_fd >= 0 && dup2(ctx.stderr_fd, 2) < 0) Fail(fd, "dup2 stderr", "", errno);
  // Everything else is closed at execve: a client's leaked descriptors (the containerd shim
  // passes one into create) never reach the payload.
  const unsigned first_closed = 3 + static_cast<unsigned>(ctx.preserve_fds);
  if (close_range(first_closed, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    Fail(fd, "close_range", "", errno);
  }
  for (int i = 3; i < static_cast<int>(first_closed); ++i) {
    if (fcntl(i, F_SETFD, 0) != 0) Fail(fd, "keep a preserved fd", "", errno);
  }

  // Signals meant for the payload are queued for pid 1 only if it has a handler: the kernel
  // drops default-action signals sent to a namespace's init.
  struct sigaction sa = {};
  sa.sa_handler = NoopHandler;
  for (int sig : kForwarded) sigaction(sig, &sa, nullptr);
  sigaction(SIGCHLD, &sa, nullptr);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);

  // Orphans of the payload come back to us, not to the joined namespace's pid 1.
  if (!ctx.own_pidns && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    Fail(fd, "become the payload's subreaper", "", errno);
  }
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) Fail(fd, "pipe2", "", errno);
  void* stack = mmap(nullptr, kPayloadStack, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED) Fail(fd, "map the payload's stack", "", errno);
  PayloadArgs args{&ctx, exec_pipe[1], getpid(), tty};
  // Sharing: we are suspended until the payload execs or exits, so it may use our memory.
  const int share = ctx.payload_needs_dumpable ? 0 : CLONE_VM | CLONE_VFORK;
  pid_t payload =
      clone(PayloadEntry, static_cast<char*>(stack) + kPayloadStack, share | SIGCHLD, &args);
  if (payload < 0) Fail(fd, "clone the payload", "", errno);
  munmap(stack, kPayloadStack);
  close(exec_pipe[1]);
  if (tty >= 0) close(tty);  // the payload's; the master's reader sees EOF when it is gone
  Init(ctx, payload, exec_pipe[0]);
}

}  // namespace hive
