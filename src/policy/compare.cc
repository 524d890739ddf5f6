// NoWeakerThan: whether one policy is at least as strict as another, field by field. A container
// may select a stricter policy than the node's (annotation org.hive-run.policy); this is what
// "stricter" means. One check per field that can loosen anything, in the policy file's order,
// each naming its key path and both values; the first weaker one is the answer.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "hive/policy.h"
#include "sandbox/net/allowlist.h"

namespace hive {
namespace {

Status Weaker(const std::string& key, const std::string& what) {
  return Error(Code::kPermissionDenied, fmt::format("{} {}", key, what));
}

// A limit where 0 means none: unlimited is larger than any number.
std::string Shown(double v) { return v == 0 ? "0 (unlimited)" : fmt::format("{}", v); }

Status Limit(const std::string& key, double chosen, double ceiling) {
  if (ceiling == 0) return Ok();
  if (chosen == 0 || chosen > ceiling) {
    return Weaker(key, fmt::format("{} > {}", Shown(chosen), Shown(ceiling)));
  }
  return Ok();
}

// A limit that has no "unlimited" value (max_open_files, tmp_size_mb).
Status Bounded(const std::string& key, uint64_t chosen, uint64_t ceiling) {
  if (chosen > ceiling) return Weaker(key, fmt::format("{} > {}", chosen, ceiling));
  return Ok();
}

// A switch that allows something when true.
Status Allows(const std::string& key, bool chosen, bool ceiling) {
  if (chosen && !ceiling) return Weaker(key, "true > false");
  return Ok();
}

template <typename T>
std::string List(const std::vector<T>& v) {
  return fmt::format("[{}]", fmt::join(v, ", "));
}

// Every entry of `chosen` is one of `ceiling`'s (what it allows, it may only narrow).
template <typename T>
Status Subset(const std::string& key, const std::vector<T>& chosen, const std::vector<T>& ceiling) {
  for (const T& v : chosen) {
    if (std::find(ceiling.begin(), ceiling.end(), v) == ceiling.end()) {
      return Weaker(key, fmt::format("has {}, not in {}", v, List(ceiling)));
    }
  }
  return Ok();
}

// Every entry of `ceiling` is one of `chosen`'s (what it forbids or checks, it may only widen).
template <typename T>
Status Superset(const std::string& key, const std::vector<T>& chosen,
                const std::vector<T>& ceiling) {
  for (const T& v : ceiling) {
    if (std::find(chosen.begin(), chosen.end(), v) == chosen.end()) {
      return Weaker(key, fmt::format("{} lacks {} of {}", List(chosen), v, List(ceiling)));
    }
  }
  return Ok();
}

bool Inside(const std::string& path, const std::string& dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

// Every path of `chosen` lies inside one of `within`'s.
Status PathsInside(const std::string& key, const std::vector<std::string>& chosen,
                   const std::vector<std::string>& within) {
  for (const std::string& p : chosen) {
    if (std::none_of(within.begin(), within.end(),
                     [&](const std::string& d) { return Inside(p, d); })) {
      return Weaker(key, fmt::format("has `{}`, not inside any of {}", p, List(within)));
    }
  }
  return Ok();
}

// The shipped seccomp profiles from loosest to strictest; "" is no profile at all.
int ProfileRank(const std::string& name) {
  if (name.empty() || name == "unconfined" || name == "none") return 0;
  if (name == "permissive") return 1;
  if (name == "default") return 2;
  if (name == "strict") return 3;
  return -1;  // a path, or a name hive-run does not ship: comparable only with itself
}

Status Seccomp(const std::string& key, const std::string& chosen, const std::string& ceiling) {
  if (chosen == ceiling) return Ok();
  const int a = ProfileRank(chosen), b = ProfileRank(ceiling);
  if (a >= 0 && b >= 0 && a >= b) return Ok();
  return Weaker(key, fmt::format("`{}` is not `{}` or stricter (permissive < default < strict; a "
                                 "path only as itself)",
                                 chosen, ceiling));
}

// Whether `ceiling`'s allowlist admits everything entry `d` does: a name it matches, a wildcard
// covered by one of its wildcards, an IP it lists; a CIDR only as written there (checked by the
// caller).
bool Covers(const net::Allowlist& ceiling, const std::string& d) {
  if (d.rfind("*.", 0) == 0) {
    // A name one label below the wildcard's suffix: matched by a wildcard of ceiling's only if
    // that wildcard covers every name the chosen one does.
    return ceiling.NameRule("x-hive-probe." + d.substr(2)).rfind("*.", 0) == 0;
  }
  net::IpAddress ip;
  if (net::ParseIp(d, &ip)) return !ceiling.AddressRule(ip).empty();
  if (d.find('/') != std::string::npos) return false;
  return !ceiling.NameRule(d).empty();
}

Status Domains(const std::string& key, const std::vector<std::string>& chosen,
               const std::vector<std::string>& ceiling) {
  if (chosen.empty()) return Ok();
  auto list = net::Allowlist::Parse(ceiling);
  if (!list.ok()) return list.status();
  for (const std::string& d : chosen) {
    if (std::find(ceiling.begin(), ceiling.end(), d) != ceiling.end() || Covers(*list, d)) continue;
    return Weaker(key, fmt::format("has {}, not allowed by {}", d, List(ceiling)));
  }
  return Ok();
}

Status Execution(const ExecutionLimits& c, const ExecutionLimits& n) {
  const std::string k = "security.execution.";
  HIVE_TRY(Limit(k + "timeout_seconds", c.timeout_seconds, n.timeout_seconds));
  HIVE_TRY(Limit(k + "cpu_seconds", static_cast<double>(c.cpu_seconds),
                 static_cast<double>(n.cpu_seconds)));
  HIVE_TRY(
      Limit(k + "memory_mb", static_cast<double>(c.memory_mb), static_cast<double>(n.memory_mb)));
  HIVE_TRY(Limit(k + "file_size_mb", static_cast<double>(c.file_size_mb),
                 static_cast<double>(n.file_size_mb)));
  HIVE_TRY(Limit(k + "max_processes", static_cast<double>(c.max_processes),
                 static_cast<double>(n.max_processes)));
  HIVE_TRY(Bounded(k + "max_open_files", c.max_open_files, n.max_open_files));
  HIVE_TRY(Limit(k + "cpus", c.cpus, n.cpus));
  HIVE_TRY(Limit(k + "io.read_bps", static_cast<double>(c.io_read_bps),
                 static_cast<double>(n.io_read_bps)));
  HIVE_TRY(Limit(k + "io.write_bps", static_cast<double>(c.io_write_bps),
                 static_cast<double>(n.io_write_bps)));
  HIVE_TRY(Bounded(k + "tmp_size_mb", c.tmp_size_mb, n.tmp_size_mb));
  return Ok();
}

Status Filesystem(const FilesystemPolicy& c, const FilesystemPolicy& n) {
  const std::string k = "security.filesystem.";
  HIVE_TRY(PathsInside(k + "allowed_paths", c.allowed_paths, n.allowed_paths));
  // A read-only bind exposes host files too: inside one of the ceiling's binds, either kind.
  std::vector<std::string> visible = n.read_only_paths;
  visible.insert(visible.end(), n.allowed_paths.begin(), n.allowed_paths.end());
  HIVE_TRY(PathsInside(k + "read_only_paths", c.read_only_paths, visible));
  HIVE_TRY(Superset(k + "blocked_operations", c.blocked_operations, n.blocked_operations));
  HIVE_TRY(Allows(k + "writable_rootfs", c.writable_rootfs, n.writable_rootfs));
  HIVE_TRY(Allows(k + "engine_files_writable", c.engine_files_writable, n.engine_files_writable));
  return Ok();
}

Status Network(const NetworkPolicy& c, const NetworkPolicy& n) {
  const std::string k = "security.network.";
  // No domain allowed: the sandbox has no network at all, and the ports, the inspection and
  // the resolver of a network it does not have loosen nothing.
  if (c.allowed_domains.empty()) return Ok();
  HIVE_TRY(Domains(k + "allowed_domains", c.allowed_domains, n.allowed_domains));
  HIVE_TRY(Superset(k + "blocked_ports", c.blocked_ports, n.blocked_ports));
  if (!n.allowed_ports.empty()) {
    if (c.allowed_ports.empty()) {
      return Weaker(k + "allowed_ports",
                    fmt::format("[] (every port) is wider than {}", List(n.allowed_ports)));
    }
    HIVE_TRY(Subset(k + "allowed_ports", c.allowed_ports, n.allowed_ports));
  }
  HIVE_TRY(Superset(k + "inspect_ports", c.inspect_ports, n.inspect_ports));
  // Another resolver can answer an allowed name with any address.
  if (std::set<std::string>(c.upstream_dns.begin(), c.upstream_dns.end()) !=
      std::set<std::string>(n.upstream_dns.begin(), n.upstream_dns.end())) {
    return Weaker(k + "upstream_dns",
                  fmt::format("{} is not {}", List(c.upstream_dns), List(n.upstream_dns)));
  }
  return Ok();
}

Status Process(const ProcessPolicy& c, const ProcessPolicy& n) {
  const std::string k = "security.process.";
  HIVE_TRY(Seccomp(k + "seccomp_profile", c.seccomp_profile, n.seccomp_profile));
  HIVE_TRY(Subset(k + "capabilities", c.capabilities, n.capabilities));
  HIVE_TRY(Allows(k + "allow_oci_hooks", c.allow_oci_hooks, n.allow_oci_hooks));
  // Each host namespace shared is one the container is not isolated in.
  HIVE_TRY(Subset(k + "host_namespaces", c.host_namespaces, n.host_namespaces));
  // Unset: any program of /usr; [] the built-in list of system programs; else those named.
  if (n.allowed_binaries) {
    if (!c.allowed_binaries) {
      return Weaker(k + "allowed_binaries",
                    fmt::format("unset (any program) is wider than {}", List(*n.allowed_binaries)));
    }
    if (c.allowed_binaries->empty() != n.allowed_binaries->empty()) {
      return Weaker(k + "allowed_binaries",
                    fmt::format("{} is not {} ([] is the built-in list)", List(*c.allowed_binaries),
                                List(*n.allowed_binaries)));
    }
    HIVE_TRY(Subset(k + "allowed_binaries", *c.allowed_binaries, *n.allowed_binaries));
    HIVE_TRY(PathsInside(k + "tools_dirs", c.tools_dirs, n.tools_dirs));
  }
  HIVE_TRY(Subset(k + "env.pass", c.env_pass, n.env_pass));
  return Ok();
}

}  // namespace

Status NoWeakerThan(const Policy& chosen, const Policy& ceiling) {
  HIVE_TRY(Execution(chosen.execution, ceiling.execution));
  HIVE_TRY(Filesystem(chosen.filesystem, ceiling.filesystem));
  HIVE_TRY(Network(chosen.network, ceiling.network));
  HIVE_TRY(Process(chosen.process, ceiling.process));
  HIVE_TRY(Allows("security.landlock.best_effort", chosen.landlock.best_effort,
                  ceiling.landlock.best_effort));
  // A script run is refused from the risk level `refuse_at` names up: unset refuses none.
  auto rank = [](const std::string& level) {
    const std::vector<std::string> order = {"", "critical", "high", "medium", "low"};
    return std::find(order.begin(), order.end(), level) - order.begin();
  };
  if (rank(chosen.analysis.refuse_at) < rank(ceiling.analysis.refuse_at)) {
    return Weaker(
        "security.analysis.refuse_at",
        fmt::format("{} refuses less than {}",
                    chosen.analysis.refuse_at.empty() ? "unset" : chosen.analysis.refuse_at,
                    ceiling.analysis.refuse_at));
  }
  return Ok();
}

}  // namespace hive
