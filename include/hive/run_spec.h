// hive::RunSpec: the one plain struct every run is compiled into (DESIGN §1).
//
// A RunSpec is an OCI runtime-spec process/root/mounts/linux subset plus hive's own
// extensions. It is built by CompileRunSpec() from a Policy and, for bundles, the bundle's
// config.json; nothing after that re-validates it.
//
//   HIVE_ASSIGN_OR_RETURN(hive::RunSpec spec, hive::CompileRunSpec(policy, bundle));
//   hive::RunResult r = hive::Supervise(spec, options);
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hive/policy.h"

namespace hive {

struct MountSpec {
  std::string destination;  // absolute path inside the sandbox
  std::string type;         // "bind", "tmpfs", "proc", "sysfs", "devpts", "mqueue"
  std::string source;       // host path for binds (absolute), fs source otherwise
  std::vector<std::string> options;  // OCI options, kept for `policy compile`
  bool read_only = true;
  bool writable_by_owner = false;  // idmapped so files belong on the host to the invoking user
  std::string data;                // fs-specific data for non-bind mounts ("size=64m")
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct RlimitSpec {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// How the root filesystem is assembled: the sandbox root is always a fresh tmpfs into which
// each entry of `root_entries` is bound (a bundle's rootfs top-level entries, or the host's
// /usr etc. for the built-in sandbox).
struct RootSpec {
  std::string bundle_rootfs;  // absolute; empty for the built-in sandbox
  bool read_only = true;
  // Host directories (or files) bound read-only at the same path for the built-in sandbox.
  std::vector<std::string> host_binds;
  // Symlinks created in the root (link -> target), e.g. /bin -> usr/bin.
  std::vector<std::pair<std::string, std::string>> symlinks;
  // Small files written into the root before it is made read-only (/etc/passwd, ...).
  std::map<std::string, std::string> files;
};

struct ProcessSpec {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "NAME=VALUE", already filtered: nothing else is passed
  std::string cwd = "/";
  uint32_t uid = 0;  // inside the sandbox
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::vector<RlimitSpec> rlimits;
  std::vector<int> capabilities;  // CAP_* numbers kept in every set; empty = none
  bool no_new_privileges = true;
  bool terminal = false;
};

struct NamespaceSpec {
  bool user = true, mount = true, pid = true, net = true, uts = true, ipc = true,
       cgroup = true;
};

struct RunSpec {
  std::string run_id;
  std::string hostname = "hive";
  ProcessSpec process;
  RootSpec root;
  std::vector<MountSpec> mounts;  // applied in order after the root entries
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  NamespaceSpec namespaces;
  std::vector<IdMapping> uid_mappings;  // container -> host
  std::vector<IdMapping> gid_mappings;
  uid_t owner_uid = 0;  // host owner of files written into writable binds
  gid_t owner_gid = 0;
  std::string cgroups_path;  // relative = below hive-run's own cgroup

  // hive extensions
  ExecutionLimits limits;
  std::vector<std::string> writable_paths;  // inside the sandbox, for Landlock
  std::vector<std::string> blocked_operations;
  std::string seccomp_profile;  // resolved path of the profile file, empty = none
  bool landlock_best_effort = false;
  bool network = false;  // false: own netns with lo only
  std::vector<uint16_t> blocked_ports;
  // The payload ignores SIGXFSZ (Python): it starts with the signal blocked, so that a write
  // past file_size_mb leaves it pending for pid 1 to see (child.h).
  bool payload_ignores_sigxfsz = false;
  AlertThresholds alert_thresholds;
  std::string policy_source;
  std::string policy_sha256;
  std::vector<std::string> warnings;  // what compiling weakened or skipped, for the report
};

}  // namespace hive
