// RecordRun: what of a RunReport goes into the audit log, and as which events.
#include <fmt/format.h>

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

}  // namespace

Result<RecordRef> RecordRun(AuditLog& log, const RunReport& report) {
  for (const Violation& v : report.violations) {
    Result<RecordRef> ref = log.Append(
        "violation",
        {{"run_id", report.run_id}, {"type", v.type}, {"detail", v.detail}, {"count", v.count}});
    if (!ref.ok()) return ref.status().Wrap(fmt::format("audit run {}", report.run_id));
  }
  const char* event = report.outcome == Outcome::kBlocked ? "refused" : "run";
  Result<RecordRef> ref = log.Append(event, RunFields(report));
  if (!ref.ok()) return ref.status().Wrap(fmt::format("audit run {}", report.run_id));
  return ref;
}

}  // namespace hive::audit
