#include "sandbox/seccomp/profile.h"

#include <fmt/format.h>
#include <seccomp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <set>
#include <unordered_set>

#include "base/files.h"
#include "base/user_text.h"
#include "base/json_input.h"
#include "sandbox/seccomp/syscalls.h"

namespace hive::seccomp {
namespace {

using nlohmann::json;

// Error reporting with file and, for YAML, line.
class Context {
 public:
  Context(std::string source, const std::map<std::string, int>* lines)
      : source_(std::move(source)), lines_(lines) {}

  Status Fail(const std::string& path, const std::string& message) const {
    std::string where = source_;
    if (lines_) {
      auto it = lines_->find(path);
      if (it != lines_->end()) where += fmt::format(":{}", it->second);
    }
    return Error(Code::kInvalidArgument, path.empty()
                                             ? fmt::format("{}: {}", where, message)
                                             : fmt::format("{}: {}: {}", where, path, message));
  }

 private:
  std::string source_;
  const std::map<std::string, int>* lines_;
};

// A key in a key path: quoted and cut short unless it is a plain name (messages quote no more
// of a file than one token).
std::string Join(const std::string& path, const std::string& key) {
  bool plain = !key.empty() && key.size() <= kQuotedMax;
  for (char c : key) {
    plain = plain && (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  }
  const std::string shown = plain ? key : Quoted(key);
  return path.empty() ? shown : path + "." + shown;
}
std::string Index(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }

std::string TypeName(const json& j) { return j.type_name(); }

Status CheckKeys(const Context& ctx, const std::string& path, const json& obj,
                 std::initializer_list<const char*> known) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = std::any_of(known.begin(), known.end(), [&](const char* k) { return it.key() == k; });
    if (!ok) return ctx.Fail(Join(path, it.key()), "unknown key");
  }
  return Ok();
}

Result<std::string> GetString(const Context& ctx, const std::string& path, const json& j) {
  if (!j.is_string()) return ctx.Fail(path, "expected a string, got " + TypeName(j));
  return j.get<std::string>();
}

Result<std::vector<std::string>> GetStrings(const Context& ctx, const std::string& path,
                                            const json& j) {
  if (j.is_null()) return std::vector<std::string>{};
  if (!j.is_array()) return ctx.Fail(path, "expected a list of strings, got " + TypeName(j));
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) {
    HIVE_ASSIGN_OR_RETURN(std::string s, GetString(ctx, Index(path, i), j[i]));
    out.push_back(std::move(s));
  }
  return out;
}

Result<uint64_t> GetUnsigned(const Context& ctx, const std::string& path, const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    // Docker writes some masks as negative 32-bit numbers; the kernel compares them as
    // unsigned 64-bit values of the sign-extended register, so keep the two's complement.
    return static_cast<uint64_t>(v);
  }
  return ctx.Fail(path, "expected an integer, got " + TypeName(j));
}

Result<uint32_t> GetErrno(const Context& ctx, const std::string& path, const json& j) {
  if (j.is_string()) {
    int e = ErrnoByName(j.get<std::string>());
    if (e < 0) return ctx.Fail(path, "unknown errno name " + Quoted(j.get<std::string>()));
    return static_cast<uint32_t>(e);
  }
  HIVE_ASSIGN_OR_RETURN(uint64_t v, GetUnsigned(ctx, path, j));
  if (v > 4095) return ctx.Fail(path, fmt::format("errno {} is out of range 0..4095", v));
  return static_cast<uint32_t>(v);
}

