#include "hive/spec_json.h"

#include <sys/resource.h>

#include "hive/report.h"

namespace hive {
namespace {

const char* RlimitName(int r) {
  switch (r) {
    case RLIMIT_CPU: return "RLIMIT_CPU";
    case RLIMIT_FSIZE: return "RLIMIT_FSIZE";
    case RLIMIT_NOFILE: return "RLIMIT_NOFILE";
    case RLIMIT_CORE: return "RLIMIT_CORE";
    case RLIMIT_NPROC: return "RLIMIT_NPROC";
    case RLIMIT_AS: return "RLIMIT_AS";
    case RLIMIT_STACK: return "RLIMIT_STACK";
    default: return "RLIMIT_UNKNOWN";
  }
}

nlohmann::json Mappings(const std::vector<IdMapping>& maps) {
  nlohmann::json out = nlohmann::json::array();
  for (const IdMapping& m : maps) {
    out.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
  }
  return out;
}

}  // namespace

nlohmann::json RunSpecToOci(const RunSpec& s) {
  using nlohmann::json;
  json j;
  j["ociVersion"] = "1.0.2";
  j["process"] = {{"terminal", s.process.terminal},
                  {"user", {{"uid", s.process.uid}, {"gid", s.process.gid}}},
                  {"args", s.process.args},
                  {"env", s.process.env},
                  {"cwd", s.process.cwd},
                  {"noNewPrivileges", true}};
  json rl = json::array();
  for (const RlimitSpec& r : s.process.rlimits) {
    rl.push_back({{"type", RlimitName(r.resource)}, {"hard", r.hard}, {"soft", r.soft}});
  }
  j["process"]["rlimits"] = rl;
  j["root"] = {{"path", s.root.bundle_rootfs.empty() ? "<built-in tmpfs root>" : s.root.bundle_rootfs},
               {"readonly", s.root.read_only}};
  j["hostname"] = s.hostname;
  json mounts = json::array();
  mounts.push_back({{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}});
  mounts.push_back({{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                    {"options", {"nosuid", "noexec", "mode=755", "size=65536"}}});
  mounts.push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                    {"options", {"nosuid", "nodev", "mode=1777",
                                 "size=" + std::to_string(s.limits.tmp_size_mb << 20)}}});
  for (const std::string& h : s.root.host_binds) {
    mounts.push_back({{"destination", h}, {"type", "bind"}, {"source", h},
                      {"options", {"rbind", "ro", "nosuid", "nodev"}}});
  }
  for (const MountSpec& m : s.mounts) {
    json o = m.options;
    if (o.empty()) o = json::array({m.read_only ? "ro" : "rw"});
    mounts.push_back({{"destination", m.destination}, {"type", m.type}, {"source", m.source},
                      {"options", o}});
  }
  j["mounts"] = mounts;
  json linux;
  linux["namespaces"] = json::array();
  for (const char* n : {"user", "mount", "pid", "network", "uts", "ipc", "cgroup"}) {
    linux["namespaces"].push_back({{"type", n}});
  }
  linux["uidMappings"] = Mappings(s.uid_mappings);
  linux["gidMappings"] = Mappings(s.gid_mappings);
  linux["maskedPaths"] = s.masked_paths;
  linux["readonlyPaths"] = s.readonly_paths;
  json res = json::object();
  if (s.limits.memory_mb) res["memory"] = {{"limit", s.limits.memory_mb << 20}, {"swap", s.limits.memory_mb << 20}};
  if (s.limits.max_processes) res["pids"] = {{"limit", s.limits.max_processes}};
  if (s.limits.cpus > 0) {
    res["cpu"] = {{"quota", static_cast<int64_t>(s.limits.cpus * 100000)}, {"period", 100000}};
  }
  linux["resources"] = res;
  if (!s.cgroups_path.empty()) linux["cgroupsPath"] = s.cgroups_path;
  j["linux"] = linux;
  j["hive"] = {{"run_id", s.run_id},
               {"limits", LimitsToJson(s.limits)},
               {"writable_paths", s.writable_paths},
               {"blocked_operations", s.blocked_operations},
               {"seccomp_profile", s.seccomp_profile},
               {"landlock_best_effort", s.landlock_best_effort},
               {"network", s.network},
               {"blocked_ports", s.blocked_ports},
               {"owner", {{"uid", s.owner_uid}, {"gid", s.owner_gid}}},
               {"policy", {{"source", s.policy_source}, {"sha256", s.policy_sha256}}},
               {"warnings", s.warnings}};
  return j;
}

}  // namespace hive
