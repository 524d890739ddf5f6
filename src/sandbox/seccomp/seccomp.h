// hive::seccomp: the system-call filter, last layer before execve, and the record of what it
// denied.
//
// The parent compiles the run's profile (profiles/*.yaml, or any OCI/Docker/podman profile)
// plus the policy's blocked operations into a classic BPF program before clone. The child
// installs it as its very last step; the kernel hands a listener fd to the child, which the
// supervisor takes with pidfd_getfd. Allowed calls never leave the kernel. A denied call
// (an errno other than ENOSYS) goes to the supervisor as a user notification, which answers
// with the profile's errno and counts it by syscall name: the cost is paid by denied calls
// only. Syscalls the profile does not know (numbered above everything it names) and rules
// that say ENOSYS are answered in the kernel with ENOSYS, unrecorded, so libc falls back.
//
//   // parent, before clone
//   HIVE_ASSIGN_OR_RETURN(hive::seccomp::Filter filter, hive::seccomp::Prepare(spec));
//   // child, last step before execve (no allocation)
//   int listener = -1;
//   if (int err = hive::seccomp::Install(filter, &listener); err < 0) Fail("seccomp", -err);
//   // child: send `listener` (the number) to the parent, wait for its go-ahead, then
//   // execve. The listener is close-on-exec: if the child execs before the parent holds
//   // its copy, the filter loses its listener and every denial answers ENOSYS, unrecorded.
//   // parent: fd = pidfd_getfd(pidfd, listener, 0), send the go-ahead; in the epoll loop
//   hive::seccomp::Listener l(fd, filter);
//   on EPOLLIN: HIVE_TRY(l.HandleOne());   on EPOLLHUP: stop watching (no task left)
//   for (const hive::seccomp::Denial& d : l.Denials()) ...
//
// Compiled filters are cached by the SHA-256 of everything that goes into them (profile and
// groups bytes, blocked operations, kept capabilities, network, kernel, arch, libseccomp and
// hive-run versions): in-process always, and on disk when Prepare gets a cache directory
// (the supervisor passes <state dir>/cache/seccomp; one file per key, written atomically,
// checked against its key and checksum when read). Compiling costs a few milliseconds for
// the shipped profiles and tens of milliseconds for podman's three-ABI profile.
#pragma once