Result<Action> ParseAction(const Context& ctx, const std::string& path, const json& j) {
  HIVE_ASSIGN_OR_RETURN(std::string s, GetString(ctx, path, j));
  static const std::map<std::string, ActionKind> kActions = {
      {"SCMP_ACT_KILL", ActionKind::kKillThread},
      {"SCMP_ACT_KILL_THREAD", ActionKind::kKillThread},
      {"SCMP_ACT_KILL_PROCESS", ActionKind::kKillProcess},
      {"SCMP_ACT_TRAP", ActionKind::kTrap},
      {"SCMP_ACT_ERRNO", ActionKind::kErrno},
      {"SCMP_ACT_TRACE", ActionKind::kTrace},
      {"SCMP_ACT_ALLOW", ActionKind::kAllow},
      {"SCMP_ACT_LOG", ActionKind::kLog},
      {"SCMP_ACT_NOTIFY", ActionKind::kNotify},
  };
  auto it = kActions.find(s);
  if (it == kActions.end()) return ctx.Fail(path, "unknown action " + Quoted(s));
  return Action{it->second, 0};
}

Result<Compare> ParseCompare(const Context& ctx, const std::string& path, const json& j) {
  HIVE_ASSIGN_OR_RETURN(std::string s, GetString(ctx, path, j));
  static const std::map<std::string, Compare> kOps = {
      {"SCMP_CMP_NE", Compare::kNe},
      {"SCMP_CMP_LT", Compare::kLt},
      {"SCMP_CMP_LE", Compare::kLe},
      {"SCMP_CMP_EQ", Compare::kEq},
      {"SCMP_CMP_GE", Compare::kGe},
      {"SCMP_CMP_GT", Compare::kGt},
      {"SCMP_CMP_MASKED_EQ", Compare::kMaskedEq},
  };
  auto it = kOps.find(s);
  if (it == kOps.end()) return ctx.Fail(path, "unknown comparison " + Quoted(s));
  return it->second;
}

Result<RuleFilter> ParseFilter(const Context& ctx, const std::string& path, const json& j) {
  RuleFilter f;
  if (j.is_null()) return f;
  if (!j.is_object()) return ctx.Fail(path, "expected a map, got " + TypeName(j));
  HIVE_TRY(CheckKeys(ctx, path, j, {"arches", "caps", "minKernel"}));
  if (j.contains("arches")) {
    HIVE_ASSIGN_OR_RETURN(f.arches, GetStrings(ctx, Join(path, "arches"), j["arches"]));
  }
  if (j.contains("caps")) {
    HIVE_ASSIGN_OR_RETURN(f.caps, GetStrings(ctx, Join(path, "caps"), j["caps"]));
  }
  if (j.contains("minKernel") && !j["minKernel"].is_null()) {
    HIVE_ASSIGN_OR_RETURN(f.min_kernel, GetString(ctx, Join(path, "minKernel"), j["minKernel"]));
  }
  return f;
}

// How far @group references may go. A group that names another one n times, n levels deep,
// stands for n^depth names: a few hundred bytes of profile that a naive expansion turns into
// gigabytes. Each group is expanded once here, and one whose expansion (counting repeats) is
// larger than any real profile needs is refused with its name.
constexpr size_t kMaxGroupDepth = 32;
constexpr uint64_t kMaxGroupExpansion = 65536;
// Names copied in all while expanding one profile's rules: a profile that refers to big groups
// very many times is refused before it costs more than a fraction of a second.
constexpr uint64_t kMaxExpansionWork = uint64_t{1} << 22;

// Expands @group references, each group once (memoised) and deduplicated, refusing cycles,
// deep nesting and oversized expansions, with the group named.
class GroupExpander {
 public:
  GroupExpander(const Context& ctx, const GroupMap& groups) : ctx_(ctx), groups_(groups) {}

  // Appends what `name` (a syscall or @group) stands for to `out`, skipping names in `seen`.
  Status Add(const std::string& path, const std::string& name, std::vector<std::string>* out,
             std::unordered_set<std::string>* seen) {
    if (name.empty() || name[0] != '@') {
      if (seen->insert(name).second) out->push_back(name);
      return Ok();
    }
    HIVE_ASSIGN_OR_RETURN(const Expansion* group, Group(path, name, 0));
    work_ += group->names.size();
    if (work_ > kMaxExpansionWork) {
      return ctx_.Fail(path, fmt::format("expanding syscall group {} takes the profile past {} "
                                         "names in all",
                                         Quoted(name), kMaxExpansionWork));
    }
    for (const std::string& n : group->names) {
      if (seen->insert(n).second) out->push_back(n);
    }
    return Ok();
  }

