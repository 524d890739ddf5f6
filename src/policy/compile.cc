// The policy front end: Policy + request (+ a bundle's config.json) → RunSpec, one function per
// rule, in OCI units. The policy is a ceiling: a config that asks for more is refused.
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "base/block_devices.h"
#include "base/files.h"
#include "base/user_text.h"
#include "hive/policy.h"
#include "hive/state_dir.h"
#include "sandbox/net/allowlist.h"
#include "sandbox/capabilities.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kCpuPeriodUs = 100000;
constexpr int kCapSysResource = 24;

// The OCI defaults for paths under /proc and /sys a sandbox must not read or write.
const std::vector<std::string> kMaskedPaths = {
    "/proc/acpi",          "/proc/asound",        "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list",    "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",          "/proc/sysrq-trigger", "/sys/firmware",     "/proc/interrupts"};
const std::vector<std::string> kReadonlyPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};

Status Refuse(const std::string& field, const std::string& what) {
  return Error(Code::kInvalidArgument, fmt::format("{}: {}", field, what));
}

bool Exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// The built-in sandbox's root: the host's /usr (and the usr-merge links), a minimal /etc.
void BuiltinRoot(RunSpec* spec) {
  spec->root.path.clear();
  spec->root.readonly = true;
  HiveRootSpec& root = spec->hive.root;
  for (const char* p : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat st;
    if (lstat(p, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = readlink(p, buf, sizeof buf - 1);
      if (n > 0) root.symlinks.emplace_back(p, std::string(buf, static_cast<size_t>(n)));
    } else {
      root.host_binds.push_back(p);
    }
  }
  // Host configuration the dynamic linker and `alternatives` links need; nothing else of /etc.
  for (const char* p : {"/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime"}) {
    if (!Exists(p)) continue;
    MountSpec m;
    m.destination = p;
    m.type = "bind";
    m.source = p;
    m.options = {"rbind", "ro", "nosuid", "nodev"};
    m.read_only = true;
    spec->mounts.push_back(m);
  }
  root.files["/etc/passwd"] =
      "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
  root.files["/etc/group"] = "root:x:0:\nnogroup:x:65534:\n";
  root.files["/etc/hostname"] = spec->hostname + "\n";
  root.files["/etc/hosts"] = "127.0.0.1 localhost " + spec->hostname + "\n::1 localhost\n";
  root.files["/etc/nsswitch.conf"] = "passwd: files\ngroup: files\nhosts: files\n";
}

void AddBind(RunSpec* spec, const std::string& src, const std::string& dst, bool writable) {
  MountSpec m;
  m.destination = dst;
  m.type = "bind";
  m.source = src;
  m.read_only = !writable;
  m.writable_by_owner = writable;
  m.options = {"rbind", writable ? "rw" : "ro", "nosuid", "nodev"};
  spec->mounts.push_back(m);
  if (writable) spec->hive.writable_paths.push_back(dst);
}

Status ApplyPolicyPaths(const Policy& policy, RunSpec* spec) {
  for (const std::string& p : policy.filesystem.allowed_paths) {
    // Every sandbox has its own private /tmp; the host's is never shared.
    if (p == "/tmp") continue;
    if (!Exists(p)) {
      spec->hive.warnings.push_back(
          fmt::format("security.filesystem.allowed_paths: `{}` does not exist; not bound", p));
      continue;
    }
    AddBind(spec, p, p, true);
  }
  for (const std::string& p : policy.filesystem.read_only_paths) {
    if (!Exists(p)) {
      spec->hive.warnings.push_back(
          fmt::format("security.filesystem.read_only_paths: `{}` does not exist; not bound", p));
      continue;
    }
    AddBind(spec, p, p, false);
  }
  return Ok();
}

Status ApplyCliBinds(const SandboxRequest& req, RunSpec* spec) {
  for (const std::string& b : req.binds) {
    size_t c1 = b.find(':');
    std::string src = b.substr(0, c1);
    std::string rest = c1 == std::string::npos ? src : b.substr(c1 + 1);
    bool writable = false;
    size_t c2 = rest.find(':');
    std::string dst = rest.substr(0, c2);
    if (c2 != std::string::npos) {
      std::string mode = rest.substr(c2 + 1);
      if (mode == "rw") {
        writable = true;
      } else if (mode != "ro") {
        return Refuse("--bind", fmt::format("bad mode `{}` in `{}` (ro or rw)", mode, b));
      }
    }
    if (src.empty() || dst.empty() || dst[0] != '/') {
      return Refuse("--bind",
                    fmt::format("expected SRC:DST[:rw] with an absolute DST, got `{}`", b));
    }
    src = AbsolutePath(src, "");
    if (!Exists(src)) return Refuse("--bind", fmt::format("source `{}` does not exist", src));
    AddBind(spec, src, AbsolutePath(dst, "/"), writable);
  }
  return Ok();
}

std::vector<std::string> BuildEnv(const Policy& policy, const SandboxRequest& req,
                                  const std::vector<std::string>& bundle_env) {
  // In first-set order, a later source overriding an earlier one in place; the index keeps
  // this linear in the number of variables (config.json may list many thousands).
  std::vector<std::pair<std::string, std::string>> env;
  std::unordered_map<std::string, size_t> index;
  auto set = [&](const std::string& k, const std::string& v) {
    auto [it, added] = index.emplace(k, env.size());
    if (added) {
      env.emplace_back(k, v);
    } else {
      env[it->second].second = v;
    }
  };
  set("PATH", kDefaultPath);
  set("HOME", "/tmp");
  for (const std::string& e : bundle_env) {
    size_t eq = e.find('=');
    set(e.substr(0, eq), e.substr(eq + 1));
  }
  for (const std::string& name : policy.process.env_pass) {
    if (const char* v = std::getenv(name.c_str())) set(name, v);
  }
  for (const auto& [k, v] : policy.process.env_set) set(k, v);
  for (const std::string& e : req.env) {
    size_t eq = e.find('=');
    set(e.substr(0, eq), eq == std::string::npos ? "" : e.substr(eq + 1));
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// Sets `resource` to at most `value` (soft and hard), adding it when absent.
void Tighten(std::vector<RlimitSpec>* rlimits, int resource, uint64_t soft, uint64_t hard) {
  for (RlimitSpec& r : *rlimits) {
    if (r.resource == resource) {
      r.soft = std::min(r.soft, soft);
      r.hard = std::min(r.hard, hard);
      return;
    }
  }
  rlimits->push_back({resource, soft, hard});
}

// CAP_SYS_RESOURCE in hive-run's own effective set (bit 24 of CapEff).
bool CanRaiseRlimits() {
  Result<std::string> status = ReadFile("/proc/self/status");
  if (!status.ok()) return false;
  const size_t at = status->find("CapEff:\t");
  if (at == std::string::npos) return false;
  const uint64_t eff = std::strtoull(status->c_str() + at + 8, nullptr, 16);
  return (eff >> kCapSysResource) & 1;
}

// The policy's per-process limits, merged into process.rlimits (the stricter wins): CPU
// seconds (soft: SIGXCPU, which the report names cpu_limit; hard one second later: the SIGKILL
// backstop for a process that ignores SIGXCPU), file size, open files, no core dumps.
void ApplyRlimits(const ExecutionLimits& lim, ProcessSpec* process) {
  if (lim.cpu_seconds > 0) {
    Tighten(&process->rlimits, RLIMIT_CPU, lim.cpu_seconds, lim.cpu_seconds + 1);
  }
  if (lim.file_size_mb > 0) {
    Tighten(&process->rlimits, RLIMIT_FSIZE, lim.file_size_mb * kMiB, lim.file_size_mb * kMiB);
  }
  Tighten(&process->rlimits, RLIMIT_NOFILE, lim.max_open_files, lim.max_open_files);
  Tighten(&process->rlimits, RLIMIT_CORE, 0, 0);
  // A ceiling above what this host lets hive-run raise to (no CAP_SYS_RESOURCE: the hard limit
  // it was started with) ends at that hard limit: stricter, never refused for the host's sake.
  struct rlimit own;
  if (!CanRaiseRlimits() && getrlimit(RLIMIT_NOFILE, &own) == 0 && own.rlim_max != RLIM_INFINITY) {
    Tighten(&process->rlimits, RLIMIT_NOFILE, own.rlim_max, own.rlim_max);
  }
}

// The effective cgroup limits as linux.resources. io limits go to the disks that back what
// the sandbox reads and writes: its writable binds and its root.
Status ApplyResources(const ExecutionLimits& lim, RunSpec* spec) {
  ResourcesSpec& r = spec->linux.resources;
  if (lim.memory_mb > 0) {
    r.memory_limit = static_cast<int64_t>(lim.memory_mb * kMiB);
    r.memory_swap = r.memory_limit;  // memory + swap = memory: no swap
  }
  if (lim.max_processes > 0) r.pids_limit = static_cast<int64_t>(lim.max_processes);
  if (lim.cpus > 0) {
    // The kernel refuses quotas below 1 ms.
    r.cpu_quota = std::max<int64_t>(1000, std::llround(lim.cpus * kCpuPeriodUs));
    r.cpu_period = kCpuPeriodUs;
  }
  if (lim.io_read_bps > 0 || lim.io_write_bps > 0) {
    std::vector<std::string> paths;
    for (const MountSpec& m : spec->mounts) {
      if (m.type == "bind" && !m.read_only) paths.push_back(m.source);
    }
    paths.push_back(spec->root.path.empty() ? "/" : spec->root.path);
    std::vector<std::string> unresolved;
    for (const auto& [major, minor] : BlockDevicesFor(paths, &unresolved)) {
      if (lim.io_read_bps > 0) r.read_bps.push_back({major, minor, lim.io_read_bps});
      if (lim.io_write_bps > 0) r.write_bps.push_back({major, minor, lim.io_write_bps});
    }
    if (r.read_bps.empty() && r.write_bps.empty()) {
      return Refuse("security.execution.io",
                    fmt::format("no block device backs what the sandbox reads and writes ({}): "
                                "the limit cannot be enforced",
                                fmt::join(unresolved, "; ")));
    }
    for (const std::string& u : unresolved) {
      spec->hive.warnings.push_back("io limits do not apply here: " + u);
    }
  }
  return Ok();
}

// Every capability a config.json set names must be one the policy keeps.
Status CheckCapabilities(const Policy& policy, const CapabilitySets& sets, const char* field) {
  for (const std::vector<int>* set :
       {&sets.bounding, &sets.effective, &sets.inheritable, &sets.permitted, &sets.ambient}) {
    for (int cap : *set) {
      bool kept = false;
      for (const std::string& name : policy.process.capabilities)
        kept |= caps::FromName(name) == cap;
      if (!kept) {
        return Refuse(field,
                      fmt::format("config.json asks for {}; security.process.capabilities "
                                  "allows [{}]",
                                  caps::Name(cap), fmt::join(policy.process.capabilities, ", ")));
      }
    }
  }
  return Ok();
}

// A hook runs as the runtime's own user (root under an engine), in the runtime's namespaces or
// entering the container's without its seccomp filter, Landlock or dropped capabilities: only a
// policy that says so admits one. Its path must be absolute (the runtime-spec's rule), or it
// would resolve against whatever directory the engine ran hive-run in.
Status CheckHooks(const Policy& policy, const HooksSpec& hooks) {
  for (auto [kind, list] : {std::pair{"prestart", &hooks.prestart},
                            std::pair{"createRuntime", &hooks.create_runtime},
                            std::pair{"createContainer", &hooks.create_container},
                            std::pair{"startContainer", &hooks.start_container},
                            std::pair{"poststart", &hooks.poststart},
                            std::pair{"poststop", &hooks.poststop}}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string field = fmt::format("hooks.{}[{}]", kind, i);
      const HookSpec& h = (*list)[i];
      if (!policy.process.allow_oci_hooks) {
        return Refuse(field,
                      fmt::format("config.json carries the hook `{}`; hooks run outside the "
                                  "container's confinement and the policy ({}) does not allow "
                                  "them (security.process.allow_oci_hooks: false)",
                                  h.path, policy.source));
      }
      if (h.path.empty() || h.path[0] != '/') {
        return Refuse(field + ".path", fmt::format("`{}` is not an absolute path", h.path));
      }
    }
  }
  return Ok();
}

// config.json may tighten the policy, never loosen it: each limit it sets must be within the
// policy's, and becomes the run's.
// A file or directory the engine made for this container: its real path has a directory named
// after the container's id (podman's <store>/overlay-containers/<id>/userdata/hosts), or, for a
// container of a Kubernetes pod, after its pod's sandbox id, which containerd's CRI plugin
// names in an annotation of its own (<root>/io.containerd.grpc.v1.cri/sandboxes/<pod>/hosts),
// or after the pod's uid, which kubelet names its own directory of the pod after
// (<kubelet root>/pods/<uid>/: /etc/hosts, /dev/termination-log and emptyDir volumes, which
// every pod's containers bind writable). Ids and uids are chosen by the engine and the API
// server, never by the config's author; a pod's hostPath volumes are judged by
// allowed_paths.
bool EngineFileOf(const std::string& source, const std::string& id,
                  const std::map<std::string, std::string>& annotations) {
  char* real = realpath(source.c_str(), nullptr);
  if (real == nullptr) return false;
  const std::string path = real;
  free(real);
  auto named = [&](const std::string& dir) {
    return !dir.empty() && dir.find('/') == std::string::npos &&
           path.find("/" + dir + "/") != std::string::npos;
  };
  auto annotated = [&](const char* key) {
    auto it = annotations.find(key);
    return it != annotations.end() && named(it->second);
  };
  return named(id) || annotated("io.kubernetes.cri.sandbox-id") ||
         annotated("io.kubernetes.cri.sandbox-uid");
}

Status ApplyConfigCeiling(const Policy& policy, const RunSpec& c, const std::string& id,
                          ExecutionLimits* lim) {
  if (!c.root.readonly && !policy.filesystem.writable_rootfs) {
    return Refuse("root.readonly",
                  "config.json asks for a writable rootfs (false); the policy's "
                  "security.filesystem.writable_rootfs is false (set \"readonly\": true, or "
                  "allow it in the policy)");
  }
  HIVE_TRY(CheckCapabilities(policy, c.process.capabilities, "process.capabilities"));
  HIVE_TRY(CheckHooks(policy, c.hooks));
  const ResourcesSpec& res = c.linux.resources;
  if (res.memory_limit && *res.memory_limit > 0) {
    const uint64_t want = static_cast<uint64_t>(*res.memory_limit);
    if (lim->memory_mb > 0 && want > lim->memory_mb * kMiB) {
      return Refuse("linux.resources.memory.limit",
                    fmt::format("config.json asks for {} bytes; security.execution.memory_mb is {}",
                                want, lim->memory_mb));
    }
    lim->memory_mb = std::max<uint64_t>(want / kMiB, 1);
  }
  if (res.pids_limit && *res.pids_limit > 0) {
    const uint64_t want = static_cast<uint64_t>(*res.pids_limit);
    if (lim->max_processes > 0 && want > lim->max_processes) {
      return Refuse("linux.resources.pids.limit",
                    fmt::format("config.json asks for {}; security.execution.max_processes is {}",
                                want, lim->max_processes));
    }
    lim->max_processes = want;
  }
  if (res.cpu_quota && *res.cpu_quota > 0) {
    const double cpus =
        static_cast<double>(*res.cpu_quota) / static_cast<double>(res.cpu_period.value_or(100000));
    if (lim->cpus > 0 && cpus > lim->cpus) {
      return Refuse("linux.resources.cpu",
                    fmt::format("config.json asks for {} CPUs; security.execution.cpus is {}", cpus,
                                lim->cpus));
    }
    lim->cpus = cpus;
  }
  for (const RlimitSpec& r : c.process.rlimits) {
    uint64_t ceiling = UINT64_MAX;
    const char* key = nullptr;
    if (r.resource == RLIMIT_NOFILE) {
      ceiling = lim->max_open_files;
      key = "max_open_files";
    } else if (r.resource == RLIMIT_CPU && lim->cpu_seconds > 0) {
      ceiling = lim->cpu_seconds + 1;
      key = "cpu_seconds";
    } else if (r.resource == RLIMIT_FSIZE && lim->file_size_mb > 0) {
      ceiling = lim->file_size_mb * kMiB;
      key = "file_size_mb";
    }
    if (key && r.hard > ceiling) {
      return Refuse("process.rlimits",
                    fmt::format("config.json asks for a hard {} of {}; the policy's "
                                "security.execution.{} allows {}",
                                RlimitName(r.resource), r.hard, key, ceiling));
    }
  }
  // A writable bind's source or one of its parents is an allowed path: a set lookup per
  // parent, not a scan of the policy's list per mount.
  const std::unordered_set<std::string> allowed_paths(policy.filesystem.allowed_paths.begin(),
                                                      policy.filesystem.allowed_paths.end());
  for (const MountSpec& m : c.mounts) {
    if (m.type != "bind" || m.read_only) continue;
    bool allowed = false;
    for (std::string p = m.source; !allowed && !p.empty();) {
      allowed = allowed_paths.count(p) > 0;
      const size_t slash = p.rfind('/');
      p.resize(slash == std::string::npos ? 0 : slash);
    }
    if (!allowed && policy.filesystem.engine_files_writable) {
      allowed = EngineFileOf(m.source, id, c.annotations);
    }
    if (!allowed) {
      return Refuse("mounts", fmt::format("config.json binds `{}` writable at `{}`; the policy's "
                                          "security.filesystem.allowed_paths does not include it",
                                          m.source, m.destination));
    }
  }
  for (const auto* maps : {&c.linux.uid_mappings, &c.linux.gid_mappings}) {
    for (const IdMapping& m : *maps) {
      if (m.host_id == 0) {
        return Refuse(maps == &c.linux.uid_mappings ? "linux.uidMappings" : "linux.gidMappings",
                      "a mapping onto host id 0 is refused");
      }
    }
  }
  return Ok();
}

// The OCI runtime commands: a config.json that leaves out a network, uts, ipc or pid namespace
// asks for the host's (Kubernetes hostNetwork/hostIPC/hostPID, podman --network=host). Shared
// only when the policy lists the type; it is then joined by path as hive-run's own, before
// the run's user namespace is made, so the container's root has no privilege over it.
Status ShareHostNamespaces(const Policy& policy, const RunSpec& c, RunSpec* spec) {
  struct Shareable {
    const char* type;
    const char* file;     // under /proc/self/ns
    const char* clients;  // who leaves it out
  };
  static constexpr Shareable kShareable[] = {
      {"network", "net", "Kubernetes hostNetwork, podman --network=host"},
      {"uts", "uts", "Kubernetes hostNetwork, podman --uts=host"},
      {"ipc", "ipc", "Kubernetes hostIPC, podman --ipc=host"},
      {"pid", "pid", "Kubernetes hostPID, podman --pid=host"}};
  const std::vector<std::string>& allowed = policy.process.host_namespaces;
  auto listed = [&](const std::string& type) {
    return std::find(allowed.begin(), allowed.end(), type) != allowed.end();
  };
  // The host's own name asks for nothing to change (an engine may fill in the node's); any
  // other is not the container's to set in the host's uts namespace.
  auto host_uts_hostname = [&](const std::string& how) -> Status {
    struct utsname host_uts {};
    uname(&host_uts);
    if (c.hostname.empty() || c.hostname == host_uts.nodename) return Ok();
    return Refuse("hostname", fmt::format("`{}`: {}, whose hostname is not the container's "
                                          "to set",
                                          c.hostname, how));
  };
  // A path that names hive-run's own namespace (a pod's app containers join their host-network
  // pause container's /proc/PID/ns/net, which is the host's) shares the host's as much as a
  // left-out type does: the same policy line admits it, and it is reported as the host's.
  for (size_t i = 0; i < c.linux.namespaces.size(); ++i) {
    const NamespaceSpec& n = c.linux.namespaces[i];
    if (n.path.empty()) continue;
    for (const Shareable& s : kShareable) {
      if (n.type != s.type) continue;
      struct stat want, own;
      if (stat(n.path.c_str(), &want) != 0 ||
          stat(fmt::format("/proc/self/ns/{}", s.file).c_str(), &own) != 0 ||
          want.st_dev != own.st_dev || want.st_ino != own.st_ino) {
        continue;  // another namespace (or none: the join names the error)
      }
      if (n.type == "uts") {
        HIVE_TRY(host_uts_hostname(fmt::format(
            "linux.namespaces[{}].path joins the host's uts namespace", i)));
      }
      if (!listed(n.type)) {
        return Refuse(fmt::format("linux.namespaces[{}].path", i),
                      fmt::format("`{}` is the host's {} namespace; the policy's "
                                  "security.process.host_namespaces does not list `{}` ({})",
                                  n.path, n.type, n.type, policy.source));
      }
      spec->linux.namespaces[i].host = true;
      if (n.type == "uts") spec->hostname.clear();
    }
  }
  for (const Shareable& s : kShareable) {
    const std::string type = s.type;
    if (c.HasNamespace(type)) continue;
    if (!listed(type)) {
      return Refuse("linux.namespaces",
                    fmt::format("no `{}` namespace is asked for (the host's: {}); the policy's "
                                "security.process.host_namespaces does not list `{}` ({})",
                                type, s.clients, type, policy.source));
    }
    if (type == "uts") {
      HIVE_TRY(host_uts_hostname(
          "config.json leaves out the uts namespace to share the host's"));
      spec->hostname.clear();
    }
    NamespaceSpec n;
    n.type = type;
    n.path = fmt::format("/proc/self/ns/{}", s.file);
    n.host = true;
    spec->linux.namespaces.push_back(n);
  }
  return Ok();
}

// What a bundle's config.json contributes once it is within the policy: its process, root,
// mounts and the linux fields the supervisor judges (SupervisorRefusal).
void TakeConfig(const RunSpec& c, RunSpec* spec) {
  spec->oci_version = c.oci_version;
  spec->root = c.root;
  // A writable root is writable for Landlock too (blocked operations still apply there).
  if (!c.root.readonly) spec->hive.writable_paths.push_back("/");
  if (!c.hostname.empty()) spec->hostname = c.hostname;
  for (const NamespaceSpec& n : c.linux.namespaces) {
    // A joined uts namespace keeps its hostname: only config.json's own may ask to set it.
    if (n.type == "uts" && !n.path.empty()) spec->hostname = c.hostname;
  }
  // Its capability sets are within the policy's (checked); what it leaves out stays out.
  spec->process = c.process;
  spec->hooks = c.hooks;
  spec->annotations = c.annotations;
  spec->linux.namespaces = c.linux.namespaces;
  spec->linux.sysctl = c.linux.sysctl;
  // A relative weight under contention, not a limit: no policy ceiling to be within.
  spec->linux.resources.cpu_shares = c.linux.resources.cpu_shares;
  spec->linux.resources.no_hugepages = c.linux.resources.no_hugepages;
  spec->linux.devices = c.linux.devices;
  spec->linux.seccomp_inline = c.linux.seccomp_inline;
  spec->linux.seccomp_oci = c.linux.seccomp_oci;
  spec->linux.rootfs_propagation = c.linux.rootfs_propagation;
  spec->linux.cgroups_path = c.linux.cgroups_path;
  if (!c.linux.uid_mappings.empty()) spec->linux.uid_mappings = c.linux.uid_mappings;
  if (!c.linux.gid_mappings.empty()) spec->linux.gid_mappings = c.linux.gid_mappings;
  auto add_unique = [](const std::vector<std::string>& from, std::vector<std::string>* to) {
    std::unordered_set<std::string> seen(to->begin(), to->end());
    for (const std::string& p : from) {
      if (seen.insert(p).second) to->push_back(p);
    }
  };
  add_unique(c.linux.masked_paths, &spec->linux.masked_paths);
  add_unique(c.linux.readonly_paths, &spec->linux.readonly_paths);
  for (const MountSpec& m : c.mounts) {
    // The sandbox provides its own /proc, /dev (with pts, shm) and /tmp.
    if ((m.type == "proc" && m.destination == "/proc") ||
        (m.type == "tmpfs" && (m.destination == "/dev" || m.destination == "/dev/shm")) ||
        (m.type == "devpts" && m.destination == "/dev/pts")) {
      continue;
    }
    MountSpec copy = m;
    if (copy.type == "bind" && !copy.read_only) {
      copy.writable_by_owner = true;
      spec->hive.writable_paths.push_back(copy.destination);
    }
    spec->mounts.push_back(copy);
  }
}

// The host's nameservers: where the sandbox's resolver forwards allowed names by default.
std::vector<std::string> HostNameservers() {
  std::vector<std::string> out;
  Result<std::string> text = ReadFile("/etc/resolv.conf");
  if (!text.ok()) return out;
  size_t at = 0;
  while (at < text->size()) {
    size_t end = text->find('\n', at);
    if (end == std::string::npos) end = text->size();
    const std::string line = text->substr(at, end - at);
    at = end + 1;
    if (line.rfind("nameserver", 0) != 0) continue;
    std::string addr = line.substr(10);
    addr.erase(0, addr.find_first_not_of(" \t"));
    addr = addr.substr(0, addr.find_first_of(" \t%"));
    net::IpAddress ip;
    if (net::ParseIp(addr, &ip)) out.push_back(addr);
  }
  return out;
}

// security.network: with allowed domains, the same lo-only netns, plus the supervisor's
// resolver (127.0.0.53 inside) and connects made on the sandbox's behalf (supervisor/egress.h).
Status ApplyNetwork(const NetworkPolicy& net, bool bundle, RunSpec* spec) {
  NetworkSpec& n = spec->hive.network;
  n.enabled = !net.allowed_domains.empty();
  n.allowed_domains = net.allowed_domains;
  n.blocked_ports = net.blocked_ports;
  // With the network off the extensions mean nothing, and the spec stays what it was.
  if (!n.enabled) return Ok();
  n.allowed_ports = net.allowed_ports;
  n.inspect_ports = net.inspect_ports;
  n.upstream_dns = net.upstream_dns;
  if (n.upstream_dns.empty()) n.upstream_dns = HostNameservers();
  if (n.upstream_dns.empty()) {
    return Refuse("security.network.upstream_dns",
                  "no nameserver in the host's /etc/resolv.conf to forward allowed names to; "
                  "list one");
  }
  HiveRootSpec& root = spec->hive.root;
  // The supervisor's resolver, inside the sandbox's own netns; no search domains, so that
  // a bare name is asked for as itself.
  root.files["/etc/resolv.conf"] = "nameserver 127.0.0.53\noptions edns0\n";
  // A bundle's own nsswitch.conf is its image's business (and most look up hosts in dns).
  if (!bundle) root.files["/etc/nsswitch.conf"] = "passwd: files\ngroup: files\nhosts: files dns\n";
  return Ok();
}

// The child becomes root of its namespace before setup and then the process's user: both ids
// must be mapped.
Status CheckMapped(const std::vector<IdMapping>& maps, uint32_t id, const char* field,
                   const char* what) {
  for (uint32_t want : {0u, id}) {
    bool found = false;
    for (const IdMapping& m : maps) {
      if (want >= m.container_id && want - m.container_id < m.size) found = true;
    }
    if (!found) return Refuse(field, fmt::format("container {} {} is not mapped", what, want));
  }
  return Ok();
}

// Files written into writable binds belong to whoever invoked hive-run (through sudo too), or
// to the owner the operator names (--owner: a CI workspace owned by a build user).
Status ApplyOwner(const SandboxRequest& req, RunSpec* spec) {
  spec->hive.owner_uid = getuid();
  spec->hive.owner_gid = getgid();
  if (req.owner) {
    // Mapping writes onto another user's ids needs root; unprivileged, only one's own.
    if (getuid() != 0 && (req.owner->uid != getuid() || req.owner->gid != getgid())) {
      return Refuse("--owner", fmt::format("{}:{} needs root (files can only be made to belong "
                                           "to another user by root)",
                                           req.owner->uid, req.owner->gid));
    }
    spec->hive.owner_uid = req.owner->uid;
    spec->hive.owner_gid = req.owner->gid;
    return Ok();
  }
  if (const char* su = std::getenv("SUDO_UID"); su && getuid() == 0) {
    // Through the shared parser: "-1" would be (uid_t)-1, "no owner", and a long number wraps.
    Result<uint64_t> uid = ParseUnsigned(su, 0, kMaxId);
    if (!uid.ok()) return Refuse("SUDO_UID", uid.status().message());
    spec->hive.owner_uid = static_cast<uid_t>(*uid);
    if (const char* sg = std::getenv("SUDO_GID")) {
      Result<uint64_t> gid = ParseUnsigned(sg, 0, kMaxId);
      if (!gid.ok()) return Refuse("SUDO_GID", gid.status().message());
      spec->hive.owner_gid = static_cast<gid_t>(*gid);
    }
  }
  return Ok();
}

// The sandbox writes into a writable bind as its owner, with no capability to override file
// modes: a directory the owner cannot write would fail every write inside, so the run is
// refused up front, naming both owners and the fix.
Status CheckOwnerCanWrite(const RunSpec& spec, const std::string& skip) {
  const uid_t uid = spec.hive.owner_uid;
  const gid_t gid = spec.hive.owner_gid;
  for (const MountSpec& m : spec.mounts) {
    if (m.type != "bind" || !m.writable_by_owner || m.source == skip) continue;
    struct stat st;
    if (stat(m.source.c_str(), &st) != 0) continue;  // reported where it is bound
    const bool writable = (st.st_uid == uid && (st.st_mode & S_IWUSR)) ||
                          (st.st_uid != uid && st.st_gid == gid && (st.st_mode & S_IWGRP)) ||
                          (st.st_uid != uid && st.st_gid != gid && (st.st_mode & S_IWOTH));
    if (!writable) {
      return Refuse(
          "writable bind",
          fmt::format("`{}` (owner {}:{}, mode {:04o}) cannot be written by the run's owner {}:{}, "
                      "whom files written there belong to; pass --owner {}:{} (or make it "
                      "writable by {}:{})",
                      m.source, st.st_uid, st.st_gid, st.st_mode & 07777, uid, gid, st.st_uid,
                      st.st_gid, uid, gid));
    }
  }
  return Ok();
}

}  // namespace

Status CheckPolicyReferences(const Policy& policy) {
  SandboxRequest req;
  req.run_id = "check";
  req.command = {"/bin/true"};
  HIVE_ASSIGN_OR_RETURN(RunSpec spec, CompileRunSpec(policy, req));
  return seccomp::Prepare(spec).status();
}

Result<RunSpec> CompileRunSpec(const Policy& policy, const SandboxRequest& req,
                               const RunSpec* config) {
  RunSpec spec;
  HiveExtensions& hive = spec.hive;
  hive.run_id = req.run_id;
  ExecutionLimits lim = policy.execution;
  if (req.timeout_seconds) lim.timeout_seconds = *req.timeout_seconds;
  if (req.memory_mb) lim.memory_mb = *req.memory_mb;
  if (req.max_processes) lim.max_processes = *req.max_processes;
  if (req.cpu_seconds) lim.cpu_seconds = *req.cpu_seconds;
  if (req.tmp_size_mb) lim.tmp_size_mb = *req.tmp_size_mb;
  hive.blocked_operations = policy.filesystem.blocked_operations;
  {
    // A profile name or a path relative to the policy file; the RunSpec holds the file.
    std::string policy_dir;
    if (size_t slash = policy.source.rfind('/'); slash != std::string::npos) {
      policy_dir = policy.source.substr(0, slash);
    }
    auto profile = seccomp::ResolveProfile(policy.process.seccomp_profile, policy_dir);
    if (!profile.ok()) {
      return Refuse("security.process.seccomp_profile", profile.status().message());
    }
    spec.linux.seccomp_profile = *profile;
  }
  hive.landlock_best_effort = policy.landlock.best_effort;
  hive.alert_thresholds = policy.monitoring.alert_thresholds;
  hive.policy_source = policy.source;
  hive.policy_sha256 = policy.sha256;
  for (const std::string& type : SandboxNamespaces()) spec.linux.namespaces.push_back({type, ""});
  spec.linux.uid_mappings = ns::DefaultMappings();
  spec.linux.gid_mappings = ns::DefaultMappings();
  spec.linux.masked_paths = kMaskedPaths;
  spec.linux.readonly_paths = kReadonlyPaths;
  HIVE_TRY(ApplyOwner(req, &spec));
  CapabilitySets kept;
  for (const std::string& name : policy.process.capabilities) {
    int cap = caps::FromName(name);
    if (cap < 0) return Refuse("security.process.capabilities", "unknown capability " + name);
    for (std::vector<int>* set :
         {&kept.bounding, &kept.effective, &kept.inheritable, &kept.permitted}) {
      set->push_back(cap);
    }
  }
  spec.process.capabilities = kept;

  std::vector<std::string> config_env;
  if (config) {
    HIVE_TRY(ApplyConfigCeiling(policy, *config, req.run_id, &lim));
    TakeConfig(*config, &spec);
    if (req.config_mounts_only) HIVE_TRY(ShareHostNamespaces(policy, *config, &spec));
    config_env = config->process.env;
    if (!req.command.empty()) spec.process.args = req.command;
  } else {
    BuiltinRoot(&spec);
    spec.process.args = req.command;
    spec.process.cwd = "/";
  }
  HIVE_TRY(ApplyNetwork(policy.network, config != nullptr, &spec));
  // The OCI runtime's detached monitor does not carry the resolver and connector yet.
  if (req.config_mounts_only && spec.hive.network.enabled) {
    return Refuse("security.network.allowed_domains",
                  "per-domain network access is not supported by the OCI runtime commands yet "
                  "(create/run); use [] (no network) or a `hive-run BUNDLE` run");
  }
  if (spec.process.args.empty()) return Refuse("command", "nothing to run");
  HIVE_TRY(CheckMapped(spec.linux.uid_mappings, spec.process.user.uid, "linux.uidMappings", "uid"));
  HIVE_TRY(CheckMapped(spec.linux.gid_mappings, spec.process.user.gid, "linux.gidMappings", "gid"));

  for (const std::string& d : req.read_only_dirs) {
    const bool covered = std::any_of(
        policy.filesystem.allowed_paths.begin(), policy.filesystem.allowed_paths.end(),
        [&](const std::string& p) {
          return p != "/tmp" && (d == p || (d.size() > p.size() && d.compare(0, p.size(), p) == 0 &&
                                            d[p.size()] == '/'));
        });
    if (!covered && Exists(d)) AddBind(&spec, d, d, false);
  }
  if (!req.config_mounts_only) HIVE_TRY(ApplyPolicyPaths(policy, &spec));
  HIVE_TRY(ApplyCliBinds(req, &spec));
  if (!req.input_dir.empty()) AddBind(&spec, req.input_dir, "/run/hive/input", false);
  if (!req.output_dir.empty()) {
    AddBind(&spec, req.output_dir, "/run/hive/output", true);
    if (!config) spec.process.cwd = "/run/hive/output";
  }
  if (!req.workdir.empty()) {
    if (req.workdir[0] != '/') return Refuse("--workdir", "must be absolute: " + req.workdir);
    spec.process.cwd = req.workdir;
  }
  spec.process.env = BuildEnv(policy, req, config_env);
  if (!req.input_dir.empty()) spec.process.env.push_back("HIVE_INPUT=/run/hive/input");
  if (!req.output_dir.empty()) spec.process.env.push_back("HIVE_OUTPUT=/run/hive/output");

  HIVE_TRY(CheckOwnerCanWrite(spec, req.output_dir));
  hive.blocked_operations_spare_private_tmp = !hive.blocked_operations.empty();
  for (const MountSpec& m : spec.mounts) {
    if (m.read_only) continue;
    for (const char* own : {"/tmp", "/dev/shm"}) {
      const std::string d = m.destination, o = own;
      if (d == o || (d.size() > o.size() && d.compare(0, o.size(), o) == 0 && d[o.size()] == '/')) {
        hive.blocked_operations_spare_private_tmp = false;
      }
    }
  }

  hive.timeout_seconds = lim.timeout_seconds;
  hive.cpu_seconds = lim.cpu_seconds;
  hive.tmp_size_mb = lim.tmp_size_mb;
  ApplyRlimits(lim, &spec.process);
  HIVE_TRY(ApplyResources(lim, &spec));
  return spec;
}

}  // namespace hive
