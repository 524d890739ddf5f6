// The report's `enforced` section: what each layer applied, as the prepared layers say.
#include "runtime/report_builder.h"
#include "sandbox/seccomp/syscalls.h"

namespace hive {

nlohmann::json LandlockEnforced(const landlock::Prepared& p) {
  using namespace landlock;  // NOLINT: the rights and scopes of the ruleset
  nlohmann::json j = nlohmann::json::object();
  j["abi"] = p.abi;
  if (!p.not_enforced.empty()) j["not_enforced"] = p.not_enforced;
  if (p.abi < 1) {
    j["applied"] = false;
    return j;
  }
  j["applied"] = true;
  nlohmann::json read = nlohmann::json::array(), write = nlohmann::json::array(),
                 devices = nlohmann::json::array();
  uint64_t writable_rights = 0;
  for (const PathRule& r : p.rules) {
    if (r.path.rfind("/dev/", 0) == 0 && r.path != "/dev/shm") {
      devices.push_back(r.path);
    } else if (r.access & fs::kMakeReg) {
      write.push_back(r.path);
      writable_rights = r.access;
    } else {
      read.push_back(r.path);
    }
  }
  j["filesystem"] = {
      {"read_execute", read},
      {"writable", write},
      {"devices", devices},
      {"denied_beneath_writable", FsRightNames(p.handled_fs & ~writable_rights)},
  };
  j["blocked_operations"] = p.blocked_operations;
  if (p.handled_net) {
    j["network"] = "tcp bind and connect denied";
  } else {
    j["network"] = p.abi >= 4 ? "not restricted by landlock (network on)" : "not supported";
  }
  nlohmann::json scopes = nlohmann::json::array();
  if (p.scoped & scope::kAbstractUnixSocket) scopes.push_back("abstract_unix_socket");
  if (p.scoped & scope::kSignal) scopes.push_back("signal");
  j["scopes"] = scopes;
  return j;
}

nlohmann::json SeccompEnforced(const seccomp::Filter& f) {
  using seccomp::NativeArch;
  using seccomp::SyscallName;
  nlohmann::json j = nlohmann::json::object();
  if (f.program.empty()) {
    j["profile"] = nullptr;
    j["note"] = "no seccomp filter";
    return j;
  }
  j["profile"] = f.profile_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.profile_name);
  if (!f.profile_sha256.empty()) j["profile_sha256"] = f.profile_sha256;
  j["arches"] = f.arches;
  j["blocked_operations"] = f.blocked_operations;
  j["inet_sockets"] = f.deny_inet_sockets ? "denied (network off)" : "profile decides";
  if (f.deny_hugetlb) j["hugetlb_pages"] = "denied (hugepageLimits 0)";
  j["denials_recorded"] = f.notify;
  if (f.highest_syscall >= 0) {
    j["enosys_above"] = SyscallName(NativeArch(), static_cast<uint32_t>(f.highest_syscall));
  }
  j["instructions"] = f.program.size();
  if (!f.unknown_syscalls.empty()) j["unknown_syscalls"] = f.unknown_syscalls;
  return j;
}

}  // namespace hive