 private:
  struct Expansion {
    std::vector<std::string> names;  // distinct, in first-seen order
    uint64_t size = 0;               // counting repeats, as a naive expansion would
  };

  Result<const Expansion*> Group(const std::string& path, const std::string& name, size_t depth) {
    const std::string group = name.substr(1);
    if (auto done = done_.find(group); done != done_.end()) return &done->second;
    auto it = groups_.find(group);
    if (it == groups_.end()) return ctx_.Fail(path, "unknown syscall group " + Quoted(name));
    if (active_.count(group)) {
      return ctx_.Fail(path, "syscall group " + Quoted(name) + " includes itself");
    }
    if (depth >= kMaxGroupDepth) {
      return ctx_.Fail(path, fmt::format("syscall group {} is nested more than {} groups deep",
                                         Quoted(name), kMaxGroupDepth));
    }
    active_.insert(group);
    Expansion e;
    std::unordered_set<std::string> seen;
    for (const std::string& member : it->second) {
      if (member.empty() || member[0] != '@') {
        ++e.size;
        if (seen.insert(member).second) e.names.push_back(member);
      } else {
        HIVE_ASSIGN_OR_RETURN(const Expansion* sub, Group(path, member, depth + 1));
        e.size += sub->size;
        for (const std::string& n : sub->names) {
          if (seen.insert(n).second) e.names.push_back(n);
        }
      }
      if (e.size > kMaxGroupExpansion) {
        return ctx_.Fail(path, fmt::format("syscall group {} expands to more than {} names "
                                           "(does it name other groups many times over?)",
                                           Quoted(name), kMaxGroupExpansion));
      }
    }
    active_.erase(group);
    return &done_.emplace(group, std::move(e)).first->second;
  }

  const Context& ctx_;
  const GroupMap& groups_;
  std::map<std::string, Expansion> done_;  // node-based: pointers into it stay valid
  std::set<std::string> active_;           // being expanded: met again, a cycle
  uint64_t work_ = 0;
};

Result<ArgCondition> ParseArg(const Context& ctx, const std::string& path, const json& j) {
  if (!j.is_object()) return ctx.Fail(path, "expected a map, got " + TypeName(j));
  HIVE_TRY(CheckKeys(ctx, path, j, {"index", "value", "valueTwo", "op"}));
  ArgCondition a;
  if (!j.contains("index")) return ctx.Fail(Join(path, "index"), "missing");
  HIVE_ASSIGN_OR_RETURN(uint64_t index, GetUnsigned(ctx, Join(path, "index"), j["index"]));
  if (index > 5) return ctx.Fail(Join(path, "index"), fmt::format("{} is not 0..5", index));
  a.index = static_cast<uint32_t>(index);
  if (j.contains("value")) {
    HIVE_ASSIGN_OR_RETURN(a.value, GetUnsigned(ctx, Join(path, "value"), j["value"]));
  }
  if (j.contains("valueTwo")) {
    HIVE_ASSIGN_OR_RETURN(a.value_two, GetUnsigned(ctx, Join(path, "valueTwo"), j["valueTwo"]));
  }
  if (!j.contains("op")) return ctx.Fail(Join(path, "op"), "missing");
  HIVE_ASSIGN_OR_RETURN(a.op, ParseCompare(ctx, Join(path, "op"), j["op"]));
  return a;
}