#include <linux/filter.h>

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive::seccomp {

// Calls the listener denied, by the rule that raised them: {"syscall" | "blocked_operation" |
// "network", "ptrace" | "unlinkat (delete)", count}.
struct Denial {
  std::string type;
  std::string detail;
  uint64_t count = 0;
};

// What a RET instruction of hive-run's own prefix means: for the report, and for the
// listener, which answers each notification by the label of the rule that raised it.
struct RetLabel {
  uint32_t index = 0;
  std::string type;  // "blocked_operation", "network", "hugepages", "syscall", kWatchLabel
  std::string note;  // "delete", "network off", a profile rule's label
};

// A call the supervisor looks at and lets go on (not a denial): exit_group.
inline constexpr const char* kWatchLabel = "watch";

struct Filter {
  // Loaded by Install: denials become user notifications when `notify`.
  std::vector<sock_filter> program;
  std::string profile_name, profile_sha256;
  bool notify = false;

  // The same filter with every denial answered in the kernel. Install falls back to it when a
  // listener already exists (hive-run nested in a sandbox that has one); the Listener replays
  // it to learn the errno and the rule of each notification.
  std::vector<sock_filter> errno_program;
  std::vector<RetLabel> labels;
  unsigned int flags = 0;           // SECCOMP_FILTER_FLAG_* the profile asked for
  std::vector<std::string> arches;  // ABIs the filter lets through
  std::vector<std::string> blocked_operations;
  bool deny_inet_sockets = false;             // network off
  bool deny_hugetlb = false;                  // hugepageLimits 0
  bool egress = false;                        // allowed domains: see CompileOptions::egress
  bool watch_exits = false;                   // exit_group notifies (Listener::OnExit)
  int highest_syscall = -1;                   // native numbers above it answer ENOSYS
  std::vector<std::string> unknown_syscalls;  // names in the profile no table knows
  bool from_cache = false;
};

// Parent, before clone: loads spec.seccomp_profile (empty = no profile: only the blocked
// operations are filtered) and compiles it with spec.blocked_operations and, when the
// network is off, a recorded denial of IPv4/IPv6 sockets. `cache_dir` (optional) keeps
// compiled filters across runs.
Result<Filter> Prepare(const RunSpec& spec, const std::string& cache_dir = "");

// Child, last step before execve; async-signal-safe, no allocation. Needs no_new_privs or
// CAP_SYS_ADMIN in the child's user namespace. Returns 0 or -errno; *listener_fd gets the
// SECCOMP_FILTER_FLAG_NEW_LISTENER fd (close-on-exec), or -1 when the filter was installed
// without one (no notify support, or a listener already exists above us: denials are then
// answered in the kernel and not counted).
int Install(const Filter& f, int* listener_fd) noexcept;

// Parent: owns the listener fd, answers each notification with the profile's errno and
// counts denials by syscall name.
// One call waiting for the supervisor's answer, with the label of the rule that raised it.
struct Notification {
  uint64_t id = 0;
  pid_t pid = 0;  // the calling thread, in the supervisor's pid namespace
  uint32_t arch = 0;
  int nr = 0;
  uint64_t args[6] = {};
  std::string type;       // the RetLabel's type ("syscall" when the profile's own rule)
  std::string note;       // the RetLabel's note
  int default_errno = 0;  // what the filter's errno variant answers
};

// How a handler answers: an errno, a return value, let the call proceed (only for calls that
// decide nothing: the kernel re-runs them as the caller asked), or install a descriptor in
// the caller (SECCOMP_IOCTL_NOTIF_ADDFD; with `target_fd` >= 0 over that fd number) and
// return `value` (kFdValue: the installed fd number).
// kDeferred: the handler answers later, from any thread, with Answer() (exactly once).
struct Response {
  enum class Kind { kErrno, kValue, kContinue, kInjectFd, kDeferred };
  Kind kind = Kind::kErrno;
  int error = EPERM;
  int64_t value = 0;
  int fd = -1;            // kInjectFd: ours, closed by the caller of the handler afterwards
  int target_fd = -1;     // kInjectFd: SECCOMP_ADDFD_FLAG_SETFD onto this number
  bool cloexec = false;   // kInjectFd: O_CLOEXEC on the installed fd
  bool value_is_fd = false;  // kInjectFd: return the installed fd number
  bool denial = false;       // kErrno: count the call as a denial (Denials), as unhandled ones
  static Response Errno(int err) { return {Kind::kErrno, err}; }
  static Response Denied(int err) {
    Response r{Kind::kErrno, err};
    r.denial = true;
    return r;
  }
  static Response Value(int64_t v) { return {Kind::kValue, 0, v}; }
  static Response Continue() { return {Kind::kContinue, 0}; }
  static Response Deferred() { return {Kind::kDeferred, 0}; }
};

// Answers notification `id` on the listener `listener_fd` as a handler's response would be
// (thread-safe; for kDeferred handlers). Ok also when the caller vanished meanwhile.
Status Answer(int listener_fd, uint64_t id, const Response& r);

using Handler = std::function<Response(const Notification&)>;

class Listener {
 public:
  explicit Listener(int fd, const Filter& filter);
  int fd() const { return fd_.get(); }
  // Answers notifications raised by rules labelled `type` with `handler`. Unhandled types are
  // denials: answered with the filter's errno and counted (Denials).
  void Handle(const std::string& type, Handler handler);
  // Called with the (supervisor's) pid of each process that calls a watched exit_group, while
  // it is still alive; the call then proceeds.
  void OnExit(std::function<void(pid_t)> watcher);
  // Receives and answers one notification. Ok when answered, and when the calling task
  // vanished meanwhile (ENOENT). Call when the fd is readable.
  Status HandleOne();
  // Denials so far, in order of first occurrence: {type, "ptrace" | "unlinkat (delete)", n}.
  std::vector<Denial> Denials() const;
  uint64_t total() const { return total_; }

 private:
  UniqueFd fd_;
  std::vector<sock_filter> errno_program_;
  std::vector<RetLabel> labels_;
  std::vector<char> req_buf_, resp_buf_;
  std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> counts_;
  uint64_t total_ = 0;
  std::vector<std::pair<std::string, Handler>> handlers_;
  void CountDenial(const Notification& n);
  Status Send(const Notification& n, const Response& r);
};

// Drops the in-process cache (tests; embedders that reload profiles).
void ClearProcessCache();

// Whether this kernel supports SECCOMP_RET_USER_NOTIF (Linux 5.0+).
bool NotifySupported();

// Directory of the shipped profiles: $HIVE_RUN_PROFILES_DIR, else
// <exe>/../share/hive-run/profiles when installed, else the source tree's profiles/.
std::string ProfilesDir();

// Whether ResolveProfile reads `name_or_path` as a path (it has a '/' or an extension) rather than
// as the name of a shipped profile.
bool IsPathLike(const std::string& name_or_path);
// "default" -> <profiles dir>/default.yaml; a path (has a '/' or an extension) resolves
// against `base_dir`; "unconfined" and "none" -> "" (no profile).
Result<std::string> ResolveProfile(const std::string& name_or_path, const std::string& base_dir);

}  // namespace hive::seccomp
