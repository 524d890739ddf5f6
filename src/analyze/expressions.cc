#include "analyze/expressions.h"

#include <cstdlib>

#include "analyze/catalog.h"
#include "analyze/paths.h"

namespace hive::analyze {
namespace {

constexpr int kMaxDepth = 100;
// Literal text kept per value: enough for any path or command worth reading.
constexpr size_t kMaxText = 4096;
// Of which a path is: PATH_MAX is 4096, but no real path comes near this.
constexpr size_t kMaxPathText = 1024;

bool IsOpen(const Token& t) {
  return t.kind == TokenKind::kOp && (t.text == "(" || t.text == "[" || t.text == "{");
}
bool IsClose(const Token& t) {
  return t.kind == TokenKind::kOp && (t.text == ")" || t.text == "]" || t.text == "}");
}
// A token after which `(` or `[` is a call or subscript rather than a new bracketed atom.
bool EndsOperand(const Token& t) {
  return (t.kind == TokenKind::kName && !IsKeyword(t.text)) || t.kind == TokenKind::kString ||
         t.kind == TokenKind::kNumber || IsClose(t);
}

// Reading from a socket the script made: `socket.socket().recv`, `conn.makefile()`.
bool IsSocketRead(std::string_view qual, std::string_view method) {
  if (qual.rfind("socket.", 0) != 0 || qual.find("().") == std::string_view::npos) return false;
  return method == "recv" || method == "recvfrom" || method == "recvmsg" || method == "recv_into" ||
         method == "makefile" || method == "accept";
}

// Path facts read off the literal text: computed once a value's text is complete. They look
// at the first kMaxPathText characters: every value a statement computes passes here, and a
// value copied from a variable carries its whole text.
void AddPathFlags(Value& v) {
  if (v.text.size() > kMaxText) v.text.resize(kMaxText);
  if (v.text.empty()) return;
  std::string_view path = std::string_view(v.text).substr(0, kMaxPathText);
  if (!v.path_checked) {
    if (ClimbsOut(path)) v.flags |= kTraversal;
    if (NamesCredentials(path)) v.flags |= kCredential;
    v.path_checked = true;
  }
  if (v.Has(kTainted) && path.find('/') != std::string::npos) v.flags |= kTaintedJoin;
}

}  // namespace

bool IsImportCall(std::string_view qual) {
  return qual == "builtins.__import__" || qual == "importlib.import_module" ||
         qual == "importlib.__import__";
}

bool Evaluator::IsNamespace(const std::string& qual) const {
  // What a call returns or a subscript holds is an object, not a module.
  if (qual.empty() || qual.find_first_of("([") != std::string::npos) return false;
  if (qual.starts_with("builtins.")) return false;  // eval, open: functions
  return syms_.IsModule(qual) || syms_.IsModule(qual.substr(0, qual.find('.')));
}

bool Evaluator::NamespaceOf(const std::string& qual, Lookup* l) const {
  if (qual == "builtins.globals()" || qual == "builtins.locals()" || qual == "builtins.vars()") {
    l->script = true;
    return true;
  }
  if (qual == "sys.modules" || qual == "builtins") {  // __builtins__ is a dict outside __main__
    l->ns = qual;
    return true;
  }
  constexpr std::string_view kDict = ".__dict__";
  if (qual.ends_with(kDict) && IsNamespace(qual.substr(0, qual.size() - kDict.size()))) {
    l->ns = qual.substr(0, qual.size() - kDict.size());
    return true;
  }
  return false;
}

bool Evaluator::LiteralString(Span s, std::string* text) const {
  if (s.empty()) return false;
  Value v = Classify(s);
  if (!v.Has(kLiteral) || !v.Has(kString) || v.text.empty() || v.text.size() >= kMaxText) {
    return false;
  }
  *text = std::move(v.text);
  return true;
}

bool Evaluator::IsOp(size_t i, std::string_view op) const {
  return i < toks_.size() && toks_[i].kind == TokenKind::kOp && toks_[i].text == op;
}

bool Evaluator::IsAtomStart(size_t i, size_t begin) const {
  const Token& t = toks_[i];
  if (t.kind != TokenKind::kName || IsKeyword(t.text)) return false;
  if (i > begin) {
    const Token& prev = toks_[i - 1];
    if (prev.kind == TokenKind::kOp && prev.text == ".") return false;
    if (prev.kind == TokenKind::kName && (prev.text == "def" || prev.text == "class")) {
      return false;
    }
  }
  return true;
}

Evaluator::Evaluator(const std::vector<Token>& tokens, const Symbols& symbols, int depth)
    : toks_(tokens), syms_(symbols), match_(tokens.size(), std::string::npos), depth_(depth) {
  // Bracket partners once, so that walking nested code never rescans it.
  std::vector<size_t> open;
  for (size_t i = 0; i < toks_.size(); ++i) {
    if (IsOpen(toks_[i])) {
      open.push_back(i);
    } else if (IsClose(toks_[i]) && !open.empty()) {
      match_[open.back()] = i;
      match_[i] = open.back();
      open.pop_back();
    }
  }
}

size_t Evaluator::Match(size_t open, size_t end) const {
  size_t m = match_[open];
  return m != std::string::npos && m > open && m < end ? m : end;
}

std::vector<size_t> Evaluator::FindTopLevel(Span s, std::string_view op) const {
  std::vector<size_t> out;
  for (size_t i = s.begin; i < s.end; ++i) {
    if (IsOpen(toks_[i])) {
      i = Match(i, s.end);  // an unbalanced bracket holds the rest of the span
      continue;
    }
    if (IsOp(i, op)) out.push_back(i);
  }
  return out;
}

std::vector<Arg> Evaluator::SplitArgs(size_t lparen, size_t rparen) const {
  std::vector<Arg> args;
  size_t start = lparen + 1;
  std::vector<size_t> commas = FindTopLevel({lparen + 1, rparen}, ",");
  commas.push_back(rparen);
  for (size_t comma : commas) {
    Span s{start, comma};
    start = comma + 1;
    if (s.empty()) continue;
    Arg a;
    if (IsOp(s.begin, "*") || IsOp(s.begin, "**")) {
      a.keyword = std::string(toks_[s.begin].text);
      ++s.begin;
    } else if (s.end - s.begin >= 2 && toks_[s.begin].kind == TokenKind::kName &&
               IsOp(s.begin + 1, "=")) {
      a.keyword = std::string(toks_[s.begin].text);
      s.begin += 2;
    }
    a.span = s;
    args.push_back(a);
  }
  return args;
}

const Arg* Evaluator::FindArg(const CallSite& c, int pos, std::string_view keyword) const {
  int n = 0;
  for (const Arg& a : c.args) {
    if (!keyword.empty() && a.keyword == keyword) return &a;
  }
  for (const Arg& a : c.args) {
    if (!a.keyword.empty()) {
      if (a.keyword == "*") return nullptr;  // positions after *args are unknown
      continue;
    }
    if (n++ == pos) return &a;
  }
  return nullptr;
}

Value Evaluator::ArgValue(const CallSite& c, int pos, std::string_view keyword) const {
  const Arg* a = FindArg(c, pos, keyword);
  if (!a) {
    Value v;
    v.present = false;
    return v;
  }
  return Classify(a->span);
}

long long Evaluator::IntLiteral(Span s) const {
  if (s.end != s.begin + 1 || toks_[s.begin].kind != TokenKind::kNumber) return -1;
  std::string digits;
  for (char c : toks_[s.begin].text) {
    if (c != '_') digits += c;
  }
  int base = 10;
  size_t skip = 0;
  if (digits.size() > 1 && digits[0] == '0') {
    char p = static_cast<char>(digits[1] | 0x20);
    if (p == 'o')
      base = 8, skip = 2;
    else if (p == 'x')
      base = 16, skip = 2;
    else if (p == 'b')
      base = 2, skip = 2;
    else
      base = 8, skip = 1;  // Python 2 octal: 0755
  }
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str() + skip, &end, base);
  return end && *end == '\0' ? v : -1;
}

