// What the analyzer knows about names: which module or function an import or alias refers
// to (`import subprocess as sp`, `from os import system as s`, `run = os.system`), and what is
// known about the value a plain variable holds (a literal, a string built from user input, a
// path climbing out with `..`). Flow follows the text top to bottom, which is what matters
// for scripts: the binding in force at a call is the last one written above it.
//
//   Symbols s;
//   s.Import("subprocess", "sp");          // import subprocess as sp
//   s.Resolve("sp");                       // "subprocess"
//   s.Resolve("eval");                     // "builtins.eval" (not rebound)
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hive::analyze {

// Facts about a value, as bit flags.
enum ValueFlag : uint32_t {
  kString = 1u << 0,         // a str/bytes value
  kLiteral = 1u << 1,        // fully known before run time (string literals only)
  kComputed = 1u << 2,       // a string put together at run time (+, %, format, f-string fields)
  kList = 1u << 3,           // a list or tuple display
  kTainted = 1u << 4,        // from outside: input(), argv, stdin, environment, the network
  kTraversal = 1u << 5,      // a path climbing out with `..` (../../etc/passwd)
  kCredential = 1u << 6,     // names a credentials file (~/.ssh/id_rsa, /etc/shadow, ...)
  kDecoded = 1u << 7,        // output of base64/hex/zlib/marshal decoding
  kPath = 1u << 8,           // a path object or a joined path
  kCodeObject = 1u << 9,     // result of compile()
  kNetworkData = 1u << 10,   // bytes received from the network
  kTaintedJoin = 1u << 11,   // outside input joined onto a base path
  kSanitized = 1u << 12,     // reduced to a file name (basename, secure_filename)
  kNormalized = 1u << 13,    // realpath/abspath/resolve: ready for a containment check
  kSelfRelative = 1u << 14,  // located from the script itself (__file__)
  kReported = 1u << 15,      // a path finding was already reported for this value
  kUnknown = 1u << 16,       // nothing is known (a parameter, an unknown call's result)
  kTemporary = 1u << 17,     // a temporary directory the script made (tempfile.mkdtemp)
};

// Flags that survive being passed through a call the analyzer does not know.
constexpr uint32_t kDataFlags = kTainted | kNetworkData | kDecoded;

struct Value {
  uint32_t flags = 0;
  std::string text;            // literal parts in order; joined paths separated by '/'
  std::set<std::string> deps;  // variables it was computed from (directly: see Symbols)
  bool present = true;         // false for a missing argument
  // kTraversal and kCredential are already worked out for `text`: a value copied from a
  // variable is not checked again (a few bytes of script, `b = a`, copy up to 4 KiB).
  bool path_checked = false;

  bool Has(uint32_t f) const { return (flags & f) != 0; }
  void Merge(const Value& other, uint32_t mask = ~0u);
};

// What a name is bound to: a Value without its deps (Symbols keeps those), so that a script
// of a million distinct variables costs no more than it must.
struct Binding {
  std::string qual;  // what the name refers to ("os.system", "subprocess.Popen()"); "" = a value
  uint32_t flags = 0;
  bool path_checked = false;
  std::string text;

  Value value() const;
};

class Symbols {
 public:
  // `import a.b.c` binds `a` to "a"; `import a.b.c as x` binds x to "a.b.c".
  void Import(const std::string& module, const std::string& alias);
  // `from m import name as alias`; `name` "*" records a star import.
  void ImportFrom(const std::string& module, const std::string& name, const std::string& alias);
  void Bind(const std::string& name, std::string qual, Value value);
  // Records that `name` was computed from `deps` (kept across rebinding, for containment checks).
  void AddDeps(const std::string& name, const std::set<std::string>& deps);

  // "module.attr" the name refers to, "builtins.X" for an unshadowed builtin, "" if unknown.
  std::string Resolve(const std::string& name) const;
  const Binding* Find(const std::string& name) const;
  // `roots` and every variable they were computed from, through any number of assignments.
  std::set<std::string> WithDeps(const std::set<std::string>& roots) const;
  // True for names that are imported modules (or builtins, or modules the rules know:
  // `__import__('os')` is the os module), not functions or values.
  bool IsModule(const std::string& qual) const;
  // A module the script reached other than by `import` (`m = importlib.import_module('x')`).
  void AddModule(const std::string& qual) { modules_.insert(qual); }

  // Supplied by the rule set: names a star import may bring in ("os.system"), and the
  // modules that hold any ("os"). Other star imports are not remembered, so that every name
  // a script uses is not tried against each of thousands of them.
  void SetKnownQualified(bool (*known)(std::string_view qual),
                         bool (*known_module)(std::string_view module)) {
    known_ = known;
    known_module_ = known_module;
  }

  // Literal text that bindings keep in all. Past it a new binding keeps kShortText of its
  // text: `b1 = a`, `b2 = a`, ... would otherwise each copy a's 4 KiB for a few bytes of
  // script. Its flags (path climbing out, credentials, ...) are kept whole.
  static constexpr size_t kMaxBoundText = 8u << 20;
  static constexpr size_t kShortText = 15;  // what std::string holds without an allocation

 private:
  std::map<std::string, Binding> bindings_;
  uint32_t Id(const std::string& name);

  // Names each variable was computed from directly, over all its assignments, by name id;
  // the closure is taken when needed (a value keeping its whole history grows with the
  // square of a chain `b = a; c = b; ...`). Ids rather than strings: a statement adds a few.
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<const std::string*> names_;    // by id: the key in ids_
  std::vector<std::vector<uint32_t>> deps_;  // by id
  std::vector<std::string> star_modules_;
  std::set<std::string> modules_;
  size_t bound_text_ = 0;
  bool (*known_)(std::string_view) = nullptr;
  bool (*known_module_)(std::string_view) = nullptr;
};

bool IsBuiltinName(std::string_view name);

}  // namespace hive::analyze
