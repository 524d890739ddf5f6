#include "runtime/report_builder.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

#include "base/files.h"

namespace hive {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

uint64_t ToMs(const struct timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
}

void ClassifyExit(int status, bool timed_out, bool interrupted, RunReport* r) {
  if (WIFEXITED(status)) {
    r->exit_code = WEXITSTATUS(status);
    r->outcome = r->exit_code == 0 ? Outcome::kSuccess : Outcome::kFailure;
  } else if (WIFSIGNALED(status)) {
    r->signal = WTERMSIG(status);
    r->outcome = Outcome::kSignaled;
    if (r->signal == SIGXCPU) {
      r->outcome = Outcome::kCpuLimit;
      r->killed_by = "cpu_limit";
    } else if (r->signal == SIGXFSZ) {
      r->outcome = Outcome::kFileSizeLimit;
      r->killed_by = "file_size_limit";
    }
  }
  if (timed_out) {
    r->outcome = Outcome::kTimeout;
    r->killed_by = "timeout";
  } else if (interrupted && r->killed_by.empty()) {
    r->killed_by = "interrupted";
  }
}

// Denials the listener counted: the report's violations, and one alert naming them.
void RecordDenials(const ContainerResult& c, RunReport* r) {
  if (c.denials_total == 0) return;
  std::string names;
  for (const seccomp::Denial& d : c.denials) {
    names += fmt::format("{}{} x{}", names.empty() ? "" : ", ", d.detail, d.count);
    r->violations.push_back({d.type, d.detail, d.count});
  }
  r->alerts.push_back({"violation",
                       fmt::format("{} denied system call{}: {}", c.denials_total,
                                   c.denials_total == 1 ? "" : "s", names),
                       static_cast<double>(c.denials_total), 0});
}

uint64_t SoftRlimit(const RunSpec& spec, int resource) {
  for (const RlimitSpec& r : spec.process.rlimits) {
    if (r.resource == resource) return r.soft;
  }
  return UINT64_MAX;
}

}  // namespace

ExecutionLimits LimitsOf(const RunSpec& spec) {
  ExecutionLimits l;
  const ResourcesSpec& r = spec.linux.resources;
  l.timeout_seconds = spec.hive.timeout_seconds;
  l.cpu_seconds = spec.hive.cpu_seconds;
  l.memory_mb =
      r.memory_limit && *r.memory_limit > 0 ? static_cast<uint64_t>(*r.memory_limit) / kMiB : 0;
  const uint64_t fsize = SoftRlimit(spec, RLIMIT_FSIZE);
  l.file_size_mb = fsize == UINT64_MAX ? 0 : fsize / kMiB;
  l.max_processes = r.pids_limit && *r.pids_limit > 0 ? static_cast<uint64_t>(*r.pids_limit) : 0;
  const uint64_t nofile = SoftRlimit(spec, RLIMIT_NOFILE);
  l.max_open_files = nofile == UINT64_MAX ? 0 : nofile;
  l.cpus = r.cpu_quota && *r.cpu_quota > 0 ? static_cast<double>(*r.cpu_quota) /
                                                 static_cast<double>(r.cpu_period.value_or(100000))
                                           : 0;
  l.io_read_bps = r.read_bps.empty() ? 0 : r.read_bps.front().rate;
  l.io_write_bps = r.write_bps.empty() ? 0 : r.write_bps.front().rate;
  l.tmp_size_mb = spec.hive.tmp_size_mb;
  return l;
}

void StartReport(const RunSpec& spec, RunReport* report) {
  report->run_id = spec.hive.run_id;
  report->command = spec.process.args;
  report->limits = LimitsOf(spec);
  report->policy = spec.hive.policy_source;
  report->policy_sha256 = spec.hive.policy_sha256;
}