std::set<std::string> Evaluator::NamesIn(Span s) const {
  std::set<std::string> out;
  for (size_t k = s.begin; k < s.end && k < toks_.size(); ++k) {
    if (IsAtomStart(k, s.begin)) out.insert(std::string(toks_[k].text));
  }
  return out;
}

std::string Evaluator::Text(Span s) const {
  if (s.empty()) return "";
  const char* b = toks_[s.begin].text.data();
  const Token& last = toks_[s.end - 1];
  const char* e = last.text.data() + last.text.size();
  return e > b ? std::string(b, e) : std::string(toks_[s.begin].text);
}

Primary Evaluator::Walk(size_t i, size_t end) const {
  // Hostile input can nest expressions thousands deep; below this depth nothing is learned
  // about values, but the walk still finds the primary's end without recursing.
  struct DepthGuard {
    int& d;
    explicit DepthGuard(int& depth) : d(++depth) {}
    ~DepthGuard() { --d; }
  } guard(depth_);
  if (depth_ > kMaxDepth) {
    Primary p;
    p.value.flags = kUnknown;
    size_t j = IsOpen(toks_[i]) ? Match(i, end) + 1 : i + 1;
    while (j < end) {
      if (IsOp(j, ".") && j + 1 < end)
        j += 2;
      else if (IsOp(j, "(") || IsOp(j, "["))
        j = Match(j, end) + 1;
      else
        break;
    }
    p.end = std::min(j, end);
    return p;
  }
  Primary p;
  const Token& a = toks_[i];
  std::string method;
  size_t j = i + 1;
  if (a.kind == TokenKind::kName) {
    std::string name(a.text);
    p.qual = syms_.Resolve(name);
    if (const Binding* b = syms_.Find(name)) {
      p.value = b->value();
    } else if (p.qual.empty()) {
      p.value.flags |= kUnknown;
    }
    if (name == "__file__") p.value.flags |= kSelfRelative | kString | kPath;
    p.value.deps.insert(name);
    method = name;
  } else if (a.kind == TokenKind::kString) {
    p.value.flags |= kString;
    p.value.text = a.value().substr(0, kMaxText);
    if (a.fields().empty()) {
      p.value.flags |= kLiteral;
    } else {
      Evaluator fields(a.fields(), syms_, depth_);
      p.value.Merge(fields.Classify({0, a.fields().size()}), kDataFlags | kPath | kSelfRelative);
      p.value.flags |= kComputed;
    }
  } else if (IsOpen(a)) {
    size_t close = Match(i, end);
    p.value = Classify({i + 1, close});
    p.value.flags &= ~(kLiteral | kList);
    bool display = a.text == "[" || (a.text == "(" && !FindTopLevel({i + 1, close}, ",").empty());
    if (display) p.value.flags |= kList;
    j = close + 1;
  } else {
    p.end = i + 1;
    return p;
  }
  if (IsTaintSource(p.qual)) p.value.flags |= kTainted;

  Value receiver;
  while (j < end) {
    if (IsOp(j, ".") && j + 1 < end && toks_[j + 1].kind == TokenKind::kName) {
      receiver = p.value;
      method = std::string(toks_[j + 1].text);
      if (!p.qual.empty()) p.qual += "." + method;
      if (IsTaintSource(p.qual)) p.value.flags |= kTainted;
      p.value.flags &= ~(kLiteral | kList);
      j += 2;
    } else if (IsOp(j, "(")) {
      CallSite c;
      c.qual = p.qual;
      c.method = method;
      c.receiver = receiver;
      c.callee = i;
      c.lparen = j;
      c.rparen = Match(j, end);
      c.args = SplitArgs(c.lparen, c.rparen);
      p.value = CallResult(c.qual, method, receiver, c.args);
      // What the call returns, when it is a module or function the rules know by name: a
      // name given as a literal (or a variable holding one) is judged by what it names.
      std::string name;
      if (c.qual == "builtins.getattr") {
        const Arg* obj = FindArg(c, 0, "");
        const Arg* attr = FindArg(c, 1, "");
        Primary target = obj && IsAtomStart(obj->span.begin, obj->span.begin)
                             ? Walk(obj->span.begin, obj->span.end)
                             : Primary{};
        bool whole = obj && target.end == obj->span.end;
        p.qual = whole && !target.qual.empty() && attr && LiteralString(attr->span, &name)
                     ? target.qual + "." + name
                     : "";
      } else if (IsImportCall(c.qual)) {
        const Arg* module = FindArg(c, 0, "name");
        p.qual = module && LiteralString(module->span, &name)
                     ? (c.qual == "importlib.import_module" ? name : name.substr(0, name.find('.')))
                     : "";
      } else if (c.qual == "builtins.vars" && !c.args.empty()) {
        // vars(module) is the module's namespace, like module.__dict__.
        const Arg* obj = FindArg(c, 0, "");
        Primary target = obj && IsAtomStart(obj->span.begin, obj->span.begin)
                             ? Walk(obj->span.begin, obj->span.end)
                             : Primary{};
        p.qual = obj && target.end == obj->span.end && IsNamespace(target.qual)
                     ? target.qual + ".__dict__"
                     : "";
      } else {
        p.qual = c.qual.empty() ? "" : c.qual + "()";
      }
      p.calls.push_back(std::move(c));
      receiver = Value{};
      method.clear();
      j = p.calls.back().rparen + 1;
    } else if (IsOp(j, "[")) {
      size_t close = Match(j, end);
      Lookup l;
      if (NamespaceOf(p.qual, &l)) {
        // globals()['eval'], sys.modules['os'], os.__dict__['system']: a literal key names
        // what it finds; a computed one can find anything in the namespace.
        std::string key;
        if (LiteralString({j + 1, close}, &key)) {
          p.qual = l.script ? syms_.Resolve(key) : l.ns == "sys.modules" ? key : l.ns + "." + key;
        } else {
          l.tok = i;
          l.key = {j + 1, close};
          p.lookups.push_back(std::move(l));
          p.qual.clear();
        }
      } else if (!p.qual.empty()) {
        p.qual += "[]";
      }
      p.value.flags &= ~(kLiteral | kList);
      j = close + 1;
    } else {
      break;
    }
  }
  p.end = std::min(j, end);
  return p;
}

