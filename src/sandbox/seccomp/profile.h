// hive::seccomp::Profile: a seccomp profile as data, in the OCI LinuxSeccomp schema.
//
// Real profiles load unchanged: the OCI runtime-spec form (`architectures`, `flags`), Docker's
// and podman's form (`archMap`, `includes`/`excludes` by arch, capability and kernel), in
// JSON or YAML. hive-run adds three things, all optional:
//   - `groups: {name: [syscall, @other-group, ...]}` and `@name` entries in `names`, on top of
//     the shipped profiles/groups.yaml;
//   - `override: true` on an errno rule: it is decided before every other rule of the
//     profile (libseccomp gives no precedence between overlapping rules), comparing only the
//     low 32 bits of each argument, as the kernel does for int-sized arguments;
//   - `label: text` on a rule: shown in the report next to the syscall it denied.
//
//   HIVE_ASSIGN_OR_RETURN(Profile p, LoadProfile("profiles/default.yaml", "profiles/groups.yaml"));
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hive/status.h"

namespace hive::seccomp {

enum class ActionKind { kKillProcess, kKillThread, kTrap, kErrno, kNotify, kTrace, kLog, kAllow };

struct Action {
  ActionKind kind = ActionKind::kErrno;
  uint32_t data = 0;  // errno for kErrno, message for kTrace
  bool operator==(const Action&) const = default;
};

enum class Compare { kNe, kLt, kLe, kEq, kGe, kGt, kMaskedEq };

struct ArgCondition {
  uint32_t index = 0;
  uint64_t value = 0;      // the mask for kMaskedEq
  uint64_t value_two = 0;  // the expected value for kMaskedEq
  Compare op = Compare::kEq;
};

// Docker's `includes` / `excludes`: a rule applies only on these arches (Go names: amd64,
// arm64, x32, ...), with these kept capabilities, from this kernel version on.
struct RuleFilter {
  std::vector<std::string> arches;
  std::vector<std::string> caps;
  std::string min_kernel;
  bool empty() const { return arches.empty() && caps.empty() && min_kernel.empty(); }
};

struct SyscallRule {
  std::vector<std::string> names;  // groups already expanded
  Action action;
  std::vector<ArgCondition> args;  // all must hold
  RuleFilter includes, excludes;
  bool override = false;
  std::string label;
};

struct Profile {
  std::string name;    // file name without extension ("default")
  std::string source;  // path it was read from
  std::string sha256;  // of the file's bytes
  Action default_action;
  std::vector<std::string> architectures;  // SCMP_ARCH_* names that apply on this machine
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
  std::vector<SyscallRule> syscalls;
};

using GroupMap = std::map<std::string, std::vector<std::string>>;

// Parses `text` (JSON when it starts with `{`, YAML otherwise). Errors name `source` and the
// key path ("default.yaml:12: syscalls[3].action: unknown action \"SCMP_ACT_NOPE\"").
Result<Profile> ParseProfile(const std::string& text, const std::string& source,
                             const GroupMap& groups);
// The `groups:` map of a groups file (profiles/groups.yaml).
Result<GroupMap> ParseGroups(const std::string& text, const std::string& source);

// Reads the profile at `path`; `groups_path` (may be empty or missing) supplies @groups.
Result<Profile> LoadProfile(const std::string& path, const std::string& groups_path);

// YAML text as JSON; scalars become numbers (decimal, 0x, 0o), booleans or strings. `lines`
// receives the line of every key path, for error messages.
Result<nlohmann::json> YamlToJson(const std::string& text, const std::string& source,
                                  std::map<std::string, int>* lines);

// The profile as config.json's linux.seccomp (OCI LinuxSeccomp). hive-run's `override` and
// `label` have no OCI field and are left out.
nlohmann::json ProfileToOci(const Profile& p,
                            const std::function<bool(const SyscallRule&)>& applies);

// errno by name ("EPERM"), -1 when unknown.
int ErrnoByName(const std::string& name);

}  // namespace hive::seccomp