Result<SyscallRule> ParseRule(const Context& ctx, const std::string& path, const json& j,
                              GroupExpander* groups) {
  if (!j.is_object()) return ctx.Fail(path, "expected a map, got " + TypeName(j));
  HIVE_TRY(CheckKeys(ctx, path, j,
                     {"names", "name", "action", "errnoRet", "errno", "args", "includes",
                      "excludes", "comment", "override", "label"}));
  SyscallRule r;
  std::vector<std::string> raw;
  if (j.contains("names")) {
    HIVE_ASSIGN_OR_RETURN(raw, GetStrings(ctx, Join(path, "names"), j["names"]));
  }
  if (j.contains("name")) {  // Docker's older single-name form
    HIVE_ASSIGN_OR_RETURN(std::string n, GetString(ctx, Join(path, "name"), j["name"]));
    raw.push_back(n);
  }
  if (raw.empty()) return ctx.Fail(Join(path, "names"), "missing or empty");
  std::unordered_set<std::string> seen;
  for (const std::string& n : raw) {
    HIVE_TRY(groups->Add(Join(path, "names"), n, &r.names, &seen));
  }
  if (!j.contains("action")) return ctx.Fail(Join(path, "action"), "missing");
  HIVE_ASSIGN_OR_RETURN(r.action, ParseAction(ctx, Join(path, "action"), j["action"]));
  if (r.action.kind == ActionKind::kErrno || r.action.kind == ActionKind::kTrace) {
    r.action.data = r.action.kind == ActionKind::kErrno ? EPERM : 0;
    if (j.contains("errnoRet") && !j["errnoRet"].is_null()) {
      HIVE_ASSIGN_OR_RETURN(r.action.data, GetErrno(ctx, Join(path, "errnoRet"), j["errnoRet"]));
    } else if (j.contains("errno") && r.action.kind == ActionKind::kErrno) {
      // podman's spelling: an errno name.
      HIVE_ASSIGN_OR_RETURN(r.action.data, GetErrno(ctx, Join(path, "errno"), j["errno"]));
    }
  }
  if (j.contains("args") && !j["args"].is_null()) {
    const json& args = j["args"];
    if (!args.is_array()) return ctx.Fail(Join(path, "args"), "expected a list");
    for (size_t i = 0; i < args.size(); ++i) {
      HIVE_ASSIGN_OR_RETURN(ArgCondition a, ParseArg(ctx, Index(Join(path, "args"), i), args[i]));
      r.args.push_back(a);
    }
  }
  if (j.contains("includes")) {
    HIVE_ASSIGN_OR_RETURN(r.includes, ParseFilter(ctx, Join(path, "includes"), j["includes"]));
  }
  if (j.contains("excludes")) {
    HIVE_ASSIGN_OR_RETURN(r.excludes, ParseFilter(ctx, Join(path, "excludes"), j["excludes"]));
  }
  if (j.contains("label")) {
    HIVE_ASSIGN_OR_RETURN(r.label, GetString(ctx, Join(path, "label"), j["label"]));
  }
  if (j.contains("override")) {
    if (!j["override"].is_boolean()) return ctx.Fail(Join(path, "override"), "expected true/false");
    r.override = j["override"].get<bool>();
  }
  if (r.override) {
    // Override rules are compiled by hive-run itself, ahead of libseccomp's program; they
    // exist to deny, and compare the low 32 bits of an argument only.
    if (r.action.kind == ActionKind::kAllow || r.action.kind == ActionKind::kLog) {
      return ctx.Fail(Join(path, "override"), "only denying actions can override");
    }
    for (size_t i = 0; i < r.args.size(); ++i) {
      if (r.args[i].op != Compare::kEq && r.args[i].op != Compare::kMaskedEq) {
        return ctx.Fail(Index(Join(path, "args"), i) + ".op",
                        "override rules support SCMP_CMP_EQ and SCMP_CMP_MASKED_EQ only");
      }
    }
  }
  return r;
}

