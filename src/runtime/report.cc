#include "hive/report.h"

namespace hive {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kSuccess: return "success";
    case Outcome::kFailure: return "failure";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kMemoryLimit: return "memory_limit";
    case Outcome::kCpuLimit: return "cpu_limit";
    case Outcome::kPidsLimit: return "pids_limit";
    case Outcome::kFileSizeLimit: return "file_size_limit";
    case Outcome::kSignaled: return "signaled";
    case Outcome::kSetupError: return "setup_error";
    case Outcome::kBlocked: return "blocked";
    case Outcome::kSupervisorLost: return "supervisor_lost";
  }
  return "unknown";
}

nlohmann::json UsageToJson(const Usage& u) {
  return {{"cpu_user_ms", u.cpu_user_ms},
          {"cpu_system_ms", u.cpu_system_ms},
          {"memory_peak_bytes", u.memory_peak_bytes},
          {"pids_peak", u.pids_peak},
          {"io_read_bytes", u.io_read_bytes},
          {"io_write_bytes", u.io_write_bytes}};
}

nlohmann::json LimitsToJson(const ExecutionLimits& l) {
  return {{"timeout_seconds", l.timeout_seconds},
          {"cpu_seconds", l.cpu_seconds},
          {"memory_mb", l.memory_mb},
          {"file_size_mb", l.file_size_mb},
          {"max_processes", l.max_processes},
          {"max_open_files", l.max_open_files},
          {"cpus", l.cpus},
          {"io", {{"read_bps", l.io_read_bps}, {"write_bps", l.io_write_bps}}},
          {"tmp_size_mb", l.tmp_size_mb}};
}

nlohmann::json ReportToJson(const RunReport& r) {
  using nlohmann::json;
  json j;
  j["schema"] = "hive-run/report/v1";
  j["run_id"] = r.run_id;
  if (!r.bundle.empty()) j["bundle"] = r.bundle;
  if (!r.script.empty()) j["script"] = r.script;
  if (!r.kubernetes.empty()) {
    j["kubernetes"] = {{"pod", r.kubernetes.pod},
                       {"namespace", r.kubernetes.pod_namespace},
                       {"container", r.kubernetes.container},
                       {"kind", r.kubernetes.kind}};
  }
  j["command"] = r.command;
  j["outcome"] = OutcomeName(r.outcome);
  j["exit_code"] = r.exit_code >= 0 ? json(r.exit_code) : json(nullptr);
  j["signal"] = r.signal > 0 ? json(r.signal) : json(nullptr);
  j["exit_status"] = ExitStatusFor(r);
  if (!r.killed_by.empty()) j["killed_by"] = r.killed_by;
  if (!r.error.empty()) j["error"] = r.error;
  j["started_at"] = r.started_at;
  j["wall_ms"] = r.wall_ms;
  j["usage"] = UsageToJson(r.usage);
  for (const std::string& name : r.usage_unknown) j["usage"][name] = nullptr;
  if (!r.usage_notes.empty()) j["usage_notes"] = r.usage_notes;
  j["limits"] = LimitsToJson(r.limits);
  j["violations"] = json::array();
  for (const Violation& v : r.violations) {
    j["violations"].push_back({{"type", v.type}, {"detail", v.detail}, {"count", v.count}});
  }
  j["alerts"] = json::array();
  for (const Alert& a : r.alerts) {
    j["alerts"].push_back({{"type", a.type},
                           {"message", a.message},
                           {"value", a.value},
                           {"threshold", a.threshold}});
  }
  j["warnings"] = r.warnings;
  j["enforced"] = r.enforced;
  if (!r.network.is_null()) j["network"] = r.network;
  j["script_sha256"] = r.script_sha256.empty() ? json(nullptr) : json(r.script_sha256);
  if (!r.policy.empty()) j["policy"] = r.policy;
  j["policy_sha256"] = r.policy_sha256;
  if (!r.static_analysis.is_null()) j["static_analysis"] = r.static_analysis;
  if (r.audit.seq > 0) {
    j["audit"] = {{"log", r.audit.log}, {"seq", r.audit.seq}, {"hash", r.audit.hash}};
  } else {
    j["audit"] = nullptr;
  }
  return j;
}

int ExitStatusFor(const RunReport& r) {
  switch (r.outcome) {
    case Outcome::kSetupError:
    case Outcome::kBlocked:
    case Outcome::kSupervisorLost:
      return 125;
    case Outcome::kTimeout:
      return 124;
    default:
      break;
  }
  if (r.signal > 0) return 128 + r.signal;
  if (r.exit_code >= 0) return r.exit_code;
  return 125;
}

}  // namespace hive
