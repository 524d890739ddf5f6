#include "audit/stats.h"

#include <algorithm>
#include <cmath>

#include "hive/audit.h"

namespace hive::audit {
namespace {

uint64_t UnsignedAt(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// Outcomes of runs whose process ran to its own exit, or never started.
bool EndedNormally(const std::string& outcome) {
  return outcome == "success" || outcome == "failure" || outcome == "blocked";
}

}  // namespace

uint64_t Percentile(std::vector<uint64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

Stats ComputeStats(const std::vector<ParsedRecord>& records, size_t recent_alerts) {
  Stats s;
  std::vector<uint64_t> wall;
  std::vector<uint64_t> cpu;
  for (const ParsedRecord& r : records) {
    ++s.records;
    const nlohmann::json& b = r.body;
    if (r.event == "violation") {
      std::string type = b.value("type", std::string("unknown"));
      s.violations[type] += std::max<uint64_t>(UnsignedAt(b, "count"), 1);
      continue;
    }
    if (r.event != "run" && r.event != "refused") continue;
    ++s.executions;
    const std::string outcome = b.value("outcome", std::string("unknown"));
    ++s.outcomes[outcome];
    if (!EndedNormally(outcome)) ++s.abnormal;
    if (auto more = b.find("violations_truncated"); more != b.end() && more->is_object()) {
      if (auto by_type = more->find("by_type"); by_type != more->end() && by_type->is_object()) {
        for (const auto& [type, n] : by_type->items()) {
          if (n.is_number_unsigned()) s.violations[type] += n.get<uint64_t>();
        }
      }
    }
    // A refused run never started and a lost run's end was never seen: neither has a latency.
    if (r.event == "run" && outcome != kOutcomeSupervisorLost) {
      wall.push_back(UnsignedAt(b, "wall_ms"));
      auto usage = b.find("usage");
      if (usage != b.end() && usage->is_object()) {
        cpu.push_back(UnsignedAt(*usage, "cpu_user_ms") + UnsignedAt(*usage, "cpu_system_ms"));
      }
    }
    auto alerts = b.find("alerts");
    if (alerts == b.end() || !alerts->is_array()) continue;
    for (const nlohmann::json& a : *alerts) {
      nlohmann::json alert = a;
      alert["run_id"] = b.value("run_id", std::string());
      alert["time"] = r.time;
      alert["seq"] = r.seq;
      s.recent_alerts.push_back(std::move(alert));
    }
  }
  if (s.recent_alerts.size() > recent_alerts) {
    s.recent_alerts.erase(s.recent_alerts.begin(),
                          s.recent_alerts.end() - static_cast<std::ptrdiff_t>(recent_alerts));
  }
  s.wall_ms = {Percentile(wall, 50), Percentile(wall, 95)};
  s.cpu_ms = {Percentile(cpu, 50), Percentile(cpu, 95)};
  return s;
}

nlohmann::json StatsToJson(const Stats& s) {
  return {{"records", s.records},
          {"executions", s.executions},
          {"abnormal", s.abnormal},
          {"outcomes", s.outcomes},
          {"violations", s.violations},
          {"recent_alerts", s.recent_alerts},
          {"wall_ms", {{"p50", s.wall_ms.p50}, {"p95", s.wall_ms.p95}}},
          {"cpu_ms", {{"p50", s.cpu_ms.p50}, {"p95", s.cpu_ms.p95}}}};
}

}  // namespace hive::audit
