// hive::analyze: static analysis of a Python script before it runs.
//
// Telemetry, never the boundary (the sandbox is). A real Python tokenizer feeds rules that
// follow imports and aliases (`import subprocess as sp`, `from os import system as s`), so a
// finding names the line and column of the call that matters, and words in strings,
// comments and docstrings — or methods that merely share a name with `eval` — are never
// findings. Given a policy, the analysis also says what the script will hit under it.
//
//   hive::Result<hive::analyze::Analysis> a = hive::analyze::AnalyzeFile("job.py", &policy);
//   if (!a.ok()) return a.status();
//   for (const hive::analyze::Finding& f : a->findings)
//     fmt::print("{}:{} {} {}\n", f.line, f.column, f.severity, f.description);
//   if (hive::analyze::RiskRank(a->risk_level) >= hive::analyze::RiskRank("high")) ...
//   nlohmann::json j = hive::analyze::ToJson(*a);  // schema "hive-run/analysis/v1"
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hive/policy.h"
#include "hive/status.h"

namespace hive::analyze {

// The analyzer reads at most this much of a script: it runs before the sandbox exists, so
// nothing else bounds its time and memory (tens of bytes per byte read at worst, a few for
// ordinary code). Hand-written Python stays far below it — the largest modules of the
// standard library are a few hundred KiB — and what grows past it is data pasted in.
//
// A longer script is analyzed up to the last line end within the limit and gets a finding,
// `analysis_incomplete`, at the first line not read. Its severity is `high`: what is not
// read can hold anything, `os.system` included, so a policy that refuses high-risk code
// (security.analysis.refuse_at: high, medium or low) refuses a script it cannot read to the
// end rather than pass what it hides; a policy without refuse_at (the built-in one) or with
// refuse_at: critical runs it, with the finding in its report. Not `critical`, which is kept
// for what is known to be dangerous (injection, hidden payloads, native calls).
inline constexpr size_t kMaxAnalyzedBytes = size_t{4} << 20;

struct Finding {
  std::string type;      // "dynamic_code_execution", "os_command_execution", ...
  std::string severity;  // "low", "medium", "high", "critical"
  int line = 0;          // 1-based
  int column = 0;        // 1-based, in characters
  std::string code;      // the source line, trimmed
  std::string description;
  std::string recommendation;
};

// One thing the script does that the policy will stop or may stop.
struct CompatibilityIssue {
  std::string category;  // "network", "filesystem", "processes", "operations", "timeout",
                         // "analysis"
  std::string severity;  // "blocking": will fail under the policy; "warning": may fail
  int line = 0;
  std::string detail;
  std::string policy_key;  // the key to change, "security.network.allowed_domains"
  std::string suggestion;
};

struct Compatibility {
  std::string policy;      // the policy's source
  int score = 100;         // compatibility_score: 100 minus 25 per blocking, 10 per warning issue
  bool compatible = true;  // no blocking issue
  std::vector<CompatibilityIssue> issues;
};

struct Analysis {
  std::vector<Finding> findings;        // in source order; at most 200 of each severity are listed
  std::map<std::string, int> unlisted;  // findings past that, by severity
  std::string risk_level = "none";      // none, low, medium, high, critical
  int risk_score = 0;                   // 0..100, grows with the number and weight of findings
  std::vector<std::string> syntax_errors;      // "12:5: unterminated string"; analysis continues
  std::optional<Compatibility> compatibility;  // when a policy was given
};

// `working_dir` resolves the script's relative paths for the compatibility check (default:
// the current directory).
Analysis AnalyzePython(std::string_view source, const Policy* policy = nullptr,
                       const std::string& working_dir = "");
Result<Analysis> AnalyzeFile(const std::string& path, const Policy* policy = nullptr);

nlohmann::json ToJson(const Analysis& analysis);

// none=0, low=1, medium=2, high=3, critical=4; -1 for anything else.
int RiskRank(std::string_view level);

// For the run pipeline (`hive-run script`): whether an interpreter runs Python (python3,
// /usr/bin/python3.11, pypy3), and why `policy` refuses a script with this analysis — its
// security.analysis.refuse_at reached — or "" when it may run.
bool IsPythonInterpreter(std::string_view program);
std::string RefusalFor(const Analysis& analysis, const Policy& policy);

}  // namespace hive::analyze
