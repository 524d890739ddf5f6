// hive-run analyze [--policy P] [--json] [--fail-at LEVEL] FILE: static analysis, nothing runs.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli/audit_args.h"
#include "cli/commands.h"
#include "cli/run_options.h"
#include "hive/analyze.h"
#include "hive/policy.h"
#include "hive/run.h"

namespace hive::cli {
namespace {

constexpr const char* kUsage =
    "analyze: usage: hive-run analyze [--policy FILE] [--json] [--fail-at LEVEL] FILE";

void PrintHuman(const std::string& file, const analyze::Analysis& a) {
  int unlisted = 0;
  for (const auto& [severity, n] : a.unlisted) unlisted += n;
  const size_t total = a.findings.size() + static_cast<size_t>(unlisted);
  fmt::print("{}: risk {} ({} finding{}{})\n", file, a.risk_level, total, total == 1 ? "" : "s",
             unlisted > 0 ? fmt::format(", {} not listed", unlisted) : "");
  for (const std::string& e : a.syntax_errors) fmt::print("  syntax: {}:{}\n", file, e);
  for (const analyze::Finding& f : a.findings) {
    fmt::print("  {}:{}:{}: {} {}: {}\n", file, f.line, f.column, f.severity, f.type,
               f.description);
    fmt::print("      {}\n", f.code);
    fmt::print("      fix: {}\n", f.recommendation);
  }
  if (!a.compatibility) return;
  const analyze::Compatibility& c = *a.compatibility;
  fmt::print("compatibility with {}: {}/100, {}\n", c.policy, c.score,
             c.compatible ? (c.issues.empty() ? "compatible" : "compatible with warnings")
                          : "will not run as is");
  for (const analyze::CompatibilityIssue& i : c.issues) {
    std::string where = i.line > 0 ? fmt::format("{}:{}: ", file, i.line) : "";
    fmt::print("  {}{} {}: {}\n", where, i.severity, i.category, i.detail);
    fmt::print("      change {}: {}\n", i.policy_key, i.suggestion);
  }
}

}  // namespace

int AnalyzeCommand(int argc, char** argv) {
  // The global --state-dir and --quiet may come along; analysis uses neither.
  Result<AuditArgs> args = ParseAuditArgs(argc, argv, {"--policy", "--fail-at", "--state-dir"},
                                          {"--json", "--quiet", "--help", "-h"});
  if (!args.ok()) return Fail(fmt::format("analyze: {}\n{}", args.status().message(), kUsage));
  if (args->Has("--help") || args->Has("-h")) {
    std::puts(kUsage + 9);
    return 0;
  }
  if (args->positional.size() != 1) return Fail(kUsage);
  const std::string& file = args->positional[0];
  const std::string policy_path = args->Get("--policy");
  const std::string fail_at = args->Get("--fail-at");
  const bool json = args->Has("--json");
  if (!fail_at.empty() && analyze::RiskRank(fail_at) < 1) {
    return Fail(fmt::format("analyze: --fail-at: expected low, medium, high or critical, got `{}`",
                            fail_at));
  }
  std::optional<Policy> policy;
  if (!policy_path.empty()) {
    Result<Policy> p = LoadPolicyFile(policy_path);
    if (!p.ok()) return Fail(p.status().message());
    policy = std::move(*p);
  }
  Result<analyze::Analysis> a = analyze::AnalyzeFile(file, policy ? &*policy : nullptr);
  if (!a.ok()) return Fail(a.status().message());
  if (json) {
    nlohmann::json j = analyze::ToJson(*a);
    j["file"] = file;
    // What `script` would say, so that a client's validate_script agrees with a run: the
    // interpreter it would use (null when none is known) and the policy's refusal.
    if (Result<std::vector<std::string>> interp = InterpreterFor(file); interp.ok()) {
      j["interpreter"] = *interp;
    } else {
      j["interpreter"] = nullptr;
      j["interpreter_error"] = interp.status().message();
    }
    if (policy) j["refusal"] = analyze::RefusalFor(*a, *policy);
    std::cout << j.dump(2) << "\n";
  } else {
    PrintHuman(file, *a);
  }
  // --fail-at makes the verdict an exit status, for CI: 1 at or above the level.
  if (!fail_at.empty() && analyze::RiskRank(a->risk_level) >= analyze::RiskRank(fail_at)) return 1;
  return 0;
}

}  // namespace hive::cli
