// Policy + bundle + request → RunSpec: one function per rule, the policy a ceiling.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "base/files.h"
#include "base/user_text.h"
#include "hive/run.h"
#include "hive/state_dir.h"
#include "sandbox/capabilities.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The OCI defaults for paths under /proc and /sys a sandbox must not read or write.
const std::vector<std::string> kMaskedPaths = {
    "/proc/acpi",       "/proc/asound",      "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",       "/proc/sysrq-trigger", "/sys/firmware",   "/proc/interrupts"};
const std::vector<std::string> kReadonlyPaths = {"/proc/bus", "/proc/fs", "/proc/irq",
                                                 "/proc/sys", "/proc/sysrq-trigger"};

Status Refuse(const std::string& field, const std::string& what) {
  return Error(Code::kInvalidArgument, fmt::format("{}: {}", field, what));
}

bool Exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// The built-in sandbox's root: the host's /usr (and the usr-merge links), a minimal /etc.
void BuiltinRoot(RunSpec* spec) {
  spec->root.read_only = true;
  for (const char* p : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat st;
    if (lstat(p, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = readlink(p, buf, sizeof buf - 1);
      if (n > 0) spec->root.symlinks.emplace_back(p, std::string(buf, static_cast<size_t>(n)));
    } else {
      spec->root.host_binds.push_back(p);
    }
  }
  // Host configuration the dynamic linker and `alternatives` links need; nothing else of /etc.
  for (const char* p : {"/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime"}) {
    if (Exists(p)) {
      MountSpec m;
      m.destination = p;
      m.type = "bind";
      m.source = p;
      m.read_only = true;
      spec->mounts.push_back(m);
    }
  }
  spec->root.files["/etc/passwd"] =
      "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
  spec->root.files["/etc/group"] = "root:x:0:\nnogroup:x:65534:\n";
  spec->root.files["/etc/hostname"] = spec->hostname + "\n";
  spec->root.files["/etc/hosts"] = "127.0.0.1 localhost " + spec->hostname + "\n::1 localhost\n";
  spec->root.files["/etc/nsswitch.conf"] = "passwd: files\ngroup: files\nhosts: files\n";
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
  if (writable) spec->writable_paths.push_back(dst);
}

Status ApplyPolicyPaths(const Policy& policy, RunSpec* spec, std::vector<std::string>* warnings) {
  for (const std::string& p : policy.filesystem.allowed_paths) {
    // Every sandbox has its own private /tmp; the host's is never shared.
    if (p == "/tmp") continue;
    if (!Exists(p)) {
      warnings->push_back(
          fmt::format("security.filesystem.allowed_paths: `{}` does not exist; not bound", p));
      continue;
    }
    AddBind(spec, p, p, true);
  }
  for (const std::string& p : policy.filesystem.read_only_paths) {
    if (!Exists(p)) {
      warnings->push_back(
          fmt::format("security.filesystem.read_only_paths: `{}` does not exist; not bound", p));
      continue;
    }
    AddBind(spec, p, p, false);
  }
  return Ok();
}

Status ApplyCliBinds(const RunRequest& req, RunSpec* spec) {
  for (const std::string& b : req.binds) {
    size_t c1 = b.find(':');
    std::string src = b.substr(0, c1);
    std::string rest = c1 == std::string::npos ? src : b.substr(c1 + 1);
    bool writable = false;
    size_t c2 = rest.find(':');
    std::string dst = rest.substr(0, c2);
    if (c2 != std::string::npos) {
      std::string mode = rest.substr(c2 + 1);
      if (mode == "rw") writable = true;
      else if (mode != "ro") return Refuse("--bind", fmt::format("bad mode `{}` in `{}` (ro or rw)", mode, b));
    }
    if (src.empty() || dst.empty() || dst[0] != '/') {
      return Refuse("--bind", fmt::format("expected SRC:DST[:rw] with an absolute DST, got `{}`", b));
    }
    src = AbsolutePath(src, "");
    if (!Exists(src)) return Refuse("--bind", fmt::format("source `{}` does not exist", src));
    AddBind(spec, src, AbsolutePath(dst, "/"), writable);
  }
  return Ok();
}

std::vector<std::string> BuildEnv(const Policy& policy, const RunRequest& req,
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

// config.json may tighten the policy, never loosen it.
Status ApplyBundleCeiling(const Policy& policy, const OciConfig& c, RunSpec* spec) {
  if (!c.root_readonly) {
    return Refuse("root.readonly",
                  "config.json asks for a writable rootfs; the policy allows a read-only rootfs "
                  "only (set \"readonly\": true)");
  }
  for (const std::string& cap : c.capability_names) {
    if (std::find(policy.process.capabilities.begin(), policy.process.capabilities.end(), cap) ==
        policy.process.capabilities.end()) {
      return Refuse("process.capabilities",
                    fmt::format("config.json asks for {}; security.process.capabilities allows "
                                "[{}]",
                                cap, fmt::join(policy.process.capabilities, ", ")));
    }
  }
  const ExecutionLimits& lim = policy.execution;
  if (c.memory_limit) {
    uint64_t want_mb = static_cast<uint64_t>(*c.memory_limit) >> 20;
    if (lim.memory_mb > 0 && static_cast<uint64_t>(*c.memory_limit) > (lim.memory_mb << 20)) {
      return Refuse("linux.resources.memory.limit",
                    fmt::format("config.json asks for {} bytes; security.execution.memory_mb is {}",
                                *c.memory_limit, lim.memory_mb));
    }
    spec->limits.memory_mb = std::max<uint64_t>(want_mb, 1);
  }
  if (c.pids_limit) {
    if (lim.max_processes > 0 && static_cast<uint64_t>(*c.pids_limit) > lim.max_processes) {
      return Refuse("linux.resources.pids.limit",
                    fmt::format("config.json asks for {}; security.execution.max_processes is {}",
                                *c.pids_limit, lim.max_processes));
    }
    spec->limits.max_processes = static_cast<uint64_t>(*c.pids_limit);
  }
  if (c.cpus) {
    if (lim.cpus > 0 && *c.cpus > lim.cpus) {
      return Refuse("linux.resources.cpu",
                    fmt::format("config.json asks for {} CPUs; security.execution.cpus is {}",
                                *c.cpus, lim.cpus));
    }
    spec->limits.cpus = *c.cpus;
  }
  for (const RlimitSpec& r : c.process.rlimits) {
    uint64_t ceiling = UINT64_MAX;
    const char* key = nullptr;
    if (r.resource == RLIMIT_NOFILE) {
      ceiling = lim.max_open_files;
      key = "max_open_files";
    } else if (r.resource == RLIMIT_CPU && lim.cpu_seconds > 0) {
      ceiling = lim.cpu_seconds + 1;
      key = "cpu_seconds";
    } else if (r.resource == RLIMIT_FSIZE && lim.file_size_mb > 0) {
      ceiling = lim.file_size_mb << 20;
      key = "file_size_mb";
    }
    if (key && r.hard > ceiling) {
      return Refuse("process.rlimits",
                    fmt::format("config.json asks for a hard limit of {} for resource {}; the "
                                "policy's security.execution.{} allows {}",
                                r.hard, r.resource, key, ceiling));
    }
  }
  // The source or one of its parents is an allowed path: a set lookup per parent, not a scan
  // of the policy's list per mount.
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
    if (!allowed) {
      return Refuse("mounts",
                    fmt::format("config.json binds `{}` writable at `{}`; the policy's "
                                "security.filesystem.allowed_paths does not include it",
                                m.source, m.destination));
    }
  }
  for (const std::string& ns : c.namespaces) {
    (void)ns;  // hive-run always creates all of them; listing fewer cannot weaken a run
  }
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
    if (!found) {
      return Refuse(field, fmt::format("container {} {} is not mapped", what, want));
    }
  }
  return Ok();
}

}  // namespace

