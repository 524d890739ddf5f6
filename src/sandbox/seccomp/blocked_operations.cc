#include "sandbox/seccomp/blocked_operations.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>

#include <map>

#include "sandbox/seccomp/seccomp.h"

namespace hive::seccomp {
namespace {

constexpr uint32_t kAll = 0xffffffffu;
constexpr uint32_t kRenameNoReplace = 1;  // RENAME_NOREPLACE, <linux/fs.h>

const std::map<std::string, std::vector<OperationSyscall>>& Table() {
  static const auto* table = new std::map<std::string, std::vector<OperationSyscall>>{
      // A rename may replace its target, which deletes it, and seccomp cannot see whether
      // the target exists: only renameat2(RENAME_NOREPLACE), which never replaces, passes.
      {"delete",
       {{"unlink"},
        {"unlinkat"},
        {"rmdir"},
        {"rename"},
        {"renameat"},
        {"renameat2", 4, kRenameNoReplace, 0}}},
      {"chmod", {{"chmod"}, {"fchmod"}, {"fchmodat"}, {"fchmodat2"}}},
      {"chown",
       {{"chown"}, {"fchown"}, {"lchown"}, {"fchownat"}, {"chown32"}, {"fchown32"}, {"lchown32"}}},
      {"rename", {{"rename"}, {"renameat"}, {"renameat2"}}},
      {"link", {{"link"}, {"linkat"}}},
      {"mknod", {{"mknod"}, {"mknodat"}}},
      // Hole punching, collapsing and zeroing destroy data like truncation does;
      // O_TRUNC at open is Landlock's (LANDLOCK_ACCESS_FS_TRUNCATE).
      {"truncate",
       {{"truncate"},
        {"ftruncate"},
        {"truncate64"},
        {"ftruncate64"},
        {"fallocate", 1, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_PUNCH_HOLE},
        {"fallocate", 1, FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_COLLAPSE_RANGE},
        {"fallocate", 1, FALLOC_FL_ZERO_RANGE, FALLOC_FL_ZERO_RANGE}}},
      {"xattr",
       {{"setxattr"},
        {"lsetxattr"},
        {"fsetxattr"},
        {"removexattr"},
        {"lremovexattr"},
        {"fremovexattr"},
        {"setxattrat"},
        {"removexattrat"}}},
  };
  return *table;
}

}  // namespace

const std::vector<OperationSyscall>& SyscallsForOperation(const std::string& op) {
  static const std::vector<OperationSyscall> kNone;
  auto it = Table().find(op);
  return it == Table().end() ? kNone : it->second;
}

const std::vector<OperationSyscall>& NetworkOffSyscalls() {
  // The kernel reads the family as an int: compare the low 32 bits only.
  static const std::vector<OperationSyscall> kCalls = {
      {"socket", 0, kAll, AF_INET},
      {"socket", 0, kAll, AF_INET6},
      // i386 multiplexes every socket call through socketcall(2) with the arguments in
      // memory, out of a filter's reach: deny it whole.
      {"socketcall"},
  };
  return kCalls;
}

const std::vector<OperationSyscall>& HugetlbSyscalls() {
  static const std::vector<OperationSyscall> kCalls = {
      {"mmap", 3, MAP_HUGETLB, MAP_HUGETLB},
      {"mmap2", 3, MAP_HUGETLB, MAP_HUGETLB},  // i386
      {"shmget", 2, SHM_HUGETLB, SHM_HUGETLB},
      {"memfd_create", 1, MFD_HUGETLB, MFD_HUGETLB},
      // i386 multiplexes shmget through ipc(2), its arguments out of a filter's reach.
      {"ipc"},
  };
  return kCalls;
}

}  // namespace hive::seccomp
