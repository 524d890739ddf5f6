// Syscall names and numbers per ABI, for compiling profiles and naming denials.
//
// libseccomp's table lags the kernel; syscalls added since Linux 5.1 share one number on
// every architecture (424 and up), so the few that libseccomp does not know yet are looked
// up in a small table of those unified numbers.
//
//   int nr = hive::seccomp::SyscallNumber(hive::seccomp::NativeArch(), "fchmodat2");  // 452
//   std::string n = hive::seccomp::SyscallName(AUDIT_ARCH_X86_64, 0x40000027);       // "getpid"
#pragma once

#include <cstdint>
#include <string>

namespace hive::seccomp {

// Bit that marks an x32 syscall number on the x86-64 audit architecture.
inline constexpr uint32_t kX32SyscallBit = 0x40000000;

// The AUDIT_ARCH_* value of the machine hive-run was built for (equal to SCMP_ARCH_*).
uint32_t NativeArch();

// "x86_64", "x32", "i386", "aarch64", "arm", or the hex value for anything else.
std::string ArchName(uint32_t arch);
// The architecture a profile names, as libseccomp or OCI spell it ("x86_64",
// "SCMP_ARCH_X86_64"); 0 when libseccomp does not know it.
uint32_t ResolveArch(const std::string& name);

// The ABIs a native process can reach: x86_64 -> {x86_64, x86, x32}, aarch64 -> {aarch64, arm}.
bool IsCompatibleArch(uint32_t arch);

// Number of `name` on `arch` (x32 numbers include kX32SyscallBit), or -1 when the syscall
// does not exist on that ABI (libseccomp's negative pseudo numbers count as absent).
int SyscallNumber(uint32_t arch, const std::string& name);

// Name of syscall `nr` as seen by a filter on `arch`; "syscall_470" when nobody knows it.
std::string SyscallName(uint32_t arch, uint32_t nr);

// Highest native syscall number that has a name (libseccomp's table or the unified one).
int HighestKnownSyscall();

}  // namespace hive::seccomp