Result<std::vector<std::string>> InterpreterFor(const std::string& script_path) {
  auto ends = [&](const char* ext) {
    std::string e = ext;
    return script_path.size() > e.size() &&
           script_path.compare(script_path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".py")) return std::vector<std::string>{"python3"};
  if (ends(".sh")) return std::vector<std::string>{"/bin/sh"};
  if (ends(".pl")) return std::vector<std::string>{"perl"};
  if (ends(".rb")) return std::vector<std::string>{"ruby"};
  if (ends(".js")) return std::vector<std::string>{"node"};
  // Only the first line is read, but the file is opened like every input: a FIFO must not
  // block hive-run.
  HIVE_ASSIGN_OR_RETURN(UniqueFd fd, OpenInputFile(script_path, kScriptInput));
  char line[512] = {};
  ssize_t got = 0;
  do {
    got = ::read(fd.get(), line, sizeof line - 1);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return Errno(fmt::format("read script `{}`", script_path));
  line[got] = '\0';
  if (char* nl = std::strchr(line, '\n')) *nl = '\0';
  if (got >= 2 && line[0] == '#' && line[1] == '!') {
    std::string s(line + 2);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    std::vector<std::string> words;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
      size_t j = i;
      while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
      if (j > i) words.push_back(s.substr(i, j - i));
      i = j;
    }
    if (!words.empty() && words[0] == "/usr/bin/env" && words.size() > 1) {
      words.erase(words.begin());
    }
    if (!words.empty()) return words;
  }
  return Error(Code::kInvalidArgument,
               fmt::format("script `{}`: no interpreter known for its extension and no #! line",
                           script_path));
}