void ReportEnforced(const RunSpec& spec, const Container& container, RunReport* report) {
  nlohmann::json& e = report->enforced;
  // Each namespace and whose it is: "new" (the run's own), "host" (hive-run's, shared by
  // security.process.host_namespaces) or "joined <path>" (a pod's, by linux.namespaces[].path).
  nlohmann::json namespaces = nlohmann::json::object();
  // A user namespace is never the host's; with a namespace joined by path it may be the one
  // that owns it (a pod's: sandbox/ns_join.h), which the spec alone does not tell.
  const bool joins_path = std::any_of(spec.linux.namespaces.begin(), spec.linux.namespaces.end(),
                                      [](const NamespaceSpec& n) {
                                        return !n.host && !n.path.empty();
                                      });
  const NamespaceSpec* net = nullptr;
  for (const NamespaceSpec& n : spec.linux.namespaces) {
    namespaces[n.type] = n.host             ? std::string("host")
                         : !n.path.empty()  ? "joined " + n.path
                         : n.type == "user" && joins_path
                             ? std::string("new, or the joined namespaces' owner")
                             : std::string("new");
    if (n.type == "network") net = &n;
  }
  e["namespaces"] = namespaces;
  e["rootfs"] = {{"read_only", spec.root.readonly},
                 {"writable_paths", spec.hive.writable_paths},
                 {"private_tmp_mb", spec.hive.tmp_size_mb}};
  e["capabilities"] = spec.process.capabilities.bounding;
  e["no_new_privs"] = spec.process.no_new_privileges;
  e["cgroup_notes"] = container.cgroup_warnings();
  e["landlock"] = LandlockEnforced(container.landlock());
  e["seccomp"] = SeccompEnforced(container.filter());
  // With the network off there is nothing to reach on any port: blocked_ports hold trivially.
  // The blocked ports hold in the run's own namespace only: off, there is nothing to reach on
  // any port; with allowed domains, the supervisor refuses them. A shared or joined namespace
  // is as its owner set it up.
  if (net != nullptr && net->host) {
    e["network"] = {{"mode", "host (the host's network namespace, shared by "
                             "security.process.host_namespaces; no privilege over it)"}};
  } else if (net != nullptr && !net->path.empty()) {
    e["network"] = {{"mode", fmt::format("joined ({}): the network its owner set up, inet "
                                         "sockets allowed",
                                         net->path)}};
  } else {
    e["network"] = {{"mode", spec.hive.network.enabled
                                 ? "allowed domains (own namespace, lo only; the supervisor "
                                   "resolves and connects on the sandbox's behalf)"
                                 : "off (own namespace, lo only)"},
                    {"blocked_ports", spec.hive.network.blocked_ports}};
  }
  if (spec.hive.network.enabled) {
    e["network"]["resolver"] = "127.0.0.53 in the sandbox; denied names NXDOMAIN, not forwarded";
    e["network"]["allowed_ports"] = spec.hive.network.allowed_ports;
    e["network"]["inspect_ports"] = spec.hive.network.inspect_ports;
    e["network"]["refused"] = {"UDP but DNS to the resolver", "raw and packet sockets",
                               "AF_VSOCK", "io_uring", "TCP Fast Open",
                               "private, loopback, link-local and metadata addresses"};
  }
}

