// hive::RunSpec: the one plain struct every run is compiled into (DESIGN §1).
//
// A RunSpec is an OCI runtime-spec (config.json) in memory — process, root, mounts, hostname,
// hooks, annotations, linux — plus `hive`, the extensions no OCI field carries (wall timeout,
// whole-sandbox CPU seconds, network, Landlock, blocked operations, alert thresholds, how the
// built-in root is assembled). Two front ends fill it: the policy front end (a policy and a
// script/exec/bundle request) and the OCI front end (a bundle's config.json, the policy then a
// ceiling). Nothing after that re-validates it; the supervisor refuses, naming the field, what
// it cannot honour yet (SupervisorRefusal).
//
//   HIVE_ASSIGN_OR_RETURN(hive::RunSpec spec, hive::policy::Compile(policy, request));
//   nlohmann::json config = hive::RunSpecToOci(spec);   // what runc or crun would run
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hive {

// process.rlimits[]: `resource` is the RLIMIT_* number (config.json names it).
struct RlimitSpec {
  int resource = 0;
  uint64_t soft = 0;  // UINT64_MAX is RLIM_INFINITY
  uint64_t hard = 0;
};

struct UserSpec {
  uint32_t uid = 0;  // inside the sandbox
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
};

// process.capabilities: CAP_* numbers per set. hive-run keeps the same capabilities in
// every set but ambient, so the policy front end fills them alike.
struct CapabilitySets {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
  bool empty() const {
    return bounding.empty() && effective.empty() && inheritable.empty() && permitted.empty() &&
           ambient.empty();
  }
};

struct ProcessSpec {
  bool terminal = false;
  // process.consoleSize: the terminal's rows and columns from the start; 0 = the kernel's.
  uint16_t console_height = 0, console_width = 0;
  UserSpec user;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "NAME=VALUE", already filtered: nothing else is passed
  std::string cwd = "/";
  CapabilitySets capabilities;
  std::vector<RlimitSpec> rlimits;  // every per-process limit, policy and bundle merged
  bool no_new_privileges = true;
  std::optional<int> oom_score_adj;
};

// root: `path` is the rootfs directory on the host; empty means hive-run assembles the root
// itself from hive.root (the built-in sandbox: the host's /usr read-only, a minimal /etc).
struct RootSpec {
  std::string path;
  bool readonly = true;
};

struct MountSpec {
  std::string destination;           // absolute path inside the sandbox
  // "bind", "tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"
  std::string type;
  std::string source;                // host path for binds (absolute), fs source otherwise
  std::vector<std::string> options;  // as config.json spells them
  // Read from `options` by the front ends, so that no later step parses them again:
  bool read_only = true;
  bool writable_by_owner = false;  // idmapped so files belong on the host to hive.owner
  bool no_exec = false;            // "noexec"
  std::string data;                // fs-specific data for non-bind mounts ("size=64m")
  std::string field;               // where config.json has it ("mounts[3]"), for errors
};

struct HookSpec {
  std::string path;
  std::vector<std::string> args, env;
  std::optional<int> timeout;
};

struct HooksSpec {
  std::vector<HookSpec> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() &&
           start_container.empty() && poststart.empty() && poststop.empty();
  }
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

// linux.namespaces[]: "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"; a
// `path` joins an existing namespace instead of creating one.
struct NamespaceSpec {
  std::string type;
  std::string path;
  // The host's (hive-run's own) namespace, shared because config.json leaves this type out and
  // the policy's security.process.host_namespaces lists it. `path` is then /proc/self/ns/...,
  // opened by the supervisor, which runs in hive-run's namespaces: a join like any other.
  bool host = false;
};

// linux.resources, in the OCI's units. An absent limit is no limit.
struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;  // bytes per second
};
struct ResourcesSpec {
  std::optional<int64_t> memory_limit;  // bytes
  std::optional<int64_t> memory_swap;   // memory + swap, bytes; = memory_limit: no swap
  std::optional<int64_t> pids_limit;
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;  // microseconds per period
  std::optional<uint64_t> cpu_period;
  std::vector<ThrottleDevice> read_bps, write_bps;  // blockIO.throttle{Read,Write}BpsDevice
  // hugepageLimits, every one 0 (what kubelet sends for every container): no hugetlb pages,
  // denied by seccomp (hive-run does not manage the hugetlb controller).
  bool no_hugepages = false;
  bool empty() const {
    return !memory_limit && !memory_swap && !pids_limit && !cpu_shares && !cpu_quota &&
           read_bps.empty() && write_bps.empty();
  }
};

struct DeviceSpec {
  std::string type;  // "c", "b", "u", "p"
  std::string path;
  int64_t major = 0, minor = 0;
};