Status CheckPolicyReferences(const Policy& policy) {
  RunRequest req;
  req.mode = RunMode::kExec;
  req.run_id = "check";
  req.command = {"/bin/true"};
  HIVE_ASSIGN_OR_RETURN(RunSpec spec, CompileRunSpec(policy, req, nullptr, nullptr));
  return seccomp::Prepare(spec).status();
}

Result<RunSpec> CompileRunSpec(const Policy& policy, const RunRequest& req, const Bundle* bundle,
                               const RunPaths* paths) {
  RunSpec spec;
  spec.run_id = req.run_id;
  spec.limits = policy.execution;
  if (req.timeout_seconds) spec.limits.timeout_seconds = *req.timeout_seconds;
  if (req.memory_mb) spec.limits.memory_mb = *req.memory_mb;
  spec.blocked_operations = policy.filesystem.blocked_operations;
  {
    // A profile name or a path relative to the policy file; the RunSpec holds the file.
    std::string policy_dir = "";
    if (size_t slash = policy.source.rfind('/'); slash != std::string::npos) {
      policy_dir = policy.source.substr(0, slash);
    }
    auto profile = seccomp::ResolveProfile(policy.process.seccomp_profile, policy_dir);
    if (!profile.ok()) {
      return Refuse("security.process.seccomp_profile", profile.status().message());
    }
    spec.seccomp_profile = *profile;
  }
  spec.landlock_best_effort = policy.landlock.best_effort;
  spec.network = false;
  spec.blocked_ports = policy.network.blocked_ports;
  spec.alert_thresholds = policy.monitoring.alert_thresholds;
  spec.policy_source = policy.source;
  spec.policy_sha256 = policy.sha256;
  spec.uid_mappings = ns::DefaultMappings();
  spec.gid_mappings = ns::DefaultMappings();
  spec.masked_paths = kMaskedPaths;
  spec.readonly_paths = kReadonlyPaths;
  // Files written into writable binds belong to whoever invoked hive-run (through sudo too).
  spec.owner_uid = getuid();
  spec.owner_gid = getgid();
  if (const char* su = std::getenv("SUDO_UID"); su && getuid() == 0) {
    // Through the shared parser: "-1" would be (uid_t)-1, "no owner", and a long number wraps.
    Result<uint64_t> uid = ParseUnsigned(su, 0, kMaxId);
    if (!uid.ok()) return Refuse("SUDO_UID", uid.status().message());
    spec.owner_uid = static_cast<uid_t>(*uid);
    if (const char* sg = std::getenv("SUDO_GID")) {
      Result<uint64_t> gid = ParseUnsigned(sg, 0, kMaxId);
      if (!gid.ok()) return Refuse("SUDO_GID", gid.status().message());
      spec.owner_gid = static_cast<gid_t>(*gid);
    }
  }
  for (const std::string& name : policy.process.capabilities) {
    int cap = caps::FromName(name);
    if (cap < 0) return Refuse("security.process.capabilities", "unknown capability " + name);
    spec.process.capabilities.push_back(cap);
  }

  std::vector<std::string> bundle_env;
  if (bundle) {
    const OciConfig& c = bundle->config;
    HIVE_TRY(ApplyBundleCeiling(policy, c, &spec).Wrap(bundle->dir + "/config.json"));
    spec.root.bundle_rootfs = c.root_path;
    spec.root.read_only = true;
    if (!c.hostname.empty()) spec.hostname = c.hostname;
    spec.process.args = c.process.args;
    spec.process.cwd = c.process.cwd;
    spec.process.uid = c.process.uid;
    spec.process.gid = c.process.gid;
    spec.process.additional_gids = c.process.additional_gids;
    spec.process.rlimits = c.process.rlimits;
    spec.process.terminal = c.process.terminal;
    bundle_env = c.process.env;
    auto add_unique = [](const std::vector<std::string>& from, std::vector<std::string>* to) {
      std::unordered_set<std::string> seen(to->begin(), to->end());
      for (const std::string& p : from) {
        if (seen.insert(p).second) to->push_back(p);
      }
    };
    add_unique(c.masked_paths, &spec.masked_paths);
    add_unique(c.readonly_paths, &spec.readonly_paths);
    if (!c.uid_mappings.empty()) {
      for (const IdMapping& m : c.uid_mappings) {
        if (m.host_id == 0) {
          return Refuse("linux.uidMappings", "a mapping onto host uid 0 is refused");
        }
      }
      spec.uid_mappings = c.uid_mappings;
    }
    if (!c.gid_mappings.empty()) {
      for (const IdMapping& m : c.gid_mappings) {
        if (m.host_id == 0) return Refuse("linux.gidMappings", "a mapping onto host gid 0 is refused");
      }
      spec.gid_mappings = c.gid_mappings;
    }
    spec.cgroups_path = c.cgroups_path;
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
        spec.writable_paths.push_back(copy.destination);
      }
      spec.mounts.push_back(copy);
    }
    if (!req.command.empty()) spec.process.args = req.command;
  } else {
    BuiltinRoot(&spec);
    spec.process.args = req.command;
    spec.process.cwd = "/";
  }
  if (spec.process.args.empty()) return Refuse("command", "nothing to run");
  HIVE_TRY(CheckMapped(spec.uid_mappings, spec.process.uid, "linux.uidMappings", "uid"));
  HIVE_TRY(CheckMapped(spec.gid_mappings, spec.process.gid, "linux.gidMappings", "gid"));

  std::vector<std::string> warnings;
  HIVE_TRY(ApplyPolicyPaths(policy, &spec, &warnings));
  HIVE_TRY(ApplyCliBinds(req, &spec));
  if (paths) {
    AddBind(&spec, paths->input, "/run/hive/input", false);
    AddBind(&spec, paths->output, "/run/hive/output", true);
    if (!bundle) spec.process.cwd = "/run/hive/output";
  }
  if (!req.workdir.empty()) {
    if (req.workdir[0] != '/') return Refuse("--workdir", "must be absolute: " + req.workdir);
    spec.process.cwd = req.workdir;
  }
  spec.process.env = BuildEnv(policy, req, bundle_env);
  if (paths) {
    spec.process.env.push_back("HIVE_INPUT=/run/hive/input");
    spec.process.env.push_back("HIVE_OUTPUT=/run/hive/output");
  }
  spec.warnings = std::move(warnings);
  return spec;
}

}  // namespace hive
