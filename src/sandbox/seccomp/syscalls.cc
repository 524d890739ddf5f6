#include "sandbox/seccomp/syscalls.h"

#include <fmt/format.h>
#include <linux/audit.h>
#include <seccomp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace hive::seccomp {
namespace {

// Syscalls with unified numbers (Linux 5.1+) that libseccomp 2.5 may not know by name.
// Values are from the kernel's generic syscall table; they are ABI and never change.
struct Unified {
  const char* name;
  int nr;
};
constexpr Unified kUnified[] = {
    {"futex_waitv", 449},       {"set_mempolicy_home_node", 450},
    {"cachestat", 451},         {"fchmodat2", 452},
    {"map_shadow_stack", 453},  {"futex_wake", 454},
    {"futex_wait", 455},        {"futex_requeue", 456},
    {"statmount", 457},         {"listmount", 458},
    {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460},
    {"lsm_list_modules", 461},  {"mseal", 462},
    {"setxattrat", 463},        {"getxattrat", 464},
    {"listxattrat", 465},       {"removexattrat", 466},
    {"open_tree_attr", 467},    {"file_getattr", 468},
    {"file_setattr", 469},
};

bool UsesUnifiedNumbers(uint32_t arch) {
  return arch == AUDIT_ARCH_X86_64 || arch == AUDIT_ARCH_I386 || arch == AUDIT_ARCH_AARCH64 ||
         arch == AUDIT_ARCH_ARM;
}

}  // namespace

uint32_t NativeArch() { return seccomp_arch_native(); }

uint32_t ResolveArch(const std::string& name) {
  std::string s = name.rfind("SCMP_ARCH_", 0) == 0 ? name.substr(10) : name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return seccomp_arch_resolve_name(s.c_str());
}

std::string ArchName(uint32_t arch) {
  switch (arch) {
    case AUDIT_ARCH_X86_64:
      return "x86_64";
    case AUDIT_ARCH_I386:
      return "i386";
    case AUDIT_ARCH_AARCH64:
      return "aarch64";
    case AUDIT_ARCH_ARM:
      return "arm";
    default:
      break;
  }
  if (arch == SCMP_ARCH_X32) return "x32";
  return fmt::format("arch_{:#x}", arch);
}

bool IsCompatibleArch(uint32_t arch) {
  uint32_t native = NativeArch();
  if (arch == native) return true;
  if (native == AUDIT_ARCH_X86_64) return arch == AUDIT_ARCH_I386 || arch == SCMP_ARCH_X32;
  if (native == AUDIT_ARCH_AARCH64) return arch == AUDIT_ARCH_ARM;
  return false;
}

int SyscallNumber(uint32_t arch, const std::string& name) {
  int nr = seccomp_syscall_resolve_name_arch(arch, name.c_str());
  if (nr >= 0) return nr;
  if (nr != __NR_SCMP_ERROR) return -1;  // a pseudo number: not a real syscall on this ABI
  uint32_t table_arch = arch == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch;
  if (!UsesUnifiedNumbers(table_arch)) return -1;
  for (const Unified& u : kUnified) {
    if (name == u.name)
      return arch == SCMP_ARCH_X32 ? u.nr | static_cast<int>(kX32SyscallBit) : u.nr;
  }
  return -1;
}

std::string SyscallName(uint32_t arch, uint32_t nr) {
  // The x86-64 audit arch carries x32 calls with the x32 bit set; libseccomp names them
  // through its x32 table.
  uint32_t lookup_arch = arch;
  if (arch == AUDIT_ARCH_X86_64 && (nr & kX32SyscallBit)) lookup_arch = SCMP_ARCH_X32;
  if (char* name = seccomp_syscall_resolve_num_arch(lookup_arch, static_cast<int>(nr))) {
    std::string out = name;
    std::free(name);
    return out;
  }
  uint32_t plain = lookup_arch == SCMP_ARCH_X32 ? nr & ~kX32SyscallBit : nr;
  uint32_t table_arch = lookup_arch == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : lookup_arch;
  if (UsesUnifiedNumbers(table_arch)) {
    for (const Unified& u : kUnified) {
      if (static_cast<uint32_t>(u.nr) == plain) return u.name;
    }
  }
  return fmt::format("syscall_{}", plain);
}

int HighestKnownSyscall() {
  int highest = -1;
  uint32_t native = NativeArch();
  if (UsesUnifiedNumbers(native)) {
    for (const Unified& u : kUnified) highest = u.nr > highest ? u.nr : highest;
  }
  // libseccomp's own table ends somewhere below the unified list on current releases; scan
  // a little past the end of ours in case a newer libseccomp knows more.
  for (int nr = highest + 1; nr < highest + 64; ++nr) {
    if (char* name = seccomp_syscall_resolve_num_arch(native, nr)) {
      std::free(name);
      highest = nr;
    }
  }
  return highest;
}

}  // namespace hive::seccomp
