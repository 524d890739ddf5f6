// Risk scoring: one level and a 0..100 score for a whole script from its findings, and the
// refusal a policy's analysis.refuse_at makes of it (hive/analyze.h: RiskRank, RefusalFor).
//
// The level is the highest severity found — a single critical finding is a critical script,
// and many low ones never add up to high. The score grows with each finding's weight (low 2,
// medium 5, high 15, critical 30, capped at 100) so that two scripts at the same level can
// still be ranked.
#pragma once

#include <string>
#include <vector>

#include "hive/analyze.h"

namespace hive::analyze {

struct Risk {
  std::string level = "none";
  int score = 0;
};

Risk ScoreRisk(const std::vector<Finding>& findings);

}  // namespace hive::analyze
