#include "supervisor/private_tmp.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace hive::supervisor {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_AARCH64;
#else
constexpr uint32_t kNativeArch = 0;
#endif

// A NUL-terminated path from the caller's memory, read page by page (a string may end just
// before an unmapped page).
std::optional<std::string> ReadPath(pid_t pid, uint64_t addr) {
  std::string out;
  const long page = sysconf(_SC_PAGESIZE);
  while (out.size() < PATH_MAX) {
    const uint64_t room = static_cast<uint64_t>(page) - (addr % static_cast<uint64_t>(page));
    char buf[4096];
    const size_t want = static_cast<size_t>(std::min<uint64_t>(room, sizeof buf));
    iovec local{buf, want};
    iovec remote{reinterpret_cast<void*>(addr), want};
    const ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (got <= 0) return std::nullopt;
    for (ssize_t i = 0; i < got; ++i) {
      if (buf[i] == '\0') return out;
      out += buf[i];
    }
    addr += static_cast<uint64_t>(got);
  }
  return std::nullopt;  // longer than any path the kernel takes
}

UniqueFd OpenIn(int dirfd, const std::string& path, uint64_t resolve) {
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = resolve | RESOLVE_NO_MAGICLINKS;
  return UniqueFd(static_cast<int>(syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how)));
}

std::optional<dev_t> DeviceOf(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return std::nullopt;
  return st.st_dev;
}

// The device of the directory `path` (relative to `dirfd`, a descriptor number of `pid`, or
// AT_FDCWD) acts in: its parent, resolved in the caller's root. Absolute paths and `..`
// cannot leave that root; what cannot be resolved is nullopt, which refuses the call.
std::optional<dev_t> ParentDevice(pid_t pid, int dirfd, const std::string& path, int root) {
  if (path.empty()) return std::nullopt;
  std::string parent = path;
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();  // rmdir("d/")
  const size_t slash = parent.rfind('/');
  parent = slash == std::string::npos ? "." : slash == 0 ? "/" : parent.substr(0, slash);
  if (path[0] == '/') {
    UniqueFd dir = OpenIn(root, parent, RESOLVE_IN_ROOT);
    return dir.valid() ? DeviceOf(dir.get()) : std::nullopt;
  }
  const std::string base = dirfd == AT_FDCWD ? fmt::format("/proc/{}/cwd", pid)
                                             : fmt::format("/proc/{}/fd/{}", pid, dirfd);
  UniqueFd start(open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!start.valid()) return std::nullopt;
  // Beneath: `..` may not climb out of the starting directory, and symlinks stay relative to
  // it; a path that needs more is refused (the caller may name it absolutely).
  UniqueFd dir = OpenIn(start.get(), parent, RESOLVE_BENEATH);
  return dir.valid() ? DeviceOf(dir.get()) : std::nullopt;
}

struct PathArg {
  int dirfd_arg;  // index of the dirfd argument, -1 for AT_FDCWD
  int path_arg;
};

// The paths each delete or rename call acts on (native numbers).
std::vector<PathArg> PathArgs(int nr) {
  switch (nr) {
#ifdef SYS_unlink
    case SYS_unlink:
      return {{-1, 0}};
#endif
#ifdef SYS_rmdir
    case SYS_rmdir:
      return {{-1, 0}};
#endif
#ifdef SYS_rename
    case SYS_rename:
      return {{-1, 0}, {-1, 1}};
#endif
    case SYS_unlinkat:
      return {{0, 1}};
#ifdef SYS_renameat
    case SYS_renameat:
      return {{0, 1}, {2, 3}};
#endif
    case SYS_renameat2:
      return {{0, 1}, {2, 3}};
    default:
      return {};
  }
}

seccomp::Response Decide(const seccomp::Notification& n, int listener_fd) {
  const seccomp::Response refuse = seccomp::Response::Denied(n.default_errno);
  if ((n.note != "delete" && n.note != "rename") || n.arch != kNativeArch || kNativeArch == 0) {
    return refuse;
  }
  const std::vector<PathArg> args = PathArgs(n.nr);
  if (args.empty()) return refuse;
  UniqueFd root(open(fmt::format("/proc/{}/root", n.pid).c_str(),
                     O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return refuse;
  std::vector<dev_t> own;
  for (const char* d : {"/tmp", "/dev/shm"}) {
    UniqueFd fd = OpenIn(root.get(), d, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    if (std::optional<dev_t> dev = fd.valid() ? DeviceOf(fd.get()) : std::nullopt) {
      own.push_back(*dev);
    }
  }
  for (const PathArg& a : args) {
    std::optional<std::string> path = ReadPath(n.pid, n.args[a.path_arg]);
    if (!path) return refuse;
    const int dirfd = a.dirfd_arg < 0 ? AT_FDCWD : static_cast<int>(n.args[a.dirfd_arg]);
    std::optional<dev_t> dev = ParentDevice(n.pid, dirfd, *path, root.get());
    if (!dev || std::find(own.begin(), own.end(), *dev) == own.end()) return refuse;
  }
  // The pid read from may have been reused by now: only a notification still pending is the
  // caller we looked at.
  uint64_t id = n.id;
  if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) return refuse;
  return seccomp::Response::Continue();
}

}  // namespace

seccomp::Handler PrivateTmpHandler(int listener_fd) {
  return [listener_fd](const seccomp::Notification& n) { return Decide(n, listener_fd); };
}

}  // namespace hive::supervisor