void FinishReport(const RunSpec& spec, ContainerResult c, RunReport* r) {
  r->started_at = c.started_at;
  r->wall_ms = c.wall_ms;
  for (std::string& w : c.warnings) r->warnings.push_back(std::move(w));
  if (!c.denials_recorded && r->enforced.contains("seccomp")) {
    r->enforced["seccomp"]["denials_recorded"] = false;
  }
  RecordDenials(c, r);
  r->network = c.network;
  if (c.exec_failed) {
    r->outcome = Outcome::kFailure;
    r->exit_code = c.exec_errno == ENOENT || c.exec_errno == ENOTDIR ? 127 : 126;
    r->error = fmt::format("execve `{}`: {}", spec.process.args.at(0), strerror(c.exec_errno));
    return;
  }
  if (!c.ran) {
    // Setup did not complete: stopped by the timeout or an interrupt, or it failed.
    if (c.timed_out) {
      r->outcome = Outcome::kTimeout;
      r->killed_by = "timeout";
    } else if (c.interrupted) {
      r->outcome = Outcome::kSignaled;
      r->signal = c.interrupt_signal;
      r->killed_by = "interrupted";
    } else {
      r->outcome = Outcome::kSetupError;
    }
    r->error = c.setup_error.message();
    return;
  }
  ClassifyExit(c.wait_status, c.timed_out, c.interrupted, r);
  const ExecutionLimits& limits = r->limits;
  for (const std::string& name : c.captures_cut) {
    r->violations.push_back({"limit",
                             fmt::format("captured {} reached file_size_mb={} and was cut there",
                                         name, limits.file_size_mb),
                             1});
  }
  if (c.file_size_hits > 0) {
    // The write failed with EFBIG; a process that then fails failed at the limit.
    if (r->outcome == Outcome::kFailure) {
      r->outcome = Outcome::kFileSizeLimit;
      r->killed_by = "file_size_limit";
    }
    r->violations.push_back(
        {"limit",
         fmt::format("a write went past file_size_mb={} (EFBIG; the process ignores SIGXFSZ)",
                     limits.file_size_mb),
         c.file_size_hits});
  }
  r->usage.cpu_user_ms = ToMs(c.rusage.ru_utime);
  r->usage.cpu_system_ms = ToMs(c.rusage.ru_stime);
  r->usage.memory_peak_bytes = static_cast<uint64_t>(c.rusage.ru_maxrss) * 1024;
  if (c.cgroup) {
    // The cgroup's counters cover every process of the sandbox, not just the reaped ones
    // rusage sees; each replaces the rusage value where the cgroup measured it.
    const cgroups::Stats& st = *c.cgroup;
    if (st.cpu_usage_ns > 0) {
      r->usage.cpu_user_ms = st.cpu_user_ms;
      r->usage.cpu_system_ms = st.cpu_system_ms;
    }
    if (st.memory_peak_bytes > 0) r->usage.memory_peak_bytes = st.memory_peak_bytes;
    r->usage.pids_peak = st.pids_peak;
    r->usage.io_read_bytes = st.io_read_bytes;
    r->usage.io_write_bytes = st.io_write_bytes;
    if (!st.io_measured) {
      r->usage_unknown = {"io_read_bytes", "io_write_bytes"};
      r->usage_notes.push_back(
          "io_read_bytes, io_write_bytes: not measured (no blkio or io cgroup for this run: "
          "hive-run makes one only when io limits are set)");
    } else if (!st.io_buffered_writes_seen) {
      r->usage_notes.push_back(
          "io_write_bytes: direct and synchronous writes only (cgroup v1 blkio counts and "
          "throttles the writes the sandbox submits itself; buffered writes are written back "
          "later by the kernel, outside the sandbox's cgroup, and are not in this count)");
    }
    if (c.cpu_killed) {
      r->outcome = Outcome::kCpuLimit;
      r->killed_by = "cpu_limit";
      r->violations.push_back(
          {"limit",
           fmt::format("{:.2f} s of CPU used by the sandbox, cpu_seconds={}",
                       static_cast<double>(st.cpu_usage_ns) / 1e9, limits.cpu_seconds),
           1});
    } else if (!c.timed_out) {
      if (auto hit = ClassifyLimit(st, limits, r->exit_code, r->signal)) {
        r->outcome = hit->outcome;
        r->killed_by = hit->killed_by;
        r->violations.push_back({"limit", hit->detail, 1});
      }
    }
    // A limit that was hit without ending the run is still worth knowing.
    if (st.oom_killed && r->killed_by != "memory_limit") {
      r->violations.push_back({"limit",
                               fmt::format("OOM killer fired at memory_mb={}", limits.memory_mb),
                               st.oom_kill_count});
    }
    if (st.pids_limit_hit && r->killed_by != "pids_limit") {
      r->violations.push_back(
          {"limit", fmt::format("fork refused at max_processes={}", limits.max_processes), 1});
    }
  }
  for (Alert& a : AlertsFor(r->usage, limits, spec.hive.alert_thresholds, r->wall_ms)) {
    r->alerts.push_back(std::move(a));
  }
}

}  // namespace hive
