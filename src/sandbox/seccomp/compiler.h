// Compiles a Profile into a Filter: libseccomp for the profile's rules, hive-run's own prefix
// for the rules that must win over them, and the notify variant of the result.
#pragma once

#include <string>
#include <vector>

#include "hive/status.h"
#include "sandbox/seccomp/profile.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive::seccomp {

struct CompileOptions {
  std::vector<std::string> blocked_operations;  // see SyscallsForOperation()
  std::vector<std::string> capabilities;        // kept, "CAP_SYS_ADMIN": for includes/excludes
  bool deny_inet_sockets = false;               // network off: socket(AF_INET/AF_INET6) denied
  bool deny_hugetlb = false;                    // hugepageLimits 0: HugetlbSyscalls() denied
  bool notify = true;                           // denials become user notifications
  // Allowed domains: connect/bind/listen/sendto-with-address go to the supervisor (label
  // "egress"); TFO, io_uring, raw/packet/vsock sockets denied (label "network").
  bool egress = false;
  // exit_group goes to the supervisor, which looks at the exiting process and lets it go on
  // (RetLabel type "watch"); only with `notify`.
  bool watch_exits = false;
  int kernel_major = 0, kernel_minor = 0;       // for minKernel; 0 = the running kernel
};

// Whether a profile rule's Docker includes/excludes (arch, kept capabilities, kernel version)
// let it apply under `options` (options.kernel_major 0: the running kernel is not consulted).
bool RuleApplies(const SyscallRule& rule, const CompileOptions& options);

// `profile` may be null: no profile, everything allowed but the blocked operations.
Result<Filter> Compile(const Profile* profile, const CompileOptions& options);

}  // namespace hive::seccomp
