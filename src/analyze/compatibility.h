// Policy compatibility (the seeds' migration analysis): what a script will run into under a
// given policy — the network when the policy has none, files outside allowed_paths,
// subprocesses beyond max_processes, blocked operations, sleeps past the timeout, a risk
// level the policy refuses — each with the policy key to change.
//
//   Compatibility c = CheckCompatibility(facts, risk_level, policy, "/home/me/project");
//   c.score;  // 100 minus 25 per blocking issue and 10 per warning
#pragma once

#include <string>

#include "analyze/facts.h"
#include "hive/analyze.h"
#include "hive/policy.h"

namespace hive::analyze {

// Relative paths in the script resolve against `working_dir` ("" = the current directory).
Compatibility CheckCompatibility(const Facts& facts, const std::string& risk_level,
                                 const Policy& policy, const std::string& working_dir);

}  // namespace hive::analyze
