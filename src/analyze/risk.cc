#include "analyze/risk.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace hive::analyze {
namespace {

constexpr std::array<std::string_view, 5> kLevels = {"none", "low", "medium", "high", "critical"};
constexpr std::array<int, 5> kWeights = {0, 2, 5, 15, 30};

}  // namespace

int RiskRank(std::string_view level) {
  for (size_t i = 0; i < kLevels.size(); ++i) {
    if (kLevels[i] == level) return static_cast<int>(i);
  }
  return -1;
}

bool IsPythonInterpreter(std::string_view program) {
  std::string_view name = program.substr(program.find_last_of('/') + 1);
  return name.substr(0, 6) == "python" || name.substr(0, 4) == "pypy";
}

std::string RefusalFor(const Analysis& analysis, const Policy& policy) {
  const std::string& at = policy.analysis.refuse_at;
  if (at.empty() || RiskRank(at) < 1 || RiskRank(analysis.risk_level) < RiskRank(at)) return "";
  std::string why =
      fmt::format("static analysis: risk {} reaches security.analysis.refuse_at ({}) of `{}`",
                  analysis.risk_level, at, policy.source);
  // Name the worst finding; `hive-run analyze` lists them all.
  const Finding* worst = nullptr;
  for (const Finding& f : analysis.findings) {
    if (!worst || RiskRank(f.severity) > RiskRank(worst->severity)) worst = &f;
  }
  if (worst) why += fmt::format("; line {}: {}", worst->line, worst->description);
  return why;
}

Risk ScoreRisk(const std::vector<Finding>& findings) {
  int top = 0;
  int score = 0;
  for (const Finding& f : findings) {
    int rank = std::max(RiskRank(f.severity), 0);
    top = std::max(top, rank);
    score += kWeights[static_cast<size_t>(rank)];
  }
  return Risk{std::string(kLevels[static_cast<size_t>(top)]), std::min(score, 100)};
}

}  // namespace hive::analyze