// YAML → JSON. An alias (`*a`) is a pointer to a node written once, and converting copies it:
// aliases of aliases grow a few hundred bytes into gigabytes. `budget` counts the nodes made;
// a document that is not much bigger than its text needs far less than it is given.
class YamlConverter {
 public:
  YamlConverter(std::string source, size_t budget, std::map<std::string, int>* lines)
      : source_(std::move(source)), budget_(budget), lines_(lines) {}

  Status Convert(const YAML::Node& node, const std::string& path, json* out) {
    const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    if (budget_ == 0) {
      return Error(Code::kInvalidArgument,
                   fmt::format("{}:{}: {}: the document's aliases (*name) expand to too many "
                               "nodes; write it without nested aliases",
                               source_, line, path.empty() ? "(root)" : path));
    }
    --budget_;
    if (lines_ && line > 0) lines_->emplace(path, line);
    return ConvertNode(node, path, out);
  }

 private:
  Status ConvertNode(const YAML::Node& node, const std::string& path, json* out);

  std::string source_;
  size_t budget_;
  std::map<std::string, int>* lines_;
};

Status YamlConverter::ConvertNode(const YAML::Node& node, const std::string& path, json* out) {
  std::map<std::string, int>* lines = lines_;
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      *out = json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        std::string key = it->first.as<std::string>();
        std::string sub = Join(path, key);
        const int key_line = it->first.Mark().line >= 0 ? it->first.Mark().line + 1 : 0;
        if (out->contains(key)) {
          // Which of two equal keys counts would be up to the reader: refused.
          return Error(Code::kInvalidArgument,
                       fmt::format("{}:{}: {}: duplicate key", source_, key_line, sub));
        }
        // Errors about a key point at the key's own line.
        if (lines && key_line > 0) (*lines)[sub] = key_line;
        json child;
        HIVE_TRY(Convert(it->second, sub, &child));
        (*out)[key] = std::move(child);
      }
      break;
    }
    case YAML::NodeType::Sequence: {
      *out = json::array();
      for (size_t i = 0; i < node.size(); ++i) {
        json child;
        HIVE_TRY(Convert(node[i], Index(path, i), &child));
        out->push_back(std::move(child));
      }
      break;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") {  // quoted: always a string
        *out = s;
        break;
      }
      if (s == "true" || s == "false") {
        *out = (s == "true");
        break;
      }
      if (s == "~" || s == "null") {
        *out = nullptr;
        break;
      }
      if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
        errno = 0;
        char* end = nullptr;
        bool neg = s[0] == '-';
        const char* digits = s.c_str() + (neg ? 1 : 0);
        int base = 10;
        if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
          base = 16;
          digits += 2;
        } else if (digits[0] == '0' && digits[1] == 'o') {
          base = 8;
          digits += 2;
        }
        // strtoull would take spaces and a sign of its own ("--5" is 5 after two wraps), and a
        // negative number past INT64_MIN has no value: both stay strings, refused by type.
        const bool plain = std::isxdigit(static_cast<unsigned char>(digits[0]));
        unsigned long long v = plain ? std::strtoull(digits, &end, base) : 0;
        constexpr unsigned long long kMinMagnitude = 1ull << 63;  // of INT64_MIN
        if (plain && errno == 0 && end && *end == '\0' && end != digits &&
            (!neg || v <= kMinMagnitude)) {
          if (!neg) {
            *out = static_cast<uint64_t>(v);
          } else if (v == kMinMagnitude) {
            *out = INT64_MIN;
          } else {
            *out = -static_cast<int64_t>(v);
          }
          break;
        }
      }
      *out = s;
      break;
    }
    default:
      *out = nullptr;
  }
  return Ok();
}

}  // namespace

