// filesystem.blocked_operations as seccomp rules (the Landlock half is in sandbox/landlock).
//
// Each operation denies a fixed list of syscalls, some only for certain argument values;
// the mapping is documented in man/hive-run-policy.5 and must stay in step with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hive::seccomp {

// One syscall an operation denies; when `arg` >= 0, only if (low 32 bits of arg & mask) == value.
struct OperationSyscall {
  const char* name;
  int arg = -1;
  uint32_t mask = 0;
  uint32_t value = 0;
};

// The syscalls behind `op`; empty when `op` is unknown.
const std::vector<OperationSyscall>& SyscallsForOperation(const std::string& op);

// socket(AF_INET/AF_INET6) and i386 socketcall: denied and recorded when the network is off.
const std::vector<OperationSyscall>& NetworkOffSyscalls();

// The calls that hand out hugetlb pages (mmap MAP_HUGETLB, shmget SHM_HUGETLB, memfd_create
// MFD_HUGETLB): denied and recorded when linux.resources.hugepageLimits are all 0.
const std::vector<OperationSyscall>& HugetlbSyscalls();

}  // namespace hive::seccomp
