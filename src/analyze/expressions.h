// Reading expressions out of a token stream: calls with their resolved callee and arguments,
// and what a sub-expression's value is known to be (see ValueFlag).
//
// A "primary" is an atom (a name, a string, a bracketed group) followed by trailers
// (`.attr`, `(args)`, `[index]`), as in Python's grammar. Walking one resolves the callee of
// each call through the symbol table: in `sp.Popen(cmd).communicate()` with
// `import subprocess as sp`, the calls are `subprocess.Popen` and
// `subprocess.Popen().communicate`. Calls on objects the analyzer cannot name keep an empty
// `qual` and only their method name, so `self.eval(x)` is never taken for `eval`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "analyze/symbols.h"
#include "analyze/tokenizer.h"

namespace hive::analyze {

struct Span {
  size_t begin = 0;
  size_t end = 0;  // one past the last token
  bool empty() const { return begin >= end; }
};

struct Arg {
  std::string keyword;  // "" for a positional argument, "*" / "**" for unpacking
  Span span;
};

struct CallSite {
  std::string qual;    // resolved callee ("os.system"), "" when unknown
  std::string method;  // last name of the callee (`system` in `self.system(...)`)
  Value receiver;      // the object a method is called on
  size_t callee = 0;   // token of the callee's first name (the finding's position)
  size_t lparen = 0;
  size_t rparen = 0;
  std::vector<Arg> args;
};

// A subscript of a namespace with a key computed at run time: `globals()[name]`,
// `sys.modules[name]`, `vars(builtins)[name]`, `os.__dict__[name]`.
struct Lookup {
  std::string ns;       // "builtins", "sys.modules", a module ("os"); "" with `script`
  bool script = false;  // the script's own namespace: globals(), locals(), vars()
  size_t tok = 0;       // the primary's first token (the finding's position)
  Span key;             // inside the brackets
};

struct Primary {
  size_t end = 0;  // one past the primary's last token
  std::string qual;
  Value value;
  std::vector<CallSite> calls;  // the primary's own trailer calls, outermost last
  std::vector<Lookup> lookups;  // its subscripts of namespaces with computed keys
};

// __import__, importlib.import_module, importlib.__import__.
bool IsImportCall(std::string_view qual);

class Evaluator {
 public:
  // `depth` carries the nesting of the expression this stream sits in (f-string fields).
  Evaluator(const std::vector<Token>& tokens, const Symbols& symbols, int depth = 0);

  const Token& At(size_t i) const { return toks_[i]; }
  const Symbols& symbols() const { return syms_; }
  bool IsOp(size_t i, std::string_view op) const;

  // True when token i starts an atom: a name not after `.` or `def`/`class`, not a keyword.
  bool IsAtomStart(size_t i, size_t begin) const;
  Primary Walk(size_t i, size_t end) const;
  // What an expression's value is known to be.
  Value Classify(Span s) const;

  // Index of the bracket closing the one at `open`, or `end` when unbalanced.
  size_t Match(size_t open, size_t end) const;
  std::vector<Arg> SplitArgs(size_t lparen, size_t rparen) const;
  // Top-level (depth 0) positions of `op` in [s.begin, s.end).
  std::vector<size_t> FindTopLevel(Span s, std::string_view op) const;

  // The argument at position `pos` (-1: keyword only) or named `keyword`; ArgValue's
  // `present` is false when there is none.
  const Arg* FindArg(const CallSite& c, int pos, std::string_view keyword) const;
  Value ArgValue(const CallSite& c, int pos, std::string_view keyword) const;
  // A single literal number (0o755, 0x1ff, 493), or -1.
  long long IntLiteral(Span s) const;
  // True, with the text, when `s` is a string known before run time: a literal, literals
  // joined with +, or a variable holding one.
  bool LiteralString(Span s, std::string* text) const;
  // A module (or an attribute path from one: "os.path") or builtins: what getattr() and
  // __dict__ can search by name.
  bool IsNamespace(const std::string& qual) const;
  // Whether subscripting a primary of this qual looks a name up in a namespace, and which.
  bool NamespaceOf(const std::string& qual, Lookup* l) const;
  std::string Text(Span s) const;
  // Variables named anywhere in a span (a call's chain and arguments: NamesIn({c.callee,
  // c.rparen})).
  std::set<std::string> NamesIn(Span s) const;

 private:
  Value CallResult(const std::string& qual, const std::string& method, const Value& receiver,
                   const std::vector<Arg>& args) const;

  const std::vector<Token>& toks_;
  const Symbols& syms_;
  std::vector<size_t> match_;  // index of each bracket's partner; npos when unbalanced
  mutable int depth_;          // expressions being evaluated inside each other
};

}  // namespace hive::analyze
