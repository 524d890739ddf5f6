#include "sandbox/landlock/landlock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace hive::landlock {
namespace {

// UAPI structures and flags, as in <linux/landlock.h>.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI 4
  uint64_t scoped;              // ABI 6
};
struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};
constexpr uint32_t kCreateRulesetVersion = 1U << 0;
constexpr int kRulePathBeneath = 1;

#ifndef SYS_landlock_create_ruleset
constexpr long SYS_landlock_create_ruleset = 444;
constexpr long SYS_landlock_add_rule = 445;
constexpr long SYS_landlock_restrict_self = 446;
#endif

constexpr uint64_t kRead = fs::kReadFile | fs::kReadDir | fs::kExecute;
// Rights that make sense on a file (not a directory) rule; the kernel refuses others.
constexpr uint64_t kFileRights =
    fs::kExecute | fs::kWriteFile | fs::kReadFile | fs::kTruncate | fs::kIoctlDev;
// Everything a writable directory grants. Device nodes are never created in a sandbox.
constexpr uint64_t kWritable = kRead | fs::kWriteFile | fs::kRemoveDir | fs::kRemoveFile |
                               fs::kMakeDir | fs::kMakeReg | fs::kMakeSock | fs::kMakeFifo |
                               fs::kMakeSym | fs::kRefer | fs::kTruncate;

uint64_t FsRightsForAbi(int abi) {
  if (abi < 1) return 0;
  uint64_t r = (fs::kMakeSym << 1) - 1;  // ABI 1: execute .. make_sym
  if (abi >= 2) r |= fs::kRefer;
  if (abi >= 3) r |= fs::kTruncate;
  if (abi >= 5) r |= fs::kIoctlDev;
  return r;
}

// Rights a blocked operation takes away beneath writable paths, and the ABI they need.
struct OperationRights {
  const char* op;
  uint64_t rights;
  int abi;
};
constexpr OperationRights kOperationRights[] = {
    {"delete", fs::kRemoveFile | fs::kRemoveDir, 1},
    {"truncate", fs::kTruncate, 3},
    {"mknod", fs::kMakeFifo | fs::kMakeChar | fs::kMakeBlock, 1},
};

void AddRule(std::vector<PathRule>* rules, const std::string& path, uint64_t access) {
  for (PathRule& r : *rules) {
    if (r.path == path) {
      r.access |= access;
      return;
    }
  }
  rules->push_back({path, access});
}

}  // namespace

int KernelAbi() {
  long v = syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  return v < 0 ? 0 : static_cast<int>(v);
}

std::vector<std::string> FsRightNames(uint64_t access) {
  static const char* const kNames[] = {"execute",    "write_file",  "read_file", "read_dir",
                                       "remove_dir", "remove_file", "make_char", "make_dir",
                                       "make_reg",   "make_sock",   "make_fifo", "make_block",
                                       "make_sym",   "refer",       "truncate",  "ioctl_dev"};
  std::vector<std::string> out;
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (access & (1ULL << i)) out.push_back(kNames[i]);
  }
  return out;
}

Result<Prepared> Prepare(const RunSpec& spec) { return PrepareForAbi(spec, KernelAbi()); }