Value Evaluator::CallResult(const std::string& qual, const std::string& method,
                            const Value& receiver, const std::vector<Arg>& args) const {
  Value r;
  std::vector<Value> vals;
  Value all;
  for (const Arg& a : args) {
    vals.push_back(Classify(a.span));
    all.Merge(vals.back(), ~0u);
  }
  r.deps = all.deps;
  r.deps.insert(receiver.deps.begin(), receiver.deps.end());
  r.flags = (all.flags | receiver.flags) & kDataFlags;
  if (IsTaintSource(qual)) r.flags |= kTainted | kString;
  if (IsDecoder(qual)) r.flags |= kDecoded;
  if (qual == "builtins.compile") r.flags |= kCodeObject;
  if (FindNetworkApi(qual) || IsSocketRead(qual, method)) r.flags |= kNetworkData | kTainted;

  PathBuilder builder = FindPathBuilder(qual);
  if (builder != PathBuilder::kNone) {
    r.flags |= kPath | kString;
    for (const Value& v : vals) {
      r.flags |= v.flags & (kTraversal | kCredential | kTaintedJoin | kSelfRelative | kReported |
                            kSanitized | kNormalized | kTemporary);
      if (builder == PathBuilder::kJoin && !r.text.empty() && r.text.back() != '/') r.text += '/';
      r.text += v.text;
    }
    if (builder == PathBuilder::kNormalize) r.flags |= kNormalized;
    if (qual.rfind("tempfile.", 0) == 0) r.flags |= kTemporary;
    if (builder == PathBuilder::kBasename) {
      r.flags = (r.flags | kSanitized) & ~(kTraversal | kTaintedJoin);
      r.text = r.text.substr(r.text.find_last_of('/') + 1);
    }
  } else if (receiver.Has(kPath) && IsPathMethod(method)) {
    r.Merge(receiver, ~(kLiteral | kList));
    for (const Value& v : vals) {
      if (!r.text.empty() && r.text.back() != '/') r.text += '/';
      r.text += v.text;
      r.flags |= v.flags & (kTraversal | kCredential | kTaintedJoin);
    }
    if (method == "resolve" || method == "absolute") r.flags |= kNormalized;
  } else if (receiver.Has(kString) && IsStringMethod(method)) {
    r.Merge(receiver, ~(kLiteral | kList));
    r.Merge(all, kDataFlags | kTraversal | kCredential | kString);
    r.flags |= kString | kComputed;
  } else if (qual == "builtins.str" || qual == "builtins.bytes" || qual == "builtins.repr") {
    r.Merge(all, ~(kLiteral | kList));
  }
  AddPathFlags(r);
  return r;
}

