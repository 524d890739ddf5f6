// hive::Policy: the YAML security policy a person writes (DESIGN §5), validated.
//
// A Policy is parsed once; every error names file:line:column and the key path. After
// loading, nothing downstream re-validates: CompileRunSpec() turns it into a RunSpec.
//
//   HIVE_ASSIGN_OR_RETURN(hive::Policy p, hive::LoadPolicyFile("policy.yml"));
//   std::cout << hive::PolicyToYaml(p);      // effective values, defaults filled in
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hive/run_spec.h"  // AlertThresholds
#include "hive/status.h"

namespace hive {

// The range of every number in a policy, on the command line and in a bundle's config.json.
// Each bound keeps the arithmetic done with the value later in range (MiB to bytes, seconds to
// nanoseconds, CPUs to a CFS quota) and within what the kernel accepts, so the limit the
// kernel enforces is the one the report shows.
inline constexpr uint64_t kMaxSeconds = 31536000;             // one year
inline constexpr uint64_t kMaxMegabytes = uint64_t{1} << 30;  // 1 PiB; in bytes it fits int64
inline constexpr uint64_t kMaxProcesses = 4194304;            // the kernel's PID_MAX_LIMIT
inline constexpr uint64_t kMaxOpenFiles = 1048576;            // the kernel's default fs.nr_open
inline constexpr uint64_t kMaxBytesPerSecond = uint64_t{1} << 40;
inline constexpr uint32_t kMaxId = 0xfffffffe;  // uid/gid: (uid_t)-1 means "no id"
inline constexpr double kMaxCpus = 4096;
// The smallest CFS quota the kernel takes is 1 ms of a 100 ms period.
inline constexpr double kMinCpus = 0.01;

struct ExecutionLimits {
  double timeout_seconds = 300;  // wall clock; 0 = none
  uint64_t cpu_seconds = 60;     // RLIMIT_CPU and cgroup accounting; 0 = none
  uint64_t memory_mb = 512;      // cgroup memory limit, swap off; 0 = none
  uint64_t file_size_mb = 100;   // RLIMIT_FSIZE; 0 = none
  uint64_t max_processes = 64;   // cgroup pids limit; 0 = none
  uint64_t max_open_files = 256; // RLIMIT_NOFILE
  double cpus = 0;               // CPU bandwidth (cgroup quota); 0 = unlimited
  uint64_t io_read_bps = 0;      // 0 = unlimited
  uint64_t io_write_bps = 0;
  uint64_t tmp_size_mb = 64;     // size of the sandbox's private /tmp
  // Always true: a limit that cannot be enforced (no cgroup delegation) refuses the run. Kept
  // as a key so that policies spelling it out still load; `false` is refused.
  bool require_limits = true;
};

struct FilesystemPolicy {
  std::vector<std::string> allowed_paths;    // absolute after loading (relative = policy dir)
  std::vector<std::string> read_only_paths;  // absolute after loading
  std::vector<std::string> blocked_operations;  // delete chmod chown rename link mknod truncate xattr
  // A bundle's config.json may ask for a writable root (root.readonly false): its rootfs is
  // then idmapped so that the image's files are the container root's (man hive-run-policy).
  bool writable_rootfs = false;
  // config.json may bind writable the engine's own files of this container (hosts, hostname,
  // .containerenv, shm): sources whose real path has a directory named after the container's
  // id, which the engine made for it.
  bool engine_files_writable = false;
};

struct NetworkPolicy {
  // Names, *.suffix wildcards, IPs and CIDRs (sandbox/net/allowlist.h); empty = no network
  // (own netns, lo only). Normalised (lowercase, no trailing dot) after loading.
  std::vector<std::string> allowed_domains;
  std::vector<uint16_t> blocked_ports;
  std::vector<uint16_t> allowed_ports;  // empty = every port but the blocked ones
  std::vector<std::string> upstream_dns;  // IPs; empty = the host's /etc/resolv.conf
  // Connections relayed and checked by TLS SNI / HTTP Host; [] = none.
  std::vector<uint16_t> inspect_ports = {80, 443};
};

struct ProcessPolicy {
  std::string seccomp_profile = "default";  // name under profiles/ or a path
  std::vector<std::string> capabilities;     // kept capabilities ("CAP_NET_BIND_SERVICE")
  std::vector<std::string> env_pass = {"LANG", "TZ"};
  std::map<std::string, std::string> env_set = {{"PYTHONDONTWRITEBYTECODE", "1"}};
  // The seeds' SecureRunner allowlist, enforced by `exec` (and used by `check`): when set, a
  // command runs only if its program is named here (empty list: the built-in list of system
  // programs) or lies in one of `tools_dirs` (absolute after loading; relative = as
  // allowed_paths). Unset: `exec` runs any program of the host's /usr.
  std::optional<std::vector<std::string>> allowed_binaries;
  std::vector<std::string> tools_dirs;
  // OCI hooks (config.json `hooks`) run as the runtime's user (root for an engine) with none of
  // the container's confinement: a config.json may carry them only when the operator says so.
  bool allow_oci_hooks = false;
  // Namespaces a config.json may leave out to share the host's (hive-run's own): "network",
  // "uts", "ipc", "pid" — Kubernetes hostNetwork/hostIPC/hostPID pods, podman --network=host.
  // Empty: a config.json without one is refused, as a sandbox shares nothing by default. The
  // user namespace stays the run's own, so its root holds no privilege over a shared one.
  std::vector<std::string> host_namespaces;
};

struct LandlockPolicy {
  // Run even when the kernel's Landlock ABI lacks what the policy needs; what was applied
  // is listed in the report's `enforced` section.
  bool best_effort = false;
};

struct MonitoringPolicy {
  std::string log_level = "INFO";
  AlertThresholds alert_thresholds;
};

struct AuditPolicy {
  std::string log;  // empty = <state dir>/audit.log; relative = state dir
};

struct AnalysisPolicy {
  std::string refuse_at;  // "", "low", "medium", "high", "critical"
};

struct Policy {
  std::string source;  // file it came from, or "<built-in>"
  std::string sha256;  // of the file's exact bytes; of the canonical YAML for the built-in
  ExecutionLimits execution;
  FilesystemPolicy filesystem;
  NetworkPolicy network;
  ProcessPolicy process;
  LandlockPolicy landlock;
  MonitoringPolicy monitoring;
  AuditPolicy audit;
  AnalysisPolicy analysis;
};

// The built-in policy: no network, 512 MiB, 64 processes, 300 s, read-only rootfs.
Policy DefaultPolicy();

// The OCI commands' built-in ceiling (profiles/container.yml, compiled in): the engines'
// default containers fit (writable root, their capability set, 4096 processes).
Result<Policy> ContainerPolicy();

// The container policies shipped with hive-run (profiles/<name>.yml, compiled in), by name:
// "container" (ContainerPolicy()) and "container-restricted". Names only, never paths: a
// config.json selects one with the annotation org.hive-run.policy, and must not make hive-run,
// as root, read a file of its choosing. Its source reads "<built-in NAME>".
const std::vector<std::string>& ShippedContainerPolicyNames();
Result<Policy> ShippedContainerPolicy(const std::string& name);

// Whether `chosen` is at least as strict as `ceiling` in every field that loosens anything:
// each limit (0 = unlimited), the writable root and engine files, paths (each of chosen's
// inside one of ceiling's), blocked operations, network, seccomp profile, capabilities, hooks,
// Landlock, programs and environment. An error names the first weaker key path and both
// values: "security.execution.memory_mb 4096 > 1024". The audit and monitoring sections are
// not compared: they loosen nothing.
Status NoWeakerThan(const Policy& chosen, const Policy& ceiling);

// Who wrote the policy decides what it may set. The operator's (--policy FILE, the library
// caller's) may set everything; a bundle's own policy.yml may not move the audit log, which
// would let a bundle author choose where hive-run, as root, creates and appends to a file.
enum class PolicyOrigin { kOperator, kBundle };

// Parses YAML text (one document); `source` names it in errors and relative paths resolve
// against `base_dir`.
Result<Policy> ParsePolicy(const std::string& text, const std::string& source,
                           const std::string& base_dir,
                           PolicyOrigin origin = PolicyOrigin::kOperator);
// Reads the file with the bounded reader (a regular file of at most kPolicyInput's cap).
// Relative paths resolve against RelativePathBase(the file's directory).
Result<Policy> LoadPolicyFile(const std::string& path);
// The working directory when `policy_dir` lies below it (the seeds' scripts/config/ layout,
// run from the project root), `policy_dir` itself otherwise.
std::string RelativePathBase(const std::string& policy_dir);

// Loads and checks what the policy refers to (its seccomp profile, with the shipped groups) the
// way a run does, so that `policy check` says "ok" only for a policy a run accepts.
Status CheckPolicyReferences(const Policy& policy);

// Effective policy as YAML, every default filled in.
std::string PolicyToYaml(const Policy& policy);

// The host uid and gid that files written into writable binds belong to.
struct OwnerIds {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// What a script, exec or bundle run asks of the policy front end, beyond the policy itself.
struct SandboxRequest {
  std::string run_id;
  std::vector<std::string> command;  // for a bundle: replaces process.args when not empty
  std::vector<std::string> binds;    // "SRC:DST[:rw]"
  std::vector<std::string> env;      // "NAME=VALUE"
  std::string workdir;
  std::optional<double> timeout_seconds;
  std::optional<uint64_t> memory_mb;
  std::optional<uint64_t> max_processes;
  std::optional<uint64_t> cpu_seconds;
  std::optional<uint64_t> tmp_size_mb;
  // Default: the invoking user (SUDO_UID/SUDO_GID through sudo).
  std::optional<OwnerIds> owner;
  // Host directories the run sees read-only at their own path (a script's working directory
  // and its own directory), bound before the policy's paths so that an allowed path inside
  // one stays writable; skipped when an allowed path already covers them.
  std::vector<std::string> read_only_dirs;
  // The run directory's input (read-only at /run/hive/input) and output (writable at
  // /run/hive/output); empty for none.
  std::string input_dir, output_dir;
  // The OCI front end (`hive-run create`): config.json alone decides what is mounted; the
  // policy's paths are then only the ceiling for its writable binds, never bound themselves.
  bool config_mounts_only = false;
};

// The policy front end: `policy` (+ `request`) → RunSpec, in OCI units. `config` is a bundle's
// config.json read by the OCI front end (ParseOciConfig); the policy is then its ceiling: a
// config that asks for more than the policy allows is refused with both values named.
Result<RunSpec> CompileRunSpec(const Policy& policy, const SandboxRequest& request,
                               const RunSpec* config = nullptr);

}  // namespace hive
