// The driver: reads a script statement by statement, keeping the symbol table current,
// hands every call to the rule set, and turns what the rules collected into an Analysis.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <tuple>

#include "analyze/compatibility.h"
#include "analyze/expressions.h"
#include "analyze/risk.h"
#include "analyze/rules.h"
#include "analyze/source_lines.h"
#include "analyze/tokenizer.h"
#include "base/files.h"
#include "base/unique_fd.h"
#include "hive/analyze.h"

namespace hive::analyze {
namespace {

// exec("exec('...')") nests; a few levels cover real scripts and bound hostile ones.
constexpr int kMaxNestedCode = 4;

bool IsName(const Evaluator& ev, size_t i, std::string_view text) {
  return ev.At(i).kind == TokenKind::kName && ev.At(i).text == text;
}

class ScriptReader {
 public:
  explicit ScriptReader(std::string_view source) : source_(source), lines_(source) {
    symbols_.SetKnownQualified(&IsRuleTarget, &IsRuleModule);
  }

  // The whole script, a logical line at a time; returns its syntax errors. `truncated`: the
  // source is the first part of a longer script.
  std::vector<std::string> ReadScript(bool truncated) {
    return ReadSource(source_, truncated, nullptr, 0);
  }

  const SourceLines& lines() const { return lines_; }

  std::vector<std::string> ReadSource(std::string_view source, bool truncated,
                                      const NestedCode* nested, int depth) {
    TokenReader reader(source, truncated);
    std::vector<Token> line;
    while (reader.Next(&line)) Read(line, /*expression_only=*/false, nested, depth);
    return reader.errors();
  }

  void Read(const std::vector<Token>& toks, bool expression_only, const NestedCode* nested,
            int depth) {
    Evaluator ev(toks, symbols_);
    size_t begin = 0;
    for (size_t i = 0; i < toks.size(); ++i) {
      const Token& t = toks[i];
      bool end = t.kind == TokenKind::kNewline || t.kind == TokenKind::kEnd ||
                 (t.kind == TokenKind::kOp && t.text == ";");
      if (!end) continue;
      if (i > begin) Statement(ev, {begin, i}, expression_only, nested, depth);
      begin = i + 1;
    }
  }

  std::vector<Finding> Findings() {
    // A containment check on a variable also covers what it was computed from
    // (`abs = p.resolve(); abs.is_relative_to(base)` covers `p`).
    std::set<std::string> covered = symbols_.WithDeps(out_.checked);
    for (PendingFinding& p : out_.path_findings) {
      bool guarded = std::any_of(p.guards.begin(), p.guards.end(),
                                 [&](const std::string& g) { return covered.count(g) > 0; });
      if (!guarded) out_.Add(std::move(p.finding), p.listed);
    }
    std::vector<Finding> findings = std::move(out_.findings);
    auto key = [](const Finding& f) { return std::tie(f.line, f.column, f.type); };
    std::stable_sort(findings.begin(), findings.end(),
                     [&](const Finding& a, const Finding& b) { return key(a) < key(b); });
    // One finding per type and line: a path joined and opened on one line is one problem.
    auto same = [](const Finding& a, const Finding& b) {
      return a.type == b.type && a.line == b.line &&
             (a.column == b.column || a.type == "path_traversal");
    };
    findings.erase(std::unique(findings.begin(), findings.end(), same), findings.end());
    return findings;
  }

  const Facts& facts() const { return out_.facts; }
  const std::map<std::string, int>& unlisted() const { return out_.unlisted; }

