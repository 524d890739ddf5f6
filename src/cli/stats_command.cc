// hive-run stats [--json]: executions, outcomes, violations, alerts and latency from the log.
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "audit/record.h"
#include "audit/stats.h"
#include "cli/audit_args.h"
#include "cli/commands.h"

namespace hive::cli {
namespace {

constexpr const char* kUsage =
    "usage: hive-run stats [--json] [--log F] [--state-dir DIR]\n"
    "  totals computed from the audit log (default <state>/audit.log); not a verification:\n"
    "  run `hive-run audit verify` for that\n";

std::string Counts(const std::map<std::string, uint64_t>& counts) {
  std::string out;
  for (const auto& [name, n] : counts)
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n);
  return out.empty() ? "none" : out;
}

}  // namespace

int StatsCommand(int argc, char** argv) {
  Result<AuditArgs> args =
      ParseAuditArgs(argc, argv, {"--state-dir", "--log"}, {"--json", "--help", "-h"});
  if (!args.ok()) return FailStatus("stats", args.status());
  if (args->Has("--help") || args->Has("-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!args->positional.empty()) {
    std::fputs(kUsage, stderr);
    return 125;
  }
  uint64_t skipped = 0;
  Result<std::vector<audit::ParsedRecord>> records = audit::ReadRecords(args->LogPath(), &skipped);
  // No log yet is a host that has run nothing: zero counts, not an error.
  if (!records.ok() && records.status().code() != Code::kNotFound) {
    return FailStatus("stats", records.status());
  }
  audit::Stats s =
      audit::ComputeStats(records.ok() ? records.value() : std::vector<audit::ParsedRecord>{});
  if (args->Has("--json")) {
    nlohmann::json j = audit::StatsToJson(s);
    j["log"] = args->LogPath();
    j["unreadable_lines"] = skipped;
    std::puts(j.dump(2).c_str());
    return 0;
  }
  std::string out = fmt::format(
      "log            {}\n"
      "executions     {} ({} ended abnormally)\n"
      "outcomes       {}\n"
      "violations     {}\n"
      "wall time      p50 {} ms, p95 {} ms\n"
      "cpu time       p50 {} ms, p95 {} ms\n",
      args->LogPath(), s.executions, s.abnormal, Counts(s.outcomes), Counts(s.violations),
      s.wall_ms.p50, s.wall_ms.p95, s.cpu_ms.p50, s.cpu_ms.p95);
  if (skipped)
    out += fmt::format("unreadable     {} lines (see `hive-run audit verify`)\n", skipped);
  out += "recent alerts";
  if (s.recent_alerts.empty()) out += "  none";
  for (const nlohmann::json& a : s.recent_alerts) {
    out += fmt::format("\n  {}  {}  {}: {}", a.value("time", ""), a.value("run_id", ""),
                       a.value("type", ""), a.value("message", ""));
  }
  std::puts(out.c_str());
  return 0;
}

}  // namespace hive::cli