Value Evaluator::Classify(Span s) const {
  Value v;
  bool all_literal = true;
  bool any_string = false;
  bool path_join = false;
  int atoms = 0;
  for (size_t i = s.begin; i < s.end;) {
    const Token& t = toks_[i];
    if (t.kind == TokenKind::kName && IsKeyword(t.text)) {
      if (t.text != "None" && t.text != "True" && t.text != "False") all_literal = false;
      ++i;
      continue;
    }
    bool bracket_atom = IsOpen(t) && (i == s.begin || !EndsOperand(toks_[i - 1]));
    if (IsAtomStart(i, s.begin) || t.kind == TokenKind::kString || bracket_atom) {
      Primary p = Walk(i, s.end);
      ++atoms;
      if (p.value.Has(kString)) any_string = true;
      if (!p.value.Has(kLiteral)) all_literal = false;
      if (path_join && p.value.Has(kTainted)) v.flags |= kTaintedJoin;
      v.Merge(p.value);
      i = std::max(p.end, i + 1);
      continue;
    }
    if (t.kind == TokenKind::kNumber) {
      ++atoms;
    } else if (t.kind == TokenKind::kOp) {
      if (t.text == "/" && v.Has(kPath)) {
        path_join = true;
        v.text += '/';
        v.path_checked = false;
      } else if (t.text != "+" && t.text != "(" && t.text != ")") {
        all_literal = false;
      }
    } else if (t.kind == TokenKind::kName) {
      all_literal = false;  // a name the walker skipped (after `.`)
    }
    ++i;
  }
  v.flags &= ~(kLiteral | kComputed);
  if (all_literal && atoms > 0) v.flags |= kLiteral;
  if (any_string && !v.Has(kLiteral)) v.flags |= kComputed;
  AddPathFlags(v);
  return v;
}

}  // namespace hive::analyze
