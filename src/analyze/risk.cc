#include "analyze/risk.h"

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
