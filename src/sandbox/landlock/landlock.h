// hive::landlock: the filesystem second layer, plus TCP and scoping, applied by the child.
//
// The parent decides the rules (Prepare); the child applies them after pivot_root, so every
// path is a sandbox path (Apply). Read and execute everywhere; write only beneath the
// private /tmp and /dev/shm, the writable paths and writable mounts; a few device files
// writable. Blocked operations remove rights beneath the writable paths: delete takes away
// REMOVE_FILE/REMOVE_DIR (so renames out of a directory fail too: the kernel counts them as
// removals), truncate takes TRUNCATE (which also covers open(O_TRUNC)), mknod takes
// MAKE_FIFO (device nodes are never granted). With the network off, TCP bind and connect are
// refused (ABI 4); signals and abstract unix sockets are scoped to the sandbox (ABI 6).
//
// Prepare probes the kernel's ABI and refuses a spec that needs more than the kernel has,
// unless spec.hive.landlock_best_effort, in which case what was left out is listed in
// p.not_enforced.
//
//   HIVE_ASSIGN_OR_RETURN(hive::landlock::Prepared ll, hive::landlock::Prepare(spec));  // parent
//   if (int err = hive::landlock::Apply(ll); err < 0) Fail("landlock", -err);   // child
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive::landlock {

// Kernel UAPI values (<linux/landlock.h>), spelled out because build hosts' headers lag the
// kernels hive-run runs on.
namespace fs {
inline constexpr uint64_t kExecute = 1ULL << 0;
inline constexpr uint64_t kWriteFile = 1ULL << 1;
inline constexpr uint64_t kReadFile = 1ULL << 2;
inline constexpr uint64_t kReadDir = 1ULL << 3;
inline constexpr uint64_t kRemoveDir = 1ULL << 4;
inline constexpr uint64_t kRemoveFile = 1ULL << 5;
inline constexpr uint64_t kMakeChar = 1ULL << 6;
inline constexpr uint64_t kMakeDir = 1ULL << 7;
inline constexpr uint64_t kMakeReg = 1ULL << 8;
inline constexpr uint64_t kMakeSock = 1ULL << 9;
inline constexpr uint64_t kMakeFifo = 1ULL << 10;
inline constexpr uint64_t kMakeBlock = 1ULL << 11;
inline constexpr uint64_t kMakeSym = 1ULL << 12;
inline constexpr uint64_t kRefer = 1ULL << 13;     // ABI 2
inline constexpr uint64_t kTruncate = 1ULL << 14;  // ABI 3
inline constexpr uint64_t kIoctlDev = 1ULL << 15;  // ABI 5
}  // namespace fs
namespace net {
inline constexpr uint64_t kBindTcp = 1ULL << 0;     // ABI 4
inline constexpr uint64_t kConnectTcp = 1ULL << 1;  // ABI 4
}  // namespace net
namespace scope {
inline constexpr uint64_t kAbstractUnixSocket = 1ULL << 0;  // ABI 6
inline constexpr uint64_t kSignal = 1ULL << 1;              // ABI 6
}  // namespace scope

struct PathRule {
  std::string path;     // inside the sandbox
  uint64_t access = 0;  // fs:: rights allowed beneath it (already limited to handled_fs)
};

struct Prepared {
  int abi = 0;  // 0: Landlock not applied (unavailable, best effort)
  uint64_t handled_fs = 0;
  uint64_t handled_net = 0;
  uint64_t scoped = 0;
  std::vector<PathRule> rules;
  std::vector<std::string> blocked_operations;  // the ones Landlock enforces too
  std::vector<std::string> not_enforced;        // what the kernel lacked (best effort only)
};

// The running kernel's Landlock ABI version; 0 when Landlock is disabled or absent.
int KernelAbi();

// Parent: decides the rules for `spec` on this kernel.
Result<Prepared> Prepare(const RunSpec& spec);
// The same for a given ABI (tests; `abi` 0 = no Landlock).
Result<Prepared> PrepareForAbi(const RunSpec& spec, int abi);

// Child, after pivot_root; async-signal-safe, no allocation. Needs no_new_privs or
// CAP_SYS_ADMIN in the child's user namespace. Paths that do not exist are skipped (their
// rights are simply not granted); the root must exist. Returns 0 or -errno.
int Apply(const Prepared& p) noexcept;


// Names of the fs:: rights in `access` ("write_file", "remove_dir", ...).
std::vector<std::string> FsRightNames(uint64_t access);

}  // namespace hive::landlock
