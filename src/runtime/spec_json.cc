// RunSpec → config.json (+ "hive"), and a bundle directory runc or crun can run.
#include "hive/spec_json.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "base/files.h"
#include "hive/state_dir.h"
#include "sandbox/capabilities.h"
#include "sandbox/seccomp/compiler.h"
#include "sandbox/seccomp/profile.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive {
namespace {

using nlohmann::json;

json Mappings(const std::vector<IdMapping>& maps) {
  json out = json::array();
  for (const IdMapping& m : maps) {
    out.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  }
  return out;
}

json CapNames(const std::vector<int>& caps) {
  json out = json::array();
  for (int c : caps) out.push_back(caps::Name(c));
  return out;
}

json Throttle(const std::vector<ThrottleDevice>& list) {
  json out = json::array();
  for (const ThrottleDevice& t : list) {
    out.push_back({{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}});
  }
  return out;
}

json Hooks(const std::vector<HookSpec>& hooks) {
  json out = json::array();
  for (const HookSpec& h : hooks) {
    json j = {{"path", h.path}};
    if (!h.args.empty()) j["args"] = h.args;
    if (!h.env.empty()) j["env"] = h.env;
    if (h.timeout) j["timeout"] = *h.timeout;
    out.push_back(j);
  }
  return out;
}

json Resources(const ResourcesSpec& r) {
  json res = json::object();
  if (r.memory_limit) res["memory"]["limit"] = *r.memory_limit;
  if (r.memory_swap) res["memory"]["swap"] = *r.memory_swap;
  if (r.pids_limit) res["pids"]["limit"] = *r.pids_limit;
  if (r.cpu_shares) res["cpu"]["shares"] = *r.cpu_shares;
  if (r.cpu_quota) res["cpu"]["quota"] = *r.cpu_quota;
  if (r.cpu_period) res["cpu"]["period"] = *r.cpu_period;
  if (!r.read_bps.empty()) res["blockIO"]["throttleReadBpsDevice"] = Throttle(r.read_bps);
  if (!r.write_bps.empty()) res["blockIO"]["throttleWriteBpsDevice"] = Throttle(r.write_bps);
  return res;
}

// The profile file as linux.seccomp, with the rules that apply on this host for the kept
// capabilities.
Result<json> SeccompJson(const RunSpec& s) {
  HIVE_ASSIGN_OR_RETURN(
      seccomp::Profile p,
      seccomp::LoadProfile(s.linux.seccomp_profile, seccomp::ProfilesDir() + "/groups.yaml"));
  seccomp::CompileOptions o;
  for (int c : s.process.capabilities.bounding) o.capabilities.push_back(caps::Name(c));
  utsname u{};
  uname(&u);
  std::sscanf(u.release, "%d.%d", &o.kernel_major, &o.kernel_minor);
  return seccomp::ProfileToOci(
      p, [&](const seccomp::SyscallRule& r) { return seccomp::RuleApplies(r, o); });
}

json Mount(const std::string& dst, const std::string& type, const std::string& src,
           const std::vector<std::string>& options) {
  return {{"destination", dst}, {"type", type}, {"source", src}, {"options", options}};
}

}  // namespace

