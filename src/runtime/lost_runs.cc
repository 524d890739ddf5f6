// RecordLostRuns: the audit record of a run whose supervisor died before writing it.
#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "base/files.h"
#include "hive/audit.h"
#include "hive/run.h"
#include "hive/state_dir.h"
#include "sandbox/cgroups/cgroups.h"
#include "runtime/live_run.h"

namespace hive {
namespace {

std::string Text(const nlohmann::json& info, const char* key, const std::string& fallback = "") {
  auto it = info.find(key);
  return it != info.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// What is known of a lost run: the run's own report when its supervisor lived to write one
// but not its record, else what the mark knew when the run started.
nlohmann::json Known(const nlohmann::json& info, bool* has_report) {
  if (auto it = info.find("unrecorded_report"); it != info.end() && it->is_object()) {
    *has_report = true;
    nlohmann::json f = *it;
    f.erase("schema");
    f["recorded_late"] = "its own supervisor could not write this record";
    return f;
  }
  *has_report = false;
  nlohmann::json f = {{"started_at", Text(info, "started_at")},
                      {"policy_sha256", Text(info, "policy_sha256")}};
  f["command"] = info.value("command", nlohmann::json::array());
  for (const char* key : {"script", "script_sha256", "bundle"}) {
    if (std::string v = Text(info, key); !v.empty()) f[key] = v;
  }
  f["error"] =
      fmt::format("the supervisor (pid {}) died before the run ended; its sandbox died with it",
                  info.value("supervisor_pid", 0));
  return f;
}

// Temporary files of an atomic write that the dead supervisor never renamed.
void RemoveTemporaries(const std::string& dir, const std::string& only_prefix = "") {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.find(".tmp.") == std::string::npos) continue;
    if (!only_prefix.empty() && name.rfind(only_prefix, 0) != 0) continue;
    ::unlinkat(::dirfd(d), name.c_str(), 0);
  }
  ::closedir(d);
}

}  // namespace

Status RecordLostRuns(const std::string& state_dir, audit::AuditLog* open_log,
                      std::vector<std::string>* recorded) {
  std::vector<LostRun> lost = FindLost(state_dir);
  if (lost.empty()) return Ok();
  // Their sandboxes died with their supervisors; their cgroups go now (a run in progress
  // holds its own, so only the dead runs' are removed).
  (void)cgroups::SweepStale();
  Status first;
  for (LostRun& run : lost) {
    const std::string log_path =
        Text(run.info, "audit_log", AbsolutePath(AuditLogPath("", state_dir), ""));
    const std::string key_dir = Text(run.info, "key_dir", state_dir + "/keys");
    std::optional<audit::AuditLog> own;
    audit::AuditLog* log = open_log;
    if (log == nullptr || log->path() != log_path) {
      auto opened = audit::AuditLog::Open(log_path, key_dir);
      if (!opened.ok()) {
        if (first.ok()) first = opened.status().Wrap(fmt::format("record lost run {}", run.run_id));
        continue;  // the mark stays for a hive-run that can write that log
      }
      own.emplace(std::move(opened).value());
      log = &*own;
    }
    bool has_report = false;
    nlohmann::json fields = Known(run.info, &has_report);
    auto ref =
        has_report ? log->Append("run", fields) : audit::RecordLostRun(*log, run.run_id, fields);
    if (!ref.ok()) {
      if (first.ok()) first = ref.status().Wrap(fmt::format("record lost run {}", run.run_id));
      continue;
    }
    // Its run directory says what became of it, for `runs list` and `runs show`.
    const std::string logs = state_dir + "/runs/" + run.run_id + "/logs";
    struct stat st;
    if (::stat(logs.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      RemoveTemporaries(logs);
      if (::access((logs + "/execution.json").c_str(), F_OK) != 0) {
        nlohmann::json report = fields;
        report["schema"] = "hive-run/report/v1";
        report["run_id"] = run.run_id;
        if (!has_report) report["outcome"] = std::string(audit::kOutcomeSupervisorLost);
        (void)WriteFileAtomic(logs + "/execution.json", report.dump(2) + "\n", 0644, Sync::kNoSync);
      }
    }
    if (std::string report = Text(run.info, "report"); !report.empty()) {
      const size_t slash = report.rfind('/');
      const std::string name = report.substr(slash + 1);
      RemoveTemporaries(slash == std::string::npos ? "." : report.substr(0, slash),
                        fmt::format("{}.tmp.{}", name, run.info.value("supervisor_pid", 0)));
    }
    if (recorded) recorded->push_back(run.run_id);
    run.Done();
  }
  return first;
}

}  // namespace hive
