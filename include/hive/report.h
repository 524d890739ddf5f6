// hive::RunReport: what happened in one run (DESIGN §6, schema `hive-run/report/v1`).
//
// Filled by the supervisor from the exit status, wait4 rusage, the cgroup's counters and the
// seccomp listener — never from anything the sandbox can write.
//
//   hive::RunReport r = ...;
//   nlohmann::json j = hive::ReportToJson(r);
//   int status = hive::ExitStatusFor(r);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hive/policy.h"

namespace hive {

enum class Outcome {
  kSuccess,
  kFailure,
  kTimeout,
  kMemoryLimit,
  kCpuLimit,
  kPidsLimit,
  kFileSizeLimit,
  kSignaled,
  kSetupError,
  kBlocked,
  kSupervisorLost,  // recorded by a later hive-run: the supervisor died before the run ended
};

const char* OutcomeName(Outcome o);

struct Usage {
  uint64_t cpu_user_ms = 0;
  uint64_t cpu_system_ms = 0;
  uint64_t memory_peak_bytes = 0;
  uint64_t pids_peak = 0;
  uint64_t io_read_bytes = 0;
  uint64_t io_write_bytes = 0;
};

struct Violation {
  std::string type;    // "syscall", "blocked_operation", "landlock", "limit"
  std::string detail;  // "ptrace", "unlinkat (delete)"
  uint64_t count = 0;
};

struct Alert {
  std::string type;  // "cpu_usage", "memory_usage", "execution_time", "violation"
  std::string message;
  double value = 0;
  double threshold = 0;
};

struct RunReport {
  std::string run_id;
  std::string bundle;  // bundle dir, or empty
  std::string script;  // script path, or empty
  std::vector<std::string> command;
  Outcome outcome = Outcome::kSetupError;
  int exit_code = -1;  // the process's own code, -1 when it did not exit
  int signal = 0;      // signal that ended it, 0 if none
  std::string killed_by;  // which limit or event killed it ("timeout", "memory_limit", ...)
  std::string error;      // setup error text ("mount /proc: Operation not permitted")
  std::string started_at;  // RFC 3339
  uint64_t wall_ms = 0;
  Usage usage;
  ExecutionLimits limits;
  std::vector<Violation> violations;
  std::vector<Alert> alerts;
  std::vector<std::string> warnings;  // weakened or unenforced isolation, spelled out
  // Usage counters the kernel could not give for this run: null in the report, and why.
  std::vector<std::string> usage_unknown;  // "io_read_bytes", "io_write_bytes"
  std::vector<std::string> usage_notes;
  nlohmann::json enforced = nlohmann::json::object();  // layers applied, by name
  // Allowed domains: {allowed_domains, connections, dns}; null when the network is off.
  nlohmann::json network;
  std::string script_sha256;
  // The policy the run was held to: its file, or "<built-in NAME>" for one compiled in (a
  // container's own choice among them included: annotation org.hive-run.policy).
  std::string policy;
  std::string policy_sha256;
  // The Kubernetes objects a container run belongs to, from containerd's CRI annotations;
  // all empty outside Kubernetes.
  struct KubernetesRef {
    std::string pod, pod_namespace, container, kind;  // kind: "sandbox" or "container"
    bool empty() const { return pod.empty() && pod_namespace.empty() && container.empty(); }
  } kubernetes;
  nlohmann::json static_analysis;  // null when not run
  struct AuditRef {
    std::string log;
    uint64_t seq = 0;
    std::string hash;
  } audit;
};

nlohmann::json ReportToJson(const RunReport& r);
nlohmann::json LimitsToJson(const ExecutionLimits& l);
nlohmann::json UsageToJson(const Usage& u);

// DESIGN §4: own exit code, 128+N on signal N, 124 timeout, 125 setup error/refused,
// 126 not executable, 127 not found.
int ExitStatusFor(const RunReport& r);

}  // namespace hive