Result<Prepared> PrepareForAbi(const RunSpec& spec, int abi) {
  Prepared p;
  // What this spec would use, and the ABI each needs; checked against the kernel below.
  struct Need {
    std::string what;
    int abi;
  };
  std::vector<Need> needs = {{"filesystem rules", 1}, {"signal and abstract socket scoping", 6}};
  // Network off, as in seccomp.cc: neither allowed domains nor a joined network namespace.
  const bool network_off = !spec.hive.network.enabled && !spec.JoinsNetwork();
  if (network_off) needs.push_back({"TCP bind/connect denial (network off)", 4});
  for (const OperationRights& o : kOperationRights) {
    if (std::find(spec.hive.blocked_operations.begin(), spec.hive.blocked_operations.end(), o.op) !=
        spec.hive.blocked_operations.end()) {
      needs.push_back({fmt::format("blocked operation \"{}\"", o.op), o.abi});
    }
  }
  for (const Need& n : needs) {
    if (abi >= n.abi) continue;
    std::string have = abi == 0 ? "no Landlock" : fmt::format("Landlock ABI {}", abi);
    if (!spec.hive.landlock_best_effort) {
      return Error(Code::kUnsupported,
                   fmt::format("landlock: {} needs Landlock ABI {}, this kernel has {}; set "
                               "security.landlock.best_effort: true to run without it",
                               n.what, n.abi, have));
    }
    p.not_enforced.push_back(fmt::format("{} (needs ABI {}, kernel has {})", n.what, n.abi, have));
  }
  if (abi < 1) return p;

  p.abi = abi;
  p.handled_fs = FsRightsForAbi(abi);
  if (network_off && abi >= 4) p.handled_net = net::kBindTcp | net::kConnectTcp;
  if (abi >= 6) p.scoped = scope::kAbstractUnixSocket | scope::kSignal;

  uint64_t writable = kWritable;
  for (const OperationRights& o : kOperationRights) {
    if (std::find(spec.hive.blocked_operations.begin(), spec.hive.blocked_operations.end(), o.op) !=
        spec.hive.blocked_operations.end()) {
      writable &= ~o.rights;
      if (abi >= o.abi) p.blocked_operations.push_back(o.op);
    }
  }

  AddRule(&p.rules, "/", kRead);
  // Device files: ioctls on the minimal /dev (terminals); writing the sinks and the tty.
  AddRule(&p.rules, "/dev", kRead | fs::kIoctlDev);
  for (const char* dev : {"/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx"}) {
    AddRule(&p.rules, dev, fs::kReadFile | fs::kWriteFile | fs::kIoctlDev);
  }
  AddRule(&p.rules, "/dev/pts", kRead | fs::kWriteFile | fs::kIoctlDev);
  // The sandbox's own /tmp and /dev/shm keep every right when blocked operations spare them:
  // the supervisor lets such calls go on there, and this keeps anything else refused.
  const uint64_t own = spec.hive.blocked_operations_spare_private_tmp ? kWritable : writable;
  AddRule(&p.rules, "/dev/shm", own);
  AddRule(&p.rules, "/tmp", own);
  for (const std::string& w : spec.hive.writable_paths) {
    if (w.empty() || w[0] != '/') {
      return Error(Code::kInvalidArgument,
                   fmt::format("landlock: writable path `{}` is not absolute", w));
    }
    AddRule(&p.rules, w, writable);
  }
  // Writable mounts are writable paths too, except the kernel's own trees and /dev, whose
  // tmpfs is writable only while the child builds it.
  for (const MountSpec& m : spec.mounts) {
    const std::string& d = m.destination;
    bool system = d == "/dev" || d == "/proc" || d == "/sys" || d.rfind("/proc/", 0) == 0 ||
                  d.rfind("/sys/", 0) == 0 || d == "/dev/pts" || d == "/dev/mqueue";
    if (!m.read_only && !system && !d.empty() && d[0] == '/') AddRule(&p.rules, d, writable);
  }
  for (PathRule& r : p.rules) r.access &= p.handled_fs;
  return p;
}

int Apply(const Prepared& p) noexcept {
  if (p.abi < 1) return 0;
  RulesetAttr attr{p.handled_fs, p.handled_net, p.scoped};
  // Older kernels take a shorter structure: only the fields their ABI knows.
  size_t size = p.abi >= 6   ? sizeof(RulesetAttr)
                : p.abi >= 4 ? 2 * sizeof(uint64_t)
                             : sizeof(uint64_t);
  long ruleset = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) return -errno;
  int rs = static_cast<int>(ruleset);
  for (const PathRule& r : p.rules) {
    int fd = open(r.path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
      if (r.path == "/") {
        int err = errno;
        close(rs);
        return -err;
      }
      continue;  // not in this sandbox: nothing to grant
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      close(rs);
      return -err;
    }
    PathBeneathAttr pb{S_ISDIR(st.st_mode) ? r.access : r.access & kFileRights, fd};
    long rc = pb.allowed_access ? syscall(SYS_landlock_add_rule, rs, kRulePathBeneath, &pb, 0) : 0;
    int err = errno;
    close(fd);
    if (rc < 0) {
      close(rs);
      return -err;
    }
  }
  long rc = syscall(SYS_landlock_restrict_self, rs, 0);
  int err = errno;
  close(rs);
  return rc < 0 ? -err : 0;
}


}  // namespace hive::landlock