Result<json> RunSpecToOci(const RunSpec& s) {
  json j;
  j["ociVersion"] = s.oci_version;
  json process = {{"terminal", s.process.terminal},
                  {"user", {{"uid", s.process.user.uid}, {"gid", s.process.user.gid}}},
                  {"args", s.process.args},
                  {"env", s.process.env},
                  {"cwd", s.process.cwd},
                  {"noNewPrivileges", s.process.no_new_privileges}};
  if (!s.process.user.additional_gids.empty()) {
    process["user"]["additionalGids"] = s.process.user.additional_gids;
  }
  if (s.process.user.umask) process["user"]["umask"] = *s.process.user.umask;
  const CapabilitySets& caps = s.process.capabilities;
  process["capabilities"] = {{"bounding", CapNames(caps.bounding)},
                             {"effective", CapNames(caps.effective)},
                             {"inheritable", CapNames(caps.inheritable)},
                             {"permitted", CapNames(caps.permitted)},
                             {"ambient", CapNames(caps.ambient)}};
  json rl = json::array();
  for (const RlimitSpec& r : s.process.rlimits) {
    rl.push_back({{"type", RlimitName(r.resource)}, {"hard", r.hard}, {"soft", r.soft}});
  }
  process["rlimits"] = rl;
  if (s.process.oom_score_adj) process["oomScoreAdj"] = *s.process.oom_score_adj;
  j["process"] = process;
  // The built-in sandbox's root is assembled by hive-run: for another runtime it is an empty
  // directory the mounts below fill (WriteBundle makes it).
  j["root"] = {{"path", s.root.path.empty() ? "rootfs" : s.root.path},
               {"readonly", s.root.readonly}};
  j["hostname"] = s.hostname;
  json mounts = json::array();
  mounts.push_back(Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(Mount("/dev/pts", "devpts", "devpts",
                         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
  mounts.push_back(
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(
      Mount("/tmp", "tmpfs", "tmpfs",
            {"nosuid", "nodev", "mode=1777", fmt::format("size={}", s.hive.tmp_size_mb << 20)}));
  for (const std::string& h : s.hive.root.host_binds) {
    mounts.push_back(Mount(h, "bind", h, {"rbind", "ro", "nosuid", "nodev"}));
  }
  for (const MountSpec& m : s.mounts) {
    std::vector<std::string> o = m.options;
    if (o.empty()) o = {m.read_only ? "ro" : "rw"};
    mounts.push_back(Mount(m.destination, m.type, m.source, o));
  }
  j["mounts"] = mounts;
  if (!s.hooks.empty()) {
    json hooks = json::object();
    for (auto [name, list] :
         {std::pair{"prestart", &s.hooks.prestart},
          std::pair{"createRuntime", &s.hooks.create_runtime},
          std::pair{"createContainer", &s.hooks.create_container},
          std::pair{"startContainer", &s.hooks.start_container},
          std::pair{"poststart", &s.hooks.poststart}, std::pair{"poststop", &s.hooks.poststop}}) {
      if (!list->empty()) hooks[name] = Hooks(*list);
    }
    j["hooks"] = hooks;
  }
  if (!s.annotations.empty()) j["annotations"] = s.annotations;

  json linux;
  linux["namespaces"] = json::array();
  for (const NamespaceSpec& n : s.linux.namespaces) {
    // The runtime-spec's way to share the host's namespace is to leave the type out.
    if (n.host) continue;
    json ns = {{"type", n.type}};
    if (!n.path.empty()) ns["path"] = n.path;
    linux["namespaces"].push_back(ns);
  }
  linux["uidMappings"] = Mappings(s.linux.uid_mappings);
  linux["gidMappings"] = Mappings(s.linux.gid_mappings);
  if (!s.linux.sysctl.empty()) linux["sysctl"] = s.linux.sysctl;
  linux["resources"] = Resources(s.linux.resources);
  if (!s.linux.cgroups_path.empty()) linux["cgroupsPath"] = s.linux.cgroups_path;
  if (!s.linux.seccomp_profile.empty()) {
    HIVE_ASSIGN_OR_RETURN(linux["seccomp"], SeccompJson(s));
  }
  linux["maskedPaths"] = s.linux.masked_paths;
  linux["readonlyPaths"] = s.linux.readonly_paths;
  if (!s.linux.rootfs_propagation.empty()) {
    linux["rootfsPropagation"] = s.linux.rootfs_propagation;
  }
  j["linux"] = linux;

  const HiveExtensions& h = s.hive;
  json files = json::object();
  for (const auto& [path, text] : h.root.files) files[path] = text;
  json symlinks = json::object();
  for (const auto& [link, target] : h.root.symlinks) symlinks[link] = target;
  j["hive"] = {
      {"run_id", h.run_id},
      {"timeout_seconds", h.timeout_seconds},
      {"cpu_seconds", h.cpu_seconds},
      {"tmp_size_mb", h.tmp_size_mb},
      {"root", {{"host_binds", h.root.host_binds}, {"symlinks", symlinks}, {"files", files}}},
      {"writable_paths", h.writable_paths},
      {"blocked_operations", h.blocked_operations},
      {"landlock_best_effort", h.landlock_best_effort},
      {"seccomp_profile", s.linux.seccomp_profile},
      {"network",
       {{"enabled", h.network.enabled},
        {"allowed_domains", h.network.allowed_domains},
        {"blocked_ports", h.network.blocked_ports},
        {"allowed_ports", h.network.allowed_ports},
        {"upstream_dns", h.network.upstream_dns},
        {"inspect_ports", h.network.inspect_ports}}},
      {"alert_thresholds",
       {{"cpu_usage", h.alert_thresholds.cpu_usage},
        {"memory_usage", h.alert_thresholds.memory_usage},
        {"execution_time", h.alert_thresholds.execution_time}}},
      {"owner", {{"uid", h.owner_uid}, {"gid", h.owner_gid}}},
      {"policy", {{"source", h.policy_source}, {"sha256", h.policy_sha256}}},
      {"warnings", h.warnings}};
  return j;
}

Status WriteBundle(const RunSpec& spec, const std::string& dir) {
  HIVE_ASSIGN_OR_RETURN(json config, RunSpecToOci(spec));
  HIVE_TRY(EnsureDir(dir, 0755));
  if (spec.root.path.empty()) {
    // The built-in root for another runtime: the directories the host binds and the mounts
    // land on, the symlinks and the small files; everything else is mounted over it.
    const std::string rootfs = dir + "/rootfs";
    HIVE_TRY(EnsureDir(rootfs, 0755));
    auto make_dir = [&](const std::string& inside) { return EnsureDir(rootfs + inside, 0755); };
    for (const std::string& h : spec.hive.root.host_binds) HIVE_TRY(make_dir(h));
    for (const auto& [link, target] : spec.hive.root.symlinks) {
      std::error_code ec;
      std::filesystem::remove(rootfs + link, ec);
      if (::symlink(target.c_str(), (rootfs + link).c_str()) != 0) {
        return Errno(fmt::format("symlink `{}`", rootfs + link));
      }
    }
    for (const char* d : {"/proc", "/dev", "/tmp", "/etc"}) HIVE_TRY(make_dir(d));
    for (const auto& [path, text] : spec.hive.root.files) {
      HIVE_TRY(WriteFileAtomic(rootfs + path, text, 0644));
    }
    for (const MountSpec& m : spec.mounts) {
      struct stat st;
      if (m.type == "bind" && ::stat(m.source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        const size_t slash = m.destination.rfind('/');
        HIVE_TRY(make_dir(m.destination.substr(0, slash)));
        if (::access((rootfs + m.destination).c_str(), F_OK) != 0) {
          HIVE_TRY(WriteFileAtomic(rootfs + m.destination, "", 0644));
        }
      } else {
        HIVE_TRY(make_dir(m.destination));
      }
    }
  }
  return WriteFileAtomic(dir + "/config.json", config.dump(2) + "\n", 0644);
}

}  // namespace hive