 private:
  void Statement(const Evaluator& ev, Span s, bool expression_only, const NestedCode* nested,
                 int depth) {
    RuleContext ctx(ev, lines_, out_);
    if (nested) {
      ctx.line_override = nested->line;
      ctx.col_override = nested->col;
    }
    if (IsName(ev, s.begin, "import")) {
      Import(ev, s, ctx);
      return;
    }
    if (IsName(ev, s.begin, "from")) {
      FromImport(ev, s, ctx);
      return;
    }
    size_t k = IsName(ev, s.begin, "async") ? s.begin + 1 : s.begin;
    if (k + 1 < s.end && (IsName(ev, k, "def") || IsName(ev, k, "class")) &&
        ev.At(k + 1).kind == TokenKind::kName && ev.At(s.begin).col == 1 && !nested) {
      // A module-level def or class shadows an import or builtin of the same name: a script's
      // own `def system(...)` is not os.system.
      Value local;
      local.flags = kUnknown;
      symbols_.Bind(std::string(ev.At(k + 1).text), "", local);
    }
    ctx.target = SimpleTarget(ev, s);
    for (size_t i = s.begin; i < s.end; ++i) {
      const Token& t = ev.At(i);
      if (t.kind == TokenKind::kString && !t.fields().empty()) {
        Read(t.fields(), /*expression_only=*/true, nested, depth);
      }
      if (ev.IsAtomStart(i, s.begin)) {
        Primary p = ev.Walk(i, s.end);
        for (const CallSite& c : p.calls) ApplyCallRules(c, ctx);
        for (const Lookup& l : p.lookups) ApplyLookupRules(l, ctx);
      }
    }
    if (!expression_only) Assignments(ev, s, ctx);

    // Code given to exec/eval as a literal runs right here: read it now.
    std::vector<NestedCode> code = std::move(out_.nested);
    out_.nested.clear();
    if (depth >= kMaxNestedCode) return;
    for (NestedCode& n : code) {
      if (nested) {
        n.line = nested->line;
        n.col = nested->col;
      }
      // Tokens view n.code only while it is read; what outlives them holds copies.
      ReadSource(n.code, /*truncated=*/false, &n, depth + 1);
    }
  }

  // import a.b.c [as x], ...
  void Import(const Evaluator& ev, Span s, RuleContext& ctx) {
    size_t i = s.begin + 1;
    while (i < s.end) {
      size_t start = i;
      std::string module;
      while (i < s.end && !IsName(ev, i, "as") && !ev.IsOp(i, ",")) {
        module += std::string(ev.At(i++).text);
      }
      std::string alias;
      if (i + 1 < s.end && IsName(ev, i, "as")) {
        alias = std::string(ev.At(i + 1).text);
        i += 2;
      }
      if (!module.empty()) {
        symbols_.Import(module, alias);
        ApplyImportRules(module, start, ctx);
      }
      if (i < s.end && !ev.IsOp(i, ",")) ++i;  // malformed: keep moving
      if (i < s.end && ev.IsOp(i, ",")) ++i;
    }
  }

  // from m import a [as b], ... | from m import (a, b) | from m import *
  void FromImport(const Evaluator& ev, Span s, RuleContext& ctx) {
    size_t i = s.begin + 1;
    size_t module_tok = i;
    std::string module;
    while (i < s.end && !IsName(ev, i, "import")) module += std::string(ev.At(i++).text);
    ++i;
    while (i < s.end) {
      if (ev.IsOp(i, "*")) {
        symbols_.ImportFrom(module, "*", "");
      } else if (ev.At(i).kind == TokenKind::kName) {
        std::string name(ev.At(i).text);
        std::string alias;
        if (i + 2 < s.end && IsName(ev, i + 1, "as")) {
          alias = std::string(ev.At(i + 2).text);
          i += 2;
        }
        symbols_.ImportFrom(module, name, alias);
      }
      ++i;
    }
    if (module_tok < s.end) ApplyImportRules(module, module_tok, ctx);
  }

  // The one variable a plain `name = ...` statement assigns, "" otherwise.
  static std::string SimpleTarget(const Evaluator& ev, Span s) {
    if (s.end - s.begin >= 3 && ev.At(s.begin).kind == TokenKind::kName &&
        ev.IsOp(s.begin + 1, "=")) {
      return std::string(ev.At(s.begin).text);
    }
    return "";
  }

