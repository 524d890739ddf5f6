// Execution statistics computed from the audit log (`hive-run stats`; the seeds'
// get_security_stats): counts, outcomes, violations, recent alerts and latency percentiles.
//
//   HIVE_ASSIGN_OR_RETURN(auto records, hive::audit::ReadRecords(log, &skipped));
//   nlohmann::json j = hive::audit::StatsToJson(hive::audit::ComputeStats(records));
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/record.h"

namespace hive::audit {

struct Percentiles {
  uint64_t p50 = 0;
  uint64_t p95 = 0;
};

struct Stats {
  uint64_t records = 0;
  uint64_t executions = 0;  // run and refused records
  // Executions that did not end with the process's own exit: stopped at a limit, killed by a
  // signal, failed in setup, or cut off when their supervisor died (supervisor_lost).
  uint64_t abnormal = 0;
  std::map<std::string, uint64_t> outcomes;
  // By type, summing each record's count and what a run record counts without listing.
  std::map<std::string, uint64_t> violations;
  std::vector<nlohmann::json> recent_alerts;  // newest last, each with run_id and time
  Percentiles wall_ms;
  Percentiles cpu_ms;  // user + system
};

// Nearest-rank percentile (0 < p <= 100) of `values`; 0 for none.
uint64_t Percentile(std::vector<uint64_t> values, double p);

Stats ComputeStats(const std::vector<ParsedRecord>& records, size_t recent_alerts = 10);
nlohmann::json StatsToJson(const Stats& stats);

}  // namespace hive::audit
