#include "analyze/rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

#include "analyze/catalog.h"
#include "analyze/paths.h"

namespace hive::analyze {
namespace {

// How a finding names the call: the real function, whatever alias the script used.
std::string Callee(const CallSite& c) {
  std::string q = c.qual.empty() ? c.method : c.qual;
  if (q.starts_with("builtins.")) q = q.substr(9);
  return q + "()";
}

std::string Quote(std::string_view text) {
  std::string s;
  for (char c : text) s += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return "`" + s + "`";
}

// Keeps a fact for the compatibility check, up to kMaxFacts of a kind.
template <typename T>
void Note(std::vector<T>& facts, T fact) {
  if (facts.size() < kMaxFacts) facts.push_back(std::move(fact));
}

std::string SourceOf(const Value& v) {
  if (v.Has(kNetworkData)) return "the network";
  return "user input (input(), argv, stdin or the environment)";
}

// ---- commands given as a literal: rm -r and chmod/chown hidden in a shell line or argv list

std::vector<std::vector<std::string>> CommandWords(const Evaluator& ev, const Arg* cmd,
                                                   const Value& v) {
  std::vector<std::vector<std::string>> out;
  if (!cmd) return out;
  const Token& first = ev.At(cmd->span.begin);
  if (v.Has(kList) && first.kind == TokenKind::kOp && first.text == "[") {
    size_t close = ev.Match(cmd->span.begin, cmd->span.end);
    std::vector<std::string> words;
    for (const Arg& e : ev.SplitArgs(cmd->span.begin, close)) {
      const Token& t = ev.At(e.span.begin);
      bool literal =
          e.span.end == e.span.begin + 1 && t.kind == TokenKind::kString && t.fields().empty();
      words.push_back(literal ? std::string(t.value()) : "<computed>");
    }
    out.push_back(words);
    return out;
  }
  if (!v.Has(kString) || v.Has(kList)) return out;
  // A shell line: each command between ; && || | and newlines, split on blanks.
  std::string text = v.text;
  std::vector<std::string> words;
  std::string cur;
  auto flush_word = [&] {
    if (!cur.empty()) words.push_back(cur);
    cur.clear();
  };
  for (size_t i = 0; i <= text.size(); ++i) {
    char ch = i < text.size() ? text[i] : ';';
    if (ch == ';' || ch == '&' || ch == '|' || ch == '\n') {
      flush_word();
      if (!words.empty()) out.push_back(words);
      words.clear();
    } else if (std::isspace(static_cast<unsigned char>(ch)) || ch == '"' || ch == '\'') {
      flush_word();
    } else {
      cur += ch;
    }
  }
  if (!v.Has(kLiteral) && !out.empty()) out.back().push_back("<computed>");
  return out;
}

std::string DeleteSeverity(std::string_view target, bool computed, bool tainted) {
  if (tainted) return "critical";
  if (computed) return "high";
  std::vector<std::string> comps = PathComponents(target);
  if (target == "/" || target == "/*" || target == "~" || target == "~/" || target == "*" ||
      (!target.empty() && target[0] == '/' && comps.size() <= 1) ||
      (!comps.empty() && comps[0] == "~" && comps.size() <= 1)) {
    return "critical";
  }
  return !target.empty() && (target[0] == '/' || target[0] == '~') ? "medium" : "low";
}

void CheckCommandWords(const std::vector<std::vector<std::string>>& commands, const Value& v,
                       const CallSite& c, RuleContext& ctx) {
  for (const std::vector<std::string>& w : commands) {
    if (w.empty()) continue;
    std::string prog = w[0].substr(w[0].find_last_of('/') + 1);
    if (prog == "rm") {
      bool recursive = false;
      std::string target;
      for (size_t i = 1; i < w.size(); ++i) {
        const std::string& a = w[i];
        if (a == "--recursive" || (a.size() > 1 && a[0] == '-' && a[1] != '-' &&
                                   a.find_first_of("rR") != std::string::npos)) {
          recursive = true;
        } else if (a.empty() || a[0] != '-') {
          target = a;
        }
      }
      if (!recursive) continue;
      bool computed = target.empty() || target == "<computed>";
      ctx.Report("recursive_delete", DeleteSeverity(target, computed, v.Has(kTainted)), c.callee,
                 fmt::format("{} runs `rm -r` on {}", Callee(c),
                             computed ? "a path computed at run time" : Quote(target)),
                 "Delete only what the script created, with shutil.rmtree on a path checked to "
                 "be inside its working directory (or use tempfile.TemporaryDirectory).");
    } else if (prog == "chmod" || prog == "chown" || prog == "chgrp") {
      bool high = false;
      for (size_t i = 1; i < w.size(); ++i) {
        const std::string& a = w[i];
        if (a == "777" || a == "666" || a.find("+s") != std::string::npos ||
            a.find("o+w") != std::string::npos || a.find("a+w") != std::string::npos ||
            (a.size() == 4 && (a[0] == '4' || a[0] == '2' || a[0] == '6')) || a == "root" ||
            a.starts_with("root:")) {
          high = true;
        }
      }
      ctx.Report(
          "permission_change", high ? "high" : "medium", c.callee,
          fmt::format("{} runs `{}` to change file ownership or permissions", Callee(c), prog),
          "Leave permissions to the sandbox's defaults; never make files world-writable, "
          "setuid or root-owned.");
    }
  }
}

void RecordProcess(const CallSite& c, RuleContext& ctx, int count, bool waits,
                   bool thread = false) {
  Note(ctx.out.facts.processes, {ctx.Line(c.callee), Callee(c), count, waits, thread});
}

// ---- the rules

void CodeExecution(const CallSite& c, RuleContext& ctx) {
  std::string_view kw = c.method == "eval" ? "expression" : "source";
  const Arg* a = ctx.ev.FindArg(c, 0, kw);
  if (!a && c.method == "exec") a = ctx.ev.FindArg(c, 0, "object");
  if (!a || a->keyword == "*" || a->keyword == "**") return;
  const Token& t = ctx.ev.At(a->span.begin);
  if (a->span.end == a->span.begin + 1 && t.kind == TokenKind::kString && t.fields().empty()) {
    // Literal code is reviewable: read it like the script itself.
    ctx.out.nested.push_back({std::string(t.value()), ctx.Line(a->span.begin), t.col});
    return;
  }
  Value v = ctx.ev.Classify(a->span);
  if (v.Has(kLiteral)) return;
  if (v.Has(kCodeObject)) return;  // compile() was checked where it was called
  std::string fn = Callee(c);
  const char* fix =
      "Parse data instead of running it: ast.literal_eval() for Python literals, int()/float(), "
      "json.loads().";
  if (v.Has(kDecoded)) {
    ctx.Report("obfuscated_code", "critical", c.callee,
               fn + " runs code decoded at run time (base64, hex, zlib or marshal): what it does "
                    "cannot be reviewed",
               "Ship code as plain source; never execute decoded payloads.");
  } else if (v.Has(kTainted | kNetworkData)) {
    ctx.Report("dynamic_code_execution", "critical", c.callee,
               fn + " runs a string that comes from " + SourceOf(v) +
                   ": whoever supplies it runs arbitrary Python",
               fix);
  } else {
    ctx.Report("dynamic_code_execution", "high", c.callee,
               fn + " runs a string built at run time as Python code", fix);
  }
}

void RunPath(const CallSite& c, RuleContext& ctx) {
  Value v = ctx.ev.ArgValue(c, 0, c.method == "run_path" ? "path_name" : "mod_name");
  if (!v.present || v.Has(kLiteral)) return;
  ctx.Report("dynamic_code_execution", v.Has(kTainted) ? "critical" : "high", c.callee,
             Callee(c) + " runs a Python file or module chosen at run time",
             "Import the modules the script needs by name.");
}

void ShellCommand(const CallSite& c, RuleContext& ctx) {
  // The shell and the program it runs; popen returns while they run.
  RecordProcess(c, ctx, 2,
                c.method.find("popen") == std::string::npos && !c.qual.starts_with("asyncio."));
  const Arg* a = ctx.ev.FindArg(c, 0, "command");
  if (!a) a = ctx.ev.FindArg(c, 0, "cmd");
  if (!a) return;
  Value v = ctx.ev.Classify(a->span);
  CheckCommandWords(CommandWords(ctx.ev, a, v), v, c, ctx);
  bool os_level = !c.qual.starts_with("subprocess.") && !c.qual.starts_with("asyncio.");
  std::string type = os_level ? "os_command_execution" : "subprocess_shell";
  std::string fn = Callee(c);
  const char* fix =
      "Run the program directly with subprocess.run([program, arg, ...]) and no shell; for "
      "files use shutil or pathlib rather than shell tools.";
  if (v.Has(kLiteral)) {
    ctx.Report(type, "high", c.callee, fn + " runs " + Quote(v.text) + " through /bin/sh", fix);
  } else if (v.Has(kTainted | kNetworkData)) {
    ctx.Report(type, "critical", c.callee,
               "command injection: " + fn + " runs a shell command built from " + SourceOf(v), fix);
  } else {
    ctx.Report(type, "critical", c.callee,
               fn + " runs a shell command built at run time: quotes, `;` or `$()` in any part "
                    "of it become shell code",
               fix);
  }
}

void ProgramExec(const CallSite& c, RuleContext& ctx) {
  // exec* replaces the interpreter; spawn* may or may not wait, so count it as running.
  bool replaces = c.qual.starts_with("os.exec");
  RecordProcess(c, ctx, replaces ? 0 : 1, replaces);
  Value all;
  for (const Arg& a : c.args) all.Merge(ctx.ev.Classify(a.span));
  ctx.Report("os_command_execution", all.Has(kTainted | kNetworkData) ? "critical" : "high",
             c.callee,
             Callee(c) + " starts another program" +
                 (all.Has(kTainted) ? " chosen by " + SourceOf(all) : std::string()),
             "Use subprocess.run([program, arg, ...]) without a shell, so the sandbox's process "
             "limits and timeouts apply and the arguments are never parsed by a shell.");
}

void Subprocess(const CallSite& c, RuleContext& ctx) {
  int shell = 0;  // 0 no, 1 yes, 2 computed
  if (const Arg* sh = ctx.ev.FindArg(c, -1, "shell")) {
    std::string t = ctx.ev.Text(sh->span);
    shell = (t == "True" || t == "1") ? 1 : (t == "False" || t == "0" || t == "None") ? 0 : 2;
  }
  bool waits = c.method != "Popen" && !c.qual.starts_with("asyncio.");
  RecordProcess(c, ctx, shell == 0 ? 1 : 2, waits);
  const Arg* cmd = ctx.ev.FindArg(c, 0, "args");
  if (!cmd || cmd->keyword == "*") return;
  Value v = ctx.ev.Classify(cmd->span);
  CheckCommandWords(CommandWords(ctx.ev, cmd, v), v, c, ctx);
  std::string fn = Callee(c);
  const char* fix =
      "Pass the command as a list (subprocess.run([\"ls\", path])) without shell=True; the "
      "arguments then never go through a shell.";
  bool is_string = v.Has(kString) && !v.Has(kList);
  if (shell == 1) {
    if (v.Has(kLiteral) && is_string) {
      ctx.Report("subprocess_shell", "high", c.callee,
                 fn + " with shell=True runs " + Quote(v.text) + " through /bin/sh", fix);
    } else if (v.Has(kTainted | kNetworkData)) {
      ctx.Report(
          "subprocess_shell", "critical", c.callee,
          "command injection: " + fn + " with shell=True runs a command built from " + SourceOf(v),
          fix);
    } else {
      ctx.Report("subprocess_shell", "critical", c.callee,
                 fn + " with shell=True runs a command built at run time: quotes, `;` or `$()` "
                      "in it become shell code",
                 fix);
    }
  } else if (shell == 2) {
    ctx.Report("subprocess_shell", "medium", c.callee,
               fn + " sets shell= from a variable: when true, the command goes through /bin/sh",
               fix);
  } else if (is_string && v.Has(kLiteral)) {
    if (v.text.find_first_of(" \t") != std::string::npos) {
      ctx.Report("subprocess_string_command", "medium", c.callee,
                 fn + " is given the single string " + Quote(v.text) +
                     ": without a shell it looks for a program with exactly that name",
                 fix);
    }
  } else if (is_string) {
    ctx.Report("subprocess_string_command", v.Has(kTainted) ? "critical" : "high", c.callee,
               fn + " runs a program whose name is a string built at run time" +
                   (v.Has(kTainted) ? " from " + SourceOf(v) : std::string()),
               fix);
  }
}

void Deserialization(const CallSite& c, RuleContext& ctx) {
  std::string fn = Callee(c);
  if (c.qual.starts_with("numpy.")) {
    const Arg* ap = ctx.ev.FindArg(c, -1, "allow_pickle");
    if (!ap || ctx.ev.Text(ap->span) != "True") return;
  }
  if (c.qual.starts_with("torch.")) {
    const Arg* wo = ctx.ev.FindArg(c, -1, "weights_only");
    if (wo && ctx.ev.Text(wo->span) == "True") return;
  }
  Value v = ctx.ev.ArgValue(c, 0, "");
  bool shelf = c.qual == "shelve.open";
  std::string severity = v.Has(kTainted | kNetworkData | kDecoded) ? "critical"
                         : shelf                                   ? "medium"
                                                                   : "high";
  std::string from = v.Has(kNetworkData) ? " data received from the network"
                     : v.Has(kDecoded)   ? " a decoded payload"
                     : v.Has(kTainted)   ? " data the user controls"
                                         : " its input";
  ctx.Report("unsafe_deserialization", severity, c.callee,
             fn + (shelf ? " stores values with pickle: opening a shelf someone else wrote runs "
                           "their code"
                         : " can run arbitrary code while loading" + from),
             c.qual.starts_with("marshal.")
                 ? "marshal is for the interpreter's own .pyc data; use json for data."
                 : "Use a data-only format (json, csv); if pickle is unavoidable, authenticate "
                   "the bytes (hmac) before loading them.");
}

void YamlLoad(const CallSite& c, RuleContext& ctx) {
  std::string fn = Callee(c);
  const char* fix = "Use yaml.safe_load(), or pass Loader=yaml.SafeLoader.";
  if (c.method == "unsafe_load" || c.method == "unsafe_load_all") {
    ctx.Report("unsafe_deserialization", "high", c.callee,
               fn + " builds arbitrary Python objects from YAML (!!python/object tags)", fix);
    return;
  }
  if (c.method == "full_load" || c.method == "full_load_all") {
    ctx.Report("unsafe_deserialization", "medium", c.callee,
               fn + " uses FullLoader, which still constructs Python objects from tags", fix);
    return;
  }
  const Arg* loader = ctx.ev.FindArg(c, 1, "Loader");
  if (!loader) {
    ctx.Report("unsafe_deserialization", "high", c.callee,
               fn + " without a Loader: older PyYAML constructs arbitrary objects from tags", fix);
    return;
  }
  // The loader as written and as imported (`from yaml import CSafeLoader as Loader`).
  std::string t = ctx.ev.Text(loader->span);
  if (ctx.ev.IsAtomStart(loader->span.begin, loader->span.begin)) {
    t += " " + ctx.ev.Walk(loader->span.begin, loader->span.end).qual;
  }
  if (t.find("SafeLoader") != std::string::npos || t.find("BaseLoader") != std::string::npos) {
    return;
  }
  bool full = t.find("FullLoader") != std::string::npos;
  ctx.Report("unsafe_deserialization", full ? "medium" : "high", c.callee,
             fn + " with " + ctx.ev.Text(loader->span) +
                 " constructs Python objects named in the document",
             fix);
}

// ctypes and cffi call C directly: libc's system() and execve(), syscall() with any number,
// writes anywhere in memory. That is all direct process and system execution can do, past
// every check in Python and in this analyzer, so it is rated as high as the worst of those.
void NativeModule(const std::string& module, size_t tok, RuleContext& ctx) {
  ctx.Report("native_code", "critical", tok,
             "imports " + module +
                 ": foreign function calls reach raw system calls and memory directly (libc "
                 "system(), syscall()), past Python's checks and this analysis",
             "Use a Python library instead of native calls; the sandbox's seccomp filter still "
             "limits what the native code can do.");
}

void NativeCall(const CallSite& c, RuleContext& ctx) {
  static constexpr std::string_view kLoaders[] = {
      "CDLL", "PyDLL", "WinDLL", "OleDLL", "LibraryLoader", "LoadLibrary", "dlopen", "verify"};
  bool loads = std::find(std::begin(kLoaders), std::end(kLoaders), c.method) != std::end(kLoaders);
  // `ctypes.CDLL(None).syscall(...)`: the call on the library says more; one finding a line.
  if (loads && ctx.ev.IsOp(c.rparen + 1, ".") && ctx.ev.IsOp(c.rparen + 3, "(")) return;
  std::string fn = Callee(c);
  std::string what;
  if (c.method == "syscall") {
    what = fn + " makes a raw system call";
  } else if (loads) {
    what = fn +
           " loads a native library whose functions (system, execve, syscall) run outside "
           "Python's checks";
  } else if (c.method == "memmove" || c.method == "memset" || c.method.ends_with("string_at")) {
    what = fn + " reads or writes raw memory";
  } else {
    what = fn + " calls the native function `" + c.method + "` directly";
  }
  ctx.Report("native_code", "critical", c.callee, what,
             "Use a Python library instead of native calls; the sandbox's seccomp filter still "
             "limits what the native code can do.");
}

bool IsNativeModule(std::string_view module) {
  std::string_view top = module.substr(0, module.find('.'));
  return top == "ctypes" || top == "_ctypes" || top == "cffi";
}

// Severity of finding something by a name computed at run time in `ns`: critical where the
// name can pick a way to run programs, code or native calls (os.system, subprocess.*, eval,
// import_module, ctypes.*: a computed name there is as bad as the worst of them, a shell
// command built at run time), or when the name comes from outside; high elsewhere.
std::string LookupSeverity(const std::string& ns, const Value& name) {
  if (name.Has(kTainted | kNetworkData | kDecoded)) return "critical";
  return ns == "sys.modules" || ReachesExecution(ns) ? "critical" : "high";
}

void DynamicImport(const CallSite& c, RuleContext& ctx) {
  const Arg* a = ctx.ev.FindArg(c, 0, "name");
  if (!a) return;
  std::string module;
  if (ctx.ev.LiteralString(a->span, &module)) {
    // Judged by what it names: `__import__('os').system(...)` is os.system (see Walk).
    if (IsNativeModule(module)) NativeModule(module, c.callee, ctx);
    return;
  }
  Value v = ctx.ev.Classify(a->span);
  ctx.Report("dynamic_import", "critical", c.callee,
             Callee(c) + " loads a module whose name is " +
                 (v.Has(kTainted | kNetworkData) ? "chosen by " + SourceOf(v)
                                                 : std::string("computed at run time")) +
                 ": it can load any module (os, subprocess, ctypes) and so run anything",
             "Import modules by name at the top of the script; map allowed choices to modules "
             "in a dict.");
}

void LoadFromPath(const CallSite& c, RuleContext& ctx) {
  Value v = ctx.ev.ArgValue(c, 1, c.qual == "imp.load_source" ? "pathname" : "location");
  if (!v.present || v.Has(kLiteral)) return;
  ctx.Report("dynamic_import", v.Has(kTainted) ? "high" : "medium", c.callee,
             Callee(c) + " loads Python code from a path computed at run time",
             "Import modules by name; keep loadable code inside the script's own package.");
}

void Getattr(const CallSite& c, RuleContext& ctx) {
  const Arg* obj = ctx.ev.FindArg(c, 0, "");
  const Arg* name = ctx.ev.FindArg(c, 1, "");
  if (!obj || !name) return;
  std::string literal;
  if (ctx.ev.LiteralString(name->span, &literal)) return;  // resolved by name (see Walk)
  Value nv = ctx.ev.Classify(name->span);
  std::string target;
  if (ctx.ev.IsAtomStart(obj->span.begin, obj->span.begin)) {
    Primary p = ctx.ev.Walk(obj->span.begin, obj->span.end);
    if (p.end == obj->span.end) target = p.qual;
  }
  const char* fix = "Look the name up in an explicit dict of allowed functions.";
  if (ctx.ev.IsNamespace(target)) {
    ctx.Report("dynamic_import", LookupSeverity(target, nv), c.callee,
               "getattr() on " +
                   (target == "builtins" ? std::string("builtins") : "module `" + target + "`") +
                   " with an attribute name " +
                   (nv.Has(kTainted | kNetworkData) ? "chosen by " + SourceOf(nv)
                                                    : std::string("computed at run time")) +
                   ": any function in it can be reached",
               fix);
  } else if (nv.Has(kTainted)) {
    ctx.Report("dynamic_import", "high", c.callee,
               "getattr() with an attribute name from " + SourceOf(nv), fix);
  } else {
    ctx.Report("dynamic_import", "low", c.callee,
               "getattr() with an attribute name computed at run time", fix);
  }
}

void RecursiveDelete(const CallSite& c, RuleContext& ctx) {
  Value v = ctx.ev.ArgValue(c, 0, c.qual == "os.removedirs" ? "name" : "path");
  if (!v.present) return;
  std::string severity =
      v.Has(kTemporary) ? "low" : DeleteSeverity(v.text, !v.Has(kLiteral), v.Has(kTainted));
  ctx.Report(
      "recursive_delete", severity, c.callee,
      Callee(c) + " deletes " +
          (v.Has(kLiteral) ? Quote(v.text) : std::string("a directory computed at run time")) +
          " and everything below it",
      "Delete only what the script created (tempfile.TemporaryDirectory cleans up after "
      "itself) and check the path is inside the working directory first.");
}

void PermissionChange(const CallSite& c, RuleContext& ctx) {
  bool path_method = c.qual.empty() || c.qual.find("()") != std::string::npos;
  if (path_method && !c.receiver.Has(kPath)) return;
  std::string fn = Callee(c);
  const char* fix =
      "Leave permissions to the sandbox's defaults (umask); never make files world-writable, "
      "setuid or root-owned.";
  if (c.method.find("chown") != std::string::npos) {
    const Arg* uid = ctx.ev.FindArg(c, 1, c.qual == "shutil.chown" ? "user" : "uid");
    std::string t = uid ? ctx.ev.Text(uid->span) : "";
    bool root = t == "0" || t == "\"root\"" || t == "'root'";
    ctx.Report("permission_change", root ? "high" : "medium", c.callee,
               fn + (root ? " gives a file to root" : " changes a file's owner"), fix);
    return;
  }
  const Arg* mode = ctx.ev.FindArg(c, path_method ? 0 : 1, "mode");
  if (!mode) return;
  long long n = ctx.ev.IntLiteral(mode->span);
  if (n >= 0) {
    bool world = (n & 02) != 0;
    bool setid = (n & 06000) != 0;
    ctx.Report("permission_change", world || setid ? "high" : "low", c.callee,
               fmt::format("{} sets mode {:#o}{}", fn, n,
                           setid   ? " (setuid/setgid)"
                           : world ? " (world-writable)"
                                   : ""),
               fix);
    return;
  }
  std::string t = ctx.ev.Text(mode->span);
  bool bad = t.find("S_IWOTH") != std::string::npos || t.find("S_ISUID") != std::string::npos ||
             t.find("S_ISGID") != std::string::npos || t.find("S_IRWXO") != std::string::npos;
  ctx.Report("permission_change", bad ? "high" : "medium", c.callee,
             fn + " sets mode " + Quote(t) +
                 (bad ? " (world-writable or setuid)" : std::string(", computed at run time")),
             fix);
}

void PendingPath(const CallSite& c, RuleContext& ctx, std::string description) {
  PendingFinding p;
  if (ctx.out.path_findings.size() < kMaxListedFindings) {
    p.finding = ctx.Make("path_traversal", "high", c.callee, std::move(description),
                         "Resolve the final path (os.path.realpath or Path.resolve) and check it "
                         "is inside the base directory (os.path.commonpath or "
                         "Path.is_relative_to) before using it.");
  } else {
    p.finding.type = "path_traversal";
    p.finding.severity = "high";
    p.finding.line = ctx.Line(c.callee);
    p.listed = false;
  }
  p.guards = ctx.ev.NamesIn({c.callee, c.rparen});
  if (!ctx.target.empty()) p.guards.insert(ctx.target);
  ctx.out.path_findings.push_back(std::move(p));
  ctx.reported_path = true;
}

void CheckPathValue(const CallSite& c, const Value& path, RuleContext& ctx) {
  std::string fn = Callee(c);
  if (path.Has(kCredential)) {
    ctx.Report("credential_access", "high", c.callee,
               fn + " uses " + Quote(path.text) +
                   ", a credentials file (keys, passwords or "
                   "tokens)",
               "Give the script only the secret it needs, through the environment or a file the "
               "policy mounts; never read users' keys.");
  }
  if (path.Has(kReported | kSanitized)) return;
  if (path.Has(kTraversal) && !path.Has(kSelfRelative)) {
    PendingPath(c, ctx,
                fn + " uses " + Quote(path.text) +
                    ": its `..` components climb out of the "
                    "directory it is relative to");
  } else if (path.Has(kTaintedJoin)) {
    PendingPath(c, ctx,
                fn + " uses a path joined from " + SourceOf(path) +
                    ": a `..` or absolute path in it escapes the base directory");
  }
}

// Path joins: where untrusted components meet a base directory.
void PathJoin(const CallSite& c, RuleContext& ctx) {
  size_t first_component =
      (c.qual == "os.path.join" || c.qual == "posixpath.join" || c.qual == "ntpath.join") ? 1 : 0;
  if (c.method == "joinpath" && !c.receiver.Has(kPath)) return;
  if (c.method != "joinpath" && c.args.size() < 2) return;
  for (size_t i = first_component; i < c.args.size(); ++i) {
    if (!c.args[i].keyword.empty()) continue;
    Value v = ctx.ev.Classify(c.args[i].span);
    if (v.Has(kSanitized | kReported)) continue;
    if (v.Has(kTraversal) && !v.Has(kSelfRelative)) {
      PendingPath(c, ctx,
                  Callee(c) + " joins " + Quote(v.text) +
                      " onto a base path: its `..` "
                      "components climb out of the base");
      return;
    }
    if (v.Has(kTainted)) {
      PendingPath(c, ctx,
                  Callee(c) + " joins " + SourceOf(v) +
                      " onto a base path: a `..` or absolute path in it escapes the base");
      return;
    }
  }
}

bool IsWriteMode(std::string_view mode) { return mode.find_first_of("wax+") != mode.npos; }

// Every call that names a file: facts for the compatibility check, then the path checks.
void FileAccess(const CallSite& c, RuleContext& ctx) {
  const FileApi* api = FindFileApi(c.qual);
  bool method = false;
  if (!api && c.receiver.Has(kPath)) {
    api = FindPathMethod(c.method);
    method = true;
  }
  if (!api) return;
  Value path = method ? c.receiver : ctx.ev.ArgValue(c, api->path_arg, api->path_keyword);
  if (!path.present) return;
  bool write = api->access == Access::kWrite;
  if (api->access == Access::kOpenMode) {
    const Arg* mode = ctx.ev.FindArg(c, method ? 0 : api->path_arg + 1, "mode");
    Value m = mode ? ctx.ev.Classify(mode->span) : Value{};
    write = mode && (!m.Has(kLiteral) || IsWriteMode(m.text));
  } else if (api->access == Access::kOsOpenFlags) {
    const Arg* flags = ctx.ev.FindArg(c, 1, "flags");
    std::string t = flags ? ctx.ev.Text(flags->span) : "";
    write = t.find("O_WRONLY") != t.npos || t.find("O_RDWR") != t.npos ||
            t.find("O_CREAT") != t.npos || t.find("O_APPEND") != t.npos ||
            t.find("O_TRUNC") != t.npos;
  }
  int line = ctx.Line(c.callee);
  Note(ctx.out.facts.files, {line, Callee(c), path.text, path.Has(kLiteral), write});
  if (!api->operation.empty()) {
    Note(ctx.out.facts.operations, {line, std::string(api->operation), Callee(c)});
  }
  CheckPathValue(c, path, ctx);
  if (api->second_path_arg >= 0) {
    Value dst = ctx.ev.ArgValue(c, api->second_path_arg, "dst");
    if (dst.present) {
      Note(ctx.out.facts.files, {line, Callee(c), dst.text, dst.Has(kLiteral), true});
      CheckPathValue(c, dst, ctx);
    }
  }
}

// Host and port from a literal URL, a literal host argument or an address tuple.
void AddressOf(const CallSite& c, const Evaluator& ev, NetworkUse& use) {
  for (size_t i = c.lparen + 1; i < c.rparen; ++i) {
    const Token& t = ev.At(i);
    if (t.kind == TokenKind::kString && t.fields().empty() && use.host.empty()) {
      std::string s(t.value());
      size_t scheme = s.find("://");
      if (scheme != std::string::npos) {
        s = s.substr(scheme + 3);
        s = s.substr(0, s.find_first_of("/?#"));
        s = s.substr(s.find('@') + 1);
        size_t colon = s.rfind(':');
        if (colon != std::string::npos && s.find(']') == std::string::npos) {
          use.port = std::atoi(s.c_str() + colon + 1);
          s = s.substr(0, colon);
        }
        use.host = s;
      } else if (!s.empty() && s.find_first_of(" /\t") == std::string::npos) {
        use.host = s;
      }
    }
  }
  // A port is a number right after the host: ("host", 22) or ("host", 22) positional.
  for (size_t i = c.lparen + 1; i + 2 < c.rparen; ++i) {
    if (ev.At(i).kind == TokenKind::kString && ev.IsOp(i + 1, ",") &&
        ev.At(i + 2).kind == TokenKind::kNumber && use.port == 0) {
      use.port = std::atoi(std::string(ev.At(i + 2).text).c_str());
    }
  }
  if (use.host == "localhost" || use.host == "127.0.0.1" || use.host == "::1") use.local = true;
}

void Network(const CallSite& c, RuleContext& ctx) {
  const NetworkApi* api = FindNetworkApi(c.qual);
  bool socket_method = c.qual.starts_with("socket.") && c.qual.find("().") != std::string::npos;
  if (!api && !socket_method) return;
  NetworkUse use;
  use.line = ctx.Line(c.callee);
  use.api = Callee(c);
  if (!api) {
    // connect/bind/sendto on a socket the script made: where it goes, for the policy check.
    if (c.method != "connect" && c.method != "connect_ex" && c.method != "bind" &&
        c.method != "sendto") {
      return;
    }
    use.what = "socket";
    use.listens = c.method == "bind";
    use.on_socket = true;
    AddressOf(c, ctx.ev, use);
    Note(ctx.out.facts.network, use);
    return;
  }
  use.what = std::string(api->what);
  use.listens = api->listens;
  AddressOf(c, ctx.ev, use);
  if (ctx.ev.Text({c.lparen, c.rparen + 1}).find("AF_UNIX") != std::string::npos) {
    use.local = true;  // local IPC, not the network
    Note(ctx.out.facts.network, use);
    return;
  }
  Note(ctx.out.facts.network, use);
  std::string desc = use.listens ? Callee(c) + " opens a " + use.what + " for connections"
                                 : Callee(c) + " opens a " + use.what + " connection" +
                                       (use.host.empty() ? "" : " to " + use.host);
  ctx.Report("network_access", "medium", c.callee, desc,
             "List the hosts the script needs in security.network.allowed_domains; without "
             "them the sandbox has no network.");
}

void Concurrency(const CallSite& c, RuleContext& ctx) {
  bool thread = c.qual.find("Thread") != std::string::npos;
  int count = 1;
  if (c.method == "Pool" || c.method == "ThreadPool" ||
      c.method.find("Executor") != c.method.npos) {
    const Arg* n = ctx.ev.FindArg(
        c, 0, c.method.find("Executor") != c.method.npos ? "max_workers" : "processes");
    long long v = n ? ctx.ev.IntLiteral(n->span) : -1;
    count = v > 0 ? static_cast<int>(v) : 0;
  }
  RecordProcess(c, ctx, count, /*waits=*/false, thread);
}

// Temporary files and directories delete themselves: a `delete` operation for the policy.
void TemporaryFiles(const CallSite& c, RuleContext& ctx) {
  if (c.method == "NamedTemporaryFile") {
    const Arg* del = ctx.ev.FindArg(c, -1, "delete");
    if (del && ctx.ev.Text(del->span) == "False") return;
  }
  Note(ctx.out.facts.operations, {ctx.Line(c.callee), "delete", Callee(c)});
}

void Sleep(const CallSite& c, RuleContext& ctx) {
  const Arg* a = ctx.ev.FindArg(c, 0, "");
  if (!a || a->span.end != a->span.begin + 1 ||
      ctx.ev.At(a->span.begin).kind != TokenKind::kNumber) {
    return;
  }
  double s = std::strtod(std::string(ctx.ev.At(a->span.begin).text).c_str(), nullptr);
  Note(ctx.out.facts.sleeps, {ctx.Line(c.callee), s});
}

// Containment checks that make a path safe to use: is_relative_to, relative_to, commonpath,
// and startswith on a resolved path.
void ContainmentCheck(const CallSite& c, RuleContext& ctx) {
  bool check = c.method == "is_relative_to" || c.method == "relative_to" ||
               c.qual == "os.path.commonpath" || c.qual == "os.path.commonprefix" ||
               (c.method == "startswith" && c.receiver.Has(kNormalized));
  if (!check) return;
  std::set<std::string> names = ctx.ev.NamesIn({c.callee, c.rparen});
  ctx.out.checked.insert(names.begin(), names.end());
}

struct Rule {
  std::string_view qual;  // exact, or a prefix when it ends with '*'
  void (*fn)(const CallSite&, RuleContext&);
};

constexpr Rule kRules[] = {
    {"builtins.eval", CodeExecution},
    {"builtins.exec", CodeExecution},
    {"builtins.execfile", CodeExecution},
    {"builtins.compile", CodeExecution},
    {"runpy.run_path", RunPath},
    {"runpy.run_module", RunPath},
    {"os.system", ShellCommand},
    {"posix.system", ShellCommand},
    {"os.popen", ShellCommand},
    {"os.popen2", ShellCommand},
    {"os.popen3", ShellCommand},
    {"os.popen4", ShellCommand},
    {"platform.popen", ShellCommand},
    {"commands.getoutput", ShellCommand},
    {"commands.getstatusoutput", ShellCommand},
    {"subprocess.getoutput", ShellCommand},
    {"subprocess.getstatusoutput", ShellCommand},
    {"asyncio.create_subprocess_shell", ShellCommand},
    {"os.exec*", ProgramExec},
    {"os.spawn*", ProgramExec},
    {"os.posix_spawn", ProgramExec},
    {"os.posix_spawnp", ProgramExec},
    {"os.startfile", ProgramExec},
    {"pty.spawn", ProgramExec},
    {"subprocess.run", Subprocess},
    {"subprocess.call", Subprocess},
    {"subprocess.check_call", Subprocess},
    {"subprocess.check_output", Subprocess},
    {"subprocess.Popen", Subprocess},
    {"asyncio.create_subprocess_exec", Subprocess},
    {"pickle.load", Deserialization},
    {"pickle.loads", Deserialization},
    {"pickle.Unpickler", Deserialization},
    {"cPickle.load", Deserialization},
    {"cPickle.loads", Deserialization},
    {"_pickle.load", Deserialization},
    {"_pickle.loads", Deserialization},
    {"dill.load", Deserialization},
    {"dill.loads", Deserialization},
    {"cloudpickle.load", Deserialization},
    {"cloudpickle.loads", Deserialization},
    {"jsonpickle.decode", Deserialization},
    {"pandas.read_pickle", Deserialization},
    {"joblib.load", Deserialization},
    {"numpy.load", Deserialization},
    {"torch.load", Deserialization},
    {"marshal.load", Deserialization},
    {"marshal.loads", Deserialization},
    {"shelve.open", Deserialization},
    {"yaml.load", YamlLoad},
    {"yaml.load_all", YamlLoad},
    {"yaml.unsafe_load", YamlLoad},
    {"yaml.unsafe_load_all", YamlLoad},
    {"yaml.full_load", YamlLoad},
    {"yaml.full_load_all", YamlLoad},
    {"builtins.__import__", DynamicImport},
    {"importlib.import_module", DynamicImport},
    {"importlib.__import__", DynamicImport},
    {"importlib.util.spec_from_file_location", LoadFromPath},
    {"imp.load_source", LoadFromPath},
    {"builtins.getattr", Getattr},
    {"ctypes.CDLL*", NativeCall},
    {"ctypes.PyDLL*", NativeCall},
    {"ctypes.WinDLL*", NativeCall},
    {"ctypes.OleDLL*", NativeCall},
    {"ctypes.LibraryLoader*", NativeCall},
    {"ctypes.cdll.*", NativeCall},
    {"ctypes.pydll.*", NativeCall},
    {"ctypes.windll.*", NativeCall},
    {"ctypes.oledll.*", NativeCall},
    {"ctypes.pythonapi.*", NativeCall},
    {"ctypes.memmove", NativeCall},
    {"ctypes.memset", NativeCall},
    {"ctypes.string_at", NativeCall},
    {"ctypes.wstring_at", NativeCall},
    {"_ctypes.dlopen", NativeCall},
    {"cffi.FFI().dlopen*", NativeCall},
    {"cffi.FFI().verify*", NativeCall},
    {"shutil.rmtree", RecursiveDelete},
    {"os.removedirs", RecursiveDelete},
    {"os.chmod", PermissionChange},
    {"os.lchmod", PermissionChange},
    {"os.fchmod", PermissionChange},
    {"os.chown", PermissionChange},
    {"os.lchown", PermissionChange},
    {"os.fchown", PermissionChange},
    {"shutil.chown", PermissionChange},
    {"os.path.join", PathJoin},
    {"posixpath.join", PathJoin},
    {"ntpath.join", PathJoin},
    {"pathlib.Path", PathJoin},
    {"pathlib.PurePath", PathJoin},
    {"pathlib.PosixPath", PathJoin},
    {"multiprocessing.Process", Concurrency},
    {"multiprocessing.Pool", Concurrency},
    {"multiprocessing.pool.Pool", Concurrency},
    {"multiprocessing.pool.ThreadPool", Concurrency},
    {"concurrent.futures.ProcessPoolExecutor", Concurrency},
    {"concurrent.futures.ThreadPoolExecutor", Concurrency},
    {"threading.Thread", Concurrency},
    {"os.fork", Concurrency},
    {"os.forkpty", Concurrency},
    {"pty.fork", Concurrency},
    {"time.sleep", Sleep},
    {"tempfile.TemporaryDirectory", TemporaryFiles},
    {"tempfile.NamedTemporaryFile", TemporaryFiles},
};

bool Matches(std::string_view pattern, std::string_view qual) {
  if (pattern.back() == '*') return qual.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == qual;
}

}  // namespace

int RuleContext::Line(size_t tok) const {
  return line_override > 0 ? line_override : ev.At(tok).line;
}

Finding RuleContext::Make(std::string type, std::string severity, size_t tok,
                          std::string description, std::string recommendation) const {
  Finding f;
  f.type = std::move(type);
  f.severity = std::move(severity);
  f.line = Line(tok);
  f.column = line_override > 0 ? col_override : ev.At(tok).col;
  f.code = lines.Code(f.line);
  f.description = std::move(description);
  f.recommendation = std::move(recommendation);
  return f;
}

void RuleContext::Report(std::string type, std::string severity, size_t tok,
                         std::string description, std::string recommendation) const {
  out.Add(Make(std::move(type), std::move(severity), tok, std::move(description),
               std::move(recommendation)));
}

void Collected::Add(Finding f, bool listable) {
  if (listable && listed_[f.severity] < kMaxListedFindings) {
    ++listed_[f.severity];
    findings.push_back(std::move(f));
    return;
  }
  std::string key = f.type + "@" + std::to_string(f.line);
  if (key == last_unlisted_) return;
  last_unlisted_ = std::move(key);
  ++unlisted[f.severity];
}

void ApplyCallRules(const CallSite& call, RuleContext& ctx) {
  bool matched = false;
  for (const Rule& r : kRules) {
    if (!call.qual.empty() && Matches(r.qual, call.qual)) {
      r.fn(call, ctx);
      matched = true;
      break;
    }
  }
  if (!matched && call.receiver.Has(kPath)) {
    if (call.method == "chmod" || call.method == "lchmod") PermissionChange(call, ctx);
    if (call.method == "joinpath") PathJoin(call, ctx);
  }
  FileAccess(call, ctx);
  Network(call, ctx);
  ContainmentCheck(call, ctx);
}

void ApplyImportRules(const std::string& module, size_t tok, RuleContext& ctx) {
  if (IsNativeModule(module)) NativeModule(module.substr(0, module.find('.')), tok, ctx);
}

void ApplyLookupRules(const Lookup& l, RuleContext& ctx) {
  Value key = ctx.ev.Classify(l.key);
  std::string where = l.script                ? "the script's own namespace (globals(), vars())"
                      : l.ns == "sys.modules" ? "sys.modules, which holds every loaded module"
                      : l.ns == "builtins"    ? "the builtins (eval, exec, __import__)"
                                              : "module `" + l.ns + "`'s namespace";
  // The script's namespace holds what it imported (`from os import system`), and
  // __builtins__: rated as the builtins are.
  std::string severity = LookupSeverity(l.script ? "builtins" : l.ns, key);
  ctx.Report("dynamic_import", severity, l.tok,
             "looks up a name " +
                 (key.Has(kTainted | kNetworkData) ? "chosen by " + SourceOf(key)
                                                   : std::string("computed at run time")) +
                 " in " + where + ": whatever it names can be reached",
             "Look the name up in an explicit dict of allowed functions.");
}

bool ReachesExecution(std::string_view module) {
  if (module.empty()) return false;
  for (const Rule& r : kRules) {
    bool runs = r.fn == CodeExecution || r.fn == RunPath || r.fn == ShellCommand ||
                r.fn == ProgramExec || r.fn == Subprocess || r.fn == DynamicImport ||
                r.fn == LoadFromPath || r.fn == NativeCall;
    if (runs && r.qual.size() > module.size() && r.qual.starts_with(module) &&
        r.qual[module.size()] == '.') {
      return true;
    }
  }
  return false;
}

bool IsRuleTarget(std::string_view qual) {
  for (const Rule& r : kRules) {
    if (Matches(r.qual, qual)) return true;
  }
  return FindFileApi(qual) != nullptr || FindNetworkApi(qual) != nullptr;
}

bool IsRuleModule(std::string_view module) {
  for (const Rule& r : kRules) {
    if (r.qual.size() > module.size() && r.qual.starts_with(module) &&
        r.qual[module.size()] == '.') {
      return true;
    }
  }
  return HasApisIn(module);
}

}  // namespace hive::analyze