  void Assignments(const Evaluator& ev, Span s, RuleContext& ctx) {
    std::vector<size_t> eqs = ev.FindTopLevel(s, "=");
    // Defaults of a lambda (`f = lambda x=1: x`) are not assignments.
    for (size_t i = s.begin; i < s.end; ++i) {
      if (IsName(ev, i, "lambda")) {
        eqs.erase(std::remove_if(eqs.begin(), eqs.end(), [&](size_t e) { return e > i; }),
                  eqs.end());
        break;
      }
    }
    if (!eqs.empty()) {
      Span rhs{eqs.back() + 1, s.end};
      Value v = ev.Classify(rhs);
      if (ctx.reported_path) v.flags |= kReported;
      std::string qual;
      if (!rhs.empty() && ev.IsAtomStart(rhs.begin, rhs.begin)) {
        Primary p = ev.Walk(rhs.begin, rhs.end);
        if (p.end == rhs.end) qual = p.qual;
        // m = importlib.import_module('json'): m is a module, which getattr() can search.
        if (!qual.empty() && !p.calls.empty() && IsImportCall(p.calls.back().qual) &&
            p.calls.back().rparen + 1 == p.end) {
          symbols_.AddModule(qual);
        }
      }
      size_t tb = s.begin;
      for (size_t eq : eqs) {
        BindTarget(ev, {tb, eq}, qual, v);
        tb = eq + 1;
      }
      return;
    }
    static constexpr std::string_view kAugmented[] = {
        "+=", "-=", "*=", "/=", "%=", "//=", "|=", "&=", "^=", "@=", "**=", ">>=", "<<="};
    for (std::string_view op : kAugmented) {
      std::vector<size_t> at = ev.FindTopLevel(s, op);
      if (at.size() != 1 || at[0] != s.begin + 1 || ev.At(s.begin).kind != TokenKind::kName) {
        continue;
      }
      std::string name(ev.At(s.begin).text);
      Value v;
      if (const Binding* b = symbols_.Find(name)) v = b->value();
      v.Merge(ev.Classify({at[0] + 1, s.end}));
      if (v.Has(kString)) v.flags = (v.flags | kComputed) & ~kLiteral;
      symbols_.Bind(name, "", v);
      symbols_.AddDeps(name, v.deps);
      return;
    }
    size_t k = IsName(ev, s.begin, "async") ? s.begin + 1 : s.begin;
    if (IsName(ev, k, "with")) {
      WithTargets(ev, {k + 1, s.end});
    } else if (IsName(ev, k, "for")) {
      ForTargets(ev, {k + 1, s.end});
    }
  }

  // with EXPR as NAME, EXPR as NAME:
  void WithTargets(const Evaluator& ev, Span s) {
    size_t start = s.begin;
    int depth = 0;
    for (size_t i = s.begin; i < s.end; ++i) {
      const Token& t = ev.At(i);
      if (t.kind == TokenKind::kOp && (t.text == "(" || t.text == "[")) ++depth;
      if (t.kind == TokenKind::kOp && (t.text == ")" || t.text == "]")) --depth;
      if (depth == 0 && ev.IsOp(i, ",")) start = i + 1;
      if (depth == 0 && ev.IsOp(i, ":")) break;
      if (depth == 0 && IsName(ev, i, "as") && i + 1 < s.end &&
          ev.At(i + 1).kind == TokenKind::kName) {
        Span expr{start, i};
        std::string qual;
        if (!expr.empty() && ev.IsAtomStart(expr.begin, expr.begin)) {
          Primary p = ev.Walk(expr.begin, expr.end);
          if (p.end == expr.end) qual = p.qual;
        }
        BindTarget(ev, {i + 1, i + 2}, qual, ev.Classify(expr));
      }
    }
  }

