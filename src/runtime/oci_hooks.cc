// Running one OCI hook: a child with the state on stdin (a memfd, so a hook that never reads
// cannot block us on a full pipe), its output in a pipe of which the last few KiB are kept for
// the error, and its own process group so that a timeout kills whatever it started.
#include "runtime/oci_hooks.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "base/files.h"
#include "base/log.h"
#include "base/pidfd.h"
#include "base/unique_fd.h"

namespace hive::oci {
namespace {

constexpr size_t kOutputTail = 4096;  // what is kept of a hook's output
constexpr size_t kShownTail = 1024;   // what of it an error shows

// The namespaces a hook that runs "in the container" enters, all at once through pid 1's pidfd.
constexpr int kContainerNamespaces = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
                                     CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

const char* StatusAt(HookKind kind) {
  switch (kind) {
    case HookKind::kPrestart:
    case HookKind::kCreateRuntime:
    case HookKind::kCreateContainer:
      return "creating";
    case HookKind::kStartContainer:
      return "created";
    case HookKind::kPoststart:
      return "running";
    case HookKind::kPoststop:
      return "stopped";
  }
  return "";
}

[[noreturn]] void Die(const char* what, int err, int code) noexcept {
  dprintf(2, "%s: %s\n", what, strerror(err));
  _exit(code);
}

// The hook's process. Everything it uses was prepared before fork.
[[noreturn]] void HookChild(HookKind kind, const char* path, char* const* argv, char* const* envp,
                            int state_fd, int out_fd, int container_pidfd, int exe_fd) noexcept {
  setpgid(0, 0);
  // Whatever the runtime blocked or ignored (the monitor, `run`'s forwarding) is not the hook's.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  if (dup2(state_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) _exit(126);
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (container_pidfd < 0) {
    execve(path, argv, envp);
    dprintf(2, "exec `%s`: %s\n", path, strerror(errno));
    _exit(127);
  }
  // In the container: this process joins its namespaces and becomes its root; the pid
  // namespace applies to children only, so the hook is a child of this one, and dies with it
  // (a timeout kills this process).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (setns(container_pidfd, kContainerNamespaces) != 0) {
    Die("enter the container's namespaces", errno, 126);
  }
  // Host groups mean nothing in the container's user namespace; the container may forbid
  // setgroups (then there are none to drop that it could see).
  (void)setgroups(0, nullptr);
  if (setresgid(0, 0, 0) != 0) Die("become the container's root (gid 0)", errno, 126);
  if (setresuid(0, 0, 0) != 0) Die("become the container's root (uid 0)", errno, 126);
  const pid_t hook = fork();
  if (hook < 0) Die("fork in the container's pid namespace", errno, 126);
  if (hook == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Our parent is outside our pid namespace, where getppid() reads 0; once it died we would
    // have been reparented to the container's pid 1.
    if (getppid() != 0) _exit(126);
    if (kind == HookKind::kCreateContainer) {
      // Resolved in the runtime's mount namespace before we left it. A script's interpreter
      // reads it through /dev/fd/N, so the descriptor must survive the exec.
      fcntl(exe_fd, F_SETFD, 0);
      syscall(SYS_execveat, exe_fd, "", argv, envp, AT_EMPTY_PATH);
    } else {
      execve(path, argv, envp);
    }
    dprintf(2, "exec `%s` in the container: %s\n", path, strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(hook, &status, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

std::string Tail(const std::string& out) {
  std::string t = out.size() > kShownTail ? "…" + out.substr(out.size() - kShownTail) : out;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

Status RunOne(HookKind kind, const std::string& field, const HookSpec& h, const std::string& state,
              pid_t container_pid) {
  const bool in_container = kind == HookKind::kCreateContainer || kind == HookKind::kStartContainer;
  UniqueFd state_fd(static_cast<int>(syscall(SYS_memfd_create, "hook-state", MFD_CLOEXEC)));
  if (!state_fd.valid()) return Errno(field + ": memfd_create");
  HIVE_TRY(WriteAll(state_fd.get(), state, field + ": the state"));
  if (lseek(state_fd.get(), 0, SEEK_SET) != 0) return Errno(field + ": lseek");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Errno(field + ": pipe2");
  UniqueFd out_r(pipe_fds[0]), out_w(pipe_fds[1]);
  UniqueFd container, exe;
  if (in_container) {
    container.Reset(PidfdOpen(container_pid));
    if (!container.valid())
      return Errno(fmt::format("{}: the container's pid 1 ({})", field, container_pid));
  }
  if (kind == HookKind::kCreateContainer) {
    exe.Reset(open(h.path.c_str(), O_PATH | O_CLOEXEC));
    if (!exe.valid()) return Errno(fmt::format("{}: `{}`", field, h.path));
  }
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  HIVE_LOG(kDebug, "{}: running `{}`{}", field, h.path, in_container ? " in the container" : "");
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) return Errno(field + ": fork");
  if (pid == 0) {
    HookChild(kind, h.path.c_str(), argv.data(), envp.data(), state_fd.get(), out_w.get(),
              container.get(), exe.get());
  }
  out_w.Reset();
  setpgid(pid, pid);  // also here: a timeout right after fork must reach the group
  UniqueFd pidfd(PidfdOpen(pid));
  std::string output;
  bool exited = false, timed_out = false;
  while (!exited) {
    int wait_ms = -1;
    if (h.timeout) {
      const auto left =
          std::chrono::seconds(*h.timeout) - (std::chrono::steady_clock::now() - started);
      wait_ms = static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
    }
    struct pollfd p[2] = {{pidfd.get(), POLLIN, 0}, {out_r.get(), POLLIN, 0}};
    const int n = poll(p, out_r.valid() ? 2 : 1, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    if (n == 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    if (p[1].revents & (POLLIN | POLLHUP)) {
      char buf[4096];
      const ssize_t got = read(out_r.get(), buf, sizeof buf);
      if (got > 0) {
        output.append(buf, static_cast<size_t>(got));
        if (output.size() > kOutputTail) output.erase(0, output.size() - kOutputTail);
      } else if (got == 0) {
        out_r.Reset();  // EOF: only the exit is left to wait for
      }
    }
    if (p[0].revents & POLLIN) exited = true;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // What it wrote before it exited; a daemon it left behind may hold the pipe, so no EOF wait.
  if (out_r.valid()) {
    fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
    char buf[4096];
    ssize_t got;
    while ((got = read(out_r.get(), buf, sizeof buf)) > 0) {
      output.append(buf, static_cast<size_t>(got));
      if (output.size() > kOutputTail) output.erase(0, output.size() - kOutputTail);
    }
  }
  const std::string tail = Tail(output);
  const std::string shown = tail.empty() ? "" : ": " + tail;
  if (timed_out) {
    return Error(Code::kFailedPrecondition,
                 fmt::format("{}: `{}` did not finish within its timeout of {}s and was killed{}",
                             field, h.path, *h.timeout, shown));
  }
  if (WIFSIGNALED(status)) {
    return Error(Code::kFailedPrecondition, fmt::format("{}: `{}` was killed by signal {}{}", field,
                                                        h.path, WTERMSIG(status), shown));
  }
  if (WEXITSTATUS(status) != 0) {
    return Error(Code::kFailedPrecondition, fmt::format("{}: `{}` exited with status {}{}", field,
                                                        h.path, WEXITSTATUS(status), shown));
  }
  HIVE_LOG(kDebug, "{}: `{}` succeeded", field, h.path);
  return Ok();
}

}  // namespace

const char* HookKindName(HookKind kind) {
  switch (kind) {
    case HookKind::kPrestart:
      return "prestart";
    case HookKind::kCreateRuntime:
      return "createRuntime";
    case HookKind::kCreateContainer:
      return "createContainer";
    case HookKind::kStartContainer:
      return "startContainer";
    case HookKind::kPoststart:
      return "poststart";
    case HookKind::kPoststop:
      return "poststop";
  }
  return "";
}

Status RunHooks(HookKind kind, const std::vector<HookSpec>& hooks, nlohmann::json state,
                pid_t container_pid, std::vector<std::string>* warnings) {
  if (hooks.empty()) return Ok();
  state["status"] = StatusAt(kind);
  const std::string text = state.dump();
  const bool fatal = kind != HookKind::kPoststart && kind != HookKind::kPoststop;
  for (size_t i = 0; i < hooks.size(); ++i) {
    const std::string field = fmt::format("hooks.{}[{}]", HookKindName(kind), i);
    Status s = RunOne(kind, field, hooks[i], text, container_pid);
    if (s.ok()) continue;
    if (fatal) return s;
    if (warnings) warnings->push_back(s.message());
  }
  return Ok();
}

int64_t HooksTimeBound(const std::vector<HookSpec>& hooks) {
  int64_t total = 0;
  for (const HookSpec& h : hooks) {
    if (!h.timeout) return -1;
    total += *h.timeout;
  }
  return total;
}

}  // namespace hive::oci
