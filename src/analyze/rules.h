// The rule set: what makes a call, an import or a path a finding, with its severity and the
// fix to recommend. Rules see calls whose callee has been resolved through imports and
// aliases (see expressions.h), so they match `os.system` however the script spelled it.
//
//   RuleContext ctx(evaluator, source_lines, collected);
//   for (const CallSite& c : primary.calls) ApplyCallRules(c, ctx);
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "analyze/expressions.h"
#include "analyze/facts.h"
#include "analyze/source_lines.h"
#include "hive/analyze.h"

namespace hive::analyze {

// Findings listed of each severity; past that they are only counted (Analysis::unlisted).
// Enough to fix a script by; a generated script with a finding on every line would otherwise
// carry a few hundred bytes per finding, many times its own size.
constexpr size_t kMaxListedFindings = 200;
// Facts of each kind kept for the compatibility check, which reports one issue per fact.
constexpr size_t kMaxFacts = 1000;

// A path finding kept until the whole script is read: a later containment check
// (`p.resolve().is_relative_to(base)`, `commonpath`) on one of `guards` withdraws it.
// Past kMaxListedFindings only its type, severity and line are kept (`listed` false).
struct PendingFinding {
  Finding finding;
  std::set<std::string> guards;
  bool listed = true;
};

// Source code found in a string literal given to exec/eval/compile, read like the script.
struct NestedCode {
  std::string code;
  int line = 0;
  int col = 0;
};

struct Collected {
  // Lists `f`, or counts it in `unlisted` once kMaxListedFindings of its severity are listed.
  // `listable` false: counted, never listed (a finding kept without its text).
  void Add(Finding f, bool listable = true);

  std::vector<Finding> findings;
  std::map<std::string, int> unlisted;  // by severity
  std::vector<PendingFinding> path_findings;
  std::set<std::string> checked;  // variables that were given a containment check
  std::vector<NestedCode> nested;
  Facts facts;  // at most kMaxFacts of each kind

 private:
  std::map<std::string, size_t> listed_;  // by severity
  std::string last_unlisted_;             // "type@line", so a repeat on one line counts once
};

struct RuleContext {
  RuleContext(const Evaluator& e, const SourceLines& l, Collected& o) : ev(e), lines(l), out(o) {}

  const Evaluator& ev;
  const SourceLines& lines;  // the script's lines, for Finding::code
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
// `globals()[name]`, `sys.modules[name]`, `vars(builtins)[name]` with a computed name.
void ApplyLookupRules(const Lookup& lookup, RuleContext& ctx);
// Whether `module` ("os", "builtins", "importlib") holds a function that runs programs,
// Python code or native code (os.system, eval, import_module, ctypes.CDLL).
bool ReachesExecution(std::string_view module);
// Names a star import can bring into scope that some rule cares about ("os.system").
bool IsRuleTarget(std::string_view qual);
// Modules holding such names: the star imports worth remembering ("os", not "tkinter").
bool IsRuleModule(std::string_view module);

}  // namespace hive::analyze