  // for a, b in EXPR: each target gets what is known of the iterable's items.
  void ForTargets(const Evaluator& ev, Span s) {
    size_t in = s.end;
    for (size_t i = s.begin; i < s.end; ++i) {
      if (IsName(ev, i, "in")) {
        in = i;
        break;
      }
    }
    if (in == s.end) return;
    std::vector<size_t> colons = ev.FindTopLevel({in + 1, s.end}, ":");
    Value items = ev.Classify({in + 1, colons.empty() ? s.end : colons.back()});
    Value v;
    v.flags = (items.flags & (kDataFlags | kTraversal | kCredential)) | kUnknown;
    v.deps = items.deps;
    BindTarget(ev, {s.begin, in}, "", v);
  }

  void BindTarget(const Evaluator& ev, Span t, const std::string& qual, const Value& v) {
    std::vector<size_t> colons = ev.FindTopLevel(t, ":");  // `x: int = ...`
    if (!colons.empty()) t.end = colons.front();
    if (t.end == t.begin + 1 && ev.At(t.begin).kind == TokenKind::kName) {
      std::string name(ev.At(t.begin).text);
      symbols_.Bind(name, qual, v);
      symbols_.AddDeps(name, v.deps);
      return;
    }
    // Unpacking: each plain name gets the data flags of the whole.
    Value part;
    part.flags = (v.flags & (kDataFlags | kPath)) | kUnknown;
    part.deps = v.deps;
    for (size_t i = t.begin; i < t.end; ++i) {
      bool plain = ev.IsAtomStart(i, t.begin) && !ev.IsOp(i + 1, ".") && !ev.IsOp(i + 1, "[");
      if (!plain) continue;
      std::string name(ev.At(i).text);
      symbols_.Bind(name, "", part);
      symbols_.AddDeps(name, part.deps);
    }
  }