struct LinuxSpec {
  std::vector<NamespaceSpec> namespaces;
  std::vector<IdMapping> uid_mappings;  // container -> host
  std::vector<IdMapping> gid_mappings;
  std::map<std::string, std::string> sysctl;
  ResourcesSpec resources;
  std::string cgroups_path;  // relative = below hive-run's own cgroup
  // linux.seccomp, held as the profile file it is compiled from (OCI JSON, Docker/podman
  // JSON or hive YAML): the filter is compiled (and cached) from the file's bytes, and
  // `policy compile` inlines it. `seccomp_inline` is a config.json's own linux.seccomp.
  std::string seccomp_profile;  // resolved path; empty = no profile
  bool seccomp_inline = false;
  std::string seccomp_oci;  // that linux.seccomp object, as JSON text
  std::vector<DeviceSpec> devices;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string rootfs_propagation;
};

struct AlertThresholds {
  double cpu_usage = 80;        // % of the CPU time available over the wall time
  double memory_usage = 90;     // % of the memory limit
  double execution_time = 250;  // seconds
};

// The built-in sandbox's root: a fresh tmpfs holding the host directories bound read-only at
// the same path, symlinks and small generated files.
struct HiveRootSpec {
  std::vector<std::string> host_binds;
  std::vector<std::pair<std::string, std::string>> symlinks;  // link -> target
  std::map<std::string, std::string> files;                   // path -> contents
};

// The network: with `enabled` false the sandbox has its own netns with lo only. With it
// true (allowed_domains not empty) the netns is the same, and the supervisor connects on the
// sandbox's behalf to what the allowlist names and answers its DNS (supervisor/egress.h).
struct NetworkSpec {
  bool enabled = false;
  std::vector<std::string> allowed_domains;  // names, *.suffix, IPs, CIDRs
  std::vector<uint16_t> blocked_ports;
  std::vector<uint16_t> allowed_ports;    // empty = all but blocked_ports
  std::vector<std::string> upstream_dns;  // IPs the resolver forwards allowed names to
  std::vector<uint16_t> inspect_ports;
};

struct HiveExtensions {
  std::string run_id;
  double timeout_seconds = 0;  // wall clock, setup included; 0 = none
  uint64_t cpu_seconds = 0;    // the whole sandbox's CPU time (RLIMIT_CPU counts one process)
  uint64_t tmp_size_mb = 64;   // the private /tmp
  HiveRootSpec root;
  std::vector<std::string> writable_paths;  // inside the sandbox, for Landlock
  std::vector<std::string> blocked_operations;
  // blocked_operations guard host files: deletes and renames on the sandbox's own /tmp and
  // /dev/shm go through (seccomp asks the supervisor, Landlock backs it). False when a
  // writable host path is mounted beneath them, where the two could not be told apart.
  bool blocked_operations_spare_private_tmp = false;
  bool landlock_best_effort = false;
  NetworkSpec network;
  AlertThresholds alert_thresholds;
  uid_t owner_uid = 0;  // host owner of files written into writable binds
  gid_t owner_gid = 0;
  // The payload ignores SIGXFSZ (Python): it starts with the signal blocked, so that a write
  // past RLIMIT_FSIZE leaves it pending for the supervisor to see.
  bool payload_ignores_sigxfsz = false;
  std::string policy_source;
  std::string policy_sha256;
  std::vector<std::string> warnings;  // what compiling skipped, for the report
};

struct RunSpec {
  std::string oci_version = "1.0.2";
  ProcessSpec process;
  RootSpec root;
  std::string hostname = "hive";
  std::vector<MountSpec> mounts;  // applied in order after the root entries
  HooksSpec hooks;
  std::map<std::string, std::string> annotations;
  LinuxSpec linux;
  HiveExtensions hive;

  bool HasNamespace(const std::string& type) const {
    for (const NamespaceSpec& n : linux.namespaces) {
      if (n.type == type) return true;
    }
    return false;
  }
  // The network namespace is one the run joins (by path, the host's included): a network the
  // engine set up (a CNI pod's, podman's) or the host's by policy. Its sockets are the run's to
  // use; "network off" (inet sockets and TCP denied) holds only in a namespace of its own.
  bool JoinsNetwork() const {
    for (const NamespaceSpec& n : linux.namespaces) {
      if (n.type == "network") return !n.path.empty();
    }
    return false;
  }
};

// The namespaces hive-run creates for every run, in config.json's names.
inline const std::vector<std::string>& SandboxNamespaces() {
  static const std::vector<std::string> kAll = {"user", "mount", "pid",   "network",
                                                "uts",  "ipc",   "cgroup"};
  return kAll;
}

// An RLIMIT_* number's config.json name ("RLIMIT_NOFILE"), and back (-1 when unknown).
const char* RlimitName(int resource);
int RlimitByName(const std::string& name);

}  // namespace hive