int ErrnoByName(const std::string& name) {
  static const std::map<std::string, int> kNames = {
      {"EPERM", EPERM},
      {"ENOENT", ENOENT},
      {"EIO", EIO},
      {"EBADF", EBADF},
      {"EAGAIN", EAGAIN},
      {"ENOMEM", ENOMEM},
      {"EACCES", EACCES},
      {"EFAULT", EFAULT},
      {"EBUSY", EBUSY},
      {"EEXIST", EEXIST},
      {"EINVAL", EINVAL},
      {"ENOSYS", ENOSYS},
      {"EROFS", EROFS},
      {"ENOTSUP", ENOTSUP},
      {"EOPNOTSUPP", EOPNOTSUPP},
      {"EAFNOSUPPORT", EAFNOSUPPORT},
      {"EPROTONOSUPPORT", EPROTONOSUPPORT},
  };
  auto it = kNames.find(name);
  return it == kNames.end() ? -1 : it->second;
}

Result<nlohmann::json> YamlToJson(const std::string& text, const std::string& source,
                                  std::map<std::string, int>* lines) {
  // yaml-cpp throws; this is the parse boundary.
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (docs.size() > 1) {
      // Reading only the first would silently drop whatever the later ones say.
      const int line = docs[1].Mark().line >= 0 ? docs[1].Mark().line + 1 : 1;
      return Error(Code::kInvalidArgument,
                   fmt::format("{}:{}: expected one YAML document, and a second one starts here",
                               source, line));
    }
    json out;
    // Every node takes at least a byte or two of text; aliases are what can exceed this.
    YamlConverter converter(source, 2 * text.size() + 1024, lines);
    HIVE_TRY(converter.Convert(docs.empty() ? YAML::Node() : docs[0], "", &out));
    return out;
  } catch (const YAML::Exception& e) {
    const std::string msg = e.msg.size() > 2 * kQuotedMax ? Quoted(e.msg) : e.msg;
    return Error(Code::kInvalidArgument,
                 fmt::format("{}:{}:{}: {}", source, e.mark.line + 1, e.mark.column + 1, msg));
  }
}

Result<GroupMap> ParseGroups(const std::string& text, const std::string& source) {
  std::map<std::string, int> lines;
  HIVE_ASSIGN_OR_RETURN(json doc, YamlToJson(text, source, &lines));
  Context ctx(source, &lines);
  if (!doc.is_object() || !doc.contains("groups") || !doc["groups"].is_object()) {
    return ctx.Fail("groups", "expected a map of group name to syscall list");
  }
  GroupMap groups;
  for (auto it = doc["groups"].begin(); it != doc["groups"].end(); ++it) {
    HIVE_ASSIGN_OR_RETURN(groups[it.key()], GetStrings(ctx, Join("groups", it.key()), it.value()));
  }
  return groups;
}

