// The rule set: what makes a call, an import or a path a finding, with its severity and the
// fix to recommend. Rules see calls whose callee has been resolved through imports and
// aliases (see expressions.h), so they match `os.system` however the script spelled it.
//
//   RuleContext ctx(evaluator, lines, collected);
//   for (const CallSite& c : primary.calls) ApplyCallRules(c, ctx);
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "analyze/expressions.h"
#include "analyze/facts.h"
#include "hive/analyze.h"

namespace hive::analyze {

// A path finding kept until the whole script is read: a later containment check
// (`p.resolve().is_relative_to(base)`, `commonpath`) on one of `guards` withdraws it.
struct PendingFinding {
  Finding finding;
  std::set<std::string> guards;
};

// Source code found in a string literal given to exec/eval/compile, read like the script.
struct NestedCode {
  std::string code;
  int line = 0;
  int col = 0;
};

struct Collected {
  std::vector<Finding> findings;
  std::vector<PendingFinding> path_findings;
  std::set<std::string> checked;  // variables that were given a containment check
  std::vector<NestedCode> nested;
  Facts facts;
};

struct RuleContext {
  RuleContext(const Evaluator& e, const std::vector<std::string>& l, Collected& o)
      : ev(e), lines(l), out(o) {}

  const Evaluator& ev;
  const std::vector<std::string>& lines;  // the script's lines, for Finding::code
  Collected& out;
  std::string target;          // the variable the current statement assigns, if any
  bool reported_path = false;  // a path finding was made in this statement
  int line_override = 0;       // code read from a string literal reports at the literal
  int col_override = 0;

  Finding Make(std::string type, std::string severity, size_t tok, std::string description,
               std::string recommendation) const;
  void Report(std::string type, std::string severity, size_t tok, std::string description,
              std::string recommendation) const;
  int Line(size_t tok) const;
};

void ApplyCallRules(const CallSite& call, RuleContext& ctx);
// `import ctypes`, `from cffi import FFI`: `module` is the imported module, `tok` the statement.
void ApplyImportRules(const std::string& module, size_t tok, RuleContext& ctx);
// Names a star import can bring into scope that some rule cares about ("os.system").
bool IsRuleTarget(std::string_view qual);

}  // namespace hive::analyze