  std::string_view source_;
  SourceLines lines_;
  Symbols symbols_;
  Collected out_;
};

// The part of a script that is analyzed: all of it, or what fits in kMaxAnalyzedBytes up to
// the end of its last whole line (a first part of line 1 when there is no line end in it).
struct Head {
  std::string_view text;
  bool truncated = false;
  bool whole_lines = true;  // what is not read starts a line
};

Head HeadOf(std::string_view source, size_t size) {
  if (size <= kMaxAnalyzedBytes) return {source};
  std::string_view head = source.substr(0, kMaxAnalyzedBytes);
  size_t end = head.find_last_of("\n\r");
  if (end == std::string_view::npos) {
    size_t cut = head.size();
    while (cut > 0 && (static_cast<unsigned char>(source[cut]) & 0xC0) == 0x80) --cut;
    return {source.substr(0, cut), true, false};
  }
  if (source[end] == '\r' && end + 1 < source.size() && source[end + 1] == '\n') ++end;
  return {source.substr(0, end + 1), true, true};
}

// `source` holds at least the analyzed part of a script of `size` bytes: all of it, or its
// first kMaxAnalyzedBytes and what follows of the line after them.
Analysis Analyze(std::string_view source, size_t size, const Policy* policy,
                 const std::string& working_dir) {
  Analysis a;
  Head head = HeadOf(source, size);
  ScriptReader reader(head.text);
  a.syntax_errors = reader.ReadScript(head.truncated);
  a.findings = reader.Findings();
  a.unlisted = reader.unlisted();
  if (head.truncated) {
    // What is not read can hold anything; see kMaxAnalyzedBytes for why `high`.
    Finding f;
    f.type = "analysis_incomplete";
    f.severity = "high";
    f.line = head.whole_lines ? reader.lines().count() : 1;
    f.column = 1;
    f.code = head.whole_lines
                 ? SourceLines(source.substr(head.text.size(), 4 * SourceLines::kMaxCode)).Code(1)
                 : reader.lines().Code(1);
    f.description = fmt::format(
        "the script is {} bytes, more than the {} MiB the analyzer reads: only its first {} "
        "bytes ({}) were analyzed, and nothing after them was checked",
        size, kMaxAnalyzedBytes >> 20, head.text.size(),
        head.whole_lines ? fmt::format("lines 1-{}", f.line - 1) : std::string("part of line 1"));
    f.recommendation =
        "Keep large data out of the script: read it from a file (the policy's "
        "security.filesystem.read_only_paths mounts one) so that all of the code is checked.";
    a.findings.push_back(std::move(f));
  }
  Risk risk = ScoreRisk(a.findings);
  a.risk_level = risk.level;
  a.risk_score = risk.score;
  if (policy)
    a.compatibility = CheckCompatibility(reader.facts(), a.risk_level, *policy, working_dir);
  return a;
}

// At most `max` bytes of the file at `path`, and its size.
Result<std::string> ReadHead(const std::string& path, size_t max, size_t* size) {
  // Opened like every input file (a FIFO neither blocks nor is read); any size, since only
  // the head is read.
  HIVE_ASSIGN_OR_RETURN(UniqueFd fd, OpenInputFile(path, InputKind{"script", SIZE_MAX}));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno(fmt::format("stat `{}`", path));
  std::string out(std::min(max, st.st_size > 0 ? static_cast<size_t>(st.st_size) : max), '\0');
  size_t have = 0;
  for (;;) {
    if (have == out.size()) {
      if (out.size() >= max) break;
      out.resize(std::min(max, out.size() + 65536));  // a file that grew, or /proc
    }
    ssize_t n = ::read(fd.get(), out.data() + have, out.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(fmt::format("read `{}`", path));
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  out.resize(have);
  *size = have < max ? have : std::max(have, static_cast<size_t>(std::max<off_t>(st.st_size, 0)));
  return out;
}

}  // namespace

Analysis AnalyzePython(std::string_view source, const Policy* policy,
                       const std::string& working_dir) {
  return Analyze(source, source.size(), policy, working_dir);
}

Result<Analysis> AnalyzeFile(const std::string& path, const Policy* policy) {
  size_t size = 0;
  // The byte after the cut tells a CRLF from a CR; the rest is for the finding's `code`.
  Result<std::string> head = ReadHead(path, kMaxAnalyzedBytes + 4 * SourceLines::kMaxCode, &size);
  if (!head.ok()) return head.status().Wrap("analyze");
  return Analyze(*head, size, policy, "");
}

nlohmann::json ToJson(const Analysis& a) {
  nlohmann::json findings = nlohmann::json::array();
  nlohmann::json summary = {{"critical", 0}, {"high", 0}, {"medium", 0}, {"low", 0}};
  for (const Finding& f : a.findings) {
    findings.push_back({{"type", f.type},
                        {"severity", f.severity},
                        {"line", f.line},
                        {"column", f.column},
                        {"code", f.code},
                        {"description", f.description},
                        {"recommendation", f.recommendation}});
    if (summary.contains(f.severity)) summary[f.severity] = summary[f.severity].get<int>() + 1;
  }
  int unlisted = 0;
  for (const auto& [severity, n] : a.unlisted) {
    unlisted += n;
    if (summary.contains(severity)) summary[severity] = summary[severity].get<int>() + n;
  }
  nlohmann::json j = {{"schema", "hive-run/analysis/v1"},
                      {"risk_level", a.risk_level},
                      {"risk_score", a.risk_score},
                      {"vulnerabilities_found", a.findings.size() + static_cast<size_t>(unlisted)},
                      {"findings_unlisted", unlisted},
                      {"summary", summary},
                      {"findings", findings},
                      {"syntax_errors", a.syntax_errors}};
  if (a.compatibility) {
    const Compatibility& c = *a.compatibility;
    nlohmann::json issues = nlohmann::json::array();
    for (const CompatibilityIssue& i : c.issues) {
      issues.push_back({{"category", i.category},
                        {"severity", i.severity},
                        {"line", i.line},
                        {"detail", i.detail},
                        {"policy_key", i.policy_key},
                        {"suggestion", i.suggestion}});
    }
    j["compatibility"] = {{"policy", c.policy},
                          {"compatibility_score", c.score},
                          {"compatible", c.compatible},
                          {"migration_required", !c.issues.empty()},
                          {"issues", issues}};
  }
  return j;
}

}  // namespace hive::analyze
