#include "sandbox/sysctl.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hive::sysctl {
namespace {

enum class Scope { kNone, kNet, kIpc, kUts };

bool StartsWith(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The namespace a key belongs to; kNone for the machine-wide ones.
Scope ScopeOf(const std::string& key) {
  if (StartsWith(key, "net.")) return Scope::kNet;
  if (StartsWith(key, "fs.mqueue.")) return Scope::kIpc;
  static const char* const kIpcKeys[] = {"kernel.shmmax", "kernel.shmall", "kernel.shmmni",
                                         "kernel.shm_rmid_forced", "kernel.msgmax",
                                         "kernel.msgmnb", "kernel.msgmni", "kernel.sem"};
  for (const char* k : kIpcKeys) {
    if (key == k) return Scope::kIpc;
  }
  if (key == "kernel.hostname" || key == "kernel.domainname") return Scope::kUts;
  return Scope::kNone;
}

// A key is dot-separated names; each becomes one /proc/sys path component. Slashes are
// accepted as separators too (sysctl(8) takes both) but nothing can climb out of /proc/sys:
// no empty, "." or ".." component, no control characters.
Result<std::string> ToPath(const std::string& key) {
  auto bad = [&](const char* why) {
    return Error(Code::kInvalidArgument, fmt::format("linux.sysctl.{}: {}", key, why));
  };
  if (key.empty() || key.size() > 256) return bad("expected a sysctl name of 1-256 characters");
  std::string path = "/proc/sys";
  size_t i = 0;
  while (i <= key.size()) {
    size_t j = key.find_first_of("./", i);
    if (j == std::string::npos) j = key.size();
    const std::string part = key.substr(i, j - i);
    if (part.empty() || part == "." || part == "..") {
      return bad("not a sysctl name (empty, `.` or `..` component)");
    }
    for (unsigned char ch : part) {
      if (ch < 0x21 || ch == 0x7f) return bad("not a sysctl name (space or control character)");
    }
    path += "/" + part;
    i = j + 1;
  }
  return path;
}

}  // namespace

Result<Plan> Prepare(const std::map<std::string, std::string>& sysctls, const Owned& owned) {
  Plan plan;
  for (const auto& [raw_key, value] : sysctls) {
    HIVE_ASSIGN_OR_RETURN(std::string path, ToPath(raw_key));
    // The dotted form decides the scope, whichever separators config.json used.
    std::string key = path.substr(std::strlen("/proc/sys/"));
    for (char& ch : key) {
      if (ch == '/') ch = '.';
    }
    const std::string field = "linux.sysctl." + raw_key;
    const Scope scope = ScopeOf(key);
    if (scope == Scope::kNone) {
      return Error(Code::kUnsupported,
                   fmt::format("{}: not a namespaced sysctl: it would change the whole host "
                               "(hive-run honours net.*, the ipc keys kernel.shm*, kernel.msg*, "
                               "kernel.sem, fs.mqueue.*, and kernel.hostname/domainname)",
                               field));
    }
    const struct {
      Scope scope;
      bool own;
      const char* ns;
    } kNeeds[] = {{Scope::kNet, owned.net, "network"},
                  {Scope::kIpc, owned.ipc, "ipc"},
                  {Scope::kUts, owned.uts, "uts"}};
    for (const auto& n : kNeeds) {
      if (n.scope == scope && !n.own) {
        return Error(Code::kUnsupported,
                     fmt::format("{}: the container's {} namespace is shared with the host "
                                 "(joined by linux.namespaces[].path, owned by the host's user "
                                 "namespace): setting it would change the host's",
                                 field, n.ns));
      }
    }
    if (value.find('\0') != std::string::npos) {
      return Error(Code::kInvalidArgument, fmt::format("{}: the value has a NUL byte", field));
    }
    Entry e;
    e.key = raw_key;
    e.value = value;
    e.path = path;
    if (key == "kernel.hostname") e.uts_call = 1;
    if (key == "kernel.domainname") e.uts_call = 2;
    // Known to this kernel: a typo is refused here, not found by the container's setup. The
    // host's /proc/sys has the same names as the container's namespaces.
    struct stat st;
    if (e.uts_call == 0 && (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))) {
      return Error(Code::kInvalidArgument,
                   fmt::format("{}: no such sysctl on this kernel (`{}`)", field, path));
    }
    plan.push_back(std::move(e));
  }
  return plan;
}

int Apply(const Plan& plan, const char** failed) noexcept {
  for (const Entry& e : plan) {
    *failed = e.key.c_str();
    if (e.uts_call != 0) {
      // The kernel keeps at most 64 bytes; longer is EINVAL, as for hostname.
      const int r = e.uts_call == 1 ? sethostname(e.value.data(), e.value.size())
                                    : setdomainname(e.value.data(), e.value.size());
      if (r != 0) return -errno;
      continue;
    }
    const int fd = open(e.path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -errno;
    const ssize_t n = write(fd, e.value.data(), e.value.size());
    const int err = errno;
    close(fd);
    if (n < 0) return -err;
    if (static_cast<size_t>(n) != e.value.size()) return -EIO;
  }
  return 0;
}

}  // namespace hive::sysctl
