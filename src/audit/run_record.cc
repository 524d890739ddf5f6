// RecordRun: what of a RunReport goes into the audit log, and as which events.
//
// Everything a run can make large is capped here, so that one run's records fit in the space
// AuditLog::Reserve set aside before it ran (kRunReserveBytes): at most kMaxViolationRecords
// violation records of at most kMaxViolationRecordBytes each, and a run record of at most
// kMaxRecordBytes (Append shortens what is still too long).
#include <fmt/format.h>

#include <map>

#include "hive/audit.h"

namespace hive::audit {
namespace {

// The report itself (DESIGN §6), so that log and report never disagree on a field; minus its
// schema tag and its `audit` member, which points at this very record.
nlohmann::json RunFields(const RunReport& r) {
  nlohmann::json f = ReportToJson(r);
  f.erase("schema");
  f.erase("audit");
  return f;
}

Result<RecordRef> AppendRun(AuditLog& log, const std::string& run_id, const char* event,
                            nlohmann::json fields) {
  Result<RecordRef> ref = log.Append(event, std::move(fields));
  if (!ref.ok()) return ref.status().Wrap(fmt::format("audit run {}", run_id));
  return ref;
}

}  // namespace

Result<RecordRef> RecordRun(AuditLog& log, const RunReport& report) {
  const size_t listed = std::min(report.violations.size(), kMaxViolationRecords);
  for (size_t i = 0; i < listed; ++i) {
    const Violation& v = report.violations[i];
    Result<RecordRef> ref = log.Append(
        "violation",
        {{"run_id", report.run_id}, {"type", v.type}, {"detail", v.detail}, {"count", v.count}},
        kMaxViolationRecordBytes);
    if (!ref.ok()) return ref.status().Wrap(fmt::format("audit run {}", report.run_id));
  }
  nlohmann::json fields = RunFields(report);
  if (listed < report.violations.size()) {
    // A payload can provoke violations of as many kinds as it likes; their number must not
    // decide whether its run can be recorded. The rest are counted by type.
    fields["violations"].erase(fields["violations"].begin() + static_cast<std::ptrdiff_t>(listed),
                               fields["violations"].end());
    std::map<std::string, uint64_t> by_type;
    for (size_t i = listed; i < report.violations.size(); ++i) {
      by_type[report.violations[i].type] += std::max<uint64_t>(report.violations[i].count, 1);
    }
    fields["violations_truncated"] = {{"entries", report.violations.size() - listed},
                                      {"by_type", by_type}};
  }
  const char* event = report.outcome == Outcome::kBlocked ? "refused" : "run";
  return AppendRun(log, report.run_id, event, std::move(fields));
}

Result<RecordRef> RecordLostRun(AuditLog& log, const std::string& run_id, nlohmann::json known) {
  if (known.is_null()) known = nlohmann::json::object();
  if (!known.is_object()) {
    return Error(Code::kInvalidArgument,
                 fmt::format("audit lost run {}: what is known must be a JSON object", run_id));
  }
  known["run_id"] = run_id;
  known["outcome"] = std::string(kOutcomeSupervisorLost);
  // Nobody saw how the process ended: no code, no signal, no exit status.
  for (const char* name : {"exit_code", "signal", "exit_status"}) known[name] = nullptr;
  return AppendRun(log, run_id, "run", std::move(known));
}

}  // namespace hive::audit