Result<Profile> ParseProfile(const std::string& text, const std::string& source,
                             const GroupMap& builtin_groups) {
  std::map<std::string, int> lines;
  json doc;
  size_t first = text.find_first_not_of(" \t\r\n");
  bool is_json = first != std::string::npos && text[first] == '{';
  if (is_json) {
    HIVE_ASSIGN_OR_RETURN(doc, ParseJsonInput(text, source));
  } else {
    HIVE_ASSIGN_OR_RETURN(doc, YamlToJson(text, source, &lines));
  }
  Context ctx(source, is_json ? nullptr : &lines);
  if (!doc.is_object()) return ctx.Fail("", "expected a map at the top level");
  HIVE_TRY(CheckKeys(
      ctx, "", doc,
      {"defaultAction", "defaultErrnoRet", "defaultErrno", "architectures", "archMap", "flags",
       "listenerPath", "listenerMetadata", "syscalls", "groups", "comment", "description"}));

  Profile p;
  p.source = source;
  p.name = std::filesystem::path(source).stem().string();
  p.sha256 = Sha256Hex(text);

  if (!doc.contains("defaultAction")) return ctx.Fail("defaultAction", "missing");
  HIVE_ASSIGN_OR_RETURN(p.default_action, ParseAction(ctx, "defaultAction", doc["defaultAction"]));
  if (p.default_action.kind == ActionKind::kErrno) p.default_action.data = EPERM;
  if (doc.contains("defaultErrnoRet") && !doc["defaultErrnoRet"].is_null()) {
    HIVE_ASSIGN_OR_RETURN(p.default_action.data,
                          GetErrno(ctx, "defaultErrnoRet", doc["defaultErrnoRet"]));
  } else if (doc.contains("defaultErrno") && p.default_action.kind == ActionKind::kErrno) {
    // podman's spelling: an errno name.
    HIVE_ASSIGN_OR_RETURN(p.default_action.data,
                          GetErrno(ctx, "defaultErrno", doc["defaultErrno"]));
  }

  if (doc.contains("listenerPath") && doc["listenerPath"].is_string() &&
      !doc["listenerPath"].get<std::string>().empty()) {
    return ctx.Fail("listenerPath", "not supported: hive-run answers seccomp notifications itself");
  }

  if (doc.contains("architectures")) {
    HIVE_ASSIGN_OR_RETURN(p.architectures, GetStrings(ctx, "architectures", doc["architectures"]));
    for (size_t i = 0; i < p.architectures.size(); ++i) {
      if (ResolveArch(p.architectures[i]) == 0) {
        return ctx.Fail(Index("architectures", i),
                        "unknown architecture " + Quoted(p.architectures[i]));
      }
    }
  }
  if (doc.contains("archMap") && !doc["archMap"].is_null()) {
    const json& map = doc["archMap"];
    if (!map.is_array()) return ctx.Fail("archMap", "expected a list");
    for (size_t i = 0; i < map.size(); ++i) {
      std::string path = Index("archMap", i);
      if (!map[i].is_object()) return ctx.Fail(path, "expected a map");
      HIVE_TRY(CheckKeys(ctx, path, map[i], {"architecture", "subArchitectures"}));
      if (!map[i].contains("architecture")) return ctx.Fail(Join(path, "architecture"), "missing");
      HIVE_ASSIGN_OR_RETURN(std::string arch,
                            GetString(ctx, Join(path, "architecture"), map[i]["architecture"]));
      if (ResolveArch(arch) == 0) {
        return ctx.Fail(Join(path, "architecture"), "unknown architecture");
      }
      std::vector<std::string> subs;
      if (map[i].contains("subArchitectures")) {
        HIVE_ASSIGN_OR_RETURN(
            subs, GetStrings(ctx, Join(path, "subArchitectures"), map[i]["subArchitectures"]));
      }
      // Docker's rule: the entry for the machine we run on names the ABIs to allow.
      if (ResolveArch(arch) == seccomp_arch_native()) {
        p.architectures.push_back(arch);
        for (const std::string& s : subs) {
          if (ResolveArch(s) == 0) {
            return ctx.Fail(Join(path, "subArchitectures"), "unknown architecture " + Quoted(s));
          }
          p.architectures.push_back(s);
        }
      }
    }
  }
  if (doc.contains("flags")) {
    HIVE_ASSIGN_OR_RETURN(p.flags, GetStrings(ctx, "flags", doc["flags"]));
    static const std::set<std::string> kFlags = {
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
    for (size_t i = 0; i < p.flags.size(); ++i) {
      if (!kFlags.count(p.flags[i])) {
        return ctx.Fail(Index("flags", i), "unknown flag " + Quoted(p.flags[i]));
      }
    }
  }

  GroupMap groups = builtin_groups;
  if (doc.contains("groups")) {
    const json& g = doc["groups"];
    if (!g.is_object()) return ctx.Fail("groups", "expected a map of group name to syscalls");
    for (auto it = g.begin(); it != g.end(); ++it) {
      HIVE_ASSIGN_OR_RETURN(groups[it.key()],
                            GetStrings(ctx, Join("groups", it.key()), it.value()));
    }
  }

  if (doc.contains("syscalls") && !doc["syscalls"].is_null()) {
    const json& rules = doc["syscalls"];
    if (!rules.is_array()) return ctx.Fail("syscalls", "expected a list");
    GroupExpander expander(ctx, groups);
    for (size_t i = 0; i < rules.size(); ++i) {
      HIVE_ASSIGN_OR_RETURN(SyscallRule r,
                            ParseRule(ctx, Index("syscalls", i), rules[i], &expander));
      p.syscalls.push_back(std::move(r));
    }
  }
  return p;
}

Result<Profile> LoadProfile(const std::string& path, const std::string& groups_path) {
  GroupMap groups;
  if (!groups_path.empty() && std::filesystem::exists(groups_path)) {
    HIVE_ASSIGN_OR_RETURN(std::string gtext, ReadInputFile(groups_path, kSeccompGroupsInput));
    HIVE_ASSIGN_OR_RETURN(groups, ParseGroups(gtext, groups_path));
  }
  HIVE_ASSIGN_OR_RETURN(std::string text, ReadInputFile(path, kSeccompProfileInput));
  return ParseProfile(text, path, groups);
}

}  // namespace hive::seccomp

namespace hive::seccomp {
namespace {

const char* ActionName(ActionKind k) {
  switch (k) {
    case ActionKind::kKillProcess:
      return "SCMP_ACT_KILL_PROCESS";
    case ActionKind::kKillThread:
      return "SCMP_ACT_KILL_THREAD";
    case ActionKind::kTrap:
      return "SCMP_ACT_TRAP";
    case ActionKind::kErrno:
      return "SCMP_ACT_ERRNO";
    case ActionKind::kNotify:
      return "SCMP_ACT_NOTIFY";
    case ActionKind::kTrace:
      return "SCMP_ACT_TRACE";
    case ActionKind::kLog:
      return "SCMP_ACT_LOG";
    case ActionKind::kAllow:
      return "SCMP_ACT_ALLOW";
  }
  return "SCMP_ACT_KILL_PROCESS";
}

const char* CompareName(Compare c) {
  switch (c) {
    case Compare::kNe:
      return "SCMP_CMP_NE";
    case Compare::kLt:
      return "SCMP_CMP_LT";
    case Compare::kLe:
      return "SCMP_CMP_LE";
    case Compare::kEq:
      return "SCMP_CMP_EQ";
    case Compare::kGe:
      return "SCMP_CMP_GE";
    case Compare::kGt:
      return "SCMP_CMP_GT";
    case Compare::kMaskedEq:
      return "SCMP_CMP_MASKED_EQ";
  }
  return "SCMP_CMP_EQ";
}

}  // namespace

nlohmann::json ProfileToOci(const Profile& p,
                            const std::function<bool(const SyscallRule&)>& applies) {
  nlohmann::json j;
  j["defaultAction"] = ActionName(p.default_action.kind);
  if (p.default_action.kind == ActionKind::kErrno) j["defaultErrnoRet"] = p.default_action.data;
  j["architectures"] = p.architectures;
  if (!p.flags.empty()) j["flags"] = p.flags;
  nlohmann::json rules = nlohmann::json::array();
  for (const SyscallRule& r : p.syscalls) {
    // Docker's includes/excludes have no OCI field: a rule is written when it applies here.
    if (!applies(r)) continue;
    nlohmann::json rule = {{"names", r.names}, {"action", ActionName(r.action.kind)}};
    if (r.action.kind == ActionKind::kErrno) rule["errnoRet"] = r.action.data;
    if (!r.args.empty()) {
      nlohmann::json args = nlohmann::json::array();
      for (const ArgCondition& a : r.args) {
        args.push_back({{"index", a.index},
                        {"value", a.value},
                        {"valueTwo", a.value_two},
                        {"op", CompareName(a.op)}});
      }
      rule["args"] = args;
    }
    rules.push_back(rule);
  }
  j["syscalls"] = rules;
  return j;
}

}  // namespace hive::seccomp
